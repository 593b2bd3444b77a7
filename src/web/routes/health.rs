use actix_web::{HttpResponse, web};
use sea_orm::ConnectionTrait;
use serde_json::json;

use crate::web::state::AppState;

/// Liveness and degradation: the database must answer; Redis, when
/// configured, may be down (the service falls back and says so).
pub async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.db.execute_unprepared("SELECT 1").await.is_ok();
    let redis_degraded = state.guards.limiter.degraded();
    let status = match (database, redis_degraded) {
        (false, _) => "unavailable",
        (true, true) => "degraded",
        (true, false) => "ok",
    };
    let body = json!({
        "status": status,
        "database": if database { "ok" } else { "unreachable" },
        "redis": match (&state.settings.redis_url, redis_degraded) {
            (None, _) => "not configured",
            (Some(_), false) => "ok",
            (Some(_), true) => "unreachable",
        },
    });
    if database {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

//! `POST /api/v1/periods/{period}/publish` and `…/reopen`: administrators
//! only (a session with its CSRF token in `X-CSRF-Token`).

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiErrorCode};
use super::indicators::SnapshotMeta;
use crate::app::publish;
use crate::app::rectification::PublishEffect;
use crate::domain::period::Period;
use crate::web::auth::ApiCaller;
use crate::web::state::AppState;

/// What publishing stored.
#[derive(Serialize, ToSchema)]
pub struct PublishResponse {
    pub snapshot: SnapshotMeta,
    /// Tasks opened, confirmed (republication), withdrawn and followed up.
    #[schema(value_type = Object)]
    pub rectification: PublishEffect,
}

fn parse_period(text: &str) -> Result<Period, ApiError> {
    text.parse().map_err(
        |e: crate::domain::period::PeriodError| ApiError::Unprocessable {
            code: ApiErrorCode::InvalidPeriod,
            message: e.to_string(),
        },
    )
}

/// Computes, snapshots and freezes a period.
///
/// Exports the period (and the one before it, for `delta_prev`), runs the
/// indicator pipeline with the current model, stores an immutable snapshot
/// and freezes the period: no more responses are taken for it. Republishing
/// makes a new snapshot and keeps the old ones.
#[utoipa::path(
    post,
    path = "/api/v1/periods/{period}/publish",
    tag = "publishing",
    params(("period" = String, Path, description = "YYYY, YYYY-Qn or YYYY-MM")),
    responses(
        (status = 201, body = PublishResponse),
        (status = 401), (status = 403, description = "Not an administrator, a token, or no CSRF header"),
        (status = 422, description = "A malformed period, nothing to publish, or input the method refuses"),
    ),
    security(("session" = []))
)]
#[tracing::instrument(name = "publish", skip_all, fields(period = %period))]
pub async fn publish(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: ApiCaller,
    period: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let session = caller.require_admin(&req)?;
    let period = parse_period(&period)?;
    let published =
        publish::publish(&state.db, &state.settings, period, &session.user.username).await;
    state.frozen.invalidate();
    let p = published?;
    Ok(HttpResponse::Created().json(PublishResponse {
        snapshot: SnapshotMeta::from(&p.snapshot),
        rectification: p.rectification,
    }))
}

/// Body of a reopening.
#[derive(Deserialize, ToSchema)]
pub struct ReopenRequest {
    /// Why the period is reopened (kept in the audit log).
    pub reason: String,
}

/// Reopens a frozen period (administrators, with a reason; audited).
#[utoipa::path(
    post,
    path = "/api/v1/periods/{period}/reopen",
    tag = "publishing",
    params(("period" = String, Path, description = "YYYY, YYYY-Qn or YYYY-MM")),
    request_body = ReopenRequest,
    responses((status = 204), (status = 401), (status = 403), (status = 422)),
    security(("session" = []))
)]
pub async fn reopen(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: ApiCaller,
    period: web::Path<String>,
    body: web::Json<ReopenRequest>,
) -> Result<HttpResponse, ApiError> {
    let session = caller.require_admin(&req)?;
    let period = parse_period(&period)?;
    if body.reason.trim().is_empty() {
        return Err(ApiError::Unprocessable {
            code: ApiErrorCode::ReasonRequired,
            message: "Give a reason for reopening".into(),
        });
    }
    publish::reopen(&state.db, period, &session.user.username, &body.reason).await?;
    state.frozen.invalidate();
    Ok(HttpResponse::NoContent().finish())
}

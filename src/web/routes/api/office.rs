//! Registers the office API (scores, snapshots, publishing) and its docs.

use actix_web::{HttpResponse, http::header, web};
use utoipa::OpenApi;
use utoipa_swagger_ui::SwaggerUi;

use super::{docs, indicators, publish};

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/api/v1/indicators", web::get().to(indicators::indicators))
        .route("/api/v1/snapshots", web::get().to(indicators::list))
        .route(
            "/api/v1/snapshots/{run_id}",
            web::get().to(indicators::show),
        )
        .route(
            "/api/v1/snapshots/{run_id}/export",
            web::get().to(indicators::export),
        )
        .route(
            "/api/v1/snapshots/{run_id}/model",
            web::get().to(indicators::model),
        )
        .route(
            "/api/v1/periods/{period}/publish",
            web::post().to(publish::publish),
        )
        .route(
            "/api/v1/periods/{period}/reopen",
            web::post().to(publish::reopen),
        )
        .route("/api/docs", web::get().to(to_docs))
        .service(
            SwaggerUi::new("/api/docs/{_:.*}")
                .url("/api/docs/openapi.json", docs::ApiDoc::openapi()),
        );
}

async fn to_docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/api/docs/"))
        .finish()
}

//! The JSON API (`/api/v1/…`). Routes are registered one by one, not as a
//! scope, so other features can add their own `/api/v1` routes beside these.

pub mod auth;
pub mod docs;
pub mod error;
pub mod indicators;
pub mod office;
pub mod publish;
pub mod templates;
pub mod uploads;

use actix_web::web;

pub fn config(cfg: &mut web::ServiceConfig) {
    // Scores, snapshots, publishing and the OpenAPI docs (issue 6).
    cfg.configure(office::config);
    cfg.route("/api/v1/uploads", web::post().to(uploads::create))
        .route("/api/v1/uploads/{id}", web::get().to(uploads::show))
        .route(
            "/api/v1/templates/{category}.csv",
            web::get().to(templates::csv),
        )
        .route(
            "/api/v1/templates/{category}.xlsx",
            web::get().to(templates::xlsx),
        );
}

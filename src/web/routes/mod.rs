//! HTTP routes, registered in one place with the quotas of each scope.

pub mod api;
pub mod assessor;
mod assets;
mod bulletin;
mod health;
mod landing;
mod lang;
pub mod localise;
pub mod office;
mod public_history;
mod qr;
mod results;
pub mod survey;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::{Next, from_fn};
use actix_web::{Error, HttpMessage, HttpResponse, web};

use crate::guard::rate_limit::Scope;
use crate::web::error::PageError;
use crate::web::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    // The questionnaire comes first: actix tries routes in the order they
    // are registered, and this is the path nearly every request takes.
    cfg.service(
        web::scope("/s")
            .wrap(from_fn(page_view_quota))
            // One resource for both methods: two `.route` calls would make
            // two resources, and a POST would match the pattern twice.
            // Other methods get the same 404 page as before, not a 405.
            .service(
                web::resource("/{code}")
                    .route(web::get().to(survey::get::form))
                    .route(web::post().to(survey::post::submit))
                    .default_service(web::to(not_found)),
            )
            .route("/{code}/thanks", web::get().to(survey::get::thanks))
            .default_service(web::to(not_found)),
    )
    .route("/healthz", web::get().to(health::healthz))
    .route("/metrics", web::get().to(crate::web::metrics::render))
    .route("/static/{file:.*}", web::get().to(assets::static_file))
    .route("/qr/{code}.svg", web::get().to(qr::qr_svg))
    .configure(api::config)
    .configure(assessor::config)
    .configure(office::config)
    .service(
        // Citizen pages: every view draws on the page-view quota.
        web::scope("")
            .wrap(from_fn(page_view_quota))
            .route("/", web::get().to(landing::landing))
            .route("/lang/{lang}", web::get().to(lang::switch))
            .route("/captcha/{id}.png", web::get().to(survey::captcha_png))
            .route(
                "/results/{period}/bulletin",
                web::get().to(bulletin::public_page),
            )
            .route(
                "/results/{period}/bulletin.{kind}",
                web::get().to(bulletin::public_file),
            )
            .route(
                "/results/institution/{code}",
                web::get().to(public_history::history),
            )
            .route("/results/{period}", web::get().to(results::results))
            .default_service(web::to(not_found)),
    );
}

async fn not_found() -> Result<HttpResponse, PageError> {
    Err(PageError::NotFound)
}

/// GET and HEAD requests of the citizen scope count against the page-view
/// quota of the client's address; submissions have their own quotas.
async fn page_view_quota(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if matches!(*req.method(), Method::GET | Method::HEAD)
        && let Some(state) = req.app_data::<web::Data<AppState>>()
    {
        if let Err(retry) = state.charge(req.request(), Scope::PageView).await {
            metrics::counter!("pingyi_rate_limited_total", "scope" => "view").increment(1);
            return Err(PageError::TooManyRequests(retry).into());
        }
        // A device minted for this page is already paid for.
        req.extensions_mut().insert(survey::device::PageViewCharged);
    }
    next.call(req).await
}

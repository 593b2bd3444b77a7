//! The appraisal office's pages (`/office/…`): server-rendered, no scripts.
//!
//! Every page needs a session ([`Office`]); each handler then checks the
//! role: administrators change things, analysts read, institution users see
//! their own institution only. Every form carries the session's CSRF token.

pub mod charts;
mod dashboard;
pub mod error;
mod institutions;
mod integrity;
mod login;
mod manage;
mod model_form;
mod periods;
mod rectification;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use self::error::OfficeError;
use crate::domain::office::Session;
use crate::web::auth::Office;
use crate::web::state::AppState;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::scope("/office")
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .route("/login", web::get().to(login::form))
            .route("/login", web::post().to(login::submit))
            .route("/logout", web::post().to(login::logout))
            .route("/dashboard", web::get().to(dashboard::dashboard))
            .route("/periods", web::get().to(periods::list))
            .route(
                "/periods/{period}/publish",
                web::post().to(periods::publish),
            )
            .route("/periods/{period}/reopen", web::post().to(periods::reopen))
            .route(
                "/periods/{period}/bulletin",
                web::get().to(crate::web::routes::bulletin::office_page),
            )
            .route(
                "/periods/{period}/bulletin.{kind}",
                web::get().to(crate::web::routes::bulletin::office_file),
            )
            .route("/integrity", web::get().to(integrity::review))
            .route("/integrity/responses", web::get().to(integrity::responses))
            .route("/integrity/void", web::post().to(integrity::void))
            .route("/institutions", web::get().to(institutions::list))
            .route("/institutions", web::post().to(institutions::save))
            .route("/institutions/import", web::post().to(institutions::import))
            .route("/institutions/{code}", web::get().to(institutions::show))
            .route("/catalog", web::post().to(institutions::save_group))
            .route("/rectification", web::get().to(rectification::list))
            .route("/rectification/{id}", web::get().to(rectification::show))
            .route("/rectification/{id}", web::post().to(rectification::step))
            .route("/appeals", web::get().to(rectification::appeals))
            .route("/appeals", web::post().to(rectification::file_appeal))
            .route("/appeals/{id}", web::post().to(rectification::decide))
            .route("/model", web::get().to(manage::model))
            .route("/model", web::post().to(manage::save_model))
            .route("/model/form", web::post().to(model_form::save))
            .route("/questionnaires", web::get().to(manage::questionnaires))
            .route(
                "/questionnaires/{category}",
                web::post().to(manage::save_questionnaire),
            )
            .route("/audit", web::get().to(manage::audit))
            .route("/users", web::get().to(manage::users))
            .route("/users", web::post().to(manage::add_user))
            .route("/users/{id}/unlock", web::post().to(manage::unlock_user))
            .route("/tokens", web::get().to(manage::tokens))
            .route("/tokens", web::post().to(manage::add_token))
            .route("/tokens/{id}/revoke", web::post().to(manage::revoke_token))
            .default_service(web::to(not_found)),
    );
}

async fn not_found() -> Result<HttpResponse, OfficeError> {
    Err(OfficeError::NotFound)
}

/// `/office`: the dashboard for the office, the institution's own page for
/// an institution user.
async fn home(
    state: web::Data<AppState>,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    let to = if session.user.is_staff() {
        "/office/dashboard".to_owned()
    } else {
        let id = session.user.institution_id.ok_or(OfficeError::Forbidden)?;
        let catalog = state.catalog.get();
        let code = catalog
            .institutions
            .iter()
            .find(|i| i.id == id)
            .map(|i| i.code.clone());
        match code {
            Some(code) => format!("/office/institutions/{code}"),
            None => "/office/rectification".to_owned(),
        }
    };
    Ok(see_other(&to))
}

pub use crate::web::respond::see_other;

/// The signed-in user as the layout shows it.
#[derive(Serialize)]
struct Me<'a> {
    username: &'a str,
    role: &'static str,
    is_admin: bool,
    is_staff: bool,
}

/// Renders an office page: `ctx` plus `me` and `csrf` for the layout, and
/// `names` (codes to names in the reader's language).
pub fn page(
    state: &AppState,
    req: &HttpRequest,
    session: &Session,
    name: &str,
    ctx: serde_json::Value,
) -> Result<HttpResponse, OfficeError> {
    let mut ctx = match ctx {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let me = Me {
        username: &session.user.username,
        role: session.user.role.as_str(),
        is_admin: session.user.is_admin(),
        is_staff: session.user.is_staff(),
    };
    ctx.insert(
        "me".into(),
        serde_json::to_value(me).map_err(anyhow::Error::from)?,
    );
    ctx.insert(
        "csrf".into(),
        serde_json::Value::String(session.csrf.clone()),
    );
    // Every page may turn a code into a name in the reader's language.
    let names = crate::web::names::Names::new(&state.catalog.get(), state.lang(req)).to_json();
    ctx.insert("names".into(), names);
    let body = state.templates.render(
        name,
        state.lang(req),
        req.path(),
        &serde_json::Value::Object(ctx),
    )?;
    Ok(html(body))
}

/// An office page: never cached (it carries the CSRF token).
pub fn html(body: String) -> HttpResponse {
    crate::web::respond::html(actix_web::http::StatusCode::OK, body, None)
}

/// Administrators and analysts only.
pub fn require_staff(session: &Session) -> Result<(), OfficeError> {
    if session.user.is_staff() {
        Ok(())
    } else {
        Err(OfficeError::Forbidden)
    }
}

/// Administrators only.
pub fn require_admin(session: &Session) -> Result<(), OfficeError> {
    if session.user.is_admin() {
        Ok(())
    } else {
        Err(OfficeError::Forbidden)
    }
}

/// A form of this session (its CSRF token matches).
pub fn check_csrf(session: &Session, given: &str) -> Result<(), OfficeError> {
    if session.csrf_matches(Some(given)) {
        Ok(())
    } else {
        Err(OfficeError::BadForm)
    }
}

/// Today in the configured local time.
pub fn today(state: &AppState) -> chrono::NaiveDate {
    state.settings.today()
}

/// The current collection period.
pub fn current_period(state: &AppState) -> crate::domain::period::Period {
    state.settings.current_period()
}

/// A figure with one decimal, or a dash.
pub fn fmt1(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), |v| format!("{v:.1}"))
}

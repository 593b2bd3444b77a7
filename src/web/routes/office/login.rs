//! Sign-in and sign-out. The sign-in form is protected against login CSRF
//! by the device cookie and its token (as the citizen form is); sessions are
//! server-side, in an HttpOnly, SameSite=Strict cookie.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::error::OfficeError;
use super::{check_csrf, html, see_other};
use crate::db::users::{self, Lockout, Login};
use crate::domain::keys::same_secret;
use crate::domain::local_path::LocalPath;
use crate::domain::office::{SESSION_COOKIE, SESSION_HOURS};
use crate::guard::rate_limit::Scope;
use crate::web::auth::Office;
use crate::web::i18n::Message;
use crate::web::routes::survey::{Device, csrf_token};
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Where a sign-in returns to: a local office path, else the office home
/// (the dashboard, or an institution user's own page). Never another site,
/// never a broken `Location` header.
fn return_to(next: Option<&str>) -> LocalPath {
    next.and_then(LocalPath::parse)
        .filter(|p| p.is_under("/office"))
        .unwrap_or_else(|| LocalPath::or(None, "/office"))
}

/// The sign-in page with `status`, and the device cookie its CSRF token is
/// bound to when the browser has none yet.
fn login_page(
    state: &AppState,
    req: &HttpRequest,
    device: Device,
    status: StatusCode,
    next: &LocalPath,
    error: Option<Message>,
) -> Result<HttpResponse, OfficeError> {
    let lang = state.lang(req);
    let error = error.map(|m| state.templates.message(lang, &m));
    // `next` is taken by the language switch; the page after sign-in is `return_to`.
    let body = state.templates.render(
        "office/login.html.tera",
        lang,
        req.path(),
        &json!({ "csrf": csrf_token(state, &device.id), "return_to": next.as_str(), "error": error }),
    )?;
    let mut response = html(body);
    *response.status_mut() = status;
    if let Some(cookie) = device.new_cookie {
        response.add_cookie(&cookie).map_err(anyhow::Error::from)?;
    }
    Ok(response)
}

pub async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<NextQuery>,
    // A new device draws on the page-view quota (see `Device`).
    device: Device,
) -> Result<HttpResponse, OfficeError> {
    login_page(
        &state,
        &req,
        device,
        StatusCode::OK,
        &return_to(query.next.as_deref()),
        None,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    username: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

#[tracing::instrument(name = "office login", skip_all)]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
    device: Device,
) -> Result<HttpResponse, OfficeError> {
    let next = return_to(form.next.as_deref());
    // Every attempt draws on its address's quota, before anything else: the
    // per-account lock-out alone would let one address try every account.
    if let Err(retry) = state.charge(&req, Scope::Login).await {
        metrics::counter!("pingyi_rate_limited_total", "scope" => "login").increment(1);
        let mut response = login_page(
            &state,
            &req,
            device,
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            Some(Message::new("msg_login_too_many")),
        )?;
        response.headers_mut().insert(
            header::RETRY_AFTER,
            header::HeaderValue::from(retry.seconds()),
        );
        return Ok(response);
    }
    // A browser without a device cookie cannot hold a token for it.
    if device.new_cookie.is_some() || !same_secret(&form.csrf, &csrf_token(&state, &device.id)) {
        return Err(OfficeError::BadForm);
    }
    let lockout = Lockout {
        max_failures: state.settings.login_max_failures,
        minutes: state.settings.login_lockout_minutes,
    };
    match users::login(&state.db, &form.username, &form.password, lockout).await? {
        Login::Ok(user) => {
            let id = users::open_session(&state.db, &state.keys, user.id).await?;
            let cookie = Cookie::build(SESSION_COOKIE, id)
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.settings.secure_cookies)
                .max_age(CookieDuration::hours(SESSION_HOURS))
                .finish();
            tracing::info!(user = %user.username, "Office sign-in");
            let mut response = see_other(next.as_str());
            response.add_cookie(&cookie).map_err(anyhow::Error::from)?;
            Ok(response)
        }
        // One answer for an unknown user, a wrong password and a locked
        // account: the page must not tell which accounts exist.
        Login::Invalid | Login::Locked => login_page(
            &state,
            &req,
            device,
            StatusCode::UNAUTHORIZED,
            &next,
            Some(Message::new("msg_login_invalid")),
        ),
    }
}

#[derive(Deserialize)]
pub struct LogoutForm {
    csrf: String,
}

pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    form: web::Form<LogoutForm>,
) -> Result<HttpResponse, OfficeError> {
    check_csrf(&session, &form.csrf)?;
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        users::close_session(&state.db, &state.keys, cookie.value()).await?;
    }
    let mut gone = Cookie::build(SESSION_COOKIE, "")
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .finish();
    gone.make_removal();
    let mut response = see_other("/office/login");
    response.add_cookie(&gone).map_err(anyhow::Error::from)?;
    Ok(response)
}

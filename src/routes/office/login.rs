//! Sign-in and sign-out. The sign-in form is protected against login CSRF
//! by the device cookie and its token (as the citizen form is); sessions are
//! server-side, in an HttpOnly, SameSite=Strict cookie.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use super::error::OfficeError;
use super::{check_csrf, html, see_other};
use crate::auth::{Office, SESSION_COOKIE, SESSION_HOURS};
use crate::db::users::{self, Lockout, Login};
use crate::routes::survey::{Device, csrf_token, device_id};
use crate::state::AppState;
use crate::templates::Message;

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
}

/// Only local office paths are followed after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    next.filter(|n| n.starts_with("/office") && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/office")
        .to_owned()
}

fn render(
    state: &AppState,
    req: &HttpRequest,
    device: &str,
    next: &str,
    error: Option<Message>,
) -> Result<String, OfficeError> {
    let lang = state.lang(req);
    let error = error.map(|m| state.templates.message(lang, &m));
    // `next` is taken by the language switch; the page after sign-in is `return_to`.
    Ok(state.templates.render(
        "office/login.html.tera",
        lang,
        req.path(),
        &json!({ "csrf": csrf_token(state, device), "return_to": next, "error": error }),
    )?)
}

pub async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    query: web::Query<NextQuery>,
    // A new device draws on the page-view quota (see `Device`).
    device: Device,
) -> Result<HttpResponse, OfficeError> {
    let body = render(
        &state,
        &req,
        &device.id,
        &safe_next(query.next.as_deref()),
        None,
    )?;
    let mut response = html(body);
    if let Some(cookie) = device.new_cookie {
        response.add_cookie(&cookie).map_err(anyhow::Error::from)?;
    }
    Ok(response)
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
) -> Result<HttpResponse, OfficeError> {
    let device = device_id(&state, &req).ok_or(OfficeError::BadForm)?;
    if !bool::from(
        form.csrf
            .as_bytes()
            .ct_eq(csrf_token(&state, &device).as_bytes()),
    ) {
        return Err(OfficeError::BadForm);
    }
    let next = safe_next(form.next.as_deref());
    let lockout = Lockout {
        max_failures: state.settings.login_max_failures,
        minutes: state.settings.login_lockout_minutes,
    };
    let refuse = |message: Message| -> Result<HttpResponse, OfficeError> {
        let body = render(&state, &req, &device, &next, Some(message))?;
        Ok(HttpResponse::Unauthorized()
            .insert_header(actix_web::http::header::ContentType::html())
            .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
            .body(body))
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
            let mut response = see_other(&next);
            response.add_cookie(&cookie).map_err(anyhow::Error::from)?;
            Ok(response)
        }
        Login::Invalid => refuse(Message::new("msg_login_invalid")),
        Login::Locked(until) => refuse(
            Message::new("msg_login_locked")
                .arg("until", until.format("%Y-%m-%d %H:%M").to_string()),
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

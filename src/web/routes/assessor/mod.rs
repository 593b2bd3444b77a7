//! The assessors' web page: sign in with the organisation's token, download
//! templates, upload a file and read its error report as a table.
//!
//! The session is a signed, HttpOnly, SameSite=Strict cookie holding the
//! organisation id, the token's keyed hash and the session's expiry; the
//! token is checked again (not revoked, not expired) on every request.
//! Forms carry a CSRF token bound to the session (or, for the sign-in form,
//! to a pre-session cookie), as the survey form binds its token to the device.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::app::uploads::{Outcome, UploadReport};
use crate::db::assessors::{self, AssessorOrg, TokenProblem};
use crate::db::uploads as records;
use crate::domain::keys::same_secret;
use crate::domain::keys::{Purpose, random_token};
use crate::web::error::PageError;
use crate::web::routes::api::uploads::{self as api_uploads, Refusal};
use crate::web::routes::survey::html;
use crate::web::state::AppState;

const SESSION_COOKIE: &str = "pingyi_assessor";
const PRE_SESSION_COOKIE: &str = "pingyi_assessor_pre";
/// Longest a signed-in session lasts (or less, if the token expires sooner).
const SESSION_HOURS: i64 = 8;

pub fn config(cfg: &mut web::ServiceConfig) {
    cfg.route("/assessor", web::get().to(index))
        .route("/assessor/login", web::post().to(login))
        .route("/assessor/logout", web::post().to(logout))
        .route("/assessor/uploads", web::get().to(uploads_page))
        .route("/assessor/uploads", web::post().to(upload))
        .route("/assessor/uploads/{id}", web::get().to(report));
}

/// The signed session value of an organisation's token.
fn session_value(org: &AssessorOrg, expires: DateTime<Utc>) -> String {
    format!(
        "assessor|{}|{}|{}",
        org.id,
        org.token_hash,
        expires.timestamp()
    )
}

/// The organisation of a valid session, its token still valid.
pub async fn session(
    state: &AppState,
    req: &HttpRequest,
) -> Result<Option<(AssessorOrg, String)>, PageError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let Some(value) = state.keys.verify(Purpose::CookieSignature, cookie.value()) else {
        return Ok(None);
    };
    let mut parts = value.split('|');
    let (Some("assessor"), Some(org_id), Some(hash), Some(expires), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Ok(None);
    };
    let still_open = expires
        .parse::<i64>()
        .is_ok_and(|e| e > Utc::now().timestamp());
    if !still_open {
        return Ok(None);
    }
    match assessors::authenticate_hash(&state.db, hash).await? {
        Ok(org) if org.id.to_string() == org_id => Ok(Some((org, cookie.value().to_owned()))),
        _ => Ok(None),
    }
}

fn session_csrf(state: &AppState, session_cookie: &str) -> String {
    state
        .keys
        .digest(Purpose::Csrf, &format!("assessor-session:{session_cookie}"))
}

fn login_csrf(state: &AppState, pre: &str) -> String {
    state
        .keys
        .digest(Purpose::Csrf, &format!("assessor-login:{pre}"))
}

fn csrf_matches(given: Option<&str>, expected: &str) -> bool {
    given.is_some_and(|g| same_secret(g, expected))
}

fn cookie(
    state: &AppState,
    name: &'static str,
    value: String,
    max_age: CookieDuration,
) -> Cookie<'static> {
    Cookie::build(name, value)
        .path("/assessor")
        .max_age(max_age)
        .same_site(SameSite::Strict)
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .finish()
}

use crate::web::respond::see_other;

#[derive(Serialize)]
struct LoginPage {
    csrf: String,
    error: Option<String>,
}

async fn login_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    error_key: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let lang = state.lang(req);
    let pre = req.cookie(PRE_SESSION_COOKIE).and_then(|c| {
        state
            .keys
            .verify(Purpose::CookieSignature, c.value())
            .map(str::to_owned)
    });
    let (pre, new_cookie) = match pre {
        Some(p) => (p, None),
        None => {
            let p = format!("pre-{}", random_token(16));
            let c = cookie(
                state,
                PRE_SESSION_COOKIE,
                state.keys.sign(Purpose::CookieSignature, &p),
                CookieDuration::hours(12),
            );
            (p, Some(c))
        }
    };
    let error = error_key.map(|k| state.templates.text(lang, &format!("assessor_{k}")));
    let body = state.templates.render(
        "assessor/login.html.tera",
        lang,
        req.path(),
        &LoginPage {
            csrf: login_csrf(state, &pre),
            error,
        },
    )?;
    Ok(html(status, body, new_cookie))
}

/// `GET /assessor`: the sign-in form, or the uploads page when signed in.
pub async fn index(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    if session(&state, &req).await?.is_some() {
        return Ok(see_other("/assessor/uploads"));
    }
    login_page(&state, &req, StatusCode::OK, None).await
}

#[derive(Deserialize)]
pub struct LoginForm {
    csrf: String,
    token: String,
}

/// `POST /assessor/login`: checks the token and opens a session.
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<LoginForm>,
) -> Result<HttpResponse, PageError> {
    let pre = req.cookie(PRE_SESSION_COOKIE).and_then(|c| {
        state
            .keys
            .verify(Purpose::CookieSignature, c.value())
            .map(str::to_owned)
    });
    let csrf_ok = pre
        .as_deref()
        .is_some_and(|p| csrf_matches(Some(&form.csrf), &login_csrf(&state, p)));
    if !csrf_ok {
        return login_page(&state, &req, StatusCode::FORBIDDEN, Some("err_form")).await;
    }
    let org = match assessors::authenticate(&state.db, &state.keys, form.token.trim()).await? {
        Ok(org) => org,
        Err(problem) => {
            let key = match problem {
                TokenProblem::Unknown => "err_token_unknown",
                TokenProblem::Revoked => "err_token_revoked",
                TokenProblem::Expired => "err_token_expired",
            };
            return login_page(&state, &req, StatusCode::UNAUTHORIZED, Some(key)).await;
        }
    };
    let expires = (Utc::now() + chrono::Duration::hours(SESSION_HOURS)).min(org.token_expires_at);
    let max_age = CookieDuration::seconds((expires - Utc::now()).num_seconds().max(1));
    let value = state
        .keys
        .sign(Purpose::CookieSignature, &session_value(&org, expires));
    let mut clear_pre = cookie(
        &state,
        PRE_SESSION_COOKIE,
        String::new(),
        CookieDuration::ZERO,
    );
    clear_pre.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/assessor/uploads"))
        .cookie(cookie(&state, SESSION_COOKIE, value, max_age))
        .cookie(clear_pre)
        .finish())
}

#[derive(Deserialize)]
pub struct CsrfForm {
    csrf: String,
}

/// `POST /assessor/logout`.
pub async fn logout(
    state: web::Data<AppState>,
    req: HttpRequest,
    form: web::Form<CsrfForm>,
) -> Result<HttpResponse, PageError> {
    if let Some((_, value)) = session(&state, &req).await?
        && !csrf_matches(Some(&form.csrf), &session_csrf(&state, &value))
    {
        return Err(PageError::BadForm);
    }
    let mut gone = cookie(&state, SESSION_COOKIE, String::new(), CookieDuration::ZERO);
    gone.make_removal();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, "/assessor"))
        .cookie(gone)
        .finish())
}

#[derive(Serialize)]
struct CategoryLink {
    code: String,
    name: String,
}

#[derive(Serialize)]
struct UploadRow {
    id: i64,
    when: String,
    file_name: String,
    status: String,
    total_rows: i32,
    stored_rows: i32,
    error_count: i32,
}

#[derive(Serialize)]
struct UploadsPage {
    org_name: String,
    org_code: String,
    csrf: String,
    categories: Vec<CategoryLink>,
    uploads: Vec<UploadRow>,
    error: Option<String>,
    limit: String,
}

fn local_time(state: &AppState, at: DateTime<Utc>) -> String {
    at.with_timezone(&state.settings.local_offset())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

async fn render_uploads(
    state: &AppState,
    req: &HttpRequest,
    org: &AssessorOrg,
    session_value: &str,
    status: StatusCode,
    error_key: Option<&str>,
) -> Result<HttpResponse, PageError> {
    let lang = state.lang(req);
    let catalog = state.catalog.get();
    let categories = catalog
        .categories
        .iter()
        .enumerate()
        .filter(|(i, _)| catalog.questionnaire_of_category(*i).is_some())
        .map(|(_, c)| CategoryLink {
            code: c.code.clone(),
            name: lang.pick(&c.name_zh, &c.name_en).to_owned(),
        })
        .collect();
    let uploads = records::list(&state.db, org.id, 50)
        .await?
        .into_iter()
        .map(|u| UploadRow {
            id: u.id,
            when: local_time(state, u.created_at),
            file_name: u.file_name.unwrap_or_default(),
            status: u.status,
            total_rows: u.total_rows,
            stored_rows: u.stored_rows,
            error_count: u.error_count,
        })
        .collect();
    let error = error_key.map(|k| state.templates.text(lang, &format!("assessor_{k}")));
    let body = state.templates.render(
        "assessor/uploads.html.tera",
        lang,
        req.path(),
        &UploadsPage {
            org_name: org.name.clone(),
            org_code: org.code.clone(),
            csrf: session_csrf(state, session_value),
            categories,
            uploads,
            error,
            limit: crate::app::uploads::stage::describe_limit(state.settings.upload_limit_bytes),
        },
    )?;
    Ok(html(status, body, None))
}

/// `GET /assessor/uploads`: templates, the upload form and the history.
pub async fn uploads_page(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let Some((org, value)) = session(&state, &req).await? else {
        return Ok(see_other("/assessor"));
    };
    render_uploads(&state, &req, &org, &value, StatusCode::OK, None).await
}

/// `POST /assessor/uploads` (multipart: `csrf`, `file`): processes the file
/// and shows its report (303 to the report page).
pub async fn upload(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, PageError> {
    let Some((org, value)) = session(&state, &req).await? else {
        return Ok(see_other("/assessor"));
    };
    let received = api_uploads::receive(&state, &req, payload, None).await;
    let (incoming, fields) = match received {
        Ok(r) => r,
        Err(refusal) => {
            let id = api_uploads::record_refusal(&state, &org, &refusal).await?;
            return match (refusal, id) {
                (Refusal::Internal(e), _) => Err(PageError::Internal(e)),
                (_, Some(id)) => Ok(see_other(&format!("/assessor/uploads/{id}"))),
                (Refusal::NoFile, None) => {
                    render_uploads(
                        &state,
                        &req,
                        &org,
                        &value,
                        StatusCode::BAD_REQUEST,
                        Some("err_no_file"),
                    )
                    .await
                }
                (_, None) => Err(PageError::BadForm),
            };
        }
    };
    let csrf = fields
        .iter()
        .find(|(n, _)| n == "csrf")
        .map(|(_, v)| v.as_str());
    if !csrf_matches(csrf, &session_csrf(&state, &value)) {
        return Err(PageError::BadForm);
    }
    match api_uploads::process(&state, &org, &incoming).await? {
        Outcome::Stored(r) | Outcome::Replayed(r) | Outcome::Invalid(r) => {
            Ok(see_other(&format!("/assessor/uploads/{}", r.id)))
        }
        Outcome::Conflict => {
            render_uploads(
                &state,
                &req,
                &org,
                &value,
                StatusCode::CONFLICT,
                Some("err_conflict"),
            )
            .await
        }
    }
}

#[derive(Serialize)]
struct ReportPage {
    org_name: String,
    report: UploadReport,
    when: String,
    csrf: String,
}

/// `GET /assessor/uploads/{id}`: an upload's outcome and its errors as a table.
pub async fn report(
    state: web::Data<AppState>,
    req: HttpRequest,
    id: web::Path<i64>,
) -> Result<HttpResponse, PageError> {
    let Some((org, value)) = session(&state, &req).await? else {
        return Ok(see_other("/assessor"));
    };
    let record = records::get(&state.db, org.id, id.into_inner())
        .await?
        .ok_or(PageError::NotFound)?;
    let report = UploadReport::from_record(record);
    let lang = state.lang(&req);
    let status = if report.status == "stored" {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let body = state.templates.render(
        "assessor/report.html.tera",
        lang,
        req.path(),
        &ReportPage {
            org_name: org.name.clone(),
            when: local_time(&state, report.created_at),
            report,
            csrf: session_csrf(&state, &value),
        },
    )?;
    Ok(html(status, body, None))
}

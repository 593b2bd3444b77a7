use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::{Device, FormRender, Refill, html, render_form};
use crate::setup::configuration::CaptchaMode;
use crate::web::error::PageError;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct Ticket {
    t: Option<String>,
}

/// The questionnaire of an institution, reached from the QR code or a link.
#[tracing::instrument(name = "survey form", skip_all, fields(code = %code))]
pub async fn form(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    query: Result<web::Query<Ticket>, actix_web::Error>,
    device: Device,
) -> Result<HttpResponse, PageError> {
    let catalog = state.catalog.get();
    let institution = catalog.institution(&code).ok_or(PageError::NotFound)?;
    let questionnaire = catalog
        .questionnaire_for(institution)
        .ok_or(PageError::NotFound)?;
    let period = state.settings.current_period();
    // The form still renders when the database cannot be read: the
    // submission checks again and answers 503 then.
    match state.frozen.is_frozen(&state.db, period).await {
        Ok(true) => return Err(PageError::PeriodClosed),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = ?e, "Could not read the period state"),
    }
    let with_captcha = match state.settings.captcha {
        CaptchaMode::Always => true,
        CaptchaMode::Off => false,
        CaptchaMode::Adaptive => {
            let client = state.client_keys(&req);
            state.guards.counter.recent(&client.address).await >= state.settings.captcha_threshold
        }
    };
    let ticket = query
        .ok()
        .and_then(|q| q.into_inner().t)
        .filter(|t| !t.is_empty() && t.len() <= 64);
    let body = render_form(
        &state,
        FormRender {
            catalog: &catalog,
            institution,
            questionnaire: &questionnaire,
            lang: state.lang(&req),
            path: req.path(),
            device: &device.id,
            ticket,
            with_captcha,
            refill: Refill::default(),
        },
    )
    .await?;
    Ok(html(StatusCode::OK, body, device.new_cookie))
}

#[derive(Serialize)]
struct Message {
    title: String,
    text: String,
    link: Option<Link>,
}

#[derive(Serialize)]
struct Link {
    href: String,
    label: String,
}

/// Renders a titled message page of the locale.
pub fn message_page(
    state: &AppState,
    req: &HttpRequest,
    status: StatusCode,
    title_key: &str,
    text_key: &str,
    link: Option<(String, &str)>,
) -> Result<HttpResponse, PageError> {
    let lang = state.lang(req);
    let t = |k: &str| state.templates.text(lang, k).to_owned();
    let page = Message {
        title: t(title_key),
        text: t(text_key),
        link: link.map(|(href, key)| Link {
            href,
            label: t(key),
        }),
    };
    let body = state
        .templates
        .render("citizen/message.html.tera", lang, req.path(), &page)?;
    Ok(html(status, body, None))
}

/// After a stored submission.
pub async fn thanks(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    // Link to the latest published results, when there are any.
    let results = crate::db::snapshots::latest(&state.db)
        .await
        .map_err(PageError::Internal)?
        .map(|s| (format!("/results/{}", s.period), "thanks_results"));
    message_page(
        &state,
        &req,
        StatusCode::OK,
        "thanks_title",
        "thanks_text",
        results,
    )
}

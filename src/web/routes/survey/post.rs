use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;

use super::device::form_clock_served;
use super::get::message_page;
use super::{FormRender, Refill, csrf_token, device_id, html, render_form};
use crate::db::writer::{NewAnswer, NewResponse, Source, WriteOutcome};
use crate::domain::keys::Purpose;
use crate::domain::keys::same_secret;
use crate::domain::period::{Granularity, Period};
use crate::domain::submission::Submission;
use crate::guard::captcha::answer_matches;
use crate::guard::dedup::dedup_key;
use crate::guard::rate_limit::Scope;
use crate::setup::configuration::CaptchaMode;
use crate::web::error::PageError;
use crate::web::state::AppState;
use std::time::Duration;

/// Longest a form may stay open; older clocks mean a stale or replayed form.
const FORM_MAX_AGE_MS: i64 = 24 * 3600 * 1000;

/// Takes a citizen's submission: quotas, form integrity, captcha, validation,
/// then a durable write; 303 to the thank-you page only once committed.
#[tracing::instrument(name = "survey submit", skip_all, fields(code = %code))]
pub async fn submit(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
    body: web::Bytes,
) -> Result<HttpResponse, PageError> {
    let client = state.client_keys(&req);
    for scope in [Scope::Submission, Scope::SubnetSubmission] {
        if let Err(retry) = state.guards.charge(scope, &client).await {
            metrics::counter!("pingyi_submissions_refused_total", "reason" => "rate_limit")
                .increment(1);
            return Err(PageError::TooManyRequests(retry));
        }
    }

    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&body).map_err(|_| PageError::BadForm)?;
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    // Form integrity: a device cookie, the CSRF token bound to it, and a
    // signed clock from when the form was served to that device.
    let device = device_id(&state, &req).ok_or(PageError::BadForm)?;
    let csrf_ok = field("csrf").is_some_and(|c| same_secret(c, &csrf_token(&state, &device)));
    if !csrf_ok {
        metrics::counter!("pingyi_submissions_refused_total", "reason" => "csrf").increment(1);
        return Err(PageError::BadForm);
    }
    let now = Utc::now();
    let duration_ms = field("clock")
        .and_then(|c| form_clock_served(&state, c, &code, &device))
        .map(|shown| now.timestamp_millis() - shown)
        .filter(|d| (0..FORM_MAX_AGE_MS).contains(d))
        .ok_or(PageError::BadForm)?;

    let catalog = state.catalog.get();
    let institution = catalog.institution(&code).ok_or(PageError::NotFound)?;
    let questionnaire = catalog
        .questionnaire_for(institution)
        .ok_or(PageError::NotFound)?;
    let lang = state.lang(&req);
    let ticket = field("t").filter(|t| !t.is_empty()).map(str::to_owned);

    let captcha_required = match state.settings.captcha {
        CaptchaMode::Always => true,
        CaptchaMode::Off => false,
        CaptchaMode::Adaptive => {
            state.guards.counter.recent(&client.address).await >= state.settings.captcha_threshold
        }
    };
    let captcha_ok = if captcha_required {
        match (field("captcha_id"), field("captcha")) {
            (Some(id), Some(given)) => {
                let expected = state
                    .guards
                    .captcha
                    .take(id)
                    .await
                    .map_err(PageError::Internal)?;
                expected.is_some_and(|e| answer_matches(&e, given))
            }
            _ => false,
        }
    } else {
        true
    };

    let parsed = Submission::parse(
        &questionnaire.item_specs(),
        &pairs,
        state.settings.comment_max_chars,
    );
    let submission = match (parsed, captcha_ok) {
        (Ok(s), true) => s,
        (parsed, captcha_ok) => {
            let reason = if captcha_ok { "invalid" } else { "captcha" };
            metrics::counter!("pingyi_submissions_refused_total", "reason" => reason).increment(1);
            let refill = Refill {
                values: pairs
                    .iter()
                    .filter(|(n, _)| n.starts_with("q_"))
                    .cloned()
                    .collect(),
                comment: field("comment").unwrap_or_default().to_owned(),
                errors: parsed.err().unwrap_or_default(),
                captcha_error: !captcha_ok,
            };
            let body = render_form(
                &state,
                FormRender {
                    catalog: &catalog,
                    institution,
                    questionnaire: &questionnaire,
                    lang,
                    path: req.path(),
                    device: &device,
                    ticket,
                    with_captcha: captcha_required,
                    refill,
                },
            )
            .await?;
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, body, None));
        }
    };

    let dimension_of = |code: &str| {
        questionnaire
            .items
            .iter()
            .find(|i| i.code == code)
            .map(|i| i.dimension_code.clone())
            .unwrap_or_default()
    };
    let period = Period::containing(now, state.settings.period, state.settings.utc_offset_hours);
    let (respondent_hash, ticket_hash, channel) = match &ticket {
        Some(t) => (
            respondent_hash(&state, Purpose::TicketRespondent, period, t),
            Some(state.keys.digest(Purpose::Ticket, t)),
            "ticket",
        ),
        None => (
            respondent_hash(&state, Purpose::DeviceRespondent, period, &device),
            None,
            "web",
        ),
    };
    // Early answer for a published period; the writer re-checks inside its
    // transaction, which is what guarantees nothing more is stored.
    if state
        .frozen
        .is_frozen(&state.db, period)
        .await
        .unwrap_or(false)
    {
        metrics::counter!("pingyi_submissions_refused_total", "reason" => "frozen").increment(1);
        return Err(PageError::PeriodClosed);
    }
    let dedup = dedup_key(institution.id, &period.to_string(), &respondent_hash);
    if state.guards.dedup.seen(&dedup).await {
        metrics::counter!("pingyi_submissions_refused_total", "reason" => "duplicate").increment(1);
        return already_rated(&state, &req, ticket.is_some());
    }
    let response = NewResponse {
        institution_id: institution.id,
        questionnaire_id: questionnaire.id,
        source: Source::Citizen,
        period,
        submitted_at: now,
        duration_ms: Some(duration_ms),
        channel,
        respondent_hash,
        comment: submission.comment,
        answers: submission
            .answers
            .iter()
            .map(|(code, choice)| NewAnswer {
                item_code: code.clone(),
                dimension_code: dimension_of(code),
                rating: choice.rating().map(|r| i16::from(r.value())),
            })
            .collect(),
        ticket_hash,
    };
    match state.writer.submit(response).await {
        Ok(WriteOutcome::Stored(_)) => {
            metrics::counter!("pingyi_submissions_accepted_total").increment(1);
            state.guards.counter.record(&client.address).await;
            state
                .guards
                .dedup
                .remember(&dedup, period_ttl(period))
                .await;
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/s/{}/thanks", institution.code)))
                .finish())
        }
        Ok(WriteOutcome::Duplicate) => {
            metrics::counter!("pingyi_submissions_refused_total", "reason" => "duplicate")
                .increment(1);
            message_page(
                &state,
                &req,
                StatusCode::CONFLICT,
                "already_title",
                "already_text",
                None,
            )
        }
        Ok(WriteOutcome::PeriodClosed) => {
            metrics::counter!("pingyi_submissions_refused_total", "reason" => "frozen")
                .increment(1);
            Err(PageError::PeriodClosed)
        }
        Ok(WriteOutcome::TicketRefused) => {
            metrics::counter!("pingyi_submissions_refused_total", "reason" => "ticket")
                .increment(1);
            message_page(
                &state,
                &req,
                StatusCode::CONFLICT,
                "ticket_title",
                "ticket_text",
                None,
            )
        }
        Err(_) => {
            metrics::counter!("pingyi_submissions_refused_total", "reason" => "unavailable")
                .increment(1);
            Err(PageError::Unavailable)
        }
    }
}

/// The stored respondent hash: HMAC(secret, purpose, period, device id or
/// ticket code). Keyed with the period, so one device's ratings are linkable
/// within a period (across institutions, which the integrity checks need)
/// and unlinkable across periods; the unique index over (institution,
/// period, respondent hash) still allows one response per respondent per
/// institution and period, and the Redis dedup key
/// (`dedup:{institution}:{period}:{hash}`) is made from the same hash.
///
/// Rows stored before this keying carry the old period-free hash
/// (HMAC(secret, "device", id), the ticket's own hash for tickets) and keep
/// it: no data is migrated. The one consequence is confined to the period
/// of the upgrade, where a device that rated an institution before it can
/// rate that institution once more after it.
fn respondent_hash(state: &AppState, purpose: Purpose, period: Period, id: &str) -> String {
    state.keys.digest_in(purpose, &period.to_string(), id)
}

/// 409: this respondent (device or ticket) has already rated here this period.
fn already_rated(
    state: &AppState,
    req: &HttpRequest,
    ticket: bool,
) -> Result<HttpResponse, PageError> {
    let (title, text) = if ticket {
        ("ticket_title", "ticket_text")
    } else {
        ("already_title", "already_text")
    };
    message_page(state, req, StatusCode::CONFLICT, title, text, None)
}

/// How long a dedup key is worth keeping: until its period is over.
fn period_ttl(period: Period) -> Duration {
    let days = match period.granularity() {
        Granularity::Month => 32,
        Granularity::Quarter => 93,
        Granularity::Year => 367,
    };
    Duration::from_secs(days * 24 * 3600)
}

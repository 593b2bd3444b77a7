use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::{DateTime, Utc};

use super::device::form_clock_served;
use super::get::message_page;
use super::{FormRender, Refill, csrf_token, device_id, html, render_form};
use crate::app::integrity;
use crate::db::catalog::{Institution, Questionnaire};
use crate::db::writer::{NewAnswer, NewResponse, Source, Unavailable, WriteOutcome};
use crate::domain::keys::Purpose;
use crate::domain::keys::same_secret;
use crate::domain::period::{Granularity, Period};
use crate::domain::submission::{FieldErrors, Submission};
use crate::guard::ClientKeys;
use crate::guard::captcha::answer_matches;
use crate::guard::dedup::dedup_key;
use crate::guard::rate_limit::Scope;
use crate::setup::configuration::CaptchaMode;
use crate::web::client_addr::client_addr;
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
    charge_quotas(&state, &client).await?;
    let form = Fields::parse(&body)?;
    let (device, duration_ms, now) = check_integrity(&state, &req, &form, &code)?;

    let catalog = state.catalog.get();
    let institution = catalog.institution(&code).ok_or(PageError::NotFound)?;
    let questionnaire = catalog
        .questionnaire_for(institution)
        .ok_or(PageError::NotFound)?;
    let ticket = form.get("t").filter(|t| !t.is_empty()).map(str::to_owned);
    let captcha = check_captcha(&state, &client, &form).await?;
    let parsed = Submission::parse(
        &questionnaire.item_specs(),
        &form.pairs,
        state.settings.comment_max_chars,
    );
    let submission = match (parsed, captcha.passed) {
        (Ok(s), true) => s,
        (parsed, passed) => {
            refused(if passed { "invalid" } else { "captcha" });
            let render = FormRender {
                catalog: &catalog,
                institution,
                questionnaire: &questionnaire,
                lang: state.lang(&req),
                path: req.path(),
                device: &device,
                ticket,
                with_captcha: captcha.required,
                refill: form.refill(parsed.err().unwrap_or_default(), !passed),
            };
            let body = render_form(&state, render).await?;
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, body, None));
        }
    };

    let period = Period::containing(now, state.settings.period, state.settings.utc_offset_hours);
    let respondent = Respondent::of(&state, period, ticket.as_deref(), &device);
    // Early answer for a published period; the writer re-checks inside its
    // transaction, which is what guarantees nothing more is stored.
    if state
        .frozen
        .is_frozen(&state.db, period)
        .await
        .unwrap_or(false)
    {
        refused("frozen");
        return Err(PageError::PeriodClosed);
    }
    let dedup = dedup_key(institution.id, &period.to_string(), &respondent.hash);
    if state.guards.dedup.seen(&dedup).await {
        refused("duplicate");
        return already_rated(&state, &req, ticket.is_some());
    }
    let network_hash = integrity::collect::network_hash(
        &state.keys,
        period,
        client_addr(&req, &state.settings.trusted_proxies),
    );
    let comment_key =
        integrity::collect::comment_key(&state.keys, period, submission.comment.as_deref());
    let mut response = new_response(
        institution,
        &questionnaire,
        period,
        now,
        duration_ms,
        respondent,
        submission,
    );
    response.network_hash = network_hash;
    response.comment_key = comment_key;
    let outcome = state.writer.submit(response).await;
    answer(
        &state,
        &req,
        &client,
        outcome,
        &dedup,
        period,
        &institution.code,
    )
    .await
}

/// The answer to a write: 303 to the thank-you page once stored (the
/// address's submission counted and the dedup key kept until the period
/// ends), else why not.
async fn answer(
    state: &AppState,
    req: &HttpRequest,
    client: &ClientKeys,
    outcome: Result<WriteOutcome, Unavailable>,
    dedup: &str,
    period: Period,
    institution: &str,
) -> Result<HttpResponse, PageError> {
    match outcome {
        Ok(WriteOutcome::Stored(_)) => {
            metrics::counter!("pingyi_submissions_accepted_total").increment(1);
            state.guards.counter.record(&client.address).await;
            state.guards.dedup.remember(dedup, period_ttl(period)).await;
            Ok(HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/s/{institution}/thanks")))
                .finish())
        }
        Ok(WriteOutcome::Duplicate) => {
            refused("duplicate");
            already_rated(state, req, false)
        }
        Ok(WriteOutcome::PeriodClosed) => {
            refused("frozen");
            Err(PageError::PeriodClosed)
        }
        Ok(WriteOutcome::TicketRefused) => {
            refused("ticket");
            already_rated(state, req, true)
        }
        Err(_) => {
            refused("unavailable");
            Err(PageError::Unavailable)
        }
    }
}

/// Counts a refused submission under its reason.
fn refused(reason: &'static str) {
    metrics::counter!("pingyi_submissions_refused_total", "reason" => reason).increment(1);
}

/// The submission quotas of the client's address and of its network.
async fn charge_quotas(state: &AppState, client: &ClientKeys) -> Result<(), PageError> {
    for scope in [Scope::Submission, Scope::SubnetSubmission] {
        if let Err(retry) = state.guards.charge(scope, client).await {
            refused("rate_limit");
            return Err(PageError::TooManyRequests(retry));
        }
    }
    Ok(())
}

/// The decoded form fields, in order (an item may be sent twice, which the
/// submission parser refuses).
struct Fields {
    pairs: Vec<(String, String)>,
}

impl Fields {
    fn parse(body: &[u8]) -> Result<Fields, PageError> {
        let pairs = serde_urlencoded::from_bytes(body).map_err(|_| PageError::BadForm)?;
        Ok(Fields { pairs })
    }

    /// The first value of a field.
    fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// What the form is shown again with: the citizen's answers and the
    /// problems found.
    fn refill(&self, errors: FieldErrors, captcha_error: bool) -> Refill {
        Refill {
            values: self
                .pairs
                .iter()
                .filter(|(n, _)| n.starts_with("q_"))
                .cloned()
                .collect(),
            comment: self.get("comment").unwrap_or_default().to_owned(),
            errors,
            captcha_error,
        }
    }
}

/// Form integrity: a device cookie, the CSRF token bound to it, and a signed
/// clock from when the form was served to that device. The device, how long
/// the form was open (ms) and the time of the submission.
fn check_integrity(
    state: &AppState,
    req: &HttpRequest,
    form: &Fields,
    code: &str,
) -> Result<(String, i64, DateTime<Utc>), PageError> {
    let device = device_id(state, req).ok_or(PageError::BadForm)?;
    let csrf_ok = form
        .get("csrf")
        .is_some_and(|c| same_secret(c, &csrf_token(state, &device)));
    if !csrf_ok {
        refused("csrf");
        return Err(PageError::BadForm);
    }
    let now = Utc::now();
    let duration_ms = form
        .get("clock")
        .and_then(|c| form_clock_served(state, c, code, &device))
        .map(|shown| now.timestamp_millis() - shown)
        .filter(|d| (0..FORM_MAX_AGE_MS).contains(d))
        .ok_or(PageError::BadForm)?;
    Ok((device, duration_ms, now))
}

/// Whether the form had to carry a captcha, and whether it passed.
struct Captcha {
    required: bool,
    passed: bool,
}

/// The captcha, when the mode (or, adaptively, the address's recent
/// submissions) asks for one; a challenge is used up by its first answer.
async fn check_captcha(
    state: &AppState,
    client: &ClientKeys,
    form: &Fields,
) -> Result<Captcha, PageError> {
    let required = match state.settings.captcha {
        CaptchaMode::Always => true,
        CaptchaMode::Off => false,
        CaptchaMode::Adaptive => {
            state.guards.counter.recent(&client.address).await >= state.settings.captcha_threshold
        }
    };
    if !required {
        return Ok(Captcha {
            required,
            passed: true,
        });
    }
    let passed = match (form.get("captcha_id"), form.get("captcha")) {
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
    };
    Ok(Captcha { required, passed })
}

/// Who is rating: a ticket, or else the device.
struct Respondent {
    hash: String,
    ticket_hash: Option<String>,
    channel: &'static str,
}

impl Respondent {
    fn of(state: &AppState, period: Period, ticket: Option<&str>, device: &str) -> Respondent {
        match ticket {
            Some(t) => Respondent {
                hash: respondent_hash(state, Purpose::TicketRespondent, period, t),
                ticket_hash: Some(state.keys.digest(Purpose::Ticket, t)),
                channel: "ticket",
            },
            None => Respondent {
                hash: respondent_hash(state, Purpose::DeviceRespondent, period, device),
                ticket_hash: None,
                channel: "web",
            },
        }
    }
}

/// The response to store: the submission's answers, each with its item's
/// dimension.
fn new_response(
    institution: &Institution,
    questionnaire: &Questionnaire,
    period: Period,
    now: DateTime<Utc>,
    duration_ms: i64,
    respondent: Respondent,
    submission: Submission,
) -> NewResponse {
    let dimension_of = |code: &str| {
        questionnaire
            .items
            .iter()
            .find(|i| i.code == code)
            .map(|i| i.dimension_code.clone())
            .unwrap_or_default()
    };
    NewResponse {
        institution_id: institution.id,
        questionnaire_id: questionnaire.id,
        source: Source::Citizen,
        period,
        submitted_at: now,
        duration_ms: Some(duration_ms),
        channel: respondent.channel,
        respondent_hash: respondent.hash,
        comment: submission.comment,
        // Keyed with the request's network and the period: set by `submit`.
        network_hash: None,
        comment_key: None,
        answers: submission
            .answers
            .iter()
            .map(|(code, choice)| NewAnswer {
                item_code: code.clone(),
                dimension_code: dimension_of(code),
                rating: choice.rating().map(|r| i16::from(r.value())),
            })
            .collect(),
        ticket_hash: respondent.ticket_hash,
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

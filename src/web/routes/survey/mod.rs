//! The questionnaire: the form, its submission, the thank-you page and the
//! captcha image.

pub mod device;
pub mod get;
pub mod post;

pub use device::{DEVICE_COOKIE, Device, csrf_token, device_id, form_clock};

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Serialize;

use crate::db::catalog::{Catalog, Institution, Questionnaire};
use crate::domain::submission::{FieldErrors, FieldProblem, NOT_APPLICABLE, item_field};
use crate::guard::captcha::{new_challenge, render_png};
use crate::web::error::PageError;
use crate::web::form_cache::{FormKey, Tokens};
use crate::web::i18n::Lang;
use crate::web::state::AppState;

/// What the citizen entered, to refill the form after a refusal.
#[derive(Default)]
pub struct Refill {
    pub values: BTreeMap<String, String>,
    pub comment: String,
    pub errors: FieldErrors,
    pub captcha_error: bool,
}

#[derive(Serialize)]
struct ItemView {
    code: String,
    text: String,
    required: bool,
    value: String,
    error: Option<String>,
}

#[derive(Serialize)]
struct Level {
    value: &'static str,
    label: String,
}

#[derive(Serialize)]
struct InstitutionView {
    code: String,
    name: String,
    category: String,
    district: String,
}

#[derive(Serialize)]
struct FormPage<'a> {
    institution: InstitutionView,
    items: Vec<ItemView>,
    levels: Vec<Level>,
    errors: Vec<String>,
    form_error: Option<String>,
    comment: String,
    comment_error: Option<String>,
    comment_hint: String,
    comment_max: usize,
    csrf: &'a str,
    clock: &'a str,
    ticket: Option<&'a str>,
    captcha_id: Option<&'a str>,
    captcha_error: Option<String>,
}

fn problem_key(p: FieldProblem) -> &'static str {
    match p {
        FieldProblem::Required => "err_required",
        FieldProblem::InvalidRating => "err_invalid_rating",
        FieldProblem::NothingRated => "err_nothing_rated",
        FieldProblem::CommentTooLong => "err_comment_too_long",
        FieldProblem::UnknownField => "err_unknown_field",
    }
}

/// Everything the form page needs besides the request.
pub struct FormRender<'a> {
    pub catalog: &'a Catalog,
    pub institution: &'a Institution,
    pub questionnaire: &'a Questionnaire,
    pub lang: Lang,
    pub path: &'a str,
    pub device: &'a str,
    pub ticket: Option<String>,
    pub with_captcha: bool,
    pub refill: Refill,
}

impl Refill {
    /// Nothing to refill: the form as first served.
    fn is_empty(&self) -> bool {
        self.values.is_empty()
            && self.comment.is_empty()
            && self.errors.is_empty()
            && !self.captcha_error
    }
}

/// Renders the questionnaire (fresh, or refilled with messages). A fresh
/// form at its own address comes from the cache of rendered forms, with
/// this view's values spliced in; the same page, byte for byte, as a render.
pub async fn render_form(state: &AppState, f: FormRender<'_>) -> Result<String, PageError> {
    let captcha_id = if f.with_captcha {
        let (id, answer) = new_challenge();
        let ttl = Duration::from_secs(state.settings.captcha_ttl_secs);
        state
            .guards
            .captcha
            .put(&id, &answer, ttl)
            .await
            .map_err(PageError::Internal)?;
        Some(id)
    } else {
        None
    };
    let tokens = Tokens {
        csrf: csrf_token(state, f.device),
        clock: form_clock(state, &f.institution.code, f.device),
        ticket: f.ticket.clone(),
        captcha_id,
    };
    // Only the canonical path: the language switch link quotes the path
    // as requested, and `/s/%70ower-01` must not be cached as `/s/power-01`.
    let canonical = f.path.strip_prefix("/s/") == Some(f.institution.code.as_str());
    if f.refill.is_empty() && canonical {
        let key = FormKey {
            generation: f.catalog.generation,
            institution: f.institution.id,
            questionnaire: f.questionnaire.id,
            version: f.questionnaire.version,
            lang: f.lang,
            ticket: tokens.ticket.is_some(),
            captcha: tokens.captcha_id.is_some(),
        };
        let cached = state
            .forms
            .page(key, &tokens, |marked| form_page(state, &f, marked))
            .map_err(PageError::Internal)?;
        if let Some(page) = cached {
            return Ok(page);
        }
    }
    Ok(form_page(state, &f, &tokens)?)
}

/// Renders the questionnaire page with the given per-view values.
fn form_page(state: &AppState, f: &FormRender<'_>, tokens: &Tokens) -> anyhow::Result<String> {
    let t = |key: &str| state.templates.text(f.lang, key).to_owned();
    let pick = |zh: &str, en: &str| f.lang.pick(zh, en).to_owned();
    let items = f
        .questionnaire
        .items
        .iter()
        .map(|item| {
            let field = item_field(&item.code);
            ItemView {
                code: item.code.clone(),
                text: pick(&item.text_zh, &item.text_en),
                required: item.required,
                value: f.refill.values.get(&field).cloned().unwrap_or_default(),
                error: f.refill.errors.get(&field).map(|p| t(problem_key(*p))),
            }
        })
        .collect();
    let mut levels: Vec<Level> = ["5", "4", "3", "2", "1"]
        .iter()
        .map(|v| Level {
            value: v,
            label: t(&format!("scale_{v}")),
        })
        .collect();
    levels.push(Level {
        value: NOT_APPLICABLE,
        label: t("scale_na"),
    });
    let c = &f.catalog.categories[f.institution.category];
    let d = &f.catalog.districts[f.institution.district];
    let mut errors: Vec<String> = f
        .refill
        .errors
        .values()
        .map(|p| t(problem_key(*p)))
        .collect();
    if f.refill.captcha_error {
        errors.push(t("err_captcha"));
    }
    let page = FormPage {
        institution: InstitutionView {
            code: f.institution.code.clone(),
            name: pick(&f.institution.name_zh, &f.institution.name_en),
            category: pick(&c.name_zh, &c.name_en),
            district: pick(&d.name_zh, &d.name_en),
        },
        items,
        levels,
        errors,
        form_error: f.refill.errors.get("_form").map(|p| t(problem_key(*p))),
        comment: f.refill.comment.clone(),
        comment_error: f.refill.errors.get("comment").map(|p| t(problem_key(*p))),
        comment_hint: t("comment_hint")
            .replace("{n}", &state.settings.comment_max_chars.to_string()),
        comment_max: state.settings.comment_max_chars,
        csrf: &tokens.csrf,
        clock: &tokens.clock,
        ticket: tokens.ticket.as_deref(),
        captcha_id: tokens.captcha_id.as_deref(),
        captcha_error: f.refill.captcha_error.then(|| t("err_captcha")),
    };
    state
        .templates
        .render("citizen/survey.html.tera", f.lang, f.path, &page)
}

pub use crate::web::respond::html;

/// The captcha image of a pending challenge.
pub async fn captcha_png(
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let answer = state
        .guards
        .captcha
        .peek(&id)
        .await
        .map_err(PageError::Internal)?
        .ok_or(PageError::NotFound)?;
    // Drawing is CPU-bound and the image type is not Send: off the executor.
    let png = web::block(move || render_png(&answer))
        .await
        .map_err(|e| PageError::Internal(anyhow::anyhow!("Captcha rendering was cancelled: {e}")))?
        .ok_or_else(|| PageError::Internal(anyhow::anyhow!("Captcha rendering failed")))?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/png"))
        .insert_header(crate::web::respond::NO_STORE)
        .body(png))
}

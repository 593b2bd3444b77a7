//! Errors of the office pages.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::domain::period::PeriodError;
use crate::web::i18n::{Lang, Message, Templates};

#[derive(Debug, thiserror::Error)]
pub enum OfficeError {
    /// Not signed in: to the sign-in page, then back to this path.
    #[error("sign-in required")]
    Login(String),
    #[error("forbidden")]
    Forbidden,
    #[error("not found")]
    NotFound,
    /// A form without its session's CSRF token.
    #[error("form expired or forged")]
    BadForm,
    /// Bad input: the message says what is wrong; nothing was changed.
    #[error("invalid: {}", .0.key)]
    Invalid(Message),
    #[error("conflict: {}", .0.key)]
    Conflict(Message),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<PeriodError> for OfficeError {
    fn from(e: PeriodError) -> Self {
        OfficeError::Invalid(Message::new("msg_bad_period").arg("text", e.0))
    }
}

#[derive(Serialize)]
struct ErrorPage {
    status: u16,
    title: String,
    text: String,
}

impl OfficeError {
    pub fn invalid(key: &'static str) -> OfficeError {
        OfficeError::Invalid(Message::new(key))
    }

    /// The error page in `lang`; plain text if even the template fails.
    pub fn render(&self, templates: &Templates, lang: Lang, path: &str) -> String {
        let (title, text) = match self {
            OfficeError::Forbidden => (
                templates.text(lang, "error_forbidden"),
                templates.text(lang, "error_forbidden_text"),
            ),
            OfficeError::NotFound => (
                templates.text(lang, "error_not_found"),
                templates.text(lang, "error_not_found_text"),
            ),
            OfficeError::BadForm => (
                templates.text(lang, "error_bad_form"),
                templates.text(lang, "error_bad_form_text"),
            ),
            OfficeError::Invalid(m) => (
                templates.text(lang, "error_not_accepted"),
                format!(
                    "{} {}",
                    templates.message(lang, m),
                    templates.text(lang, "error_nothing_changed")
                ),
            ),
            OfficeError::Conflict(m) => (
                templates.text(lang, "error_conflict"),
                templates.message(lang, m),
            ),
            OfficeError::Login(_) | OfficeError::Internal(_) => (
                templates.text(lang, "error_internal"),
                templates.text(lang, "error_internal_text"),
            ),
        };
        let page = ErrorPage {
            status: self.status_code().as_u16(),
            title,
            text,
        };
        templates
            .render("office/error.html.tera", lang, path, &page)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "The office error page failed to render");
                page.text.clone()
            })
    }
}

impl ResponseError for OfficeError {
    fn status_code(&self) -> StatusCode {
        match self {
            OfficeError::Login(_) => StatusCode::SEE_OTHER,
            OfficeError::Forbidden | OfficeError::BadForm => StatusCode::FORBIDDEN,
            OfficeError::NotFound => StatusCode::NOT_FOUND,
            OfficeError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            OfficeError::Conflict(_) => StatusCode::CONFLICT,
            OfficeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let OfficeError::Login(next) = self {
            let next = serde_urlencoded::to_string([("next", next)]).unwrap_or_default();
            return HttpResponse::SeeOther()
                .insert_header((header::LOCATION, format!("/office/login?{next}")))
                .insert_header(crate::web::respond::NO_STORE)
                .finish();
        }
        if let OfficeError::Internal(e) = self {
            tracing::error!(error = ?e, "Office request failed");
        }
        // A plain-text stand-in, replaced by `localise_errors` (see there).
        HttpResponse::build(self.status_code())
            .insert_header(ContentType::plaintext())
            .insert_header(crate::web::respond::NO_STORE)
            .body(self.to_string())
    }
}

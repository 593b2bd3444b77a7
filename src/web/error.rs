//! Errors of the citizen pages. Internal causes are logged with their whole
//! chain and never shown: the page says what happened in plain words, in the
//! reader's language (see `crate::web::routes::localise`).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::guard::rate_limit::RetryAfter;
use crate::web::i18n::{Lang, Templates};

#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("not found")]
    NotFound,
    #[error("too many requests")]
    TooManyRequests(RetryAfter),
    #[error("form expired or forged")]
    BadForm,
    #[error("the period is closed")]
    PeriodClosed,
    #[error("service unavailable")]
    Unavailable,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorPage {
    status: u16,
    title: String,
    text: String,
}

impl PageError {
    /// The catalogue key of the page's title; the text is `<key>_text`.
    fn key(&self) -> &'static str {
        match self {
            PageError::NotFound => "error_not_found",
            PageError::TooManyRequests(_) => "error_too_many",
            PageError::BadForm => "error_bad_form",
            PageError::PeriodClosed => "error_period_closed",
            PageError::Unavailable => "error_unavailable",
            PageError::Internal(_) => "error_internal",
        }
    }

    /// The error page in `lang`; plain text if even the template fails.
    pub fn render(&self, templates: &Templates, lang: Lang, path: &str) -> String {
        let key = self.key();
        let page = ErrorPage {
            status: self.status_code().as_u16(),
            title: templates.text(lang, key),
            text: templates.text(lang, &format!("{key}_text")),
        };
        templates
            .render("error/page.html.tera", lang, path, &page)
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "The error page failed to render");
                page.title.clone()
            })
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::NotFound => StatusCode::NOT_FOUND,
            PageError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            PageError::BadForm => StatusCode::FORBIDDEN,
            PageError::PeriodClosed => StatusCode::CONFLICT,
            PageError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            PageError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::Internal(e) = self {
            tracing::error!(error = ?e, "Request failed");
        }
        let mut response = HttpResponse::build(self.status_code());
        response
            .insert_header(ContentType::plaintext())
            .insert_header(crate::web::respond::NO_STORE);
        match self {
            PageError::TooManyRequests(retry) => {
                response.insert_header((header::RETRY_AFTER, retry.seconds().to_string()));
            }
            PageError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        // A plain-text stand-in: `localise_errors`, which knows the request,
        // replaces it with the page in the reader's language.
        response.body(self.to_string())
    }
}

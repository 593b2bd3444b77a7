//! Errors of the office pages.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::error::ERROR_TEMPLATES;

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
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

#[derive(Serialize)]
struct ErrorPage<'a> {
    status: u16,
    title: &'a str,
    text: String,
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
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .finish();
        }
        if let OfficeError::Internal(e) = self {
            tracing::error!(error = ?e, "Office request failed");
        }
        let (title, text) = match self {
            OfficeError::Forbidden => (
                "无权访问 · Forbidden",
                "您的账号无权查看或执行此操作。 Your account may not see or do this.".to_owned(),
            ),
            OfficeError::NotFound => (
                "页面不存在 · Not found",
                "The page or record does not exist.".to_owned(),
            ),
            OfficeError::BadForm => (
                "表单已过期 · Form expired",
                "请返回并刷新页面后重试。 Go back, reload the page and try again.".to_owned(),
            ),
            OfficeError::Invalid(m) => (
                "无法处理 · Not accepted",
                format!("{m}. Nothing was changed."),
            ),
            OfficeError::Conflict(m) => ("冲突 · Conflict", m.clone()),
            _ => (
                "系统错误 · Something went wrong",
                "An unexpected error occurred; please try again later.".to_owned(),
            ),
        };
        let page = ErrorPage {
            status: self.status_code().as_u16(),
            title,
            text,
        };
        let body = ERROR_TEMPLATES
            .get()
            .and_then(|t| t.render_plain("office/error.html.tera", &page).ok())
            .unwrap_or_else(|| page.text.clone());
        HttpResponse::build(self.status_code())
            .insert_header(ContentType::html())
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .body(body)
    }
}

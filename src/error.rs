//! Errors of the citizen pages. Internal causes are logged with their whole
//! chain and never shown: the page says what happened in plain words, in
//! both languages, since it may be rendered before the locale is known.

use std::sync::OnceLock;

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::guard::rate_limit::RetryAfter;
use crate::templates::Templates;

/// Set once at start-up so error responses can be rendered from anywhere.
pub static ERROR_TEMPLATES: OnceLock<std::sync::Arc<Templates>> = OnceLock::new();

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
    title_zh: &'static str,
    text_zh: &'static str,
    title_en: &'static str,
    text_en: &'static str,
}

impl PageError {
    fn page(&self) -> ErrorPage {
        let (title_zh, text_zh, title_en, text_en) = match self {
            PageError::NotFound => (
                "页面不存在",
                "您要找的页面或服务单位不存在。",
                "Not found",
                "The page or service unit you are looking for does not exist.",
            ),
            PageError::TooManyRequests(_) => (
                "请求过于频繁",
                "请稍后再试。",
                "Too many requests",
                "Please wait a moment and try again.",
            ),
            PageError::BadForm => (
                "表单已过期",
                "请返回并刷新页面后重新填写。请确认浏览器允许使用 Cookie。",
                "The form has expired",
                "Please go back, reload the page and fill it in again. Cookies must be enabled.",
            ),
            PageError::PeriodClosed => (
                "本期测评已结束",
                "本期结果已经公布，暂不接受新的评价。",
                "This period is closed",
                "This period's results have been published; new ratings are not accepted now.",
            ),
            PageError::Unavailable => (
                "服务暂时不可用",
                "您的评价没有保存，请稍后重新提交。",
                "Temporarily unavailable",
                "Your rating was not saved; please submit it again in a moment.",
            ),
            PageError::Internal(_) => (
                "系统错误",
                "出现了意外错误，请稍后再试。",
                "Something went wrong",
                "An unexpected error occurred; please try again later.",
            ),
        };
        ErrorPage {
            status: self.status_code().as_u16(),
            title_zh,
            text_zh,
            title_en,
            text_en,
        }
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
            .insert_header(ContentType::html())
            .insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            PageError::TooManyRequests(retry) => {
                response.insert_header((header::RETRY_AFTER, retry.seconds().to_string()));
            }
            PageError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        let body = ERROR_TEMPLATES
            .get()
            .and_then(|t| t.render_plain("error/page.html.tera", &self.page()).ok())
            .unwrap_or_else(|| self.page().title_en.to_owned());
        response.body(body)
    }
}

//! Errors of the JSON API: a stable snake_case `code` clients match on and a
//! message for people. Internal causes are logged, never shown.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde_json::json;

use crate::app::uploads::UploadReport;
use crate::app::uploads::stage::describe_limit;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No, unknown, revoked or expired token.
    #[error("{message}")]
    Unauthorized {
        code: &'static str,
        message: &'static str,
    },
    #[error("not found")]
    NotFound,
    /// Signed in, but the role does not allow this.
    #[error("{message}")]
    Forbidden { code: &'static str, message: String },
    /// Well-formed but not acceptable (bad query values, an unpublishable period).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("the upload exceeds the limit")]
    TooLarge { limit: u64 },
    #[error("{message}")]
    UnsupportedMediaType { code: &'static str, message: String },
    #[error("{message}")]
    BadRequest { code: &'static str, message: String },
    /// The file has row errors; nothing was stored.
    #[error("the file is invalid")]
    InvalidFile(Box<UploadReport>),
    #[error("{message}")]
    Conflict { code: &'static str, message: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::Unauthorized { code, .. }
            | ApiError::UnsupportedMediaType { code, .. }
            | ApiError::BadRequest { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Unprocessable { code, .. } => code,
            ApiError::NotFound => "not_found",
            ApiError::TooLarge { .. } => "payload_too_large",
            ApiError::InvalidFile(_) => "invalid_file",
            ApiError::Internal(_) => "internal_error",
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Forbidden { .. } => StatusCode::FORBIDDEN,
            ApiError::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType { .. } => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::InvalidFile(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let body = match self {
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "API request failed");
                json!({"error": self.code(), "message": "An unexpected error occurred; nothing was stored. Please try again later."})
            }
            ApiError::NotFound => json!({"error": self.code(), "message": "Not found"}),
            ApiError::TooLarge { limit } => json!({
                "error": self.code(),
                "message": format!("The upload is larger than the limit of {}; split the file", describe_limit(*limit)),
                "limit_bytes": limit,
            }),
            ApiError::InvalidFile(report) => json!({
                "error": self.code(),
                "message": format!(
                    "The file has {} error(s); nothing was stored. Fix them and upload the whole file again.",
                    report.total_errors
                ),
                "upload_id": report.id,
                "total_rows": report.total_rows,
                "total_errors": report.total_errors,
                "errors": report.errors,
            }),
            other => json!({"error": other.code(), "message": other.to_string()}),
        };
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CACHE_CONTROL, "no-store"));
        if let ApiError::Unauthorized { code, .. } = self {
            let challenge = if *code == "missing_token" {
                "Bearer realm=\"pingyi\"".to_owned()
            } else {
                format!(
                    "Bearer realm=\"pingyi\", error=\"invalid_token\", error_description=\"{code}\""
                )
            };
            response.insert_header((header::WWW_AUTHENTICATE, challenge));
        }
        response.json(body)
    }
}

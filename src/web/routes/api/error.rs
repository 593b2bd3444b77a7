//! Errors of the JSON API: a stable snake_case `code` clients match on and a
//! message for people. Internal causes are logged, never shown.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use crate::app::uploads::UploadReport;
use crate::app::uploads::stage::describe_limit;

/// Every `error` code the API answers with: clients match on these, so a
/// code is added, never renamed. Serialised in snake_case, and listed in the
/// OpenAPI document (`ApiErrorBody`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApiErrorCode {
    MissingToken,
    InvalidToken,
    TokenRevoked,
    TokenExpired,
    Csrf,
    Forbidden,
    NotFound,
    InvalidPeriod,
    InvalidQuery,
    FilterNotApplicable,
    UnknownCategory,
    UnknownDistrict,
    UnknownTable,
    NothingToPublish,
    InvalidInput,
    ReasonRequired,
    UnsupportedFormat,
    NoFile,
    UploadInterrupted,
    ConcurrentUpload,
    PayloadTooLarge,
    InvalidFile,
    InternalError,
}

impl ApiErrorCode {
    /// The code as clients see it.
    pub fn as_str(self) -> &'static str {
        match self {
            ApiErrorCode::MissingToken => "missing_token",
            ApiErrorCode::InvalidToken => "invalid_token",
            ApiErrorCode::TokenRevoked => "token_revoked",
            ApiErrorCode::TokenExpired => "token_expired",
            ApiErrorCode::Csrf => "csrf",
            ApiErrorCode::Forbidden => "forbidden",
            ApiErrorCode::NotFound => "not_found",
            ApiErrorCode::InvalidPeriod => "invalid_period",
            ApiErrorCode::InvalidQuery => "invalid_query",
            ApiErrorCode::FilterNotApplicable => "filter_not_applicable",
            ApiErrorCode::UnknownCategory => "unknown_category",
            ApiErrorCode::UnknownDistrict => "unknown_district",
            ApiErrorCode::UnknownTable => "unknown_table",
            ApiErrorCode::NothingToPublish => "nothing_to_publish",
            ApiErrorCode::InvalidInput => "invalid_input",
            ApiErrorCode::ReasonRequired => "reason_required",
            ApiErrorCode::UnsupportedFormat => "unsupported_format",
            ApiErrorCode::NoFile => "no_file",
            ApiErrorCode::UploadInterrupted => "upload_interrupted",
            ApiErrorCode::ConcurrentUpload => "concurrent_upload",
            ApiErrorCode::PayloadTooLarge => "payload_too_large",
            ApiErrorCode::InvalidFile => "invalid_file",
            ApiErrorCode::InternalError => "internal_error",
        }
    }
}

impl std::fmt::Display for ApiErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The body of every error answer (an invalid file adds its row errors).
#[derive(Serialize, ToSchema)]
pub struct ApiErrorBody {
    pub error: ApiErrorCode,
    /// What went wrong, for people.
    pub message: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No, unknown, revoked or expired token.
    #[error("{message}")]
    Unauthorized {
        code: ApiErrorCode,
        message: &'static str,
    },
    #[error("not found")]
    NotFound,
    /// Signed in, but the role does not allow this.
    #[error("{message}")]
    Forbidden { code: ApiErrorCode, message: String },
    /// Well-formed but not acceptable (bad query values, an unpublishable period).
    #[error("{message}")]
    Unprocessable { code: ApiErrorCode, message: String },
    #[error("the upload exceeds the limit")]
    TooLarge { limit: u64 },
    #[error("{message}")]
    UnsupportedMediaType { code: ApiErrorCode, message: String },
    #[error("{message}")]
    BadRequest { code: ApiErrorCode, message: String },
    /// The file has row errors; nothing was stored.
    #[error("the file is invalid")]
    InvalidFile(Box<UploadReport>),
    #[error("{message}")]
    Conflict { code: ApiErrorCode, message: String },
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    fn code(&self) -> ApiErrorCode {
        match self {
            ApiError::Unauthorized { code, .. }
            | ApiError::UnsupportedMediaType { code, .. }
            | ApiError::BadRequest { code, .. }
            | ApiError::Conflict { code, .. }
            | ApiError::Forbidden { code, .. }
            | ApiError::Unprocessable { code, .. } => *code,
            ApiError::NotFound => ApiErrorCode::NotFound,
            ApiError::TooLarge { .. } => ApiErrorCode::PayloadTooLarge,
            ApiError::InvalidFile(_) => ApiErrorCode::InvalidFile,
            ApiError::Internal(_) => ApiErrorCode::InternalError,
        }
    }
}

impl From<crate::app::publish::PublishError> for ApiError {
    fn from(e: crate::app::publish::PublishError) -> ApiError {
        use crate::app::publish::PublishError;
        match e {
            PublishError::NothingToPublish(p) => ApiError::Unprocessable {
                code: ApiErrorCode::NothingToPublish,
                message: format!("Period {p} has no responses to publish"),
            },
            PublishError::Invalid(m) => ApiError::Unprocessable {
                code: ApiErrorCode::InvalidInput,
                message: m,
            },
            PublishError::Internal(e) => ApiError::Internal(e),
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
        response.insert_header(crate::web::respond::NO_STORE);
        if let ApiError::Unauthorized { code, .. } = self {
            let challenge = if *code == ApiErrorCode::MissingToken {
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

//! `Authorization: Bearer <token>` for assessor organisations.

use actix_web::HttpRequest;
use actix_web::http::header;

use super::error::{ApiError, ApiErrorCode};
use crate::db::assessors::{self, AssessorOrg, TokenProblem};
use crate::web::state::AppState;

/// The organisation of the request's bearer token.
pub async fn assessor(state: &AppState, req: &HttpRequest) -> Result<AssessorOrg, ApiError> {
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
        })
        .filter(|t| !t.is_empty())
        .ok_or(ApiError::Unauthorized {
            code: ApiErrorCode::MissingToken,
            message: "Send the organisation's token as 'Authorization: Bearer <token>'",
        })?;
    match assessors::authenticate(&state.db, &state.keys, token).await? {
        Ok(org) => Ok(org),
        Err(problem) => Err(unauthorized(problem)),
    }
}

pub fn unauthorized(problem: TokenProblem) -> ApiError {
    match problem {
        TokenProblem::Unknown => ApiError::Unauthorized {
            code: ApiErrorCode::InvalidToken,
            message: "The token is not valid",
        },
        TokenProblem::Revoked => ApiError::Unauthorized {
            code: ApiErrorCode::TokenRevoked,
            message: "The token has been revoked; ask the appraisal office for a new one",
        },
        TokenProblem::Expired => ApiError::Unauthorized {
            code: ApiErrorCode::TokenExpired,
            message: "The token has expired; ask the appraisal office for a new one",
        },
    }
}

//! Extractors: [`Office`] for the office pages (a session, or a redirect to
//! the sign-in page) and [`ApiCaller`] for the API (a bearer API token or a
//! session).

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use entity::api_token;
use futures_util::future::LocalBoxFuture;

use crate::db::users;
use crate::domain::office::{SESSION_COOKIE, Session};
use crate::web::routes::api::error::{ApiError, ApiErrorCode};
use crate::web::routes::office::error::OfficeError;
use crate::web::state::AppState;

/// A signed-in office user, for the office pages.
pub struct Office(pub Session);

impl FromRequest for Office {
    type Error = OfficeError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        let next = req
            .uri()
            .path_and_query()
            .map_or_else(|| req.path().to_owned(), |p| p.as_str().to_owned());
        Box::pin(async move {
            let state = state
                .ok_or_else(|| OfficeError::Internal(anyhow::anyhow!("No application state")))?;
            let Some(id) = cookie else {
                return Err(OfficeError::Login(next));
            };
            match users::session(&state.db, &state.keys, &id).await? {
                Some(session) => Ok(Office(session)),
                None => Err(OfficeError::Login(next)),
            }
        })
    }
}

/// Who calls the API.
pub enum ApiCaller {
    /// A signed-in office user (browser).
    Session(Session),
    /// A machine client's read-only token.
    Token(api_token::Model),
}

/// The header a session-authenticated API request that changes something
/// carries its CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";

fn bearer(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.trim().split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then(|| token.trim().to_owned())
        })
}

impl FromRequest for ApiCaller {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let token = bearer(req);
        let cookie = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal(anyhow::anyhow!("No application state")))?;
            if let Some(token) = token {
                return match users::api_token_for(&state.db, &state.keys, &token).await? {
                    Some(t) => Ok(ApiCaller::Token(t)),
                    None => Err(ApiError::Unauthorized {
                        code: ApiErrorCode::InvalidToken,
                        message: "The token is not valid, or has been revoked or has expired",
                    }),
                };
            }
            if let Some(id) = cookie
                && let Some(session) = users::session(&state.db, &state.keys, &id).await?
            {
                return Ok(ApiCaller::Session(session));
            }
            Err(ApiError::Unauthorized {
                code: ApiErrorCode::MissingToken,
                message: "Sign in to the office, or send an API token as 'Authorization: Bearer <token>'",
            })
        })
    }
}

impl ApiCaller {
    /// Who, for logs and the audit trail.
    pub fn name(&self) -> String {
        match self {
            ApiCaller::Session(s) => s.user.username.clone(),
            ApiCaller::Token(t) => format!("token:{}", t.prefix),
        }
    }

    /// Reading published figures: API tokens, administrators and analysts.
    pub fn require_reader(&self) -> Result<(), ApiError> {
        match self {
            ApiCaller::Token(_) => Ok(()),
            ApiCaller::Session(s) if s.user.is_staff() => Ok(()),
            ApiCaller::Session(_) => Err(forbidden("The scores API is for the appraisal office")),
        }
    }

    /// Changing something: an administrator's session, with its CSRF token
    /// in the `X-CSRF-Token` header. Tokens are read-only.
    pub fn require_admin(&self, req: &HttpRequest) -> Result<&Session, ApiError> {
        match self {
            ApiCaller::Token(_) => Err(forbidden("API tokens are read-only")),
            ApiCaller::Session(s) if !s.user.is_admin() => {
                Err(forbidden("Only an administrator may do this"))
            }
            ApiCaller::Session(s) => {
                let given = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok());
                if s.csrf_matches(given) {
                    Ok(s)
                } else {
                    Err(ApiError::Forbidden {
                        code: ApiErrorCode::Csrf,
                        message: "Send the session's CSRF token in the X-CSRF-Token header".into(),
                    })
                }
            }
        }
    }
}

fn forbidden(message: &str) -> ApiError {
    ApiError::Forbidden {
        code: ApiErrorCode::Forbidden,
        message: message.to_owned(),
    }
}

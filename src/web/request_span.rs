//! The tracing span of each request, built so that request logs carry
//! nothing that identifies a person (see [`PrivateRootSpan`]).

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use tracing::Span;

/// The root span of every request, without what the default one logs that
/// may identify a person or carry a secret: no client address (a spoofable
/// `X-Forwarded-For` entry at that), no user agent, no host, and no target
/// (its query carries one-time `?t=` ticket codes). It names the route
/// pattern instead (`/s/{code}`), which comes from our router, not the input.
pub struct PrivateRootSpan;

impl tracing_actix_web::RootSpanBuilder for PrivateRootSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let route = request.match_pattern();
        tracing::info_span!(
            "request",
            method = method_name(request.method()),
            route = route.as_deref().unwrap_or("unmatched"),
            status = tracing::field::Empty,
        )
    }

    fn on_request_end<B: MessageBody>(
        span: Span,
        outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
        let status = match outcome {
            Ok(response) => response.status(),
            Err(error) => error.as_response_error().status_code(),
        };
        span.record("status", status.as_u16());
        // Handlers log their causes themselves; the error's own text may quote
        // the input, so only the status goes here.
        span.in_scope(|| {
            if status.is_server_error() {
                tracing::error!("Request failed");
            } else {
                tracing::debug!("Request done");
            }
        });
    }
}

/// The method as a fixed name: a custom method token is the client's text.
pub fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

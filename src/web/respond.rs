//! The few response shapes every page family uses, written once: a 303 to a
//! local path, an HTML page that is never cached, and the `no-store` header.

use actix_web::HttpResponse;
use actix_web::cookie::Cookie;
use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};

/// `Cache-Control: no-store`, for anything that carries a per-user token or
/// private figures.
pub const NO_STORE: (header::HeaderName, &str) = (header::CACHE_CONTROL, "no-store");

/// A 303 to `to`, which the caller has built from our own paths (never from
/// unchecked input: see `domain::local_path::LocalPath` for `?next=`).
pub fn see_other(to: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to.to_owned()))
        .finish()
}

/// An HTML page that must not be cached (it carries a CSRF token or another
/// per-device value), with an optional cookie to set.
pub fn html(status: StatusCode, body: String, cookie: Option<Cookie<'static>>) -> HttpResponse {
    let mut response = HttpResponse::build(status);
    response
        .insert_header(ContentType::html())
        .insert_header(NO_STORE);
    if let Some(cookie) = cookie {
        response.cookie(cookie);
    }
    response.body(body)
}

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::header;
use actix_web::{HttpResponse, web};
use serde::Deserialize;

use crate::error::PageError;
use crate::state::{AppState, LANG_COOKIE};
use crate::templates::Lang;

#[derive(Deserialize)]
pub struct Next {
    next: Option<String>,
}

/// Remembers the chosen language and goes back to the page it was chosen on.
pub async fn switch(
    state: web::Data<AppState>,
    lang: web::Path<String>,
    query: web::Query<Next>,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::parse(&lang).ok_or(PageError::NotFound)?;
    // Only local paths: never an open redirect to another site.
    let next = query
        .next
        .as_deref()
        .filter(|n| n.starts_with('/') && !n.starts_with("//") && !n.contains('\\'))
        .unwrap_or("/");
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .max_age(Duration::days(365))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next))
        .cookie(cookie)
        .finish())
}

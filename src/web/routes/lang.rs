use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::domain::local_path::LocalPath;
use crate::web::error::PageError;
use crate::web::i18n::Lang;
use crate::web::state::{AppState, LANG_COOKIE};

/// Remembers the chosen language and goes back to the page it was chosen on.
pub async fn switch(
    state: web::Data<AppState>,
    lang: web::Path<String>,
    req: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let lang = Lang::parse(&lang).ok_or(PageError::NotFound)?;
    // The query is read leniently (bytes that are not UTF-8 become U+FFFD,
    // a repeated `next` counts once): whatever it holds, the answer is a
    // redirect. Only a local path is followed: never an open redirect,
    // never a broken header.
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_str(req.query_string()).unwrap_or_default();
    let next = pairs
        .iter()
        .find(|(name, _)| name == "next")
        .map(|(_, value)| value.as_str());
    let next = LocalPath::or(next, "/");
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path("/")
        .max_age(Duration::days(365))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .finish();
    Ok(HttpResponse::SeeOther()
        .insert_header((header::LOCATION, next.as_str()))
        .cookie(cookie)
        .finish())
}

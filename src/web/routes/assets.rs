use actix_web::http::header;
use actix_web::{HttpResponse, web};

use crate::web::error::PageError;
use crate::web::i18n::StaticFiles;

/// Files under `static/`, compiled into the binary.
pub async fn static_file(path: web::Path<String>) -> Result<HttpResponse, PageError> {
    let name = path.into_inner();
    let file = StaticFiles::get(&name).ok_or(PageError::NotFound)?;
    let mime = mime_for(&name);
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, mime))
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .body(file.data.into_owned()))
}

fn mime_for(name: &str) -> &'static str {
    match name.rsplit('.').next() {
        Some("css") => "text/css; charset=utf-8",
        Some("js") => "text/javascript; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        _ => "application/octet-stream",
    }
}

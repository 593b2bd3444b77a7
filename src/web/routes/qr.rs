use actix_web::http::header;
use actix_web::{HttpResponse, web};
use qrcode::QrCode;
use qrcode::render::svg;

use crate::web::error::PageError;
use crate::web::state::AppState;

/// A printable QR code for the counter, pointing at the institution's
/// questionnaire.
pub async fn qr_svg(
    state: web::Data<AppState>,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let catalog = state.catalog.get();
    let institution = catalog.institution(&code).ok_or(PageError::NotFound)?;
    let url = format!(
        "{}/s/{}",
        state.settings.public_url.trim_end_matches('/'),
        institution.code
    );
    let qr = QrCode::new(url.as_bytes())
        .map_err(|e| PageError::Internal(anyhow::anyhow!("QR encoding failed: {e}")))?;
    let image = qr
        .render::<svg::Color>()
        .min_dimensions(320, 320)
        .quiet_zone(true)
        .build();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml"))
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(image))
}

//! `GET /api/v1/templates/{category}.csv` and `.xlsx`: the upload template of
//! a category. Public: it holds only the questionnaire's item codes and the
//! category's institutions, which the citizen pages show anyway.

use actix_web::http::header;
use actix_web::{HttpResponse, web};

use super::error::ApiError;
use crate::app::uploads::template;
use crate::web::state::AppState;

pub async fn csv(
    state: web::Data<AppState>,
    category: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.get();
    let index = catalog
        .category_index(&category)
        .ok_or(ApiError::NotFound)?;
    let questionnaire = catalog
        .questionnaire_of_category(index)
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header(attachment(&format!("pingyi-{category}.csv")))
        .body(template::csv(&questionnaire)))
}

pub async fn xlsx(
    state: web::Data<AppState>,
    category: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let catalog = state.catalog.get();
    let index = catalog
        .category_index(&category)
        .ok_or(ApiError::NotFound)?;
    let questionnaire = catalog
        .questionnaire_of_category(index)
        .ok_or(ApiError::NotFound)?;
    let bytes = template::xlsx(&catalog, index, &questionnaire)
        .map_err(|e| anyhow::anyhow!("Failed to build the XLSX template: {e}"))?;
    Ok(HttpResponse::Ok()
        .insert_header((
            header::CONTENT_TYPE,
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ))
        .insert_header(attachment(&format!("pingyi-{category}.xlsx")))
        .body(bytes))
}

fn attachment(name: &str) -> (header::HeaderName, String) {
    // Category codes are plain ASCII codes; quote anyway.
    let safe: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_.".contains(*c))
        .collect();
    (
        header::CONTENT_DISPOSITION,
        format!("attachment; filename=\"{safe}\""),
    )
}

use actix_web::http::header::ContentType;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::web::error::PageError;
use crate::web::state::AppState;

const PAGE_SIZE: usize = 20;

#[derive(Deserialize)]
pub struct Filters {
    #[serde(default)]
    q: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    district: String,
    page: Option<usize>,
}

#[derive(Serialize)]
struct Option_ {
    code: String,
    name: String,
}

#[derive(Serialize)]
struct Row {
    code: String,
    name: String,
    category: String,
    district: String,
}

#[derive(Serialize)]
struct Landing {
    q: String,
    category: String,
    district: String,
    categories: Vec<Option_>,
    districts: Vec<Option_>,
    institutions: Vec<Row>,
    total: usize,
    page: usize,
    pages: usize,
    query_base: String,
}

/// Find an institution: free-text search, sector and district filters, and
/// links by sector and district so every institution is reachable without typing.
pub async fn landing(
    state: web::Data<AppState>,
    req: HttpRequest,
    filters: Result<web::Query<Filters>, actix_web::Error>,
) -> Result<HttpResponse, PageError> {
    // A malformed query string shows the unfiltered list rather than an error.
    let filters = filters.map(|f| f.into_inner()).unwrap_or(Filters {
        q: String::new(),
        category: String::new(),
        district: String::new(),
        page: None,
    });
    let lang = state.lang(&req);
    let catalog = state.catalog.get();
    let name = |zh: &str, en: &str| lang.pick(zh, en).to_owned();
    let needle = filters.q.trim().to_lowercase();
    let category = catalog.category_index(&filters.category);
    let district = catalog.district_index(&filters.district);
    let matches: Vec<_> = catalog
        .institutions
        .iter()
        .filter(|i| category.is_none_or(|c| i.category == c))
        .filter(|i| district.is_none_or(|d| i.district == d))
        .filter(|i| {
            needle.is_empty()
                || i.name_zh.to_lowercase().contains(&needle)
                || i.name_en.to_lowercase().contains(&needle)
                || i.code.to_lowercase().contains(&needle)
        })
        .collect();
    let total = matches.len();
    let pages = total.div_ceil(PAGE_SIZE).max(1);
    let page = filters.page.unwrap_or(1).clamp(1, pages);
    let institutions = matches
        .into_iter()
        .skip((page - 1) * PAGE_SIZE)
        .take(PAGE_SIZE)
        .map(|i| {
            let c = &catalog.categories[i.category];
            let d = &catalog.districts[i.district];
            Row {
                code: i.code.clone(),
                name: name(&i.name_zh, &i.name_en),
                category: name(&c.name_zh, &c.name_en),
                district: name(&d.name_zh, &d.name_en),
            }
        })
        .collect();
    let mut query_base = serde_urlencoded::to_string([
        ("q", filters.q.as_str()),
        ("category", filters.category.as_str()),
        ("district", filters.district.as_str()),
    ])
    .unwrap_or_default();
    query_base.push('&');
    let page_data = Landing {
        categories: catalog
            .categories
            .iter()
            .map(|c| Option_ {
                code: c.code.clone(),
                name: name(&c.name_zh, &c.name_en),
            })
            .collect(),
        districts: catalog
            .districts
            .iter()
            .map(|d| Option_ {
                code: d.code.clone(),
                name: name(&d.name_zh, &d.name_en),
            })
            .collect(),
        q: filters.q,
        category: filters.category,
        district: filters.district,
        institutions,
        total,
        page,
        pages,
        query_base,
    };
    let html = state
        .templates
        .render("citizen/landing.html.tera", lang, req.path(), &page_data)?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::html())
        .body(html))
}

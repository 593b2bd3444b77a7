//! `GET /results/{period}`: the public results of a published period, per
//! category: ranking, scores, grades, sample sizes and rectification status.

use std::collections::HashMap;

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use crate::app::figures;
use crate::db::{rectification, snapshots};
use crate::domain::period::Period;
use crate::domain::rectification::TaskStatus;
use crate::web::error::PageError;
use crate::web::routes::survey::html;
use crate::web::state::AppState;

#[derive(Serialize)]
struct Row {
    rank: String,
    code: String,
    name: String,
    district: String,
    score: String,
    grade: String,
    n: i64,
    low_sample: bool,
    /// `open`, `done` or empty.
    rectification: &'static str,
}

#[derive(Serialize)]
struct Category {
    name: String,
    rows: Vec<Row>,
}

#[derive(Serialize)]
struct ResultsPage {
    period: String,
    published_at: String,
    categories: Vec<Category>,
}

pub async fn results(
    state: web::Data<AppState>,
    req: HttpRequest,
    period: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let period: Period = period.parse().map_err(|_| PageError::NotFound)?;
    let period_text = period.to_string();
    let snap = snapshots::latest_of(&state.db, &period_text)
        .await?
        .ok_or(PageError::NotFound)?;
    let df = figures::snapshot_table(
        &state.db,
        snap.id,
        analysis::columns::INSTITUTION_INDICATORS,
    )
    .await?;
    let rows = figures::institution_rows(&df)?;
    let catalog = state.catalog.get();
    let lang = state.lang(&req);
    let pick = |zh: &str, en: &str| lang.pick(zh, en).to_owned();
    let tasks: HashMap<i32, String> = rectification::tasks_of_period(&state.db, &period_text)
        .await?
        .into_iter()
        .map(|(id, t)| (id, t.status))
        .collect();
    let mut categories = Vec::new();
    for (ci, c) in catalog.categories.iter().enumerate() {
        let mut list: Vec<&figures::InstitutionRow> =
            rows.iter().filter(|r| r.category_code == c.code).collect();
        if list.is_empty() {
            continue;
        }
        list.sort_by_key(|r| {
            (
                r.rank_in_category.unwrap_or(i64::MAX),
                r.institution_code.clone(),
            )
        });
        let rows = list
            .into_iter()
            .map(|r| {
                let inst = catalog
                    .institution(&r.institution_code)
                    .filter(|i| i.category == ci);
                let rectification = inst.and_then(|i| tasks.get(&i.id)).map_or("", |s| {
                    match s.parse::<TaskStatus>() {
                        Ok(TaskStatus::Completed) => "done",
                        Ok(TaskStatus::Withdrawn) => "",
                        _ => "open",
                    }
                });
                Row {
                    rank: r
                        .rank_in_category
                        .map_or_else(|| "—".into(), |n| n.to_string()),
                    code: r.institution_code.clone(),
                    name: inst.map_or_else(
                        || r.institution_code.clone(),
                        |i| pick(&i.name_zh, &i.name_en),
                    ),
                    district: catalog
                        .district_index(&r.district_code)
                        .map_or_else(String::new, |d| {
                            pick(&catalog.districts[d].name_zh, &catalog.districts[d].name_en)
                        }),
                    score: r.score.map_or_else(|| "—".into(), |s| format!("{s:.1}")),
                    grade: r.grade.clone().unwrap_or_else(|| "—".into()),
                    n: r.n_citizen + r.n_assessor,
                    low_sample: r.low_sample,
                    rectification,
                }
            })
            .collect();
        categories.push(Category {
            name: pick(&c.name_zh, &c.name_en),
            rows,
        });
    }
    let page = ResultsPage {
        period: period_text,
        published_at: snap.created_at.format("%Y-%m-%d").to_string(),
        categories,
    };
    let body = state
        .templates
        .render("citizen/results.html.tera", lang, req.path(), &page)?;
    Ok(html(StatusCode::OK, body, None))
}

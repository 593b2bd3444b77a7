//! `GET /results/institution/{code}`: one institution's published results
//! across periods, for citizens. Published figures only: the score, grade,
//! rank and sample of each published period, nothing internal (no comments,
//! no intervals, no tasks).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use analysis::columns::{INSTITUTION_CODE, INSTITUTION_INDICATORS};
use serde::Serialize;

use crate::app::{figures, frames};
use crate::db::snapshots;
use crate::web::error::PageError;
use crate::web::names::Names;
use crate::web::routes::survey::html;
use crate::web::state::AppState;

/// Periods shown, newest first.
const PERIODS_SHOWN: usize = 24;

#[derive(Serialize)]
struct PeriodRow {
    period: String,
    score: String,
    grade: String,
    rank: String,
    of: usize,
    n: i64,
    low_sample: bool,
}

#[derive(Serialize)]
struct HistoryPage {
    code: String,
    name: String,
    category: String,
    district: String,
    rows: Vec<PeriodRow>,
}

pub async fn history(
    state: web::Data<AppState>,
    req: HttpRequest,
    code: web::Path<String>,
) -> Result<HttpResponse, PageError> {
    let catalog = state.catalog.get();
    let inst = catalog.institution(&code).ok_or(PageError::NotFound)?;
    let lang = state.lang(&req);
    let names = Names::new(&catalog, lang);
    let category_code = &catalog.categories[inst.category].code;
    // The latest snapshot of each published period, newest first.
    let mut latest: Vec<entity::snapshot::Model> = Vec::new();
    for s in snapshots::list(&state.db).await? {
        if !latest.iter().any(|l| l.period == s.period) {
            latest.push(s);
        }
    }
    latest.sort_by(|a, b| b.period.cmp(&a.period));
    latest.truncate(PERIODS_SHOWN);
    let mut rows = Vec::new();
    for s in &latest {
        let df = figures::snapshot_table(&state.db, s.id, INSTITUTION_INDICATORS).await?;
        let all = figures::institution_rows(&df)?;
        let of = all
            .iter()
            .filter(|r| &r.category_code == category_code && r.rank_in_category.is_some())
            .count();
        let own =
            figures::institution_rows(&frames::filter_eq(&df, INSTITUTION_CODE, &inst.code)?)?;
        if let Some(r) = own.first() {
            rows.push(PeriodRow {
                period: s.period.clone(),
                score: r.score.map_or_else(|| "—".into(), |v| format!("{v:.1}")),
                grade: r.grade.clone().unwrap_or_else(|| "—".into()),
                rank: r
                    .rank_in_category
                    .map_or_else(|| "—".into(), |n| n.to_string()),
                of,
                n: r.n_citizen + r.n_assessor,
                low_sample: r.low_sample,
            });
        }
    }
    let page = HistoryPage {
        code: inst.code.clone(),
        name: names.institution(&inst.code),
        category: names.category(category_code),
        district: names.district(&catalog.districts[inst.district].code),
        rows,
    };
    let body = state
        .templates
        .render("citizen/history.html.tera", lang, req.path(), &page)?;
    Ok(html(StatusCode::OK, body, None))
}

//! The period dashboard: collection progress, responses per day, the
//! ranking, category and district charts, the distribution of scores and
//! the data-quality counts. Figures come from the period's latest snapshot
//! once published, and from a preview computation before.

use std::collections::BTreeMap;

use actix_web::{HttpRequest, HttpResponse, web};
use analysis::columns::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::OfficeError;
use super::{charts, current_period, fmt1, page, require_staff};
use crate::app::figures::{self, InstitutionRow, QualityRow};
use crate::app::frames;
use crate::app::publish::PublishError;
use crate::db::{periods, progress, snapshots};
use crate::domain::period::Period;
use crate::web::auth::Office;
use crate::web::names::Names;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct DashboardQuery {
    period: Option<String>,
}

#[derive(Serialize)]
struct RankRow {
    #[serde(flatten)]
    row: InstitutionRow,
    name: String,
    category_name: String,
    district_name: String,
    index_s: String,
    score_s: String,
    ci_s: String,
    delta_s: String,
}

pub async fn dashboard(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    query: web::Query<DashboardQuery>,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let lang = state.lang(&req);
    let title = |key: &str| state.templates.text(lang, key);
    let period: Period = match &query.period {
        Some(p) if !p.is_empty() => p.parse().map_err(OfficeError::from)?,
        _ => current_period(&state),
    };
    let period_text = period.to_string();
    let catalog = state.catalog.get();
    let names = Names::new(&catalog, lang);
    let frozen = periods::is_frozen(&state.db, &period).await?;
    let snapshot = snapshots::latest_of(&state.db, &period_text).await?;

    // Collection progress, live from the responses table.
    let counts = progress::responses_per_institution(&state.db, &period_text).await?;
    let mut by_category: BTreeMap<String, f64> = catalog
        .categories
        .iter()
        .map(|c| (names.category(&c.code), 0.0))
        .collect();
    let mut by_district: BTreeMap<String, f64> = catalog
        .districts
        .iter()
        .map(|d| (names.district(&d.code), 0.0))
        .collect();
    let mut total = 0i64;
    for (id, n) in &counts {
        total += n;
        if let Some(inst) = catalog.institutions.iter().find(|i| i.id == *id) {
            *by_category
                .entry(names.category(&catalog.categories[inst.category].code))
                .or_default() += *n as f64;
            *by_district
                .entry(names.district(&catalog.districts[inst.district].code))
                .or_default() += *n as f64;
        }
    }
    let per_day: BTreeMap<String, f64> = progress::submissions_per_local_day(
        &state.db,
        &period_text,
        state.settings.utc_offset_hours,
    )
    .await?
    .into_iter()
    .map(|(day, n)| (day.format("%m-%d").to_string(), n as f64))
    .collect();

    // Figures: the snapshot, or a preview.
    let mut preview_at = None;
    let outputs = match &snapshot {
        Some(s) => Some((
            figures::snapshot_table(&state.db, s.id, INSTITUTION_INDICATORS).await?,
            figures::snapshot_table(&state.db, s.id, GROUP_INDICATORS).await?,
            figures::snapshot_table(&state.db, s.id, SURVEY_QUALITY).await?,
        )),
        None => match state.previews.get(&state.db, period).await {
            Ok(preview) => {
                preview_at = Some((
                    preview
                        .computed_at
                        .with_timezone(&state.settings.local_offset())
                        .format("%Y-%m-%d %H:%M:%S")
                        .to_string(),
                    preview.run,
                ));
                preview.outputs.map(|o| {
                    (
                        o.institution_indicators,
                        o.group_indicators,
                        o.survey_quality,
                    )
                })
            }
            Err(PublishError::NothingToPublish(_)) => None,
            Err(e) => return Err(e.into()),
        },
    };
    let (mut ranking, mut quality, mut category_chart, mut district_chart, mut histogram) = (
        Vec::new(),
        Vec::new(),
        String::new(),
        String::new(),
        String::new(),
    );
    if let Some((inst, groups, qual)) = &outputs {
        let rows = figures::institution_rows(inst)?;
        histogram = charts::histogram(
            &title("office_chart_scores"),
            &rows.iter().filter_map(|r| r.score).collect::<Vec<_>>(),
            0.0,
            100.0,
            10,
        );
        ranking = rows
            .into_iter()
            .map(|row| RankRow {
                index_s: fmt1(row.index),
                score_s: fmt1(row.score),
                ci_s: match (row.ci_low, row.ci_high) {
                    (Some(a), Some(b)) => format!("{a:.1}–{b:.1}"),
                    _ => "—".into(),
                },
                delta_s: row
                    .delta_prev
                    .map_or_else(|| "—".into(), |d| format!("{d:+.1}")),
                name: names.institution(&row.institution_code),
                category_name: names.category(&row.category_code),
                district_name: names.district(&row.district_code),
                row,
            })
            .collect();
        ranking.sort_by(|a, b| {
            (
                &a.row.category_code,
                a.row.rank_in_category.unwrap_or(i64::MAX),
            )
                .cmp(&(
                    &b.row.category_code,
                    b.row.rank_in_category.unwrap_or(i64::MAX),
                ))
        });
        quality = figures::quality_rows(qual)?;
        let types = frames::strings(groups, GROUP_TYPE)?;
        let codes = frames::strings(groups, GROUP_CODE)?;
        let means = frames::floats(groups, MEAN_SCORE)?;
        let mut cats = Vec::new();
        let mut dists = Vec::new();
        for ((t, c), m) in types.iter().zip(&codes).zip(&means) {
            let (Some(t), Some(c), Some(m)) = (t, c, m) else {
                continue;
            };
            if t == GROUP_CATEGORY {
                let name = names.category(c);
                cats.push((name, *m));
            } else {
                let name = names.district(c);
                dists.push((name, *m));
            }
        }
        category_chart = charts::bars(&title("office_chart_sector_means"), &cats, Some(100.0));
        district_chart = charts::bars(&title("office_chart_district_means"), &dists, Some(100.0));
    }
    let quality_total = quality.iter().fold(QualityRow::default(), |mut acc, q| {
        acc.n_responses += q.n_responses;
        acc.n_voided += q.n_voided;
        acc.n_incomplete += q.n_incomplete;
        acc.n_speeder += q.n_speeder;
        acc.n_valid += q.n_valid;
        acc.n_straightliner += q.n_straightliner;
        acc
    });
    let to_rows = |m: BTreeMap<String, f64>| m.into_iter().collect::<Vec<_>>();
    page(
        &state,
        &req,
        &session,
        "office/dashboard.html.tera",
        json!({
            "period": period_text,
            "frozen": frozen,
            "snapshot": snapshot,
            "preview": snapshot.is_none() && outputs.is_some(),
            "preview_at": preview_at.as_ref().map(|(at, _)| at),
            "preview_run": preview_at.as_ref().map(|(_, run)| run),
            "total": total,
            "progress_category": charts::bars(&title("office_chart_by_sector"), &to_rows(by_category), None),
            "progress_district": charts::bars(&title("office_chart_by_district"), &to_rows(by_district), None),
            "per_day": charts::bars(&title("office_chart_per_day"), &to_rows(per_day), None),
            "category_chart": category_chart,
            "district_chart": district_chart,
            "histogram": histogram,
            "ranking": ranking,
            "quality": quality,
            "quality_total": quality_total,
        }),
    )
}

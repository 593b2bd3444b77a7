//! The period bulletin (通报): what an appraisal office circulates after a
//! period is published, assembled from the period's latest snapshot and the
//! rectification tasks. Codes and numbers only; the web layer names things
//! in the reader's language and decides what the public variant leaves out.

use std::collections::BTreeMap;

use analysis::columns::{INSTITUTION_INDICATORS, SURVEY_QUALITY};
use sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::app::figures::{self, InstitutionRow, QualityRow};
use crate::db::{rectification, snapshots};
use crate::domain::period::Period;
use crate::domain::rectification::TaskStatus;

/// A published period's bulletin.
#[derive(Clone, Debug, Serialize)]
pub struct Bulletin {
    pub period: String,
    pub previous: String,
    pub run_id: String,
    pub published_at: chrono::DateTime<chrono::Utc>,
    pub headline: Headline,
    /// Categories in catalog order, each ranked.
    pub categories: Vec<CategoryRanking>,
    /// Units flagged for rectification in this period.
    pub below: Vec<InstitutionRow>,
    /// Earlier periods' tasks, per period: how many in each state, and how
    /// the followed-up ones fared.
    pub progress: Vec<Progress>,
    pub quality: Vec<QualityRow>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Headline {
    pub n_units: usize,
    pub n_valid: i64,
    pub n_responses: i64,
    pub mean_score: Option<f64>,
    /// (grade, count), in the model's order of grades as they occur.
    pub grades: Vec<(String, usize)>,
    pub n_flagged: usize,
    pub n_low_sample: usize,
}

#[derive(Clone, Debug, Serialize)]
pub struct CategoryRanking {
    pub category_code: String,
    pub mean_score: Option<f64>,
    pub rows: Vec<InstitutionRow>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Progress {
    pub period: String,
    pub total: usize,
    /// Count per state, every state listed.
    pub states: Vec<(String, usize)>,
    pub followed_up: usize,
    pub improved: usize,
    pub still_flagged: usize,
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// The bulletin of a published period, or `None` when it is not published.
/// `categories` gives the catalog's order of category codes.
pub async fn of_period(
    db: &DatabaseConnection,
    period: Period,
    categories: &[String],
) -> anyhow::Result<Option<Bulletin>> {
    let period_text = period.to_string();
    let Some(snap) = snapshots::latest_of(db, &period_text).await? else {
        return Ok(None);
    };
    let rows = figures::institution_rows(
        &figures::snapshot_table(db, snap.id, INSTITUTION_INDICATORS).await?,
    )?;
    let quality =
        figures::quality_rows(&figures::snapshot_table(db, snap.id, SURVEY_QUALITY).await?)?;

    let mut grades: BTreeMap<String, usize> = BTreeMap::new();
    for g in rows.iter().filter_map(|r| r.grade.clone()) {
        *grades.entry(g).or_default() += 1;
    }
    let headline = Headline {
        n_units: rows.len(),
        n_valid: quality.iter().map(|q| q.n_valid).sum(),
        n_responses: quality.iter().map(|q| q.n_responses).sum(),
        mean_score: mean(rows.iter().filter_map(|r| r.score)),
        grades: grades.into_iter().collect(),
        n_flagged: rows.iter().filter(|r| r.rectification).count(),
        n_low_sample: rows.iter().filter(|r| r.low_sample).count(),
    };

    // Catalog order first, then any code the catalog no longer has.
    let mut order: Vec<String> = categories.to_vec();
    for r in &rows {
        if !order.contains(&r.category_code) {
            order.push(r.category_code.clone());
        }
    }
    let ranked = |code: &String| {
        let mut list: Vec<InstitutionRow> = rows
            .iter()
            .filter(|r| &r.category_code == code)
            .cloned()
            .collect();
        list.sort_by(|a, b| {
            (a.rank_in_category.unwrap_or(i64::MAX), &a.institution_code)
                .cmp(&(b.rank_in_category.unwrap_or(i64::MAX), &b.institution_code))
        });
        list
    };
    let categories: Vec<CategoryRanking> = order
        .iter()
        .map(|code| {
            let rows = ranked(code);
            CategoryRanking {
                category_code: code.clone(),
                mean_score: mean(rows.iter().filter_map(|r| r.score)),
                rows,
            }
        })
        .filter(|c| !c.rows.is_empty())
        .collect();
    let below: Vec<InstitutionRow> = categories
        .iter()
        .flat_map(|c| c.rows.iter().filter(|r| r.rectification).cloned())
        .collect();

    let mut by_period: BTreeMap<String, Vec<_>> = BTreeMap::new();
    for t in rectification::tasks(db, None).await? {
        let earlier = t
            .period
            .parse::<Period>()
            .is_ok_and(|p| p.granularity() == period.granularity() && p < period);
        if earlier {
            by_period.entry(t.period.clone()).or_default().push(t);
        }
    }
    let progress = by_period
        .into_iter()
        .rev()
        .map(|(p, tasks)| Progress {
            period: p,
            total: tasks.len(),
            states: TaskStatus::ALL
                .iter()
                .map(|s| {
                    let n = tasks.iter().filter(|t| t.status == s.as_str()).count();
                    (s.as_str().to_owned(), n)
                })
                .collect(),
            followed_up: tasks.iter().filter(|t| t.followup_period.is_some()).count(),
            improved: tasks
                .iter()
                .filter(|t| t.score_change.is_some_and(|d| d > 0.0))
                .count(),
            still_flagged: tasks
                .iter()
                .filter(|t| t.still_flagged == Some(true))
                .count(),
        })
        .collect();

    Ok(Some(Bulletin {
        period: period_text,
        previous: period.previous().to_string(),
        run_id: snap.run_id,
        published_at: snap.created_at,
        headline,
        categories,
        below,
        progress,
        quality,
    }))
}

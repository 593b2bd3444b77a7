//! The office's review of a period's integrity table: computed by the same
//! preview as the dashboard (any period, published or not: the figures of
//! the data as it is now), read into typed rows.

use analysis::columns::*;
use sea_orm::DatabaseConnection;
use serde::Serialize;

use crate::app::frames;
use crate::app::preview::PreviewCache;
use crate::app::publish::PublishError;
use crate::db;
use crate::domain::period::Period;

/// The six measures of `integrity.md`, in flag order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    Network,
    Burst,
    DuplicateComment,
    AllTop,
    Roaming,
    Speeder,
}

impl Measure {
    pub const ALL: [Measure; 6] = [
        Measure::Network,
        Measure::Burst,
        Measure::DuplicateComment,
        Measure::AllTop,
        Measure::Roaming,
        Measure::Speeder,
    ];

    /// The flag name (as in `flags`, and in the office's URLs).
    pub fn name(self) -> &'static str {
        INTEGRITY_MEASURES[self as usize].0
    }

    pub fn parse(name: &str) -> Option<Measure> {
        Measure::ALL.into_iter().find(|m| m.name() == name)
    }
}

/// One row of the `integrity` table. The evidence keys (`top_network`,
/// `top_comment_key`) are keyed hashes: they select responses, and are
/// never shown.
#[derive(Clone, Debug)]
pub struct IntegrityRow {
    pub institution_code: String,
    pub category_code: String,
    pub n: i64,
    /// Per measure, in [`Measure::ALL`] order.
    pub shares: [Option<f64>; 6],
    pub z: [Option<f64>; 6],
    pub flags: Vec<Measure>,
    pub top_network: Option<String>,
    pub top_network_n: Option<i64>,
    /// `YYYY-MM-DDTHH:MM:SS.sssZ`.
    pub burst_start: Option<String>,
    pub burst_n: Option<i64>,
    pub top_comment_key: Option<String>,
    pub top_comment_n: Option<i64>,
}

impl IntegrityRow {
    pub fn share(&self, m: Measure) -> Option<f64> {
        self.shares[m as usize]
    }

    pub fn z(&self, m: Measure) -> Option<f64> {
        self.z[m as usize]
    }
}

/// Every row of an `integrity` table.
pub fn integrity_rows(df: &polars::prelude::DataFrame) -> anyhow::Result<Vec<IntegrityRow>> {
    let code = frames::strings(df, INSTITUTION_CODE)?;
    let category = frames::strings(df, CATEGORY_CODE)?;
    let n = frames::ints(df, N)?;
    let mut shares = Vec::with_capacity(6);
    let mut zs = Vec::with_capacity(6);
    for (_, share, z) in INTEGRITY_MEASURES {
        shares.push(frames::floats(df, share)?);
        zs.push(frames::floats(df, z)?);
    }
    let flags = frames::strings(df, FLAGS)?;
    let top_network = frames::strings(df, TOP_NETWORK)?;
    let top_network_n = frames::ints(df, TOP_NETWORK_N)?;
    let burst_start = frames::strings(df, BURST_START)?;
    let burst_n = frames::ints(df, BURST_N)?;
    let top_comment_key = frames::strings(df, TOP_COMMENT_KEY)?;
    let top_comment_n = frames::ints(df, TOP_COMMENT_N)?;
    Ok((0..df.height())
        .map(|i| IntegrityRow {
            institution_code: code[i].clone().unwrap_or_default(),
            category_code: category[i].clone().unwrap_or_default(),
            n: n[i].unwrap_or(0),
            shares: std::array::from_fn(|m| shares[m][i]),
            z: std::array::from_fn(|m| zs[m][i]),
            flags: flags[i]
                .as_deref()
                .unwrap_or_default()
                .split(';')
                .filter_map(Measure::parse)
                .collect(),
            top_network: top_network[i].clone(),
            top_network_n: top_network_n[i],
            burst_start: burst_start[i].clone(),
            burst_n: burst_n[i],
            top_comment_key: top_comment_key[i].clone(),
            top_comment_n: top_comment_n[i],
        })
        .collect())
}

/// A period's integrity review.
pub struct Review {
    /// One row per institution with a pool, by institution code.
    pub rows: Vec<IntegrityRow>,
    /// The model the figures were computed with (its `[integrity]` section
    /// says how the evidence is drawn).
    pub model: analysis::Model,
    pub computed_at: chrono::DateTime<chrono::Utc>,
    /// The preview cache's run (see `Preview::run`).
    pub run: u64,
}

impl Review {
    pub fn row(&self, institution_code: &str) -> Option<&IntegrityRow> {
        self.rows
            .iter()
            .find(|r| r.institution_code == institution_code)
    }
}

/// The review of `period`, from the preview cache; `None` when the period
/// has no responses.
pub async fn review(
    db: &DatabaseConnection,
    previews: &PreviewCache,
    period: Period,
) -> Result<Option<Review>, PublishError> {
    let preview = previews.get(db, period).await?;
    let Some(outputs) = preview.outputs else {
        return Ok(None);
    };
    let model = db::model::current(db).await?.model;
    Ok(Some(Review {
        rows: integrity_rows(&outputs.integrity)?,
        model,
        computed_at: preview.computed_at,
        run: preview.run,
    }))
}

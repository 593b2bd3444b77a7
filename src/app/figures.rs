//! Published figures, read back out of a snapshot: typed rows for the pages
//! and for rectification, and the filtered tables of the scores API.

use analysis::columns::*;
use polars::prelude::DataFrame;
use serde::Serialize;

use crate::app::frames;

/// One row of `institution_indicators`, the fields the pages use.
#[derive(Clone, Debug, Serialize)]
pub struct InstitutionRow {
    pub period: String,
    pub institution_code: String,
    pub category_code: String,
    pub district_code: String,
    pub n_citizen: i64,
    pub n_assessor: i64,
    pub n_excluded: i64,
    pub index: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    pub score: Option<f64>,
    pub points: Option<f64>,
    pub grade: Option<String>,
    pub rank_in_category: Option<i64>,
    pub delta_prev: Option<f64>,
    pub low_sample: bool,
    pub rectification: bool,
}

/// Reads every row of an `institution_indicators` table.
pub fn institution_rows(df: &DataFrame) -> anyhow::Result<Vec<InstitutionRow>> {
    let period = frames::strings(df, PERIOD)?;
    let code = frames::strings(df, INSTITUTION_CODE)?;
    let category = frames::strings(df, CATEGORY_CODE)?;
    let district = frames::strings(df, DISTRICT_CODE)?;
    let n_citizen = frames::ints(df, N_CITIZEN)?;
    let n_assessor = frames::ints(df, N_ASSESSOR)?;
    let n_excluded = frames::ints(df, N_EXCLUDED)?;
    let index = frames::floats(df, INDEX)?;
    let ci_low = frames::floats(df, CI_LOW)?;
    let ci_high = frames::floats(df, CI_HIGH)?;
    let score = frames::floats(df, SCORE)?;
    let points = frames::floats(df, POINTS)?;
    let grade = frames::strings(df, GRADE)?;
    let rank = frames::ints(df, RANK_IN_CATEGORY)?;
    let delta = frames::floats(df, DELTA_PREV)?;
    let low = frames::bools(df, LOW_SAMPLE)?;
    let rect = frames::bools(df, RECTIFICATION)?;
    Ok((0..df.height())
        .map(|i| InstitutionRow {
            period: period[i].clone().unwrap_or_default(),
            institution_code: code[i].clone().unwrap_or_default(),
            category_code: category[i].clone().unwrap_or_default(),
            district_code: district[i].clone().unwrap_or_default(),
            n_citizen: n_citizen[i].unwrap_or(0),
            n_assessor: n_assessor[i].unwrap_or(0),
            n_excluded: n_excluded[i].unwrap_or(0),
            index: index[i],
            ci_low: ci_low[i],
            ci_high: ci_high[i],
            score: score[i],
            points: points[i],
            grade: grade[i].clone(),
            rank_in_category: rank[i],
            delta_prev: delta[i],
            low_sample: low[i].unwrap_or(true),
            rectification: rect[i].unwrap_or(false),
        })
        .collect())
}

/// One row of `dimension_indicators`.
#[derive(Clone, Debug, Serialize)]
pub struct DimensionRow {
    pub institution_code: String,
    pub dimension_code: String,
    pub n: i64,
    pub index: Option<f64>,
    pub se: Option<f64>,
}

pub fn dimension_rows(df: &DataFrame) -> anyhow::Result<Vec<DimensionRow>> {
    let code = frames::strings(df, INSTITUTION_CODE)?;
    let dim = frames::strings(df, DIMENSION_CODE)?;
    let n_citizen = frames::ints(df, N_CITIZEN)?;
    let n_assessor = frames::ints(df, N_ASSESSOR)?;
    let index = frames::floats(df, INDEX)?;
    let se = frames::floats(df, SE)?;
    Ok((0..df.height())
        .map(|i| DimensionRow {
            institution_code: code[i].clone().unwrap_or_default(),
            dimension_code: dim[i].clone().unwrap_or_default(),
            n: n_citizen[i].unwrap_or(0) + n_assessor[i].unwrap_or(0),
            index: index[i],
            se: se[i],
        })
        .collect())
}

/// One row of `survey_quality`.
#[derive(Clone, Debug, Default, Serialize)]
pub struct QualityRow {
    pub category_code: String,
    pub n_responses: i64,
    pub n_voided: i64,
    pub n_incomplete: i64,
    pub n_speeder: i64,
    pub n_valid: i64,
    pub n_straightliner: i64,
    pub cronbach_alpha: Option<f64>,
}

pub fn quality_rows(df: &DataFrame) -> anyhow::Result<Vec<QualityRow>> {
    let cat = frames::strings(df, CATEGORY_CODE)?;
    let get = |name| frames::ints(df, name);
    let (n, v, inc, sp, val, st) = (
        get(N_RESPONSES)?,
        get(N_VOIDED)?,
        get(N_INCOMPLETE)?,
        get(N_SPEEDER)?,
        get(N_VALID)?,
        get(N_STRAIGHTLINER)?,
    );
    let alpha = frames::floats(df, CRONBACH_ALPHA)?;
    Ok((0..df.height())
        .map(|i| QualityRow {
            category_code: cat[i].clone().unwrap_or_default(),
            n_responses: n[i].unwrap_or(0),
            n_voided: v[i].unwrap_or(0),
            n_incomplete: inc[i].unwrap_or(0),
            n_speeder: sp[i].unwrap_or(0),
            n_valid: val[i].unwrap_or(0),
            n_straightliner: st[i].unwrap_or(0),
            cronbach_alpha: alpha[i],
        })
        .collect())
}

/// The tables of the scores API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Table {
    Institution,
    Dimension,
    Group,
    Quality,
    /// The rating-integrity review (`integrity.md`): measures, z values,
    /// flags and evidence per institution. Reported only; it feeds no index.
    Integrity,
}

impl Table {
    /// The snapshot table holding it.
    pub fn stored_name(self) -> &'static str {
        match self {
            Table::Institution => INSTITUTION_INDICATORS,
            Table::Dimension => DIMENSION_INDICATORS,
            Table::Group => GROUP_INDICATORS,
            Table::Quality => SURVEY_QUALITY,
            Table::Integrity => INTEGRITY,
        }
    }
}

/// Restricts a published table to a category and/or a district.
///
/// `institutions` is the snapshot's `institution_indicators` (it says which
/// category and district each institution is in; `dimension` and
/// `integrity` are filtered through it). For `group`, a category
/// keeps that category's row and a district that district's row. A district
/// does not apply to `quality` (kept per category only): refused.
pub fn filter(
    table: Table,
    df: &DataFrame,
    institutions: &DataFrame,
    category: Option<&str>,
    district: Option<&str>,
) -> Result<DataFrame, FilterError> {
    let mut df = df.clone();
    match table {
        Table::Institution => {
            if let Some(c) = category {
                df = frames::filter_eq(&df, CATEGORY_CODE, c)?;
            }
            if let Some(d) = district {
                df = frames::filter_eq(&df, DISTRICT_CODE, d)?;
            }
        }
        Table::Dimension | Table::Integrity => {
            if category.is_some() || district.is_some() {
                let mut inst = institutions.clone();
                if let Some(c) = category {
                    inst = frames::filter_eq(&inst, CATEGORY_CODE, c)?;
                }
                if let Some(d) = district {
                    inst = frames::filter_eq(&inst, DISTRICT_CODE, d)?;
                }
                let codes: Vec<String> = frames::strings(&inst, INSTITUTION_CODE)?
                    .into_iter()
                    .flatten()
                    .collect();
                df = frames::filter_in(&df, INSTITUTION_CODE, &codes)?;
            }
        }
        Table::Group => {
            if category.is_some() || district.is_some() {
                let types = frames::strings(&df, GROUP_TYPE)?;
                let codes = frames::strings(&df, GROUP_CODE)?;
                let mask: polars::prelude::BooleanChunked = types
                    .iter()
                    .zip(&codes)
                    .map(|(t, c)| {
                        let (t, c) = (t.as_deref(), c.as_deref());
                        Some(
                            (t == Some(GROUP_CATEGORY) && category.is_some() && c == category)
                                || (t == Some(GROUP_DISTRICT)
                                    && district.is_some()
                                    && c == district),
                        )
                    })
                    .collect();
                df = df.filter(&mask).map_err(anyhow::Error::from)?;
            }
        }
        Table::Quality => {
            if district.is_some() {
                return Err(FilterError::NotApplicable(
                    "district does not apply to the quality table, which is kept per category",
                ));
            }
            if let Some(c) = category {
                df = frames::filter_eq(&df, CATEGORY_CODE, c)?;
            }
        }
    }
    Ok(df)
}

#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    #[error("{0}")]
    NotApplicable(&'static str),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// One table of a snapshot as a data frame (decoded on the polars thread).
pub async fn snapshot_table(
    db: &impl sea_orm::ConnectionTrait,
    snapshot_id: i32,
    name: &str,
) -> anyhow::Result<DataFrame> {
    use anyhow::Context;
    let bytes = crate::db::snapshots::table_bytes(db, snapshot_id, name)
        .await?
        .with_context(|| format!("Snapshot {snapshot_id} has no table {name}"))?;
    crate::setup::offload::polars("Decoding a snapshot table", move || {
        frames::from_parquet(&bytes)
    })
    .await?
}

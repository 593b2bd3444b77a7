//! A period's data as the spec's input tables (institutions, responses,
//! answers), read from the database in keyset-paginated chunks straight into
//! column builders, so memory follows the size of the result, not of the
//! driver's row objects. Voided responses are included, flagged.
//!
//! The export of period P holds P and the period before it, so `delta_prev`
//! can be computed; running the pipeline on it reproduces a publication.

use std::collections::HashMap;
use std::sync::Arc;

use analysis::columns::*;
use anyhow::Context;
use entity::{answer, category, district, institution, response};
use polars::prelude::{
    BooleanChunkedBuilder, ChunkedBuilder, CsvWriter, DataFrame, Int64Type, IntoColumn, IntoLazy,
    PrimitiveChunkedBuilder, SerWriter, StringChunkedBuilder,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect,
};
use sha2::{Digest, Sha256};

use crate::domain::period::Period;

/// Responses fetched per query.
const PAGE: u64 = 20_000;

/// The three input tables of a period.
pub struct PeriodExport {
    pub periods: Vec<String>,
    pub institutions: DataFrame,
    pub responses: DataFrame,
    pub answers: DataFrame,
}

impl PeriodExport {
    /// The tables as pipeline inputs.
    pub fn inputs(&self) -> analysis::Inputs {
        analysis::Inputs {
            institutions: self.institutions.clone().lazy(),
            responses: self.responses.clone().lazy(),
            answers: self.answers.clone().lazy(),
        }
    }

    /// (institutions, responses, answers) row counts.
    pub fn row_counts(&self) -> (usize, usize, usize) {
        (
            self.institutions.height(),
            self.responses.height(),
            self.answers.height(),
        )
    }

    /// SHA-256 over the tables' CSV text: names the exact input of a run.
    pub fn content_hash(&self) -> anyhow::Result<String> {
        let mut hasher = Sha256::new();
        for df in [&self.institutions, &self.responses, &self.answers] {
            let mut df = df.clone();
            let mut buf = Vec::new();
            CsvWriter::new(&mut buf)
                .finish(&mut df)
                .context("Failed to serialise the export for hashing")?;
            hasher.update(&buf);
        }
        Ok(hex::encode(hasher.finalize()))
    }

    /// Writes `institutions`, `responses` and `answers` as CSV or Parquet.
    pub fn write(&self, dir: &std::path::Path, format: analysis::Format) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("Failed to create {}", dir.display()))?;
        let ext = match format {
            analysis::Format::Csv => "csv",
            analysis::Format::Parquet => "parquet",
        };
        for (name, df) in [
            (INSTITUTIONS, &self.institutions),
            (RESPONSES, &self.responses),
            (ANSWERS, &self.answers),
        ] {
            let mut df = df.clone();
            analysis::write_table(&mut df, &dir.join(format!("{name}.{ext}")))
                .map_err(|e| anyhow::anyhow!("Failed to write {name}: {e}"))?;
        }
        Ok(())
    }
}

/// Reads period `period` and the one before it. The response id range is
/// split between [`PARTS`] tasks that read and decode concurrently (on
/// separate connections and cores), and their tables are stacked in order.
pub async fn export_period(
    db: &DatabaseConnection,
    period: Period,
) -> anyhow::Result<PeriodExport> {
    let periods = vec![period.previous().to_string(), period.to_string()];
    let (institutions, codes) = institutions(db).await?;
    let bounds: Option<(Option<i64>, Option<i64>)> = response::Entity::find()
        .select_only()
        .column_as(response::Column::Id.min(), "lo")
        .column_as(response::Column::Id.max(), "hi")
        .filter(response::Column::Period.is_in(periods.clone()))
        .into_tuple()
        .one(db)
        .await
        .context("Failed to read the response id range")?;
    let (lo, hi) = match bounds {
        Some((Some(lo), Some(hi))) => (lo, hi),
        _ => (1, 0),
    };
    let codes = Arc::new(codes);
    let step = ((hi - lo + 1).max(0) + PARTS - 1) / PARTS;
    let mut tasks = Vec::new();
    for part in 0..PARTS {
        let (start, end) = (lo + part * step, (lo + (part + 1) * step - 1).min(hi));
        let (db, periods, codes) = (db.clone(), periods.clone(), codes.clone());
        tasks.push(tokio::spawn(async move {
            export_range(&db, &periods, &codes, start, end).await
        }));
    }
    let mut responses: Option<DataFrame> = None;
    let mut answers: Option<DataFrame> = None;
    for task in tasks {
        let (r, a) = task.await.context("An export task failed")??;
        match (&mut responses, &mut answers) {
            (Some(all_r), Some(all_a)) => {
                all_r.vstack_mut(&r).context("Failed to stack responses")?;
                all_a.vstack_mut(&a).context("Failed to stack answers")?;
            }
            _ => {
                responses = Some(r);
                answers = Some(a);
            }
        }
    }
    let (Some(mut responses), Some(mut answers)) = (responses, answers) else {
        anyhow::bail!("The export produced no tables");
    };
    responses.rechunk_mut();
    answers.rechunk_mut();
    Ok(PeriodExport {
        periods,
        institutions,
        responses,
        answers,
    })
}

/// Tasks an export is split into.
const PARTS: i64 = 2;

/// Responses with ids in `start..=end` of the given periods, and their answers.
async fn export_range(
    db: &DatabaseConnection,
    periods: &[String],
    codes: &HashMap<i32, String>,
    start: i64,
    end: i64,
) -> anyhow::Result<(DataFrame, DataFrame)> {
    let mut r_id = StringChunkedBuilder::new(RESPONSE_ID.into(), 1024);
    let mut r_inst = StringChunkedBuilder::new(INSTITUTION_CODE.into(), 1024);
    let mut r_source = StringChunkedBuilder::new(SOURCE.into(), 1024);
    let mut r_period = StringChunkedBuilder::new(PERIOD.into(), 1024);
    let mut r_duration = PrimitiveChunkedBuilder::<Int64Type>::new(DURATION_MS.into(), 1024);
    let mut r_voided = BooleanChunkedBuilder::new(VOIDED.into(), 1024);
    let mut a_id = StringChunkedBuilder::new(RESPONSE_ID.into(), 8192);
    let mut a_item = StringChunkedBuilder::new(ITEM_CODE.into(), 8192);
    let mut a_dim = StringChunkedBuilder::new(DIMENSION_CODE.into(), 8192);
    let mut a_rating = PrimitiveChunkedBuilder::<Int64Type>::new(RATING.into(), 8192);
    let (mut n_responses, mut n_answers) = (0usize, 0usize);

    let mut after = start - 1;
    loop {
        let page: Vec<(i64, i32, String, String, Option<i64>, bool)> = response::Entity::find()
            .select_only()
            .columns([
                response::Column::Id,
                response::Column::InstitutionId,
                response::Column::Source,
                response::Column::Period,
                response::Column::DurationMs,
                response::Column::Voided,
            ])
            .filter(response::Column::Period.is_in(periods.to_vec()))
            .filter(response::Column::Id.gt(after))
            .filter(response::Column::Id.lte(end))
            .order_by_asc(response::Column::Id)
            .limit(PAGE)
            .into_tuple()
            .all(db)
            .await
            .context("Failed to read responses")?;
        let (Some(first), Some(last)) = (page.first().map(|r| r.0), page.last().map(|r| r.0))
        else {
            break;
        };
        let mut ids = std::collections::HashSet::with_capacity(page.len());
        for (id, inst, source, period, duration, voided) in &page {
            let code = codes
                .get(inst)
                .with_context(|| format!("Response {id} names a missing institution"))?;
            r_id.append_value(id.to_string());
            r_inst.append_value(code);
            r_source.append_value(source);
            r_period.append_value(period);
            r_duration.append_option(*duration);
            r_voided.append_value(*voided);
            ids.insert(*id);
        }
        n_responses += page.len();
        let answers: Vec<(i64, String, String, Option<i16>)> = answer::Entity::find()
            .select_only()
            .columns([
                answer::Column::ResponseId,
                answer::Column::ItemCode,
                answer::Column::DimensionCode,
                answer::Column::Rating,
            ])
            .filter(answer::Column::ResponseId.between(first, last))
            .order_by_asc(answer::Column::ResponseId)
            .order_by_asc(answer::Column::ItemCode)
            .into_tuple()
            .all(db)
            .await
            .context("Failed to read answers")?;
        let mut id_text = String::new();
        let mut current = None;
        for (rid, item, dim, rating) in answers.iter().filter(|a| ids.contains(&a.0)) {
            if current != Some(*rid) {
                id_text = rid.to_string();
                current = Some(*rid);
            }
            a_id.append_value(&id_text);
            a_item.append_value(item);
            a_dim.append_value(dim);
            a_rating.append_option(rating.map(i64::from));
            n_answers += 1;
        }
        after = last;
        if (page.len() as u64) < PAGE {
            break;
        }
    }

    let responses = DataFrame::new(
        n_responses,
        vec![
            r_id.finish().into_column(),
            r_inst.finish().into_column(),
            r_source.finish().into_column(),
            r_period.finish().into_column(),
            r_duration.finish().into_column(),
            r_voided.finish().into_column(),
        ],
    )
    .context("Failed to assemble the responses table")?;
    let answers = DataFrame::new(
        n_answers,
        vec![
            a_id.finish().into_column(),
            a_item.finish().into_column(),
            a_dim.finish().into_column(),
            a_rating.finish().into_column(),
        ],
    )
    .context("Failed to assemble the answers table")?;
    Ok((responses, answers))
}

/// Every institution with its category and district codes, and the map from
/// institution id to code.
async fn institutions(
    db: &impl ConnectionTrait,
) -> anyhow::Result<(DataFrame, HashMap<i32, String>)> {
    let categories: HashMap<i32, String> = category::Entity::find()
        .all(db)
        .await
        .context("Failed to read categories")?
        .into_iter()
        .map(|c| (c.id, c.code))
        .collect();
    let districts: HashMap<i32, String> = district::Entity::find()
        .all(db)
        .await
        .context("Failed to read districts")?
        .into_iter()
        .map(|d| (d.id, d.code))
        .collect();
    let rows = institution::Entity::find()
        .order_by_asc(institution::Column::Code)
        .all(db)
        .await
        .context("Failed to read institutions")?;
    let mut code = StringChunkedBuilder::new(INSTITUTION_CODE.into(), rows.len());
    let mut cat = StringChunkedBuilder::new(CATEGORY_CODE.into(), rows.len());
    let mut dis = StringChunkedBuilder::new(DISTRICT_CODE.into(), rows.len());
    let mut codes = HashMap::with_capacity(rows.len());
    for row in &rows {
        code.append_value(&row.code);
        cat.append_value(
            categories
                .get(&row.category_id)
                .map(String::as_str)
                .unwrap_or_default(),
        );
        dis.append_value(
            districts
                .get(&row.district_id)
                .map(String::as_str)
                .unwrap_or_default(),
        );
        codes.insert(row.id, row.code.clone());
    }
    let df = DataFrame::new(
        rows.len(),
        vec![
            code.finish().into_column(),
            cat.finish().into_column(),
            dis.finish().into_column(),
        ],
    )
    .context("Failed to assemble the institutions table")?;
    Ok((df, codes))
}

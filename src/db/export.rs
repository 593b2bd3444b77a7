//! A period's data as the spec's input tables (institutions, responses,
//! answers), read from the database in keyset-paginated chunks straight into
//! column builders, so memory follows the size of the result, not of the
//! driver's row objects. Voided responses are included, flagged.
//!
//! `responses` also carries the optional columns of `integrity.md`:
//! `submitted_at` (RFC 3339 in UTC, milliseconds: `2026-12-03T09:15:02.125Z`),
//! `respondent` (the per-period respondent hash), `network` and
//! `comment_key` (keyed hashes; null for uploads and older rows). Only keyed
//! hashes leave the database, never an address, a device or a comment.
//!
//! The export of period P holds P and the period before it, so `delta_prev`
//! can be computed; running the pipeline on it reproduces a publication.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use analysis::columns::*;
use anyhow::Context;
use entity::{answer, category, district, institution, response};
use polars::prelude::{
    BooleanChunkedBuilder, ChunkedBuilder, CsvWriter, DataFrame, Int64Type, IntoColumn, IntoLazy,
    PrimitiveChunkedBuilder, SerWriter, StringChunkedBuilder,
};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, Statement,
};
use sha2::{Digest, Sha256};

use crate::domain::period::Period;

/// Responses per page: fetched per query ([`Reader::Rows`]) or response ids
/// per page ([`Reader::JsonPages`]).
pub const PAGE: u64 = 20_000;

/// How pages of rows are read. [`export_period`] uses [`Reader::JsonPages`];
/// [`Reader::Rows`] is the plain reference the tests and the benchmark
/// compare it with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reader {
    /// One driver row per response and per answer, through the ORM.
    Rows,
    /// A page folded into one JSON text per table (see [`JsonSql`]).
    JsonPages,
}

/// What decides whether a period's export changed: its responses (and the
/// previous period's), their voiding, and the model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataVersion {
    responses: i64,
    last_id: Option<i64>,
    voided: Option<i64>,
    model: i32,
}

/// The [`DataVersion`] of the export of `period`: one aggregate query.
pub async fn data_version(
    db: &impl ConnectionTrait,
    period: Period,
) -> anyhow::Result<DataVersion> {
    use sea_orm::sea_query::Expr;
    let periods = [period.previous().to_string(), period.to_string()];
    let (responses, last_id, voided): (i64, Option<i64>, Option<i64>) = response::Entity::find()
        .select_only()
        .column_as(response::Column::Id.count(), "responses")
        .column_as(response::Column::Id.max(), "last_id")
        .column_as(
            Expr::cust("SUM(CASE WHEN voided THEN 1 ELSE 0 END)"),
            "voided",
        )
        .filter(response::Column::Period.is_in(periods))
        .into_tuple()
        .one(db)
        .await
        .context("Failed to read the period's data version")?
        .unwrap_or_default();
    let model = super::model::current(db).await?.version;
    Ok(DataVersion {
        responses,
        last_id,
        voided,
        model,
    })
}

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

/// Reads period `period` and the one before it, as JSON pages (see
/// [`Reader::JsonPages`]).
pub async fn export_period(
    db: &DatabaseConnection,
    period: Period,
) -> anyhow::Result<PeriodExport> {
    export_period_with(db, period, Reader::JsonPages, PAGE).await
}

/// [`export_period`] with a chosen reader and page size: responses per query
/// ([`Reader::Rows`]) or response ids per page ([`Reader::JsonPages`]).
pub async fn export_period_with(
    db: &DatabaseConnection,
    period: Period,
    reader: Reader,
    page: u64,
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
    // SQLite's connections share one allocator lock and page cache: two
    // reading side by side mostly waited for each other. PostgreSQL's
    // connections are separate server processes, one per core.
    let parts = match (reader, db.get_database_backend()) {
        (Reader::JsonPages, DbBackend::Sqlite) => 1,
        _ => 2,
    };
    let step = ((hi - lo + 1).max(0) + parts - 1) / parts;
    let mut tasks = Vec::new();
    for part in 0..parts {
        let range = (lo + part * step, (lo + (part + 1) * step - 1).min(hi));
        let (db, periods, codes) = (db.clone(), periods.clone(), codes.clone());
        tasks.push(tokio::spawn(async move {
            match reader {
                Reader::Rows => read_rows(&db, &periods, &codes, range, page).await,
                Reader::JsonPages => read_json_pages(&db, &periods, &codes, range, page).await,
            }
        }));
    }
    let (responses, answers) = stack(tasks).await?;
    Ok(PeriodExport {
        periods,
        institutions,
        responses,
        answers,
    })
}

/// [`Reader::Rows`]: responses with ids in `start..=end`, `page` per query,
/// and their answers.
async fn read_rows(
    db: &DatabaseConnection,
    periods: &[String],
    codes: &HashMap<i32, String>,
    (start, end): (i64, i64),
    page: u64,
) -> anyhow::Result<(DataFrame, DataFrame)> {
    let mut tables = Tables::new();
    let mut after = start - 1;
    while let Some((last, n)) =
        read_page(db, periods, codes, Range { after, end, page }, &mut tables).await?
    {
        if n as u64 != page {
            break;
        }
        after = last;
    }
    tables.finish()
}

/// The tables of consecutive id ranges, read by concurrent tasks, stacked in
/// order.
async fn stack(
    tasks: Vec<tokio::task::JoinHandle<anyhow::Result<(DataFrame, DataFrame)>>>,
) -> anyhow::Result<(DataFrame, DataFrame)> {
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
    Ok((responses, answers))
}

/// [`Reader::JsonPages`]: pages of `span` response ids on one connection;
/// the database builds page k+1 (on SQLite's worker thread, or in the
/// PostgreSQL server) while page k is decoded on a blocking thread, off the
/// async executor.
async fn read_json_pages(
    db: &DatabaseConnection,
    periods: &[String],
    codes: &Arc<HashMap<i32, String>>,
    (lo, hi): (i64, i64),
    span: u64,
) -> anyhow::Result<(DataFrame, DataFrame)> {
    let [previous, current] = periods else {
        anyhow::bail!("An export reads two periods, not {}", periods.len());
    };
    let span = span.max(1) as i64;
    let fetch = |start: i64| {
        let (db, previous, current) = (db.clone(), previous.clone(), current.clone());
        let end = (start + span - 1).min(hi);
        tokio::spawn(async move { fetch_json_page(&db, [&previous, &current], start, end).await })
    };
    let mut tables = Tables::new();
    let mut start = lo;
    let mut next = (start <= hi).then(|| fetch(start));
    while let Some(task) = next.take() {
        let page = task.await.context("An export task failed")??;
        start += span;
        next = (start <= hi).then(|| fetch(start));
        let codes = codes.clone();
        tables = crate::setup::offload::polars("Decoding an export page", move || {
            page.decode(&codes, &mut tables)?;
            anyhow::Ok(tables)
        })
        .await??;
    }
    tables.finish()
}

/// A page to read: up to `page` responses with ids in `after+1..=end`.
#[derive(Clone, Copy)]
struct Range {
    after: i64,
    end: i64,
    page: u64,
}

/// Column builders of the responses and answers tables.
struct Tables {
    r_id: StringChunkedBuilder,
    r_inst: StringChunkedBuilder,
    r_source: StringChunkedBuilder,
    r_period: StringChunkedBuilder,
    r_duration: PrimitiveChunkedBuilder<Int64Type>,
    r_voided: BooleanChunkedBuilder,
    r_submitted: StringChunkedBuilder,
    r_respondent: StringChunkedBuilder,
    r_network: StringChunkedBuilder,
    r_comment_key: StringChunkedBuilder,
    a_id: StringChunkedBuilder,
    a_item: StringChunkedBuilder,
    a_dim: StringChunkedBuilder,
    a_rating: PrimitiveChunkedBuilder<Int64Type>,
    n_responses: usize,
    n_answers: usize,
    /// The last answer's response id, and its text (formatted once per run).
    answer_id: Option<(i64, String)>,
}

impl Tables {
    fn new() -> Tables {
        Tables {
            r_id: StringChunkedBuilder::new(RESPONSE_ID.into(), 1024),
            r_inst: StringChunkedBuilder::new(INSTITUTION_CODE.into(), 1024),
            r_source: StringChunkedBuilder::new(SOURCE.into(), 1024),
            r_period: StringChunkedBuilder::new(PERIOD.into(), 1024),
            r_duration: PrimitiveChunkedBuilder::new(DURATION_MS.into(), 1024),
            r_voided: BooleanChunkedBuilder::new(VOIDED.into(), 1024),
            r_submitted: StringChunkedBuilder::new(SUBMITTED_AT.into(), 1024),
            r_respondent: StringChunkedBuilder::new(RESPONDENT.into(), 1024),
            r_network: StringChunkedBuilder::new(NETWORK.into(), 1024),
            r_comment_key: StringChunkedBuilder::new(COMMENT_KEY.into(), 1024),
            a_id: StringChunkedBuilder::new(RESPONSE_ID.into(), 8192),
            a_item: StringChunkedBuilder::new(ITEM_CODE.into(), 8192),
            a_dim: StringChunkedBuilder::new(DIMENSION_CODE.into(), 8192),
            a_rating: PrimitiveChunkedBuilder::new(RATING.into(), 8192),
            n_responses: 0,
            n_answers: 0,
            answer_id: None,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push_response(
        &mut self,
        codes: &HashMap<i32, String>,
        id: i64,
        institution_id: i32,
        source: &str,
        period: &str,
        duration_ms: Option<i64>,
        voided: bool,
        integrity: &Integrity<'_>,
    ) -> anyhow::Result<()> {
        let code = codes
            .get(&institution_id)
            .with_context(|| format!("Response {id} names a missing institution"))?;
        let submitted_at = submitted_at_text(integrity.submitted_at)
            .with_context(|| format!("Response {id} has an unreadable submission time"))?;
        self.r_id.append_value(id.to_string());
        self.r_inst.append_value(code);
        self.r_source.append_value(source);
        self.r_period.append_value(period);
        self.r_duration.append_option(duration_ms);
        self.r_voided.append_value(voided);
        self.r_submitted.append_value(submitted_at);
        self.r_respondent.append_value(integrity.respondent);
        self.r_network.append_option(integrity.network);
        self.r_comment_key.append_option(integrity.comment_key);
        self.n_responses += 1;
        Ok(())
    }

    fn push_answer(&mut self, response_id: i64, item: &str, dimension: &str, rating: Option<i64>) {
        if self.answer_id.as_ref().map(|(id, _)| *id) != Some(response_id) {
            self.answer_id = Some((response_id, response_id.to_string()));
        }
        let text = self
            .answer_id
            .as_ref()
            .map_or("", |(_, text)| text.as_str());
        self.a_id.append_value(text);
        self.a_item.append_value(item);
        self.a_dim.append_value(dimension);
        self.a_rating.append_option(rating);
        self.n_answers += 1;
    }

    fn finish(self) -> anyhow::Result<(DataFrame, DataFrame)> {
        let responses = DataFrame::new(
            self.n_responses,
            vec![
                self.r_id.finish().into_column(),
                self.r_inst.finish().into_column(),
                self.r_source.finish().into_column(),
                self.r_period.finish().into_column(),
                self.r_duration.finish().into_column(),
                self.r_voided.finish().into_column(),
                self.r_submitted.finish().into_column(),
                self.r_respondent.finish().into_column(),
                self.r_network.finish().into_column(),
                self.r_comment_key.finish().into_column(),
            ],
        )
        .context("Failed to assemble the responses table")?;
        let answers = DataFrame::new(
            self.n_answers,
            vec![
                self.a_id.finish().into_column(),
                self.a_item.finish().into_column(),
                self.a_dim.finish().into_column(),
                self.a_rating.finish().into_column(),
            ],
        )
        .context("Failed to assemble the answers table")?;
        Ok((responses, answers))
    }
}

/// Reads the responses of `range`, and their answers, into `tables`. Gives the last response id read and the number of
/// responses, or `None` when there were none.
async fn read_page(
    db: &DatabaseConnection,
    periods: &[String],
    codes: &HashMap<i32, String>,
    Range { after, end, page }: Range,
    tables: &mut Tables,
) -> anyhow::Result<Option<(i64, usize)>> {
    type Row = (
        i64,
        i32,
        String,
        String,
        Option<i64>,
        bool,
        chrono::DateTime<chrono::Utc>,
        String,
        Option<String>,
        Option<String>,
    );
    let rows: Vec<Row> = response::Entity::find()
        .select_only()
        .columns([
            response::Column::Id,
            response::Column::InstitutionId,
            response::Column::Source,
            response::Column::Period,
            response::Column::DurationMs,
            response::Column::Voided,
            response::Column::SubmittedAt,
            response::Column::RespondentHash,
            response::Column::NetworkHash,
            response::Column::CommentKey,
        ])
        .filter(response::Column::Period.is_in(periods.to_vec()))
        .filter(response::Column::Id.gt(after))
        .filter(response::Column::Id.lte(end))
        .order_by_asc(response::Column::Id)
        .limit(page)
        .into_tuple()
        .all(db)
        .await
        .context("Failed to read responses")?;
    let (Some(first), Some(last)) = (rows.first().map(|r| r.0), rows.last().map(|r| r.0)) else {
        return Ok(None);
    };
    let mut ids = HashSet::with_capacity(rows.len());
    for (id, inst, source, period, duration, voided, at, respondent, network, key) in &rows {
        let integrity = Integrity {
            submitted_at: Stamp::Instant(*at),
            respondent,
            network: network.as_deref(),
            comment_key: key.as_deref(),
        };
        tables.push_response(
            codes, *id, *inst, source, period, *duration, *voided, &integrity,
        )?;
        ids.insert(*id);
    }
    let mut answers: Vec<(i64, String, String, Option<i16>)> = answer::Entity::find()
        .select_only()
        .columns([
            answer::Column::ResponseId,
            answer::Column::ItemCode,
            answer::Column::DimensionCode,
            answer::Column::Rating,
        ])
        .filter(answer::Column::ResponseId.between(first, last))
        .into_tuple()
        .all(db)
        .await
        .context("Failed to read answers")?;
    // By response, then item code in byte order whatever the database's
    // collation (as the JSON reader orders them).
    answers.sort_unstable_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    for (rid, item, dim, rating) in answers.iter().filter(|a| ids.contains(&a.0)) {
        tables.push_answer(*rid, item, dim, rating.map(i64::from));
    }
    Ok(Some((last, rows.len())))
}

/// The two queries of a JSON page, per backend: the responses of the two
/// periods with ids in a range, as one JSON array of
/// `[id, institution_id, source, period, duration_ms, voided as 0/1,
/// submitted_at, respondent_hash, network_hash, comment_key]`, and
/// the answers of the range, as one array of
/// `[response_id, item_code, dimension_code, rating]`.
///
/// The drivers cost more per result row than the database does: SQLite's
/// hands every row from its worker thread over a channel, and each row is
/// decoded through the ORM. A page folded into one JSON text, built by the
/// database and parsed with serde, crosses once. The aggregates have no
/// `ORDER BY` (a sort per page): [`JsonPage::decode`] checks the order and
/// sorts only if a database ever hands rows over in another.
struct JsonSql {
    backend: DbBackend,
    responses: &'static str,
    answers: &'static str,
}

impl JsonSql {
    fn for_backend(backend: DbBackend) -> JsonSql {
        match backend {
            // `+period` keeps SQLite off the period index: with it, SQLite
            // sorted every row of the range for each page; without, it walks
            // the primary key over the range, in id order.
            DbBackend::Sqlite => JsonSql {
                backend,
                responses: "SELECT json_group_array(json_array(id, institution_id, source, \
                    period, duration_ms, voided, submitted_at, respondent_hash, network_hash, \
                    comment_key)) FROM response \
                    WHERE +period IN (?, ?) AND id BETWEEN ? AND ?",
                answers: "SELECT json_group_array(json_array(response_id, item_code, \
                    dimension_code, rating)) FROM answer WHERE response_id BETWEEN ? AND ?",
            },
            _ => JsonSql {
                backend: DbBackend::Postgres,
                responses: "SELECT coalesce(json_agg(json_build_array(id, institution_id, \
                    source, period, duration_ms, voided::int, submitted_at, respondent_hash, \
                    network_hash, comment_key))::text, '[]') FROM response \
                    WHERE period IN ($1, $2) AND id BETWEEN $3 AND $4",
                answers: "SELECT coalesce(json_agg(json_build_array(response_id, item_code, \
                    dimension_code, rating))::text, '[]') FROM answer \
                    WHERE response_id BETWEEN $1 AND $2",
            },
        }
    }
}

#[derive(serde::Deserialize)]
struct ResponseRow<'a>(
    i64,
    i32,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    Option<i64>,
    i64,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Option<Cow<'a, str>>,
    #[serde(borrow)] Option<Cow<'a, str>>,
);

#[derive(serde::Deserialize)]
struct AnswerRow<'a>(
    i64,
    #[serde(borrow)] Cow<'a, str>,
    #[serde(borrow)] Cow<'a, str>,
    Option<i64>,
);

/// The JSON texts of a page (see [`JsonSql`]).
struct JsonPage {
    responses: String,
    answers: String,
}

/// Reads the responses of the two periods with ids in `start..=end`, and the
/// answers of that id range, as JSON.
async fn fetch_json_page(
    db: &DatabaseConnection,
    [previous, current]: [&str; 2],
    start: i64,
    end: i64,
) -> anyhow::Result<JsonPage> {
    let sql = JsonSql::for_backend(db.get_database_backend());
    let query = |text: &str, values: Vec<sea_orm::Value>| {
        db.query_one_raw(Statement::from_sql_and_values(sql.backend, text, values))
    };
    let row = query(
        sql.responses,
        vec![previous.into(), current.into(), start.into(), end.into()],
    )
    .await
    .context("Failed to read responses")?
    .context("Failed to read responses: no result row")?;
    let responses: String = row
        .try_get_by_index(0)
        .context("Failed to read responses")?;
    let row = query(sql.answers, vec![start.into(), end.into()])
        .await
        .context("Failed to read answers")?
        .context("Failed to read answers: no result row")?;
    let answers: String = row.try_get_by_index(0).context("Failed to read answers")?;
    Ok(JsonPage { responses, answers })
}

impl JsonPage {
    /// Appends the page's responses, and the answers of those responses
    /// (the id range may hold responses of other periods), to `tables`, in
    /// the order of [`read_page`].
    fn decode(&self, codes: &HashMap<i32, String>, tables: &mut Tables) -> anyhow::Result<()> {
        let mut responses: Vec<ResponseRow> =
            serde_json::from_str(&self.responses).context("Failed to decode the responses read")?;
        if !responses.is_sorted_by_key(|r| r.0) {
            responses.sort_unstable_by_key(|r| r.0);
        }
        let mut ids = HashSet::with_capacity(responses.len());
        for ResponseRow(id, inst, source, period, duration, voided, at, respondent, net, key) in
            &responses
        {
            let integrity = Integrity {
                submitted_at: Stamp::Text(at),
                respondent,
                network: net.as_deref(),
                comment_key: key.as_deref(),
            };
            tables.push_response(
                codes,
                *id,
                *inst,
                source,
                period,
                *duration,
                *voided != 0,
                &integrity,
            )?;
            ids.insert(*id);
        }
        let mut answers: Vec<AnswerRow> =
            serde_json::from_str(&self.answers).context("Failed to decode the answers read")?;
        let order = |a: &AnswerRow, b: &AnswerRow| (a.0, &a.1).cmp(&(b.0, &b.1));
        if !answers.is_sorted_by(|a, b| order(a, b).is_le()) {
            answers.sort_unstable_by(order);
        }
        for AnswerRow(rid, item, dim, rating) in answers.iter().filter(|a| ids.contains(&a.0)) {
            tables.push_answer(*rid, item, dim, *rating);
        }
        Ok(())
    }
}

/// A response's values for the integrity columns, as read.
struct Integrity<'a> {
    submitted_at: Stamp<'a>,
    respondent: &'a str,
    network: Option<&'a str>,
    comment_key: Option<&'a str>,
}

/// A submission time as a reader has it: decoded by the driver, or the text
/// a JSON page carries (PostgreSQL's ISO 8601, or the text SQLite stores).
#[derive(Clone, Copy)]
enum Stamp<'a> {
    Instant(chrono::DateTime<chrono::Utc>),
    Text(&'a str),
}

/// The `submitted_at` of the export: UTC, `YYYY-MM-DDTHH:MM:SS.sssZ`, finer
/// digits cut off. Milliseconds, so that SQLite (nanoseconds) and PostgreSQL
/// (microseconds) export the same text for the same instant, and the
/// integrity table's `burst_start` (milliseconds too) is exactly a stored
/// instant.
fn submitted_at_text(stamp: Stamp<'_>) -> anyhow::Result<String> {
    let at = match stamp {
        Stamp::Instant(at) => at,
        Stamp::Text(text) => parse_stored_time(text)?,
    };
    Ok(at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
}

/// An instant as the drivers store it: RFC 3339 (sqlx's SQLite encoding,
/// PostgreSQL's JSON), or SQLite's `YYYY-MM-DD HH:MM:SS[.f][±HH:MM]`
/// (UTC without an offset).
fn parse_stored_time(text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    use chrono::{DateTime, NaiveDateTime, Utc};
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    if let Ok(at) = DateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Ok(at.with_timezone(&Utc));
    }
    NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
        .map(|at| at.and_utc())
        .map_err(|_| {
            anyhow::anyhow!(
                "'{}' is not a time",
                text.chars().take(40).collect::<String>()
            )
        })
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

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::Utc;
    use entity::{questionnaire, response};
    use sea_orm::ActiveValue::Set;

    /// A database with awkward rows: N/A ratings, unknown durations, voided
    /// responses, responses of other periods between the exported ones,
    /// a response without answers, and codes that need JSON escaping.
    pub(crate) async fn database(dir: &std::path::Path) -> anyhow::Result<DatabaseConnection> {
        let url = format!("sqlite://{}?mode=rwc", dir.join("export.db").display());
        let db = crate::db::connect(&url).await?;
        crate::db::migrate(&db).await?;
        seed(&db).await?;
        Ok(db)
    }

    async fn seed(db: &DatabaseConnection) -> anyhow::Result<()> {
        let category = category::Entity::insert(category::ActiveModel {
            code: Set("water".into()),
            name_zh: Set("供水".into()),
            name_en: Set("Water".into()),
            ..Default::default()
        })
        .exec(db)
        .await?
        .last_insert_id;
        let district = district::Entity::insert(district::ActiveModel {
            code: Set("东城".into()),
            name_zh: Set("东城".into()),
            name_en: Set("Dongcheng".into()),
            ..Default::default()
        })
        .exec(db)
        .await?
        .last_insert_id;
        let questionnaire = questionnaire::Entity::insert(questionnaire::ActiveModel {
            category_id: Set(category),
            version: Set(1),
            created_at: Set(Utc::now()),
            ..Default::default()
        })
        .exec(db)
        .await?
        .last_insert_id;
        let mut institutions = Vec::new();
        for code in ["w-1", "w\"2\\", "水厂三"] {
            let id = institution::Entity::insert(institution::ActiveModel {
                code: Set(code.into()),
                name_zh: Set(code.into()),
                name_en: Set(code.into()),
                category_id: Set(category),
                district_id: Set(district),
                address: Set(String::new()),
                active: Set(true),
                ..Default::default()
            })
            .exec(db)
            .await?
            .last_insert_id;
            institutions.push(id);
        }
        let periods = ["2026-03", "2026-02", "2025-12", "2026-03"];
        let items = [
            ("q1", "attitude"),
            ("q\"2", "效率"),
            ("q\\3", "tab\there"),
            ("问4", "环境"),
        ];
        for id in 1..=23i64 {
            let i = id as usize;
            response::Entity::insert(response::ActiveModel {
                id: Set(id),
                institution_id: Set(institutions[i % institutions.len()]),
                questionnaire_id: Set(questionnaire),
                source: Set(if i % 5 == 0 { "phone" } else { "citizen" }.into()),
                period: Set(periods[i % periods.len()].into()),
                submitted_at: Set(Utc::now()),
                duration_ms: Set((i % 3 != 0).then_some(1000 * id)),
                channel: Set("web".into()),
                respondent_hash: Set(format!("h{id}")),
                comment: Set(None),
                voided: Set(i % 7 == 0),
                // Left out: the clustering test seeds a schema without the
                // later columns.
                ..Default::default()
            })
            .exec_without_returning(db)
            .await?;
            // Response 11 has no answers; the others answer a rotating subset.
            let n = if id == 11 { 0 } else { 1 + i % items.len() };
            let answers: Vec<answer::ActiveModel> = items
                .iter()
                .take(n)
                .enumerate()
                .map(|(k, (item, dim))| answer::ActiveModel {
                    response_id: Set(id),
                    item_code: Set((*item).into()),
                    dimension_code: Set((*dim).into()),
                    rating: Set(((i + k) % 6 != 0).then_some(((i + k) % 5 + 1) as i16)),
                })
                .collect();
            if !answers.is_empty() {
                answer::Entity::insert_many(answers)
                    .exec_without_returning(db)
                    .await?;
            }
        }
        Ok(())
    }

    async fn all_answers(db: &DatabaseConnection) -> anyhow::Result<Vec<answer::Model>> {
        Ok(answer::Entity::find()
            .order_by_asc(answer::Column::ResponseId)
            .order_by_asc(answer::Column::ItemCode)
            .all(db)
            .await?)
    }

    async fn answer_table_sql(db: &DatabaseConnection) -> anyhow::Result<String> {
        let row = db
            .query_one_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'answer'",
            ))
            .await?
            .context("no answer table")?;
        Ok(row.try_get_by_index(0)?)
    }

    #[tokio::test]
    async fn clustering_the_answers_keeps_every_row_both_ways() -> anyhow::Result<()> {
        use migration::{Migrator, MigratorTrait};
        let dir = tempfile::tempdir()?;
        let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
        let db = crate::db::connect(&url).await?;
        let migrations = Migrator::migrations();
        let all = migrations.len() as u32;
        // Every migration before the clustering one.
        let unclustered = migrations
            .iter()
            .position(|m| m.name() == "m20261128_000105_cluster_answers")
            .context("the clustering migration is registered")? as u32;
        Migrator::up(&db, Some(unclustered)).await?;
        seed(&db).await?;
        let before = all_answers(&db).await?;
        assert!(before.len() > 40);
        assert!(!answer_table_sql(&db).await?.contains("WITHOUT ROWID"));

        Migrator::up(&db, None).await?;
        assert!(answer_table_sql(&db).await?.contains("WITHOUT ROWID"));
        assert_eq!(all_answers(&db).await?, before);
        // Still the same table to the application: keys and foreign key hold.
        let duplicate = answer::Entity::insert(answer::ActiveModel {
            response_id: Set(before[0].response_id),
            item_code: Set(before[0].item_code.clone()),
            dimension_code: Set("x".into()),
            rating: Set(Some(1)),
        })
        .exec_without_returning(&db)
        .await;
        assert!(duplicate.is_err(), "the primary key still holds");
        let orphan = answer::Entity::insert(answer::ActiveModel {
            response_id: Set(999_999),
            item_code: Set("q1".into()),
            dimension_code: Set("x".into()),
            rating: Set(Some(1)),
        })
        .exec_without_returning(&db)
        .await;
        assert!(orphan.is_err(), "the foreign key still holds");

        // Back down through the clustering (and the migrations after it).
        Migrator::down(&db, Some(all - unclustered)).await?;
        assert!(!answer_table_sql(&db).await?.contains("WITHOUT ROWID"));
        assert_eq!(all_answers(&db).await?, before);
        Ok(())
    }

    /// The JSON reader gives exactly the row reader's tables, whatever the
    /// page size. Fails with an error rather than a panic, so that the
    /// PostgreSQL test still drops its database.
    async fn readers_agree(db: &DatabaseConnection) -> anyhow::Result<()> {
        let period: Period = "2026-03".parse().map_err(|e| anyhow::anyhow!("{e}"))?;
        // Networks and comment keys on some rows, nulls on the others.
        db.execute_unprepared(
            "UPDATE response SET network_hash = 'net-' || (id % 3), \
             comment_key = 'c\"' || (id % 2) WHERE id % 4 <> 1",
        )
        .await?;
        let rows = export_period_with(db, period, Reader::Rows, PAGE).await?;
        for name in [NETWORK, COMMENT_KEY] {
            let nulls = rows.responses.column(name)?.null_count();
            anyhow::ensure!(nulls > 0 && nulls < rows.responses.height(), "{name}");
        }
        for at in rows.responses.column(SUBMITTED_AT)?.str()?.iter() {
            let at = at.context("a submission time on every row")?;
            anyhow::ensure!(at.len() == 24 && at.ends_with('Z'), "{at}");
        }
        anyhow::ensure!(rows.responses.column(RESPONDENT)?.null_count() == 0);
        anyhow::ensure!(rows.periods == ["2026-02", "2026-03"], "{:?}", rows.periods);
        // 2026-02 and 2026-03 are 3 of every 4 responses; voided included.
        anyhow::ensure!(rows.responses.height() == 17, "{}", rows.responses);
        anyhow::ensure!(rows.responses.column(VOIDED)?.bool()?.any());
        anyhow::ensure!(rows.answers.column(RATING)?.null_count() > 0);
        anyhow::ensure!(rows.responses.column(DURATION_MS)?.null_count() > 0);
        // Small pages split the range at every response.
        for page in [PAGE, 2, 1] {
            let json = export_period_with(db, period, Reader::JsonPages, page).await?;
            anyhow::ensure!(json.institutions.equals_missing(&rows.institutions));
            anyhow::ensure!(
                json.responses.equals_missing(&rows.responses),
                "page {page}: {} vs {}",
                json.responses,
                rows.responses
            );
            anyhow::ensure!(
                json.answers.equals_missing(&rows.answers),
                "page {page}: {} vs {}",
                json.answers,
                rows.answers
            );
        }
        let by_rows = export_period_with(db, period, Reader::Rows, 2).await?;
        anyhow::ensure!(by_rows.answers.equals_missing(&rows.answers));
        Ok(())
    }

    #[test]
    fn submission_times_are_exported_in_utc_to_the_millisecond_cut_not_rounded() {
        let text = |s: &str| submitted_at_text(Stamp::Text(s)).ok();
        for (stored, exported) in [
            (
                "2026-12-03T09:15:02.125999999+00:00",
                "2026-12-03T09:15:02.125Z",
            ),
            ("2026-12-03T17:15:02.1259+08:00", "2026-12-03T09:15:02.125Z"),
            ("2026-12-03T09:15:02Z", "2026-12-03T09:15:02.000Z"),
            ("2026-12-03 09:15:02.5", "2026-12-03T09:15:02.500Z"),
            (
                "2026-12-03 09:15:02.999999 +00:00",
                "2026-12-03T09:15:02.999Z",
            ),
            ("2026-12-31T23:59:59.9996-00:30", "2027-01-01T00:29:59.999Z"),
        ] {
            assert_eq!(text(stored).as_deref(), Some(exported), "{stored}");
        }
        assert_eq!(text("yesterday"), None);
        let at = chrono::DateTime::parse_from_rfc3339("2026-12-03T09:15:02.0019Z")
            .map(|t| t.with_timezone(&Utc))
            .ok();
        assert_eq!(
            at.and_then(|at| submitted_at_text(Stamp::Instant(at)).ok())
                .as_deref(),
            Some("2026-12-03T09:15:02.001Z")
        );
    }

    #[tokio::test]
    async fn the_json_reader_reads_what_the_row_reader_reads_on_sqlite() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        readers_agree(&database(dir.path()).await?).await
    }

    /// Runs `check` on the local PostgreSQL (`PINGYI_TEST_DATABASE_URL`, or
    /// the `test` database the README's set-up provides), in a seeded
    /// database of its own that is dropped afterwards.
    pub(crate) async fn with_postgres<F, Fut>(what: &str, check: F) -> anyhow::Result<()>
    where
        F: FnOnce(DatabaseConnection) -> Fut,
        Fut: std::future::Future<Output = anyhow::Result<()>>,
    {
        let base = std::env::var("PINGYI_TEST_DATABASE_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
        let name = format!("pingyi_{what}_{}", uuid::Uuid::new_v4().simple());
        let admin = sea_orm::Database::connect(&base).await?;
        let sql = |text: String| Statement::from_string(DbBackend::Postgres, text);
        admin
            .execute_raw(sql(format!("CREATE DATABASE {name}")))
            .await?;
        let url = format!("{}/{name}", base.rsplit_once('/').map_or("", |(b, _)| b));
        let outcome = async {
            let db = crate::db::connect(&url).await?;
            crate::db::migrate(&db).await?;
            seed(&db).await?;
            check(db).await
        }
        .await;
        admin
            .execute_raw(sql(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")))
            .await?;
        outcome
    }

    #[tokio::test]
    async fn the_json_reader_reads_what_the_row_reader_reads_on_postgres() -> anyhow::Result<()> {
        with_postgres("export", |db| async move { readers_agree(&db).await }).await
    }
}

//! The scores API: published figures for the main scoring model, as JSON,
//! CSV, Parquet or XLSX, from the latest snapshot or any snapshot by run id;
//! and the snapshots themselves (metadata, model, export).

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use entity::snapshot;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiErrorCode};
use crate::app::figures::{self, FilterError, Table};
use crate::app::frames;
use crate::db::{model, snapshots};
use crate::domain::period::Period;
use crate::setup::offload;
use crate::web::auth::ApiCaller;
use crate::web::state::AppState;

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Json,
    Csv,
    Parquet,
    Xlsx,
}

/// Query of `GET /api/v1/indicators`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct IndicatorsQuery {
    /// `YYYY`, `YYYY-Qn` or `YYYY-MM`: the latest snapshot of this period.
    /// Without `period` and `run`: the latest snapshot of the most recent
    /// published period.
    pub period: Option<String>,
    /// A snapshot's run id (overrides `period`).
    pub run: Option<String>,
    /// Keep one category (institution, dimension, group and quality tables).
    pub category: Option<String>,
    /// Keep one district (institution, dimension and group tables).
    pub district: Option<String>,
    /// `institution` (default), `dimension`, `group`, `quality`, or
    /// `integrity` (the rating-integrity review: measures, robust z, flags
    /// and evidence per institution; snapshots published before it was kept
    /// have none: 404).
    #[param(inline)]
    pub table: Option<Table>,
    /// `json` (default), `csv`, `parquet` or `xlsx`.
    #[param(inline)]
    pub format: Option<Format>,
}

/// A snapshot's metadata.
#[derive(Debug, Serialize, ToSchema)]
pub struct SnapshotMeta {
    pub run_id: String,
    pub period: String,
    pub model_version: i32,
    /// Rows of the export the run read: institutions, responses, answers.
    pub input_rows: InputRows,
    /// SHA-256 of the export (CSV text of the three tables).
    pub input_hash: String,
    pub code_version: String,
    pub created_by: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InputRows {
    pub institutions: i64,
    pub responses: i64,
    pub answers: i64,
}

impl From<&snapshot::Model> for SnapshotMeta {
    fn from(s: &snapshot::Model) -> Self {
        SnapshotMeta {
            run_id: s.run_id.clone(),
            period: s.period.clone(),
            model_version: s.model_version,
            input_rows: InputRows {
                institutions: s.n_institutions,
                responses: s.n_responses,
                answers: s.n_answers,
            },
            input_hash: s.input_hash.clone(),
            code_version: s.code_version.clone(),
            created_by: s.created_by.clone(),
            created_at: s.created_at,
        }
    }
}

/// The JSON form of a table.
#[derive(Serialize, ToSchema)]
pub struct TableJson {
    pub snapshot: SnapshotMeta,
    #[schema(value_type = String, example = "institution")]
    pub table: Table,
    /// One object per row, columns as in the indicator spec (the integrity
    /// method's spec for `integrity`).
    #[schema(value_type = Vec<Object>)]
    pub rows: Vec<serde_json::Map<String, serde_json::Value>>,
}

fn unprocessable(code: ApiErrorCode, message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        code,
        message: message.into(),
    }
}

/// Parses the query strictly, naming what is wrong.
fn parse_query(req: &HttpRequest) -> Result<IndicatorsQuery, ApiError> {
    serde_urlencoded::from_str::<IndicatorsQuery>(req.query_string())
        .map_err(|e| unprocessable(ApiErrorCode::InvalidQuery, format!("Invalid query: {e}")))
}

/// The snapshot a query names.
async fn resolve(
    state: &AppState,
    run: Option<&str>,
    period: Option<&str>,
) -> Result<snapshot::Model, ApiError> {
    let found = match (run, period) {
        (Some(run), _) => snapshots::by_run_id(&state.db, run).await?,
        (None, Some(p)) => {
            let period: Period = p.parse().map_err(|e: crate::domain::period::PeriodError| {
                unprocessable(ApiErrorCode::InvalidPeriod, e.to_string())
            })?;
            snapshots::latest_of(&state.db, &period.to_string()).await?
        }
        (None, None) => snapshots::latest(&state.db).await?,
    };
    found.ok_or(ApiError::NotFound)
}

/// Published indicators.
///
/// The institution table (default), or the dimension, group, quality or
/// integrity table, of the latest snapshot of a period (or of the most
/// recent period), or of a snapshot named by its run id; optionally
/// restricted to a category and/or a district. The integrity table
/// (`integrity.md`) flags patterns for the office to review; it never
/// changes an index or a score, and its evidence is keyed hashes only.
#[utoipa::path(
    get,
    path = "/api/v1/indicators",
    tag = "scores",
    params(IndicatorsQuery),
    responses(
        (status = 200, description = "The table, in the requested format", body = TableJson,
            content(
                (TableJson = "application/json"),
                (String = "text/csv"),
                (Vec<u8> = "application/vnd.apache.parquet"),
                (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
            )),
        (status = 401, description = "No valid session or token"),
        (status = 403, description = "The caller's role may not read scores"),
        (status = 404, description = "No such snapshot, or nothing published yet"),
        (status = 422, description = "A bad query value, named in the message"),
    ),
    security(("bearer" = []), ("session" = []))
)]
#[tracing::instrument(name = "indicators", skip_all)]
pub async fn indicators(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: ApiCaller,
) -> Result<HttpResponse, ApiError> {
    caller.require_reader()?;
    let q = parse_query(&req)?;
    let catalog = state.catalog.get();
    if let Some(c) = &q.category
        && catalog.category_index(c).is_none()
    {
        return Err(unprocessable(
            ApiErrorCode::UnknownCategory,
            format!("There is no category '{c}'"),
        ));
    }
    if let Some(d) = &q.district
        && catalog.district_index(d).is_none()
    {
        return Err(unprocessable(
            ApiErrorCode::UnknownDistrict,
            format!("There is no district '{d}'"),
        ));
    }
    let snap = resolve(&state, q.run.as_deref(), q.period.as_deref()).await?;
    let table = q.table.unwrap_or(Table::Institution);
    let format = q.format.unwrap_or(Format::Json);
    let data = snapshots::table_bytes(&state.db, snap.id, table.stored_name())
        .await?
        .ok_or(ApiError::NotFound)?;
    let institutions = if matches!(table, Table::Dimension | Table::Integrity)
        && (q.category.is_some() || q.district.is_some())
    {
        snapshots::table_bytes(
            &state.db,
            snap.id,
            analysis::columns::INSTITUTION_INDICATORS,
        )
        .await?
    } else {
        None
    };
    let (category, district) = (q.category.clone(), q.district.clone());
    let encoded = offload::polars(
        "Encoding the scores",
        move || -> Result<Encoded, ApiError> {
            let df = frames::from_parquet(&data)?;
            let inst = match institutions {
                Some(bytes) => frames::from_parquet(&bytes)?,
                None => polars::prelude::DataFrame::empty(),
            };
            let df = figures::filter(table, &df, &inst, category.as_deref(), district.as_deref())
                .map_err(|e| match e {
                FilterError::NotApplicable(m) => {
                    unprocessable(ApiErrorCode::FilterNotApplicable, m)
                }
                FilterError::Internal(e) => ApiError::Internal(e),
            })?;
            Ok(match format {
                Format::Json => Encoded::Json(frames::to_json_rows(&df)?),
                Format::Csv => Encoded::Bytes(frames::to_csv(&df)?),
                Format::Parquet => Encoded::Bytes(frames::to_parquet(&df)?),
                Format::Xlsx => Encoded::Bytes(frames::to_xlsx(&df, table.stored_name())?),
            })
        },
    )
    .await
    .map_err(ApiError::Internal)??;
    tracing::info!(caller = %caller.name(), run_id = %snap.run_id, ?table, ?format, "Scores pulled");
    Ok(respond(&snap, table, format, encoded))
}

enum Encoded {
    Json(Vec<serde_json::Map<String, serde_json::Value>>),
    Bytes(Vec<u8>),
}

fn respond(snap: &snapshot::Model, table: Table, format: Format, encoded: Encoded) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .insert_header(("X-Pingyi-Run-Id", snap.run_id.clone()))
        .insert_header(crate::web::respond::NO_STORE);
    let (content_type, ext) = match format {
        Format::Json => ("application/json", "json"),
        Format::Csv => ("text/csv; charset=utf-8", "csv"),
        Format::Parquet => ("application/vnd.apache.parquet", "parquet"),
        Format::Xlsx => (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "xlsx",
        ),
    };
    match encoded {
        Encoded::Json(rows) => response.json(TableJson {
            snapshot: snap.into(),
            table,
            rows,
        }),
        Encoded::Bytes(bytes) => response
            .insert_header((header::CONTENT_TYPE, content_type))
            .insert_header((
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"{}_{}.{ext}\"",
                    table.stored_name(),
                    snap.period
                ),
            ))
            .body(bytes),
    }
}

/// Every snapshot, newest first.
#[utoipa::path(
    get,
    path = "/api/v1/snapshots",
    tag = "scores",
    responses((status = 200, body = Vec<SnapshotMeta>), (status = 401), (status = 403)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn list(state: web::Data<AppState>, caller: ApiCaller) -> Result<HttpResponse, ApiError> {
    caller.require_reader()?;
    let all: Vec<SnapshotMeta> = snapshots::list(&state.db)
        .await?
        .iter()
        .map(SnapshotMeta::from)
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header(crate::web::respond::NO_STORE)
        .json(all))
}

/// One snapshot's metadata.
#[utoipa::path(
    get,
    path = "/api/v1/snapshots/{run_id}",
    tag = "scores",
    params(("run_id" = String, Path, description = "The snapshot's run id")),
    responses((status = 200, body = SnapshotMeta), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: ApiCaller,
    run_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_reader()?;
    let snap = snapshots::by_run_id(&state.db, &run_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header(crate::web::respond::NO_STORE)
        .json(SnapshotMeta::from(&snap)))
}

/// Query of the export of a snapshot.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `institutions`, `responses` or `answers`.
    pub table: String,
    /// `csv` (default) or `parquet`.
    #[param(inline)]
    pub format: Option<Format>,
}

/// An input table of the export a snapshot was computed from: with the
/// model version it names (`/model`) and the method, it reproduces every
/// figure of the snapshot.
#[utoipa::path(
    get,
    path = "/api/v1/snapshots/{run_id}/export",
    tag = "scores",
    params(("run_id" = String, Path, description = "The snapshot's run id"), ExportQuery),
    responses((status = 200, description = "The table as CSV or Parquet"), (status = 401), (status = 403), (status = 404), (status = 422)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn export(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: ApiCaller,
    run_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_reader()?;
    let q: ExportQuery = serde_urlencoded::from_str(req.query_string())
        .map_err(|e| unprocessable(ApiErrorCode::InvalidQuery, format!("Invalid query: {e}")))?;
    let name = match q.table.as_str() {
        "institutions" | "responses" | "answers" => format!("export/{}", q.table),
        other => {
            return Err(unprocessable(
                ApiErrorCode::UnknownTable,
                format!("'{other}' is not institutions, responses or answers"),
            ));
        }
    };
    let format = q.format.unwrap_or(Format::Csv);
    if !matches!(format, Format::Csv | Format::Parquet) {
        return Err(unprocessable(
            ApiErrorCode::UnsupportedFormat,
            "An export is CSV or Parquet",
        ));
    }
    let snap = snapshots::by_run_id(&state.db, &run_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let data = snapshots::table_bytes(&state.db, snap.id, &name)
        .await?
        .ok_or(ApiError::NotFound)?;
    let body = match format {
        Format::Parquet => data,
        _ => offload::polars("Encoding an export table", move || {
            frames::from_parquet(&data).and_then(|df| frames::to_csv(&df))
        })
        .await
        .map_err(ApiError::Internal)??,
    };
    let (content_type, ext) = if format == Format::Parquet {
        ("application/vnd.apache.parquet", "parquet")
    } else {
        ("text/csv; charset=utf-8", "csv")
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}_{}.{ext}\"", q.table, snap.period),
        ))
        .insert_header(("X-Pingyi-Run-Id", snap.run_id.clone()))
        .body(body))
}

/// The model (TOML) a snapshot was computed with.
#[utoipa::path(
    get,
    path = "/api/v1/snapshots/{run_id}/model",
    tag = "scores",
    params(("run_id" = String, Path, description = "The snapshot's run id")),
    responses((status = 200, description = "model.toml", content_type = "application/toml"), (status = 401), (status = 403), (status = 404)),
    security(("bearer" = []), ("session" = []))
)]
pub async fn model(
    state: web::Data<AppState>,
    caller: ApiCaller,
    run_id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require_reader()?;
    let snap = snapshots::by_run_id(&state.db, &run_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let row = model::version(&state.db, snap.model_version)
        .await
        .map_err(ApiError::Internal)?
        .ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "application/toml; charset=utf-8"))
        .body(row.toml))
}

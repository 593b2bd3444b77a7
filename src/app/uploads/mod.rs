//! Assessor uploads: a file of interview results (CSV, XLSX or JSON) is
//! validated row by row and stored in one transaction, or refused whole with
//! every problem listed. The service here is called by the API, the web page
//! and the benchmark alike.

pub mod stage;
pub mod template;
pub mod validate;

use std::collections::HashSet;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::{Deserialize, Serialize};

use crate::db::assessors::AssessorOrg;
use crate::db::catalog::Catalog;
use crate::db::uploads::UploadRow;
use crate::db::uploads::{self as records, NewUpload, RESPONSE_CHUNK};
use crate::db::{assessors, periods};
use crate::domain::keys::Keys;
use crate::setup::configuration::Settings;
pub use pingyi_domain::upload::{Format, read};
use read::{FileError, for_each_record};
use validate::{Rules, Validator};

/// Most row errors reported (and kept in the upload's record).
pub const ERROR_CAP: usize = 1000;

/// The stable codes of row errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorCode {
    MissingColumn,
    UnknownColumn,
    DuplicateColumn,
    RaggedRow,
    MissingValue,
    InvalidValue,
    UnknownInstitution,
    NotContracted,
    UnknownItem,
    InvalidRating,
    RatingOutOfRange,
    NothingRated,
    InvalidDate,
    DateOutsidePeriod,
    InvalidPeriod,
    FrozenPeriod,
    InvalidChannel,
    CommentTooLong,
    DuplicateInFile,
    AlreadyStored,
    EmptyFile,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::MissingColumn => "missing_column",
            ErrorCode::UnknownColumn => "unknown_column",
            ErrorCode::DuplicateColumn => "duplicate_column",
            ErrorCode::RaggedRow => "ragged_row",
            ErrorCode::MissingValue => "missing_value",
            ErrorCode::InvalidValue => "invalid_value",
            ErrorCode::UnknownInstitution => "unknown_institution",
            ErrorCode::NotContracted => "not_contracted",
            ErrorCode::UnknownItem => "unknown_item",
            ErrorCode::InvalidRating => "invalid_rating",
            ErrorCode::RatingOutOfRange => "rating_out_of_range",
            ErrorCode::NothingRated => "nothing_rated",
            ErrorCode::InvalidDate => "invalid_date",
            ErrorCode::DateOutsidePeriod => "date_outside_period",
            ErrorCode::InvalidPeriod => "invalid_period",
            ErrorCode::FrozenPeriod => "frozen_period",
            ErrorCode::InvalidChannel => "invalid_channel",
            ErrorCode::CommentTooLong => "comment_too_long",
            ErrorCode::DuplicateInFile => "duplicate_in_file",
            ErrorCode::AlreadyStored => "already_stored",
            ErrorCode::EmptyFile => "empty_file",
        }
    }
}

/// One problem: spreadsheet-style row (header = 1; none for the file as a
/// whole), column name (none for the row as a whole), code and message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowError {
    pub row: Option<u32>,
    pub column: Option<String>,
    pub code: String,
    pub message: String,
}

/// A received file, on disk under the data directory.
pub struct StagedFile {
    pub path: PathBuf,
    /// Hex SHA-256 of the bytes received.
    pub sha256: String,
    pub size: u64,
    pub format: Format,
    pub file_name: Option<String>,
    /// The `charset` parameter of the content type, if any.
    pub charset: Option<String>,
}

/// What the service reads besides the file.
pub struct UploadContext<'a> {
    pub db: &'a DatabaseConnection,
    pub keys: &'a Keys,
    pub catalog: Arc<Catalog>,
    pub settings: &'a Settings,
}

/// An upload's status and report, as the API and the page show it.
#[derive(Clone, Debug, Serialize)]
pub struct UploadReport {
    pub id: i64,
    /// `stored`, `invalid`, `unsupported`, `too_large` or `failed`.
    pub status: String,
    pub format: String,
    pub file_name: Option<String>,
    pub file_hash: Option<String>,
    /// Data rows in the file.
    pub total_rows: i64,
    pub stored_rows: i64,
    pub total_errors: i64,
    /// The first [`ERROR_CAP`] errors.
    pub errors: Vec<RowError>,
    pub created_at: DateTime<Utc>,
}

impl UploadReport {
    pub fn from_record(m: entity::upload::Model) -> UploadReport {
        let errors = m
            .report
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_default();
        UploadReport {
            id: m.id,
            status: m.status,
            format: m.format,
            file_name: m.file_name,
            file_hash: m.file_hash,
            total_rows: i64::from(m.total_rows),
            stored_rows: i64::from(m.stored_rows),
            total_errors: i64::from(m.error_count),
            errors,
            created_at: m.created_at,
        }
    }
}

/// What became of an upload.
#[derive(Debug)]
pub enum Outcome {
    /// Stored now, in one transaction.
    Stored(UploadReport),
    /// This organisation stored the same file before: its first result.
    Replayed(UploadReport),
    /// Refused with row errors; nothing stored.
    Invalid(UploadReport),
    /// Another upload stored some of the same respondents while this one
    /// was being stored; nothing of this one was stored.
    Conflict,
}

/// Validates a staged file and, if every row is valid, stores it whole.
#[tracing::instrument(name = "upload", skip_all, fields(org = %org.code, size = file.size, format = file.format.as_str()))]
pub async fn process(
    ctx: &UploadContext<'_>,
    org: &AssessorOrg,
    file: &StagedFile,
) -> anyhow::Result<Outcome> {
    if let Some(first) = records::find_stored(ctx.db, org.id, &file.sha256).await? {
        return Ok(Outcome::Replayed(UploadReport::from_record(first)));
    }
    let started = Utc::now();
    let rules = rules(ctx, org).await?;

    // Pass 1: validate every row, keeping only what the duplicate checks need.
    let path = file.path.clone();
    let (format, charset) = (file.format, file.charset.clone());
    let pass1_rules = rules.clone();
    let pass1 = tokio::task::spawn_blocking(move || -> Result<Validator, FileError> {
        let mut v = Validator::new(pass1_rules, true, ERROR_CAP);
        for_each_record(&path, format, charset.as_deref(), |record| {
            if !v.has_header() {
                if v.header(&record) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                }
            } else {
                v.row(&record);
                ControlFlow::Continue(())
            }
        })?;
        Ok(v)
    })
    .await
    .context("The validation task failed")?;
    let mut validator = match pass1 {
        Ok(v) => v,
        Err(FileError::Io(e)) => {
            return Err(anyhow::Error::new(e).context("Failed to read the staged upload"));
        }
        Err(e) => {
            let errors = vec![RowError {
                row: None,
                column: None,
                code: e.code().into(),
                message: e.to_string(),
            }];
            let report = invalid(ctx, org, file, 0, 1, errors, started).await?;
            return Ok(Outcome::Invalid(report));
        }
    };

    if validator.errors.is_empty() && validator.rows == 0 {
        validator.errors.push(
            None,
            None,
            ErrorCode::EmptyFile,
            if validator.has_header() {
                "The file has a header but no data rows".into()
            } else {
                "The file is empty".into()
            },
        );
    }
    // The same respondents stored before, by an earlier file.
    for (row, period) in records::already_stored(ctx.db, &validator.respondents).await? {
        validator.errors.push(
            Some(row),
            Some(validate::RESPONDENT_REF),
            ErrorCode::AlreadyStored,
            format!("This respondent was already uploaded by your organisation for {period}"),
        );
    }
    if !validator.errors.is_empty() {
        let mut errors = std::mem::take(&mut validator.errors.list);
        errors.sort_by_key(|e| (e.row.unwrap_or(0), e.column.is_some()));
        errors.truncate(ERROR_CAP);
        let report = invalid(
            ctx,
            org,
            file,
            validator.rows,
            validator.errors.total,
            errors,
            started,
        )
        .await?;
        return Ok(Outcome::Invalid(report));
    }
    let total_rows = validator.rows;
    let periods_used: Vec<_> = validator.periods.iter().copied().collect();
    drop(validator);
    store(ctx, org, file, rules, total_rows, &periods_used, started).await
}

async fn rules(ctx: &UploadContext<'_>, org: &AssessorOrg) -> anyhow::Result<Rules> {
    Ok(Rules {
        catalog: ctx.catalog.clone(),
        keys: ctx.keys.clone(),
        org_id: org.id,
        contracts: assessors::contracts(ctx.db, org.id).await?,
        frozen: periods::frozen_periods(ctx.db)
            .await?
            .into_iter()
            .collect::<HashSet<_>>(),
        granularity: ctx.settings.period,
        utc_offset_hours: ctx.settings.utc_offset_hours,
        comment_max_chars: ctx.settings.comment_max_chars,
        now: Utc::now(),
    })
}

async fn invalid(
    ctx: &UploadContext<'_>,
    org: &AssessorOrg,
    file: &StagedFile,
    rows: u64,
    total_errors: u64,
    errors: Vec<RowError>,
    started: DateTime<Utc>,
) -> anyhow::Result<UploadReport> {
    let report = serde_json::to_string(&errors).context("Failed to encode the error report")?;
    let id = records::record(
        ctx.db,
        NewUpload {
            org_id: org.id,
            file_hash: Some(&file.sha256),
            file_name: file.file_name.as_deref(),
            format: file.format.as_str(),
            status: "invalid",
            total_rows: i64::try_from(rows).unwrap_or(i64::MAX),
            stored_rows: 0,
            error_count: i64::try_from(total_errors).unwrap_or(i64::MAX),
            report: Some(report),
            created_at: started,
        },
    )
    .await?;
    Ok(UploadReport {
        id,
        status: "invalid".into(),
        format: file.format.as_str().into(),
        file_name: file.file_name.clone(),
        file_hash: Some(file.sha256.clone()),
        total_rows: i64::try_from(rows).unwrap_or(i64::MAX),
        stored_rows: 0,
        total_errors: i64::try_from(total_errors).unwrap_or(i64::MAX),
        errors,
        created_at: started,
    })
}

/// Pass 2: reads the file again and stores every row in one transaction,
/// parsing on a blocking thread while this task inserts, chunk by chunk.
async fn store(
    ctx: &UploadContext<'_>,
    org: &AssessorOrg,
    file: &StagedFile,
    rules: Rules,
    total_rows: u64,
    periods_used: &[crate::domain::period::Period],
    started: DateTime<Utc>,
) -> anyhow::Result<Outcome> {
    let txn = ctx
        .db
        .begin()
        .await
        .context("Failed to begin the upload transaction")?;
    // Recording the upload first takes SQLite's write lock, and makes a
    // concurrent upload of the same file wait here and then replay.
    let Some(id) = records::record_stored(
        &txn,
        NewUpload {
            org_id: org.id,
            file_hash: Some(&file.sha256),
            file_name: file.file_name.as_deref(),
            format: file.format.as_str(),
            status: "stored",
            total_rows: i64::try_from(total_rows).unwrap_or(i64::MAX),
            stored_rows: i64::try_from(total_rows).unwrap_or(i64::MAX),
            error_count: 0,
            report: None,
            created_at: started,
        },
    )
    .await?
    else {
        txn.rollback().await.context("Failed to roll back")?;
        let first = records::find_stored(ctx.db, org.id, &file.sha256)
            .await?
            .ok_or_else(|| anyhow::anyhow!("A concurrent upload of the file vanished"))?;
        return Ok(Outcome::Replayed(UploadReport::from_record(first)));
    };
    // A period may have been published since the rules were read; from here
    // to the commit, publishing waits (the period's lock, as for citizens).
    if let Some(p) = records::periods_frozen_for_write(&txn, periods_used).await? {
        txn.rollback().await.context("Failed to roll back")?;
        let errors = vec![RowError {
            row: None,
            column: Some(validate::PERIOD.into()),
            code: ErrorCode::FrozenPeriod.as_str().into(),
            message: format!("Period {p} was published and frozen during the upload"),
        }];
        let report = invalid(ctx, org, file, total_rows, 1, errors, started).await?;
        return Ok(Outcome::Invalid(report));
    }

    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<UploadRow>>(2);
    let path = file.path.clone();
    let (format, charset) = (file.format, file.charset.clone());
    let parser = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let mut v = Validator::new(rules, false, 10);
        let mut chunk = Vec::with_capacity(RESPONSE_CHUNK);
        let mut sent = 0u64;
        let mut receiver_gone = false;
        for_each_record(&path, format, charset.as_deref(), |record| {
            if !v.has_header() {
                return if v.header(&record) {
                    ControlFlow::Continue(())
                } else {
                    ControlFlow::Break(())
                };
            }
            if let Some(row) = v.row(&record) {
                chunk.push(row);
            }
            if !v.errors.is_empty() {
                return ControlFlow::Break(());
            }
            if chunk.len() == RESPONSE_CHUNK {
                sent += chunk.len() as u64;
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(RESPONSE_CHUNK));
                if tx.blocking_send(full).is_err() {
                    receiver_gone = true;
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        })
        .map_err(|e| anyhow::anyhow!("Failed to read the file again: {e}"))?;
        anyhow::ensure!(
            v.errors.is_empty() && v.has_header(),
            "The file no longer validates on the storing pass"
        );
        if !receiver_gone && !chunk.is_empty() {
            sent += chunk.len() as u64;
            let _ = tx.blocking_send(chunk);
        }
        Ok(sent)
    });

    let mut stored = 0u64;
    let mut conflict = false;
    while let Some(chunk) = rx.recv().await {
        match records::insert_rows(&txn, &chunk).await {
            Ok(n) => stored += n,
            Err(e) => {
                conflict = matches!(
                    e.sql_err(),
                    Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
                );
                if !conflict {
                    tracing::error!(error = ?e, "Failed to insert uploaded rows");
                }
                break;
            }
        }
    }
    drop(rx);
    let parsed = parser.await.context("The storing task failed")?;
    if conflict {
        txn.rollback().await.context("Failed to roll back")?;
        return Ok(Outcome::Conflict);
    }
    let sent = match parsed {
        Ok(sent) => sent,
        Err(e) => {
            txn.rollback().await.context("Failed to roll back")?;
            return Err(e);
        }
    };
    if sent != total_rows || stored != total_rows {
        txn.rollback().await.context("Failed to roll back")?;
        anyhow::bail!("Stored {stored} of {total_rows} rows (read {sent}); rolled back");
    }
    txn.commit().await.context("Failed to commit the upload")?;
    metrics::counter!("pingyi_uploaded_rows_total").increment(stored);
    Ok(Outcome::Stored(UploadReport {
        id,
        status: "stored".into(),
        format: file.format.as_str().into(),
        file_name: file.file_name.clone(),
        file_hash: Some(file.sha256.clone()),
        total_rows: i64::try_from(total_rows).unwrap_or(i64::MAX),
        stored_rows: i64::try_from(stored).unwrap_or(i64::MAX),
        total_errors: 0,
        errors: Vec::new(),
        created_at: started,
    }))
}

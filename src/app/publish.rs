//! Publishing a period: freeze it, export it, run the pipeline off the async
//! executor, keep the period's rows, and store an immutable snapshot (with
//! the export it was computed from), opening rectification tasks and
//! auditing it, all in one transaction.

use analysis::columns::*;
use anyhow::Context;
use entity::snapshot;
use polars::prelude::DataFrame;
use sea_orm::{DatabaseConnection, TransactionTrait};
use serde::Serialize;

use crate::app::figures;
use crate::app::frames;
use crate::app::rectification::{self, Deadlines, PublishEffect};
use crate::db::{audit, export, model, periods, snapshots};
use crate::domain::period::Period;
use crate::setup::configuration::Settings;
use crate::setup::offload;

/// The version of the code that computed a snapshot: the package version,
/// and the git commit when the build was given one.
pub fn code_version() -> String {
    match option_env!("PINGYI_GIT_SHA") {
        Some(sha) if !sha.is_empty() => format!("{}+{}", env!("CARGO_PKG_VERSION"), sha),
        _ => env!("CARGO_PKG_VERSION").to_owned(),
    }
}

/// Why a period could not be published.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("period {0} has no responses to publish")]
    NothingToPublish(String),
    /// The data or the model break the method; the message names what.
    #[error("the indicators cannot be computed: {0}")]
    Invalid(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// What a publication stored.
#[derive(Clone, Debug, Serialize)]
pub struct Published {
    pub snapshot: snapshot::Model,
    pub rectification: PublishEffect,
}

/// The eight tables of a computation, as stored with its snapshot.
struct Computed {
    outputs: [(&'static str, DataFrame); 4],
    /// The period's `integrity` table, stored beside the four (it feeds no
    /// index, score or rectification task).
    integrity: DataFrame,
    tables: Vec<(String, Vec<u8>)>,
    row_counts: (usize, usize, usize),
    input_hash: String,
}

/// Publishes `period` on behalf of `actor`. The period is frozen first (so
/// nothing more is stored for it while it is computed); if publishing fails
/// the period goes back to the state it was in.
#[tracing::instrument(skip(db, settings))]
pub async fn publish(
    db: &DatabaseConnection,
    settings: &Settings,
    period: Period,
    actor: &str,
) -> Result<Published, PublishError> {
    let was_frozen = periods::is_frozen(db, &period).await?;
    periods::set_frozen_now(db, &period, true).await?;
    let result = compute_and_store(db, settings, period, actor).await;
    if result.is_err() && !was_frozen {
        // Best effort: the original error is what the caller needs to see.
        if let Err(e) = periods::set_frozen_now(db, &period, false).await {
            tracing::error!(error = ?e, "Failed to reopen a period after a failed publication");
        }
    }
    result
}

async fn compute_and_store(
    db: &DatabaseConnection,
    settings: &Settings,
    period: Period,
    actor: &str,
) -> Result<Published, PublishError> {
    let export = export::export_period(db, period).await?;
    let current = model::current(db).await?;
    let period_text = period.to_string();
    let has_responses = frames::strings(&export.responses, PERIOD)?
        .iter()
        .any(|p| p.as_deref() == Some(period_text.as_str()));
    if !has_responses {
        return Err(PublishError::NothingToPublish(period_text));
    }
    let model_for_run = current.model.clone();
    let keep = period_text.clone();
    // Polars is CPU-bound: never on the async executor.
    let started = std::time::Instant::now();
    let computed = offload::polars("The computation", move || {
        compute(&export, &model_for_run, &keep)
    })
    .await?;
    let outcome = if computed.is_ok() { "ok" } else { "failed" };
    metrics::counter!("pingyi_pipeline_runs_total", "outcome" => outcome).increment(1);
    metrics::histogram!("pingyi_pipeline_duration_seconds").record(started.elapsed().as_secs_f64());
    let computed = computed?;

    let run_id = uuid::Uuid::new_v4().to_string();
    let institution_rows = figures::institution_rows(&computed.outputs[0].1)?;
    let dimension_rows = figures::dimension_rows(&computed.outputs[1].1)?;
    let deadlines = Deadlines::from_settings(settings);

    let txn = db
        .begin()
        .await
        .context("Failed to begin the publication")?;
    let stored = snapshots::insert(
        &txn,
        snapshots::NewSnapshot {
            run_id: run_id.clone(),
            period: period_text.clone(),
            model_version: current.version,
            row_counts: computed.row_counts,
            input_hash: computed.input_hash,
            code_version: code_version(),
            created_by: actor.to_owned(),
            tables: computed.tables,
        },
    )
    .await?;
    let effect = rectification::on_publish(
        &txn,
        period,
        &run_id,
        &institution_rows,
        &dimension_rows,
        &current.model,
        &deadlines,
    )
    .await?;
    let detail = serde_json::json!({
        "run_id": run_id,
        "model_version": current.version,
        "input_hash": stored.input_hash,
        "rectification": effect,
    });
    audit::record(
        &txn,
        actor,
        "period.publish",
        &period_text,
        &detail.to_string(),
    )
    .await?;
    txn.commit()
        .await
        .context("Failed to commit the publication")?;
    tracing::info!(period = %period_text, run_id = %stored.run_id, "Published a period");
    Ok(Published {
        snapshot: stored,
        rectification: effect,
    })
}

/// Runs the pipeline and encodes the tables (blocking).
fn compute(
    export: &export::PeriodExport,
    model: &analysis::Model,
    period: &str,
) -> Result<Computed, PublishError> {
    let outputs = analysis::run(export.inputs(), model).map_err(|e| {
        if e.is_input() {
            PublishError::Invalid(e.to_string())
        } else {
            PublishError::Internal(anyhow::anyhow!("The pipeline failed: {e}"))
        }
    })?;
    // The export holds the previous period too (for delta_prev); a snapshot
    // publishes its own period only.
    let only = |df: &DataFrame| frames::filter_eq(df, PERIOD, period);
    let integrity = only(&outputs.integrity)?;
    let outputs = [
        (
            INSTITUTION_INDICATORS,
            only(&outputs.institution_indicators)?,
        ),
        (DIMENSION_INDICATORS, only(&outputs.dimension_indicators)?),
        (GROUP_INDICATORS, only(&outputs.group_indicators)?),
        (SURVEY_QUALITY, only(&outputs.survey_quality)?),
    ];
    let mut tables = Vec::with_capacity(8);
    for (name, df) in &outputs {
        tables.push(((*name).to_owned(), frames::to_parquet(df)?));
    }
    tables.push((INTEGRITY.to_owned(), frames::to_parquet(&integrity)?));
    for (name, df) in snapshots::EXPORT_TABLES.iter().zip([
        &export.institutions,
        &export.responses,
        &export.answers,
    ]) {
        tables.push(((*name).to_owned(), frames::to_parquet(df)?));
    }
    Ok(Computed {
        integrity,
        outputs,
        tables,
        row_counts: export.row_counts(),
        input_hash: export.content_hash()?,
    })
}

/// Reopens a frozen period (administrators, with a reason; audited).
pub async fn reopen(
    db: &DatabaseConnection,
    period: Period,
    actor: &str,
    reason: &str,
) -> anyhow::Result<()> {
    let reason = reason.trim();
    anyhow::ensure!(!reason.is_empty(), "Reopening a period needs a reason");
    let txn = db.begin().await.context("Failed to begin reopening")?;
    periods::set_frozen(&txn, &period, false).await?;
    audit::record(&txn, actor, "period.reopen", &period.to_string(), reason).await?;
    txn.commit().await.context("Failed to commit reopening")?;
    Ok(())
}

/// Recomputes a snapshot from its stored export with the model version it
/// names; the outputs must equal the stored ones.
pub async fn recompute(
    db: &DatabaseConnection,
    snap: &snapshot::Model,
) -> anyhow::Result<analysis::Outputs> {
    let mut inputs = Vec::with_capacity(3);
    for name in snapshots::EXPORT_TABLES {
        inputs.push(figures::snapshot_table(db, snap.id, name).await?);
    }
    let model_row = model_version(db, snap.model_version).await?;
    let period = snap.period.clone();
    offload::polars("The recomputation", move || {
        use polars::prelude::IntoLazy;
        let mut it = inputs.into_iter();
        let (Some(i), Some(r), Some(a)) = (it.next(), it.next(), it.next()) else {
            anyhow::bail!("A snapshot export lacks a table");
        };
        let out = analysis::run(
            analysis::Inputs {
                institutions: i.lazy(),
                responses: r.lazy(),
                answers: a.lazy(),
            },
            &model_row,
        )
        .map_err(|e| anyhow::anyhow!("The pipeline failed: {e}"))?;
        let only = |df: &DataFrame| frames::filter_eq(df, PERIOD, &period);
        Ok(analysis::Outputs {
            institution_indicators: only(&out.institution_indicators)?,
            dimension_indicators: only(&out.dimension_indicators)?,
            group_indicators: only(&out.group_indicators)?,
            survey_quality: only(&out.survey_quality)?,
            integrity: only(&out.integrity)?,
        })
    })
    .await?
}

/// A stored model version, parsed.
pub async fn model_version(
    db: &DatabaseConnection,
    version: i32,
) -> anyhow::Result<analysis::Model> {
    let row = model::version(db, version)
        .await?
        .with_context(|| format!("There is no model version {version}"))?;
    analysis::Model::from_toml_str(&row.toml)
        .map_err(|e| anyhow::anyhow!("Model version {version} is invalid: {e}"))
}

/// The indicators a period would get if published now (for the office's
/// review before publishing); nothing is stored. `None` when the period has
/// no responses.
pub async fn preview(
    db: &DatabaseConnection,
    period: Period,
) -> Result<Option<analysis::Outputs>, PublishError> {
    let export = export::export_period(db, period).await?;
    let current = model::current(db).await?;
    let period_text = period.to_string();
    let has_responses = frames::strings(&export.responses, PERIOD)?
        .iter()
        .any(|p| p.as_deref() == Some(period_text.as_str()));
    if !has_responses {
        return Ok(None);
    }
    let computed = offload::polars("The computation", move || {
        compute(&export, &current.model, &period_text)
    })
    .await??;
    let [(_, i), (_, d), (_, g), (_, q)] = computed.outputs;
    Ok(Some(analysis::Outputs {
        institution_indicators: i,
        dimension_indicators: d,
        group_indicators: g,
        survey_quality: q,
        integrity: computed.integrity,
    }))
}

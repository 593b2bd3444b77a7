//! Published snapshots and their tables. Rows are only ever inserted: a
//! republished period gets a new snapshot and keeps the old ones.

use anyhow::Context;
use entity::{snapshot, snapshot_table};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

/// Names of the three input tables of a snapshot's export, as stored.
pub const EXPORT_TABLES: [&str; 3] = ["export/institutions", "export/responses", "export/answers"];

/// A snapshot ready to be stored.
pub struct NewSnapshot {
    pub run_id: String,
    pub period: String,
    pub model_version: i32,
    pub row_counts: (usize, usize, usize),
    pub input_hash: String,
    pub code_version: String,
    pub created_by: String,
    /// (name, Parquet document) of every table kept.
    pub tables: Vec<(String, Vec<u8>)>,
}

/// Inserts a snapshot with its tables; run it inside the publishing transaction.
pub async fn insert(
    db: &impl ConnectionTrait,
    new: NewSnapshot,
) -> anyhow::Result<snapshot::Model> {
    let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    let row = snapshot::ActiveModel {
        run_id: Set(new.run_id),
        period: Set(new.period),
        model_version: Set(new.model_version),
        n_institutions: Set(count(new.row_counts.0)),
        n_responses: Set(count(new.row_counts.1)),
        n_answers: Set(count(new.row_counts.2)),
        input_hash: Set(new.input_hash),
        code_version: Set(new.code_version),
        created_by: Set(new.created_by),
        created_at: Set(chrono::Utc::now()),
        ..Default::default()
    };
    let stored = snapshot::Entity::insert(row)
        .exec_with_returning(db)
        .await
        .context("Failed to store the snapshot")?;
    for (name, parquet) in new.tables {
        let table = snapshot_table::ActiveModel {
            snapshot_id: Set(stored.id),
            name: Set(name.clone()),
            parquet: Set(parquet),
        };
        snapshot_table::Entity::insert(table)
            .exec_without_returning(db)
            .await
            .with_context(|| format!("Failed to store the snapshot table {name}"))?;
    }
    Ok(stored)
}

/// The snapshot with this run id.
pub async fn by_run_id(
    db: &impl ConnectionTrait,
    run_id: &str,
) -> anyhow::Result<Option<snapshot::Model>> {
    snapshot::Entity::find()
        .filter(snapshot::Column::RunId.eq(run_id))
        .one(db)
        .await
        .context("Failed to read a snapshot")
}

/// The latest snapshot of a period.
pub async fn latest_of(
    db: &impl ConnectionTrait,
    period: &str,
) -> anyhow::Result<Option<snapshot::Model>> {
    snapshot::Entity::find()
        .filter(snapshot::Column::Period.eq(period))
        .order_by_desc(snapshot::Column::Id)
        .one(db)
        .await
        .context("Failed to read the latest snapshot of a period")
}

/// Every snapshot, newest first.
pub async fn list(db: &impl ConnectionTrait) -> anyhow::Result<Vec<snapshot::Model>> {
    snapshot::Entity::find()
        .order_by_desc(snapshot::Column::Id)
        .all(db)
        .await
        .context("Failed to list snapshots")
}

/// The latest snapshot of the most recent published period (periods of one
/// granularity sort as text).
pub async fn latest(db: &impl ConnectionTrait) -> anyhow::Result<Option<snapshot::Model>> {
    snapshot::Entity::find()
        .order_by_desc(snapshot::Column::Period)
        .order_by_desc(snapshot::Column::Id)
        .one(db)
        .await
        .context("Failed to read the latest snapshot")
}

/// The Parquet document of one table of a snapshot.
pub async fn table_bytes(
    db: &impl ConnectionTrait,
    snapshot_id: i32,
    name: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    Ok(
        snapshot_table::Entity::find_by_id((snapshot_id, name.to_owned()))
            .one(db)
            .await
            .with_context(|| format!("Failed to read the snapshot table {name}"))?
            .map(|t| t.parquet),
    )
}

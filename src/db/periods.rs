//! Collection periods' state. A frozen (published) period takes no new
//! responses; publishing a period freezes it.

use anyhow::Context;
use chrono::Utc;
use entity::period_state;
use sea_orm::sea_query::OnConflict;
use sea_orm::{ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter};

use crate::domain::period::Period;

/// Whether `period` is frozen. A period with no state row is open.
pub async fn is_frozen(db: &impl ConnectionTrait, period: &Period) -> anyhow::Result<bool> {
    let row = period_state::Entity::find_by_id(period.to_string())
        .one(db)
        .await
        .with_context(|| format!("Failed to read the state of period {period}"))?;
    Ok(row.is_some_and(|r| r.frozen))
}

/// Every frozen period, for checking many rows against at once.
pub async fn frozen_periods(db: &impl ConnectionTrait) -> anyhow::Result<Vec<String>> {
    Ok(period_state::Entity::find()
        .filter(period_state::Column::Frozen.eq(true))
        .all(db)
        .await
        .context("Failed to read the frozen periods")?
        .into_iter()
        .map(|r| r.period)
        .collect())
}

/// Freezes or reopens a period. Call it inside a transaction: on PostgreSQL
/// it first takes the period's advisory lock exclusively, so it waits for
/// the submission batches in flight (which hold it shared, see
/// `db::writer`) and keeps new ones out until the transaction commits.
pub async fn set_frozen(
    db: &impl ConnectionTrait,
    period: &Period,
    frozen: bool,
) -> anyhow::Result<()> {
    if db.get_database_backend() == sea_orm::DbBackend::Postgres {
        db.execute_raw(sea_orm::Statement::from_sql_and_values(
            sea_orm::DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock($1)",
            [period.lock_key().into()],
        ))
        .await
        .with_context(|| format!("Failed to lock period {period}"))?;
    }
    let row = period_state::ActiveModel {
        period: Set(period.to_string()),
        frozen: Set(frozen),
        updated_at: Set(Utc::now()),
    };
    period_state::Entity::insert(row)
        .on_conflict(
            OnConflict::column(period_state::Column::Period)
                .update_columns([
                    period_state::Column::Frozen,
                    period_state::Column::UpdatedAt,
                ])
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .with_context(|| format!("Failed to set the state of period {period}"))?;
    Ok(())
}

/// [`set_frozen`] in a transaction of its own.
pub async fn set_frozen_now(
    db: &sea_orm::DatabaseConnection,
    period: &Period,
    frozen: bool,
) -> anyhow::Result<()> {
    use sea_orm::TransactionTrait;
    let txn = db.begin().await.context("Failed to begin a transaction")?;
    set_frozen(&txn, period, frozen).await?;
    txn.commit()
        .await
        .with_context(|| format!("Failed to set the state of period {period}"))
}

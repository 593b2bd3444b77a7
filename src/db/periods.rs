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

/// Freezes or reopens a period.
pub async fn set_frozen(
    db: &impl ConnectionTrait,
    period: &Period,
    frozen: bool,
) -> anyhow::Result<()> {
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

//! The audit log of administrative actions.

use anyhow::Context;
use chrono::Utc;
use entity::audit_log;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder, QuerySelect};

/// Records an action. Call it in the same transaction as the change, so the
/// log and the data never disagree.
pub async fn record(
    db: &impl ConnectionTrait,
    actor: &str,
    action: &str,
    target: &str,
    detail: &str,
) -> anyhow::Result<()> {
    let row = audit_log::ActiveModel {
        at: Set(Utc::now()),
        actor: Set(actor.chars().take(64).collect()),
        action: Set(action.to_owned()),
        target: Set(target.chars().take(128).collect()),
        detail: Set(detail.to_owned()),
        ..Default::default()
    };
    audit_log::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .with_context(|| format!("Failed to record the action {action} on {target}"))?;
    Ok(())
}

/// The latest `limit` entries, newest first.
pub async fn latest(
    db: &impl ConnectionTrait,
    limit: u64,
) -> anyhow::Result<Vec<audit_log::Model>> {
    audit_log::Entity::find()
        .order_by_desc(audit_log::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .context("Failed to read the audit log")
}

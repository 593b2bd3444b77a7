//! Voiding a selection of an institution's responses from the integrity
//! review: an administrator's one action, with one reason, audited in the
//! same transaction. The responses are kept and marked (with the reason),
//! and leave every pool and every index from the next computation on.
//!
//! A published (frozen) period is refused until it is reopened: its
//! snapshot stands for the data it was computed from. The frozen check
//! takes the period's lock like a submission batch does
//! (`db::writer::period_frozen_for_write`), so publishing cannot slip
//! between the check and the commit.

use anyhow::Context;
use sea_orm::{DatabaseConnection, TransactionTrait};

use super::review::Measure;
use crate::db::{audit, integrity, writer};
use crate::domain::office::User;
use crate::domain::period::Period;

/// Longest reason, in characters.
pub const MAX_REASON: usize = 500;

/// Most responses voided in one action.
pub const MAX_SELECTION: usize = 1000;

/// What to void.
pub struct VoidRequest<'a> {
    pub period: Period,
    pub institution_id: i32,
    pub institution_code: &'a str,
    /// The evidence the selection was made from (for the audit log).
    pub measure: Measure,
    pub responses: &'a [i64],
    pub reason: &'a str,
}

/// Why a void was refused; nothing was changed.
#[derive(Debug, thiserror::Error)]
pub enum VoidRefusal {
    #[error("only an administrator may void responses")]
    NotAdmin,
    #[error("no response selected")]
    NothingSelected,
    #[error("more than {max} responses selected")]
    TooMany { max: usize },
    #[error("a reason of 1 to {max} characters is needed")]
    Reason { max: usize },
    #[error("period {0} is published")]
    Published(String),
    /// A selected response is not a live citizen response of the
    /// institution in the period (voided meanwhile, or not its own).
    #[error("a selected response is not in the pool")]
    NotInPool,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Voids the selection on behalf of `admin`; returns how many responses
/// were voided (all of the selection, or none).
pub async fn void(
    db: &DatabaseConnection,
    admin: &User,
    request: VoidRequest<'_>,
) -> Result<usize, VoidRefusal> {
    if !admin.is_admin() {
        return Err(VoidRefusal::NotAdmin);
    }
    let mut ids = request.responses.to_vec();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(VoidRefusal::NothingSelected);
    }
    if ids.len() > MAX_SELECTION {
        return Err(VoidRefusal::TooMany { max: MAX_SELECTION });
    }
    let reason = request.reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_REASON {
        return Err(VoidRefusal::Reason { max: MAX_REASON });
    }
    let period = request.period.to_string();
    let txn = db
        .begin()
        .await
        .context("Failed to begin voiding responses")?;
    if writer::period_frozen_for_write(&txn, request.period).await? {
        return Err(VoidRefusal::Published(period));
    }
    let voided =
        integrity::void_responses(&txn, request.institution_id, &period, &ids, reason).await?;
    if voided != ids.len() as u64 {
        // Dropping the transaction rolls the partial update back.
        return Err(VoidRefusal::NotInPool);
    }
    let detail = serde_json::json!({
        "reason": reason,
        "measure": request.measure.name(),
        "responses": ids,
    });
    audit::record(
        &txn,
        &admin.username,
        "integrity.void",
        &format!("{} {period}", request.institution_code),
        &detail.to_string(),
    )
    .await?;
    txn.commit()
        .await
        .context("Failed to commit voiding responses")?;
    tracing::info!(
        institution = request.institution_code,
        %period,
        count = ids.len(),
        "Voided responses from the integrity review"
    );
    Ok(ids.len())
}

//! One-time tickets: an institution prints or sends a code per service
//! transaction; the code opens one rating. Only its keyed hash is stored.

use anyhow::Context;
use chrono::{Duration, Utc};
use entity::ticket;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait};

use crate::domain::keys::{Keys, Purpose, random_token};

/// Issues `count` tickets for an institution, valid for `valid_days`; returns
/// the codes (shown once, never stored in clear).
pub async fn issue(
    db: &impl ConnectionTrait,
    keys: &Keys,
    institution_id: i32,
    count: usize,
    valid_days: i64,
) -> anyhow::Result<Vec<String>> {
    let now = Utc::now();
    let codes: Vec<String> = (0..count).map(|_| random_token(12)).collect();
    let rows = codes.iter().map(|code| ticket::ActiveModel {
        institution_id: Set(institution_id),
        code_hash: Set(keys.digest(Purpose::Ticket, code)),
        created_at: Set(now),
        expires_at: Set(now + Duration::days(valid_days)),
        used_at: Set(None),
        ..Default::default()
    });
    if !codes.is_empty() {
        ticket::Entity::insert_many(rows)
            .exec_without_returning(db)
            .await
            .context("Failed to store tickets")?;
    }
    Ok(codes)
}

//! A short-lived cache of which periods are frozen, so the questionnaire page
//! does not query the database on every view. The submission writer checks
//! the authoritative state inside its transaction; this cache only decides
//! whether to show the form or the "period closed" page.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use sea_orm::ConnectionTrait;

use crate::domain::period::Period;

/// How long a period's state is trusted before it is read again.
const FRESH_FOR: Duration = Duration::from_secs(5);

#[derive(Default)]
pub struct FrozenCache {
    entries: Mutex<HashMap<Period, (bool, Instant)>>,
}

impl FrozenCache {
    /// Whether the period is frozen: cached, read again when stale, and the
    /// last known state when the database cannot be read.
    pub async fn is_frozen(
        &self,
        db: &impl ConnectionTrait,
        period: Period,
    ) -> anyhow::Result<bool> {
        let cached = self.entries.lock().get(&period).copied();
        if let Some((frozen, at)) = cached
            && at.elapsed() < FRESH_FOR
        {
            return Ok(frozen);
        }
        match super::periods::is_frozen(db, &period).await {
            Ok(frozen) => {
                self.entries.lock().insert(period, (frozen, Instant::now()));
                Ok(frozen)
            }
            Err(e) => cached.map(|(frozen, _)| frozen).ok_or(e),
        }
    }

    /// Forgets everything (after this instance froze or reopened a period).
    pub fn invalidate(&self) {
        self.entries.lock().clear();
    }
}

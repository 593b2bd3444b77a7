//! A fast path in front of the database's unique index: respondents known to
//! have rated an institution in a period are refused without a write. The
//! index stays the authority; this cache only saves work, so forgetting an
//! entry is harmless.

use std::collections::HashSet;
use std::time::Duration;

use parking_lot::Mutex;

/// Most keys the in-process cache holds before it starts over.
const LOCAL_CAPACITY: usize = 1_000_000;

#[async_trait::async_trait]
pub trait DedupCache: Send + Sync {
    async fn seen(&self, key: &str) -> bool;
    async fn remember(&self, key: &str, ttl: Duration);
}

/// The key of a respondent's rating of an institution in a period.
pub fn dedup_key(institution_id: i32, period: &str, respondent_hash: &str) -> String {
    format!("{institution_id}:{period}:{respondent_hash}")
}

#[derive(Default)]
pub struct LocalDedup {
    keys: Mutex<HashSet<String>>,
}

#[async_trait::async_trait]
impl DedupCache for LocalDedup {
    async fn seen(&self, key: &str) -> bool {
        self.keys.lock().contains(key)
    }

    async fn remember(&self, key: &str, _ttl: Duration) {
        let mut keys = self.keys.lock();
        if keys.len() >= LOCAL_CAPACITY {
            keys.clear();
        }
        keys.insert(key.to_owned());
    }
}

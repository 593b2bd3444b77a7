//! Submissions per client in the last hour, for the adaptive captcha.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;

#[async_trait::async_trait]
pub trait SubmissionCounter: Send + Sync {
    /// Submissions recorded for `key` in the current and previous hour
    /// windows, the previous one weighted by how much of it is still within
    /// the last hour (a sliding-window estimate).
    async fn recent(&self, key: &str) -> u32;
    /// Records one accepted submission for `key`.
    async fn record(&self, key: &str);
}

pub(crate) fn current_hour() -> (u64, f64) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    (secs / 3600, (secs % 3600) as f64 / 3600.0)
}

/// Sliding-window estimate from two fixed windows.
pub(crate) fn sliding(previous: u32, current: u32, elapsed_fraction: f64) -> u32 {
    (f64::from(previous) * (1.0 - elapsed_fraction)).floor() as u32 + current
}

/// In-process counter: (hour, previous, current) per key.
#[derive(Default)]
pub struct LocalCounter {
    windows: Mutex<Windows>,
}

/// Entries past which stale ones are dropped.
const PRUNE_FROM: usize = 100_000;

#[derive(Default)]
struct Windows {
    by_key: HashMap<String, (u64, u32, u32)>,
    /// Size at which the next pruning runs: twice what the last one left
    /// (at least [`PRUNE_FROM`]), so a city's worth of distinct addresses in
    /// one hour costs one walk per doubling, not one per submission.
    prune_at: usize,
}

impl LocalCounter {
    fn rolled(entry: (u64, u32, u32), hour: u64) -> (u64, u32, u32) {
        let (h, prev, cur) = entry;
        match hour.saturating_sub(h) {
            0 => (h, prev, cur),
            1 => (hour, cur, 0),
            _ => (hour, 0, 0),
        }
    }
}

#[async_trait::async_trait]
impl SubmissionCounter for LocalCounter {
    async fn recent(&self, key: &str) -> u32 {
        let (hour, fraction) = current_hour();
        let windows = self.windows.lock();
        windows
            .by_key
            .get(key)
            .map(|e| {
                let (_, prev, cur) = Self::rolled(*e, hour);
                sliding(prev, cur, fraction)
            })
            .unwrap_or(0)
    }

    async fn record(&self, key: &str) {
        let (hour, _) = current_hour();
        let mut windows = self.windows.lock();
        if windows.by_key.len() >= windows.prune_at.max(PRUNE_FROM) {
            // Bounded memory: entries older than the previous hour carry nothing.
            windows
                .by_key
                .retain(|_, (h, _, _)| hour.saturating_sub(*h) <= 1);
            windows.prune_at = windows.by_key.len().saturating_mul(2);
        }
        let entry = windows.by_key.entry(key.to_owned()).or_insert((hour, 0, 0));
        let (h, prev, cur) = Self::rolled(*entry, hour);
        *entry = (h, prev, cur.saturating_add(1));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn many_live_clients_are_pruned_once_per_doubling_not_per_submission() {
        let counter = LocalCounter::default();
        for i in 0..PRUNE_FROM + 10 {
            counter.record(&format!("client-{i}")).await;
        }
        let windows = counter.windows.lock();
        // Every entry is from this hour: the pruning kept them all, and the
        // next one waits until the map has doubled.
        assert_eq!(windows.by_key.len(), PRUNE_FROM + 10);
        assert_eq!(windows.prune_at, 2 * PRUNE_FROM);
    }

    #[tokio::test]
    async fn pruning_drops_clients_older_than_the_previous_hour() {
        let counter = LocalCounter::default();
        let (hour, _) = current_hour();
        {
            let mut windows = counter.windows.lock();
            for i in 0..PRUNE_FROM {
                windows.by_key.insert(format!("old-{i}"), (hour - 5, 0, 3));
            }
        }
        counter.record("new").await;
        assert_eq!(counter.recent("new").await, 1);
        let windows = counter.windows.lock();
        assert_eq!(windows.by_key.len(), 1, "only the live client is left");
    }
}

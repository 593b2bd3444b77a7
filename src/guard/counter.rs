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
    windows: Mutex<HashMap<String, (u64, u32, u32)>>,
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
        if windows.len() > 100_000 {
            // Bounded memory: entries older than the previous hour carry nothing.
            windows.retain(|_, (h, _, _)| hour.saturating_sub(*h) <= 1);
        }
        let entry = windows.entry(key.to_owned()).or_insert((hour, 0, 0));
        let (h, prev, cur) = Self::rolled(*entry, hour);
        *entry = (h, prev, cur.saturating_add(1));
    }
}

//! The office's preview of an unpublished period, computed once and shared.
//!
//! A preview runs the whole export and pipeline (at 1M responses about 0.8 s
//! and 0.7 GB), so it must not run per page view. The cache keeps the last
//! result per period and trusts it for `preview_recheck_secs`; after that it reads
//! the period's data version (one aggregate query) and computes again only
//! when the data changed. One preview computes at a time: a viewer who comes
//! while one runs waits for it and gets its result.

use std::time::{Duration, Instant};

use sea_orm::DatabaseConnection;

use crate::app::publish::{self, PublishError};
use crate::db::export::{DataVersion, data_version};
use crate::domain::period::Period;

/// Periods kept (the office looks at the current one, sometimes a few more).
const KEEP: usize = 4;

struct Entry {
    period: Period,
    version: DataVersion,
    checked: Instant,
    preview: Preview,
}

/// A computed preview and when it was computed (the office sees how fresh
/// its figures are).
#[derive(Clone)]
pub struct Preview {
    /// `None`: the period has no responses yet.
    pub outputs: Option<analysis::Outputs>,
    pub computed_at: chrono::DateTime<chrono::Utc>,
    /// The how-manieth computation of this instance's cache, so a page (and a
    /// test) can tell a reused preview from a new one.
    pub run: u64,
}

pub struct PreviewCache {
    /// How long a preview is shown without asking whether its data changed.
    recheck_after: Duration,
    // An async lock held across the computation: that is what makes a second
    // viewer wait for, then reuse, the first one's result.
    entries: tokio::sync::Mutex<Vec<Entry>>,
    runs: std::sync::atomic::AtomicU64,
}

impl PreviewCache {
    pub fn new(recheck_after: Duration) -> PreviewCache {
        PreviewCache {
            recheck_after,
            entries: Default::default(),
            runs: Default::default(),
        }
    }

    /// Drops the period's preview, so that the next view computes it again:
    /// after the office changed the data (voided responses), waiting for the
    /// next recheck would show the old figures.
    pub async fn forget(&self, period: Period) {
        self.entries.lock().await.retain(|e| e.period != period);
    }

    /// The period's preview, from the cache when its data has not changed.
    pub async fn get(
        &self,
        db: &DatabaseConnection,
        period: Period,
    ) -> Result<Preview, PublishError> {
        let mut entries = self.entries.lock().await;
        let version = match entries.iter_mut().find(|e| e.period == period) {
            Some(entry) if entry.checked.elapsed() < self.recheck_after => {
                return Ok(entry.preview.clone());
            }
            Some(entry) => {
                let version = data_version(db, period).await?;
                if version == entry.version {
                    entry.checked = Instant::now();
                    return Ok(entry.preview.clone());
                }
                version
            }
            None => data_version(db, period).await?,
        };
        // The version is read before the export: a change made while the
        // preview computes shows up as a new version at the next check.
        let preview = Preview {
            outputs: publish::preview(db, period).await?,
            computed_at: chrono::Utc::now(),
            run: self.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1,
        };
        metrics::counter!("pingyi_preview_runs_total").increment(1);
        entries.retain(|e| e.period != period);
        if entries.len() >= KEEP
            && let Some(oldest) = (0..entries.len()).min_by_key(|&i| entries[i].checked)
        {
            entries.swap_remove(oldest);
        }
        entries.push(Entry {
            period,
            version,
            checked: Instant::now(),
            preview: preview.clone(),
        });
        Ok(preview)
    }
}

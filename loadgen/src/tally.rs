//! Latencies and outcomes of a phase, and the driver that runs one.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Latencies and outcomes of one phase.
#[derive(Default)]
pub struct Tally {
    pub latencies_us: Vec<u64>,
    pub outcomes: BTreeMap<String, usize>,
}

impl Tally {
    pub fn record(&mut self, started: Instant, outcome: &str) {
        self.latencies_us.push(started.elapsed().as_micros() as u64);
        *self.outcomes.entry(outcome.to_owned()).or_default() += 1;
    }

    /// The `p` quantile of the latencies in ms (nearest rank; 0 when empty).
    pub fn percentile_ms(&mut self, p: f64) -> f64 {
        self.latencies_us.sort_unstable();
        if self.latencies_us.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
        self.latencies_us[i] as f64 / 1000.0
    }

    pub fn count(&self, outcome: &str) -> usize {
        self.outcomes.get(outcome).copied().unwrap_or(0)
    }

    /// One row of the table that [`header`] starts.
    pub fn report(&mut self, name: &str, wall: Duration, accepted_key: &str) {
        let (p50, p99) = (self.percentile_ms(0.5), self.percentile_ms(0.99));
        let secs = wall.as_secs_f64();
        let accepted = self.count(accepted_key);
        let others: Vec<String> = self
            .outcomes
            .iter()
            .filter(|(k, _)| k.as_str() != accepted_key)
            .map(|(k, v)| format!("{k}: {v} ({:.0}/s)", *v as f64 / secs))
            .collect();
        println!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            accepted,
            accepted as f64 / secs,
            p50,
            p99,
            secs,
            if others.is_empty() {
                "—".to_owned()
            } else {
                others.join(", ")
            }
        );
    }
}

/// The table the classic scenarios print their rows into.
pub fn header(title: &str) {
    println!("\n### {title}\n");
    println!("| phase | accepted | accepted/s | p50 ms | p99 ms | wall s | other outcomes |");
    println!("|---|---:|---:|---:|---:|---:|---|");
}

/// Runs `work(n)` on `concurrency` workers until `duration` has passed or
/// `limit` jobs were started; each job's latency and outcome are tallied.
pub async fn drive<F, Fut>(
    concurrency: usize,
    duration: Duration,
    limit: usize,
    work: F,
) -> (Tally, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = String> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (work, next, tally) = (work.clone(), next.clone(), tally.clone());
        workers.push(tokio::spawn(async move {
            let mut local = Tally::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= limit || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                let result = work(n).await;
                local.record(t, &result);
            }
            let mut all = tally.lock();
            all.latencies_us.extend(local.latencies_us);
            for (k, v) in local.outcomes {
                *all.outcomes.entry(k).or_default() += v;
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let wall = started.elapsed();
    let tally = std::mem::take(&mut *tally.lock());
    (tally, wall)
}

//! The submission writer. Submissions from every request handler go through
//! one channel to a writer that commits them in small batches (group
//! commit): one durable transaction, one fsync, for everything that arrived
//! while the previous batch was being written. Each handler is answered only
//! after its batch has committed, so an acknowledged response is on disk.
//! Duplicates are decided by the database's unique index (ON CONFLICT DO
//! NOTHING), which holds under any race and across instances.
//!
//! Two writers behind one handle:
//! - [`sqlite`]: on an SQLite file, a thread of its own with one connection
//!   and prepared statements (SQLite has one writer at a time anyway, and a
//!   batch is then a single hand-off instead of a round trip per statement);
//! - [`pool`]: on PostgreSQL (and an in-memory SQLite database, which exists
//!   only inside the shared pool), tasks writing through the pool.

mod pool;
mod sqlite;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

use crate::domain::period::Period;

pub(crate) use pool::period_frozen_for_write;
pub use pool::write_batch;

/// Largest number of submissions committed in one transaction.
const MAX_BATCH: usize = 256;
/// Who produced a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Citizen,
    Assessor,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Citizen => "citizen",
            Source::Assessor => "assessor",
        }
    }
}

#[derive(Clone, Debug)]
pub struct NewAnswer {
    pub item_code: String,
    pub dimension_code: String,
    pub rating: Option<i16>,
}

/// A response ready to be stored.
#[derive(Clone, Debug)]
pub struct NewResponse {
    pub institution_id: i32,
    pub questionnaire_id: i32,
    pub source: Source,
    pub period: Period,
    pub submitted_at: DateTime<Utc>,
    pub duration_ms: Option<i64>,
    pub channel: &'static str,
    pub respondent_hash: String,
    pub comment: Option<String>,
    /// Keyed hash of the client's network (`integrity::collect`); `None`
    /// for uploads and seeded rows without one.
    pub network_hash: Option<String>,
    /// Keyed hash of the normalised comment (`integrity::collect`).
    pub comment_key: Option<String>,
    pub answers: Vec<NewAnswer>,
    /// Keyed hash of a one-time ticket to consume in the same transaction.
    pub ticket_hash: Option<String>,
}

/// What became of a submission.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WriteOutcome {
    Stored(i64),
    /// This respondent already rated this institution in this period.
    Duplicate,
    /// The ticket is unknown, expired or already used.
    TicketRefused,
    /// The period has been published (frozen): nothing more is stored for it.
    PeriodClosed,
}

/// The database could not take the batch; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
#[error("the database is unavailable")]
pub struct Unavailable;

impl NewResponse {
    /// What the unique index on responses is over.
    fn respondent_key(&self) -> (i32, Period, &str) {
        (
            self.institution_id,
            self.period,
            self.respondent_hash.as_str(),
        )
    }
}

struct Job {
    response: NewResponse,
    reply: oneshot::Sender<Result<WriteOutcome, Unavailable>>,
}

/// Where submissions are committed.
pub enum WriterTarget {
    /// An SQLite database file, written by a connection of the writer's own.
    SqliteFile(PathBuf),
    /// The shared pool (PostgreSQL, or an in-memory SQLite database).
    Pool(DatabaseConnection),
}

/// Handle to the writer.
#[derive(Clone)]
pub struct SubmissionWriter {
    jobs: mpsc::Sender<Job>,
}

impl SubmissionWriter {
    /// Starts the writer: its thread on an SQLite file (opening the
    /// connection here, so a database that cannot be opened fails the
    /// start-up), else its tasks on the current runtime.
    pub fn start(target: WriterTarget) -> anyhow::Result<SubmissionWriter> {
        let (jobs, rx) = mpsc::channel(8 * MAX_BATCH);
        match target {
            WriterTarget::SqliteFile(path) => sqlite::start(&path, rx)?,
            WriterTarget::Pool(db) => pool::start(db, rx),
        }
        Ok(SubmissionWriter { jobs })
    }

    /// Stores one response; returns once it is committed (or refused).
    pub async fn submit(&self, response: NewResponse) -> Result<WriteOutcome, Unavailable> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { response, reply })
            .await
            .map_err(|_| Unavailable)?;
        answer.await.map_err(|_| Unavailable)?
    }
}

/// The responses of a batch's jobs, in order.
fn responses(batch: &[Job]) -> Vec<&NewResponse> {
    batch.iter().map(|j| &j.response).collect()
}

/// Answers a batch's submitters: each its outcome, or all `Unavailable`
/// when the batch could not be committed (nothing of it was stored).
/// Whether it was committed: after a failure the writer pauses for
/// [`RETRY_PAUSE`].
fn reply(batch: &mut Vec<Job>, outcomes: anyhow::Result<Vec<WriteOutcome>>) -> bool {
    match outcomes {
        Ok(outcomes) => {
            for (job, outcome) in batch.drain(..).zip(outcomes) {
                let _ = job.reply.send(Ok(outcome));
            }
            true
        }
        Err(e) => {
            tracing::error!(error = ?e, size = batch.len(), "Failed to commit a batch of submissions");
            metrics::counter!("pingyi_db_write_failures_total").increment(1);
            for job in batch.drain(..) {
                let _ = job.reply.send(Err(Unavailable));
            }
            false
        }
    }
}

/// How long a writer waits after a failed batch: do not spin against a
/// database that is down.
const RETRY_PAUSE: std::time::Duration = std::time::Duration::from_millis(50);

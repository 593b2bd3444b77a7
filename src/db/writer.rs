//! The submission writer. Submissions from every request handler go through
//! one channel to a writer task that commits them in small batches (group
//! commit): one durable transaction, one fsync, for everything that arrived
//! while the previous batch was being written. Each handler is answered only
//! after its batch has committed, so an acknowledged response is on disk.
//! Duplicates are decided by the database's unique index (ON CONFLICT DO
//! NOTHING), which holds under any race and across instances.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::{answer, period_state, response, ticket};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, Statement, TransactionTrait, TryInsertResult,
};
use tokio::sync::{mpsc, oneshot};

use crate::domain::period::Period;

/// Largest number of submissions committed in one transaction.
const MAX_BATCH: usize = 256;
/// Answers per multi-row INSERT (4 bind parameters each; well under SQLite's limit).
const ANSWER_CHUNK: usize = 2000;
/// Concurrent writer tasks on PostgreSQL.
const POSTGRES_WRITERS: usize = 4;
/// Responses per multi-row INSERT (13 bind parameters each).
const RESPONSE_CHUNK: usize = 1000;

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

struct Job {
    response: NewResponse,
    reply: oneshot::Sender<Result<WriteOutcome, Unavailable>>,
}

/// Handle to the writer task.
#[derive(Clone)]
pub struct SubmissionWriter {
    jobs: mpsc::Sender<Job>,
}

impl SubmissionWriter {
    /// Starts the writer tasks on the current runtime: one for SQLite (a
    /// single-writer database), several for PostgreSQL, where overlapping
    /// transactions share the server's group commit instead of each batch
    /// waiting for the previous one's flush.
    pub fn start(db: DatabaseConnection) -> SubmissionWriter {
        let (jobs, rx) = mpsc::channel(8 * MAX_BATCH);
        let writers = match db.get_database_backend() {
            DbBackend::Sqlite => 1,
            _ => POSTGRES_WRITERS,
        };
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        for _ in 0..writers {
            tokio::spawn(run(db.clone(), rx.clone()));
        }
        SubmissionWriter { jobs }
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

async fn run(db: DatabaseConnection, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // The receiver is held only while collecting a batch, so another writer
    // collects the next one while this one writes.
    while rx.lock().await.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let responses: Vec<&NewResponse> = batch.iter().map(|j| &j.response).collect();
        match write_batch(&db, &responses).await {
            Ok(outcomes) => {
                for (job, outcome) in batch.drain(..).zip(outcomes) {
                    let _ = job.reply.send(Ok(outcome));
                }
            }
            Err(e) => {
                tracing::error!(error = ?e, size = batch.len(), "Failed to commit a batch of submissions");
                metrics::counter!("pingyi_db_write_failures_total").increment(1);
                for job in batch.drain(..) {
                    let _ = job.reply.send(Err(Unavailable));
                }
                // Do not spin against a database that is down.
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

/// Writes responses in one transaction; all or nothing. Responses go in one
/// multi-row `INSERT … ON CONFLICT DO NOTHING RETURNING` per chunk, answers in
/// another, so a batch costs a handful of statements whatever its size.
pub async fn write_batch(
    db: &DatabaseConnection,
    batch: &[&NewResponse],
) -> anyhow::Result<Vec<WriteOutcome>> {
    let txn = db
        .begin()
        .await
        .context("Failed to begin the submission transaction")?;
    let mut frozen = HashMap::new();
    for r in batch {
        if let std::collections::hash_map::Entry::Vacant(entry) = frozen.entry(r.period) {
            entry.insert(period_frozen_for_write(&txn, r.period).await?);
        }
    }
    let mut outcomes: Vec<Option<WriteOutcome>> = vec![None; batch.len()];
    let mut keys_in_batch = HashSet::new();
    let mut to_insert = Vec::with_capacity(batch.len());
    for (i, r) in batch.iter().enumerate() {
        if frozen.get(&r.period).copied().unwrap_or(false) {
            outcomes[i] = Some(WriteOutcome::PeriodClosed);
        } else if !keys_in_batch.insert(respondent_key(r)) {
            // The same respondent twice in one batch: the first one counts.
            outcomes[i] = Some(WriteOutcome::Duplicate);
        } else if r.ticket_hash.is_some() && !consume_ticket(&txn, r).await? {
            outcomes[i] = Some(WriteOutcome::TicketRefused);
        } else {
            to_insert.push(i);
        }
    }
    // Rows in key order: concurrent writers then take the unique index's
    // locks in the same order and cannot deadlock on each other.
    to_insert.sort_by(|&a, &b| respondent_key(batch[a]).cmp(&respondent_key(batch[b])));

    let mut stored: HashMap<(i32, String, String), i64> = HashMap::with_capacity(to_insert.len());
    for chunk in to_insert.chunks(RESPONSE_CHUNK) {
        let rows = chunk.iter().map(|&i| response_row(batch[i]));
        let inserted = response::Entity::insert_many(rows)
            .on_conflict_do_nothing_on([
                response::Column::InstitutionId,
                response::Column::Period,
                response::Column::RespondentHash,
            ])
            .exec_with_returning_many(&txn)
            .await
            .context("Failed to insert responses")?;
        if let TryInsertResult::Inserted(models) = inserted {
            stored.extend(
                models
                    .into_iter()
                    .map(|m| ((m.institution_id, m.period, m.respondent_hash), m.id)),
            );
        }
    }

    let mut answers = Vec::new();
    for &i in &to_insert {
        let r = batch[i];
        let (institution_id, period, hash) = respondent_key(r);
        let outcome = match stored.get(&(institution_id, period.to_string(), hash.to_owned())) {
            Some(&id) => {
                answers.extend(r.answers.iter().map(|a| answer::ActiveModel {
                    response_id: Set(id),
                    item_code: Set(a.item_code.clone()),
                    dimension_code: Set(a.dimension_code.clone()),
                    rating: Set(a.rating),
                }));
                WriteOutcome::Stored(id)
            }
            // Not returned: the unique index already held this respondent.
            None => WriteOutcome::Duplicate,
        };
        outcomes[i] = Some(outcome);
    }
    while !answers.is_empty() {
        let rest = answers.split_off(answers.len().min(ANSWER_CHUNK));
        answer::Entity::insert_many(std::mem::replace(&mut answers, rest))
            .exec_without_returning(&txn)
            .await
            .context("Failed to insert answers")?;
    }
    txn.commit()
        .await
        .context("Failed to commit the submission transaction")?;
    Ok(outcomes
        .into_iter()
        .map(|o| o.unwrap_or(WriteOutcome::Duplicate))
        .collect())
}

/// What the unique index on responses is over.
fn respondent_key(r: &NewResponse) -> (i32, Period, &str) {
    (r.institution_id, r.period, r.respondent_hash.as_str())
}

/// The period's frozen flag, read so that publishing cannot slip between
/// this check and the commit. On PostgreSQL the batch holds the period's
/// advisory lock shared until it commits; freezing takes it exclusively
/// (`db::periods::set_frozen`), so a freeze waits for the batches in flight
/// and the export that follows it sees them, and later batches see the
/// freeze. (Shared advisory locks live in memory: unlike `FOR SHARE` on the
/// state row, they write nothing.) SQLite serialises write transactions, so
/// there the check inside the batch's transaction is enough. Assessor
/// uploads take the same lock (`db::uploads::periods_frozen_for_write`).
pub(crate) async fn period_frozen_for_write(
    txn: &DatabaseTransaction,
    period: Period,
) -> anyhow::Result<bool> {
    if txn.get_database_backend() == DbBackend::Postgres {
        txn.execute_raw(Statement::from_sql_and_values(
            DbBackend::Postgres,
            "SELECT pg_advisory_xact_lock_shared($1)",
            [period.lock_key().into()],
        ))
        .await
        .context("Failed to lock the period")?;
    }
    let row = period_state::Entity::find_by_id(period.to_string())
        .one(txn)
        .await
        .context("Failed to read the period state")?;
    Ok(row.is_some_and(|r| r.frozen))
}

/// Marks the response's ticket used; false when it is unknown, expired,
/// used already or of another institution.
async fn consume_ticket(txn: &impl ConnectionTrait, r: &NewResponse) -> anyhow::Result<bool> {
    let Some(hash) = &r.ticket_hash else {
        return Ok(true);
    };
    let consumed = ticket::Entity::update_many()
        .col_expr(ticket::Column::UsedAt, Expr::value(r.submitted_at))
        .filter(ticket::Column::CodeHash.eq(hash.as_str()))
        .filter(ticket::Column::InstitutionId.eq(r.institution_id))
        .filter(ticket::Column::UsedAt.is_null())
        .filter(ticket::Column::ExpiresAt.gt(r.submitted_at))
        .exec(txn)
        .await
        .context("Failed to consume a ticket")?;
    Ok(consumed.rows_affected == 1)
}

fn response_row(r: &NewResponse) -> response::ActiveModel {
    response::ActiveModel {
        institution_id: Set(r.institution_id),
        questionnaire_id: Set(r.questionnaire_id),
        source: Set(r.source.as_str().to_owned()),
        period: Set(r.period.to_string()),
        submitted_at: Set(r.submitted_at),
        duration_ms: Set(r.duration_ms),
        channel: Set(r.channel.to_owned()),
        respondent_hash: Set(r.respondent_hash.clone()),
        comment: Set(r.comment.clone()),
        voided: Set(false),
        network_hash: Set(r.network_hash.clone()),
        comment_key: Set(r.comment_key.clone()),
        ..Default::default()
    }
}

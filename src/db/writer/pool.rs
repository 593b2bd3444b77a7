//! The writer through the shared pool: PostgreSQL, where several tasks
//! write at once (overlapping transactions share the server's group commit
//! instead of each batch waiting for the previous one's flush), and an
//! in-memory SQLite database (one task). Each batch is a handful of
//! statements whatever its size: multi-row inserts with `RETURNING`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use entity::{answer, period_state, response, ticket};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseConnection, DatabaseTransaction,
    DbBackend, EntityTrait, QueryFilter, Statement, TransactionTrait, TryInsertResult,
};
use tokio::sync::mpsc;

use super::{Job, MAX_BATCH, NewResponse, RETRY_PAUSE, WriteOutcome, reply, responses};
use crate::domain::period::Period;

/// Answers per multi-row INSERT (4 bind parameters each; well under SQLite's limit).
const ANSWER_CHUNK: usize = 2000;
/// Concurrent writer tasks on PostgreSQL.
const POSTGRES_WRITERS: usize = 4;
/// Responses per multi-row INSERT (13 bind parameters each).
const RESPONSE_CHUNK: usize = 1000;

/// Spawns the writer tasks on the current runtime.
pub(super) fn start(db: DatabaseConnection, rx: mpsc::Receiver<Job>) {
    let writers = match db.get_database_backend() {
        DbBackend::Sqlite => 1,
        _ => POSTGRES_WRITERS,
    };
    let rx = Arc::new(tokio::sync::Mutex::new(rx));
    for _ in 0..writers {
        tokio::spawn(run(db.clone(), rx.clone()));
    }
}

async fn run(db: DatabaseConnection, rx: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // The receiver is held only while collecting a batch, so another writer
    // collects the next one while this one writes.
    while rx.lock().await.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let outcomes = write_batch(&db, &responses(&batch)).await;
        if !reply(&mut batch, outcomes) {
            tokio::time::sleep(RETRY_PAUSE).await;
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
        } else if !keys_in_batch.insert(r.respondent_key()) {
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
    to_insert.sort_by(|&a, &b| batch[a].respondent_key().cmp(&batch[b].respondent_key()));

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
        let (institution_id, period, hash) = r.respondent_key();
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

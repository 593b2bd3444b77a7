//! The writer on an SQLite file: one thread of its own, one connection,
//! prepared statements.
//!
//! SQLite takes one write transaction at a time, so a single writer loses
//! nothing; what it saves is the path between the handlers and the file.
//! Through the pool, a batch was five round trips to the driver's worker
//! thread (begin, the period's flag, the responses, the answers, commit),
//! each a hand-off between threads, with multi-row statements whose text
//! changed with the batch size and so were parsed again for most batches.
//! Here a batch is one hand-off, and each statement is parsed once per
//! connection. The rows are exactly those the pool writer stores (same
//! columns, same text for timestamps), and it decides every outcome the
//! same way.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use tokio::sync::mpsc;

use super::{Job, MAX_BATCH, NewResponse, RETRY_PAUSE, WriteOutcome, reply, responses};
use crate::domain::period::Period;

/// How many WAL pages the writer lets pile up before it checkpoints them
/// itself (64 MiB). Normally `db::checkpoint` copies them back sooner, off
/// the writer's path; this only bounds the WAL if that stops.
const AUTOCHECKPOINT_PAGES: u32 = 16384;

const PERIOD_FROZEN: &str = "SELECT frozen FROM period_state WHERE period = ?1";

/// Marks a ticket used: only an unused, unexpired ticket of the institution.
const CONSUME_TICKET: &str = "UPDATE ticket SET used_at = ?1 \
     WHERE code_hash = ?2 AND institution_id = ?3 AND used_at IS NULL AND expires_at > ?1";

const INSERT_RESPONSE: &str = "INSERT INTO response (institution_id, questionnaire_id, source, \
     period, submitted_at, duration_ms, channel, respondent_hash, comment, voided, network_hash, \
     comment_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11) \
     ON CONFLICT (institution_id, period, respondent_hash) DO NOTHING RETURNING id";

const INSERT_ANSWER: &str = "INSERT INTO answer (response_id, item_code, dimension_code, rating) \
     VALUES (?1, ?2, ?3, ?4)";

/// Opens the writer's connection to `path` and starts its thread.
pub(super) fn start(path: &Path, jobs: mpsc::Receiver<Job>) -> anyhow::Result<()> {
    let connection = open(path).with_context(|| {
        format!(
            "Failed to open {} for the submission writer",
            path.display()
        )
    })?;
    std::thread::Builder::new()
        .name("submission-writer".into())
        .spawn(move || run(connection, jobs))
        .context("Failed to start the submission writer's thread")?;
    Ok(())
}

/// The connection with the settings that make a commit durable: WAL (set
/// on the file when the database was created), `synchronous=FULL` so a
/// commit is on disk before it is acknowledged.
fn open(path: &Path) -> rusqlite::Result<Connection> {
    let connection = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    connection.busy_timeout(Duration::from_secs(10))?;
    connection.pragma_update(None, "journal_mode", "wal")?;
    connection.pragma_update(None, "synchronous", "full")?;
    connection.pragma_update(None, "foreign_keys", true)?;
    // 4 MiB of pages keeps the hot index pages; larger measured no faster
    // (SQLite walks the whole cache when it resets it).
    connection.pragma_update(None, "cache_size", -4096)?;
    connection.pragma_update(None, "wal_autocheckpoint", AUTOCHECKPOINT_PAGES)?;
    // A statement journal past 64 KiB would otherwise be a temporary file,
    // created and unlinked for a batch.
    connection.pragma_update(None, "temp_store", "memory")?;
    Ok(connection)
}

/// Commits batch after batch until every sender is gone.
fn run(mut connection: Connection, mut jobs: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while jobs.blocking_recv_many(&mut batch, MAX_BATCH) > 0 {
        let outcomes =
            write_batch(&mut connection, &responses(&batch)).context("Failed to commit on SQLite");
        if !reply(&mut batch, outcomes) {
            std::thread::sleep(RETRY_PAUSE);
        }
    }
}

/// Writes the batch in one transaction; all or nothing (an error rolls it
/// back when the transaction is dropped).
fn write_batch(
    connection: &mut Connection,
    batch: &[&NewResponse],
) -> rusqlite::Result<Vec<WriteOutcome>> {
    // IMMEDIATE takes the write lock at once: the frozen flag read below
    // then cannot change before the commit.
    let txn = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(batch.len());
    {
        let mut period_frozen = txn.prepare_cached(PERIOD_FROZEN)?;
        let mut consume_ticket = txn.prepare_cached(CONSUME_TICKET)?;
        let mut insert_response = txn.prepare_cached(INSERT_RESPONSE)?;
        let mut insert_answer = txn.prepare_cached(INSERT_ANSWER)?;
        let mut frozen: HashMap<Period, bool> = HashMap::new();
        let mut keys_in_batch = HashSet::with_capacity(batch.len());
        for r in batch {
            let period = r.period.to_string();
            let is_frozen = match frozen.get(&r.period) {
                Some(&f) => f,
                None => {
                    let f = period_frozen
                        .query_row([&period], |row| row.get::<_, bool>(0))
                        .optional()?
                        .unwrap_or(false);
                    frozen.insert(r.period, f);
                    f
                }
            };
            let submitted_at = timestamp(r.submitted_at);
            let outcome = if is_frozen {
                WriteOutcome::PeriodClosed
            } else if !keys_in_batch.insert(r.respondent_key()) {
                // The same respondent twice in one batch: the first one counts.
                WriteOutcome::Duplicate
            } else if let Some(ticket) = &r.ticket_hash
                && consume_ticket.execute(params![submitted_at, ticket, r.institution_id])? != 1
            {
                WriteOutcome::TicketRefused
            } else {
                let id: Option<i64> = insert_response
                    .query_row(
                        params![
                            r.institution_id,
                            r.questionnaire_id,
                            r.source.as_str(),
                            period,
                            submitted_at,
                            r.duration_ms,
                            r.channel,
                            r.respondent_hash,
                            r.comment,
                            r.network_hash,
                            r.comment_key,
                        ],
                        |row| row.get(0),
                    )
                    .optional()?;
                match id {
                    Some(id) => {
                        for a in &r.answers {
                            insert_answer.execute(params![
                                id,
                                a.item_code,
                                a.dimension_code,
                                a.rating
                            ])?;
                        }
                        WriteOutcome::Stored(id)
                    }
                    // No row returned: the unique index already held this respondent.
                    None => WriteOutcome::Duplicate,
                }
            };
            outcomes.push(outcome);
        }
    }
    txn.commit()?;
    Ok(outcomes)
}

/// A timestamp as the pool's driver (sqlx) stores one in SQLite: RFC 3339
/// with as many fraction digits as needed and `+00:00`. The same text
/// matters: the office's queries compare these columns as text.
fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::AutoSi, false)
}

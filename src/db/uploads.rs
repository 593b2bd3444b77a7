//! The record of assessor uploads, and the bulk path that stores a valid
//! file's rows inside one transaction: multi-row INSERTs with bound
//! parameters, in chunks that stay under SQLite's 32,766 bind parameters
//! (PostgreSQL allows 65,535).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use anyhow::Context;
use chrono::{DateTime, Utc};
use entity::upload;
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DatabaseTransaction, DbBackend, EntityTrait,
    QueryFilter, QueryOrder, QuerySelect, Statement, TryInsertResult, Value,
};

use crate::db::catalog::Questionnaire;
use crate::domain::period::Period;

/// A validated upload row, ready to store (built by `app::uploads`).
pub struct UploadRow {
    pub institution_id: i32,
    pub questionnaire: Arc<Questionnaire>,
    pub period: Period,
    pub submitted_at: DateTime<Utc>,
    pub channel: &'static str,
    pub respondent_hash: String,
    pub comment: Option<String>,
    /// One rating (or none: not applicable) per questionnaire item, in order.
    pub ratings: Vec<Option<i16>>,
}

/// Responses per INSERT: 7 bound parameters each.
pub const RESPONSE_CHUNK: usize = 4000;
/// Answers per INSERT: 4 bound parameters each.
const ANSWER_CHUNK: usize = 8000;
/// Respondent hashes per look-up.
const LOOKUP_CHUNK: usize = 5000;

/// An upload to record.
pub struct NewUpload<'a> {
    pub org_id: i32,
    pub file_hash: Option<&'a str>,
    pub file_name: Option<&'a str>,
    pub format: &'a str,
    pub status: &'a str,
    pub total_rows: i64,
    pub stored_rows: i64,
    pub error_count: i64,
    pub report: Option<String>,
    pub created_at: DateTime<Utc>,
}

fn active(u: NewUpload<'_>) -> upload::ActiveModel {
    let clamp = |n: i64| i32::try_from(n).unwrap_or(i32::MAX);
    upload::ActiveModel {
        org_id: Set(u.org_id),
        file_hash: Set(u.file_hash.map(str::to_owned)),
        stored_hash: Set((u.status == "stored")
            .then(|| u.file_hash.map(str::to_owned))
            .flatten()),
        file_name: Set(u.file_name.map(|n| n.chars().take(255).collect())),
        format: Set(u.format.to_owned()),
        status: Set(u.status.to_owned()),
        total_rows: Set(clamp(u.total_rows)),
        stored_rows: Set(clamp(u.stored_rows)),
        error_count: Set(clamp(u.error_count)),
        report: Set(u.report),
        created_at: Set(u.created_at),
        ..Default::default()
    }
}

/// Records an upload that stored nothing; returns its id.
pub async fn record(db: &impl ConnectionTrait, u: NewUpload<'_>) -> anyhow::Result<i64> {
    Ok(upload::Entity::insert(active(u))
        .exec(db)
        .await
        .context("Failed to record an upload")?
        .last_insert_id)
}

/// Records a stored upload inside the storing transaction; `None` when the
/// same organisation has already stored the same file (a concurrent
/// re-upload that won the race).
pub async fn record_stored(
    txn: &impl ConnectionTrait,
    u: NewUpload<'_>,
) -> anyhow::Result<Option<i64>> {
    let inserted = upload::Entity::insert(active(u))
        .on_conflict_do_nothing_on([upload::Column::OrgId, upload::Column::StoredHash])
        .exec(txn)
        .await
        .context("Failed to record the upload")?;
    Ok(match inserted {
        TryInsertResult::Inserted(r) => Some(r.last_insert_id),
        TryInsertResult::Conflicted | TryInsertResult::Empty => None,
    })
}

/// Of the periods an upload stores rows in, the first that is frozen, read
/// inside the storing transaction so that publishing cannot slip between the
/// check and the commit: on PostgreSQL each period's advisory lock is held
/// shared until the transaction ends, exactly as a citizen batch holds it
/// (`db::writer::period_frozen_for_write`, the same function), so a publish
/// waits for the upload and a later upload sees the freeze. Periods are
/// locked in order, so two uploads never wait on each other crosswise.
pub async fn periods_frozen_for_write(
    txn: &DatabaseTransaction,
    periods: &[Period],
) -> anyhow::Result<Option<Period>> {
    let mut sorted = periods.to_vec();
    sorted.sort();
    sorted.dedup();
    for period in sorted {
        if crate::db::writer::period_frozen_for_write(txn, period).await? {
            return Ok(Some(period));
        }
    }
    Ok(None)
}

/// The stored upload of this file by this organisation, if any.
pub async fn find_stored(
    db: &impl ConnectionTrait,
    org_id: i32,
    file_hash: &str,
) -> anyhow::Result<Option<upload::Model>> {
    upload::Entity::find()
        .filter(upload::Column::OrgId.eq(org_id))
        .filter(upload::Column::StoredHash.eq(file_hash))
        .one(db)
        .await
        .context("Failed to look up an earlier upload")
}

/// One of the organisation's uploads.
pub async fn get(
    db: &impl ConnectionTrait,
    org_id: i32,
    id: i64,
) -> anyhow::Result<Option<upload::Model>> {
    upload::Entity::find_by_id(id)
        .filter(upload::Column::OrgId.eq(org_id))
        .one(db)
        .await
        .context("Failed to read an upload")
}

/// The organisation's latest uploads, newest first.
pub async fn list(
    db: &impl ConnectionTrait,
    org_id: i32,
    limit: u64,
) -> anyhow::Result<Vec<upload::Model>> {
    upload::Entity::find()
        .filter(upload::Column::OrgId.eq(org_id))
        .order_by_desc(upload::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .context("Failed to list uploads")
}

/// Of the given (row, respondent hash, period), those already stored by an
/// assessor: the hash embeds the organisation, so a match is this
/// organisation's respondent. Returns (row, period) of each.
pub async fn already_stored(
    db: &impl ConnectionTrait,
    respondents: &[(u32, String, Period)],
) -> anyhow::Result<Vec<(u32, Period)>> {
    let backend = db.get_database_backend();
    let mut found = Vec::new();
    for chunk in respondents.chunks(LOOKUP_CHUNK) {
        let mut sql = String::from(
            "SELECT respondent_hash, period FROM response WHERE source = 'assessor' AND respondent_hash IN (",
        );
        push_placeholders(&mut sql, backend, 0, chunk.len(), 1);
        sql.push(')');
        let rows = db
            .query_all_raw(Statement::from_sql_and_values(
                backend,
                sql,
                chunk.iter().map(|(_, h, _)| Value::from(h.as_str())),
            ))
            .await
            .context("Failed to look up stored respondents")?;
        let stored: HashSet<(String, String)> = rows
            .iter()
            .filter_map(|r| {
                Some((
                    r.try_get_by_index::<String>(0).ok()?,
                    r.try_get_by_index::<String>(1).ok()?,
                ))
            })
            .collect();
        if stored.is_empty() {
            continue;
        }
        for (row, hash, period) in chunk {
            if stored.contains(&(hash.clone(), period.to_string())) {
                found.push((*row, *period));
            }
        }
    }
    Ok(found)
}

/// Appends `rows` groups of `width` placeholders: `(?, ?), (?, ?)` or
/// `($1, $2), ($3, $4)`, the first numbered `first + 1`.
fn push_placeholders(
    sql: &mut String,
    backend: DbBackend,
    first: usize,
    rows: usize,
    width: usize,
) {
    use std::fmt::Write;
    let mut n = first;
    for r in 0..rows {
        if width > 1 {
            sql.push_str(if r == 0 { "(" } else { ", (" });
        } else if r > 0 {
            sql.push_str(", ");
        }
        for c in 0..width {
            if c > 0 {
                sql.push_str(", ");
            }
            n += 1;
            match backend {
                DbBackend::Postgres => {
                    let _ = write!(sql, "${n}");
                }
                _ => sql.push('?'),
            }
        }
        if width > 1 {
            sql.push(')');
        }
    }
}

/// Inserts a chunk of valid rows (at most [`RESPONSE_CHUNK`]) and their
/// answers. Duplicates are not expected here (they were refused while
/// validating); should one slip in through a race, the unique index fails
/// the statement and the caller rolls the whole file back.
pub async fn insert_rows(
    txn: &impl ConnectionTrait,
    rows: &[UploadRow],
) -> Result<u64, sea_orm::DbErr> {
    if rows.is_empty() {
        return Ok(0);
    }
    let backend = txn.get_database_backend();
    let mut sql = String::with_capacity(rows.len() * 64);
    sql.push_str(
        "INSERT INTO response (institution_id, questionnaire_id, period, submitted_at, channel, \
         respondent_hash, comment, source, duration_ms, voided) VALUES ",
    );
    // Seven bound values, then the constants every assessor row shares.
    {
        use std::fmt::Write;
        let mut n = 0;
        for r in 0..rows.len() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..7 {
                if c > 0 {
                    sql.push_str(", ");
                }
                n += 1;
                match backend {
                    DbBackend::Postgres => {
                        let _ = write!(sql, "${n}");
                    }
                    _ => sql.push('?'),
                }
            }
            sql.push_str(", 'assessor', NULL, FALSE)");
        }
    }
    sql.push_str(" RETURNING id, respondent_hash");
    let mut values = Vec::with_capacity(rows.len() * 7);
    for r in rows {
        values.push(Value::from(r.institution_id));
        values.push(Value::from(r.questionnaire.id));
        values.push(Value::from(r.period.to_string()));
        values.push(Value::from(r.submitted_at));
        values.push(Value::from(r.channel));
        values.push(Value::from(r.respondent_hash.as_str()));
        values.push(Value::from(r.comment.clone()));
    }
    let returned = txn
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    // Ids are matched by respondent hash (unique within a file), so nothing
    // depends on the order RETURNING gives them in.
    let mut ids: HashMap<String, i64> = HashMap::with_capacity(returned.len());
    for row in &returned {
        ids.insert(
            row.try_get_by_index::<String>(1)?,
            row.try_get_by_index::<i64>(0)?,
        );
    }

    let mut answers: Vec<Value> = Vec::with_capacity(ANSWER_CHUNK * 4);
    let mut pending = 0usize;
    for r in rows {
        let id = *ids
            .get(&r.respondent_hash)
            .ok_or_else(|| sea_orm::DbErr::Custom("an inserted response returned no id".into()))?;
        for (item, rating) in r.questionnaire.items.iter().zip(&r.ratings) {
            answers.push(Value::from(id));
            answers.push(Value::from(item.code.as_str()));
            answers.push(Value::from(item.dimension_code.as_str()));
            answers.push(Value::from(*rating));
            pending += 1;
            if pending == ANSWER_CHUNK {
                insert_answers(txn, backend, std::mem::take(&mut answers), pending).await?;
                pending = 0;
            }
        }
    }
    if pending > 0 {
        insert_answers(txn, backend, answers, pending).await?;
    }
    Ok(rows.len() as u64)
}

async fn insert_answers(
    txn: &impl ConnectionTrait,
    backend: DbBackend,
    values: Vec<Value>,
    count: usize,
) -> Result<(), sea_orm::DbErr> {
    let mut sql = String::with_capacity(count * 20);
    sql.push_str("INSERT INTO answer (response_id, item_code, dimension_code, rating) VALUES ");
    push_placeholders(&mut sql, backend, 0, count, 4);
    txn.execute_raw(Statement::from_sql_and_values(backend, sql, values))
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_number_from_one_on_postgres() {
        let mut s = String::new();
        push_placeholders(&mut s, DbBackend::Postgres, 0, 2, 2);
        assert_eq!(s, "($1, $2), ($3, $4)");
        let mut s = String::new();
        push_placeholders(&mut s, DbBackend::Sqlite, 0, 3, 1);
        assert_eq!(s, "?, ?, ?");
    }
}

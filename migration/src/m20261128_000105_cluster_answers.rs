//! SQLite only: the answer table becomes a `WITHOUT ROWID` table, stored in
//! the order of its primary key (response, item).
//!
//! Answers are always written and read by response: a submission inserts a
//! response's answers together, and the export reads ranges of responses.
//! As a rowid table, SQLite kept the rows in one b-tree and the primary key in
//! another, so every insert wrote two and every read looked each row up
//! through the index; clustered, both touch one. (PostgreSQL keeps its heap
//! and index; nothing changes there.)

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The table as `m20261127_000003_create_responses` defines it, under a new
/// name, with or without a rowid.
fn create(name: &str, without_rowid: bool) -> String {
    format!(
        "CREATE TABLE \"{name}\" ( \"response_id\" integer NOT NULL, \
         \"item_code\" varchar(64) NOT NULL, \"dimension_code\" varchar(64) NOT NULL, \
         \"rating\" smallint NULL, PRIMARY KEY (\"response_id\", \"item_code\"), \
         FOREIGN KEY (\"response_id\") REFERENCES \"response\" (\"id\") ){}",
        if without_rowid { " WITHOUT ROWID" } else { "" }
    )
}

/// Rebuilds `answer` in the given layout, keeping every row.
async fn rebuild(manager: &SchemaManager<'_>, without_rowid: bool) -> Result<(), DbErr> {
    if manager.get_database_backend() != DbBackend::Sqlite {
        return Ok(());
    }
    let db = manager.get_connection();
    for sql in [
        create("answer_rebuilt", without_rowid),
        "INSERT INTO \"answer_rebuilt\" (\"response_id\", \"item_code\", \"dimension_code\", \
         \"rating\") SELECT \"response_id\", \"item_code\", \"dimension_code\", \"rating\" \
         FROM \"answer\" ORDER BY \"response_id\", \"item_code\""
            .to_owned(),
        "DROP TABLE \"answer\"".to_owned(),
        "ALTER TABLE \"answer_rebuilt\" RENAME TO \"answer\"".to_owned(),
    ] {
        db.execute_unprepared(&sql).await?;
    }
    Ok(())
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, true).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        rebuild(manager, false).await
    }

    /// The copy, drop and rename happen together or not at all.
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }
}

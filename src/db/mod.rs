//! Database access: connecting (with the SQLite settings that make a commit
//! durable), the catalog cache, the submission writer and the demo seed.

pub mod assessors;
pub mod audit;
pub mod catalog;
pub mod export;
pub mod integrity;
pub mod model;
pub mod period_cache;
pub mod periods;
pub mod progress;
pub mod questionnaires;
pub mod rectification;
pub mod seed;
pub mod snapshots;
pub mod tickets;
pub mod uploads;
pub mod users;
pub mod writer;

use std::time::Duration;

use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectOptions, Database, DatabaseConnection};

use writer::WriterTarget;

/// Connects, creating the SQLite file's directory if needed.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    open(url, if url.starts_with("sqlite:") { 8 } else { 16 }).await
}

/// Where the submission writer commits. On an SQLite file, a connection of
/// its own, on its own thread (`writer::sqlite`): SQLite keeps a page cache
/// per connection and drops it when another connection wrote, so a writer
/// taking whichever pooled connection is free re-read the index pages it had
/// just written, batch after batch. The file is the one the pool opened, as
/// SQLite itself reports it. Otherwise (PostgreSQL, an in-memory SQLite
/// database) the shared pool.
pub async fn writer_target(shared: &DatabaseConnection) -> anyhow::Result<WriterTarget> {
    use sea_orm::{ConnectionTrait, DbBackend, Statement};
    if shared.get_database_backend() != DbBackend::Sqlite {
        return Ok(WriterTarget::Pool(shared.clone()));
    }
    let main = shared
        .query_one_raw(Statement::from_string(
            DbBackend::Sqlite,
            "SELECT file FROM pragma_database_list WHERE name = 'main'",
        ))
        .await
        .context("Failed to read the database file's path")?;
    let file: Option<String> = main.and_then(|row| row.try_get_by_index(0).ok());
    Ok(match file.filter(|f| !f.is_empty()) {
        Some(file) => WriterTarget::SqliteFile(file.into()),
        // An in-memory database exists once per connection: share it.
        None => WriterTarget::Pool(shared.clone()),
    })
}

async fn open(url: &str, connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut options = ConnectOptions::new(url.to_owned());
    options
        .sqlx_logging(false)
        .connect_timeout(Duration::from_secs(5))
        .acquire_timeout(Duration::from_secs(5))
        .max_connections(connections);
    if url.starts_with("sqlite:") {
        if let Some(dir) = sqlite_dir(url) {
            std::fs::create_dir_all(&dir).with_context(|| {
                format!("Failed to create the data directory {}", dir.display())
            })?;
        }
        options.map_sqlx_sqlite_opts(move |opts| {
            // WAL lets readers run beside the single writer; FULL makes every
            // commit survive a crash or power loss before it is acknowledged.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
                // Pages cached per connection, in KiB (negative).
                .pragma("cache_size", "-2000")
        });
    } else {
        // A commit is acknowledged to a citizen only once durable: insist on
        // it even where the server's own configuration turned it off.
        options.map_sqlx_postgres_opts(|opts| opts.options([("synchronous_commit", "on")]));
    }
    Database::connect(options)
        .await
        .with_context(|| format!("Failed to connect to the database at {}", redact(url)))
}

/// Copies committed WAL pages back into the SQLite database file without
/// waiting for anyone (a passive checkpoint), so the submission writer does
/// not stop to do it between two batches; a page rewritten by many batches
/// is copied once. SQLite only.
pub async fn checkpoint(db: &DatabaseConnection) -> anyhow::Result<()> {
    use sea_orm::ConnectionTrait;
    db.execute_unprepared("PRAGMA wal_checkpoint(PASSIVE)")
        .await
        .context("Failed to checkpoint the WAL")?;
    Ok(())
}

/// Applies every pending migration.
pub async fn migrate(db: &DatabaseConnection) -> anyhow::Result<()> {
    Migrator::up(db, None)
        .await
        .context("Failed to apply the migrations")
}

fn sqlite_dir(url: &str) -> Option<std::path::PathBuf> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next()?;
    if path.is_empty() || path == ":memory:" {
        return None;
    }
    std::path::Path::new(path)
        .parent()
        .map(|p| p.to_path_buf())
        .filter(|p| !p.as_os_str().is_empty())
}

/// The URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

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

/// Connects, creating the SQLite file's directory if needed.
pub async fn connect(url: &str) -> anyhow::Result<DatabaseConnection> {
    open(url, if url.starts_with("sqlite:") { 8 } else { 16 }, false).await
}

/// The connection the submission writer commits through. On SQLite, a pool
/// of its own with one connection: SQLite keeps a
/// page cache per connection and drops it when another connection wrote, so
/// a writer taking whichever pooled connection is free re-reads the index
/// pages it just wrote, batch after batch. On PostgreSQL, the shared pool.
pub async fn writer_connection(
    url: &str,
    shared: &DatabaseConnection,
) -> anyhow::Result<DatabaseConnection> {
    // An in-memory database exists once per connection: share it.
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    if url.starts_with("sqlite:") && !in_memory {
        open(url, 1, true).await
    } else {
        Ok(shared.clone())
    }
}

/// How many WAL pages the writer lets pile up before it checkpoints them
/// itself (64 MiB). Normally [`checkpoint`] copies them back sooner, off the
/// writer's path; this only bounds the WAL if that stops.
const WRITER_AUTOCHECKPOINT_PAGES: &str = "16384";

async fn open(url: &str, connections: u32, writer: bool) -> anyhow::Result<DatabaseConnection> {
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
            let opts = if writer {
                // A multi-row insert inside a transaction keeps a statement
                // journal (to undo just that statement); past 64 KiB SQLite
                // spills it to a temporary file, created, written and
                // unlinked for every batch. The writer's journals are at
                // most a batch's pages: keep them in memory.
                opts.pragma("wal_autocheckpoint", WRITER_AUTOCHECKPOINT_PAGES)
                    .pragma("temp_store", "memory")
            } else {
                opts
            };
            // WAL lets readers run beside the single writer; FULL makes every
            // commit survive a crash or power loss before it is acknowledged.
            opts.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(10))
                .foreign_keys(true)
                .create_if_missing(true)
                // Pages cached per connection, in KiB (negative). The writer's
                // 4 MiB keeps the hot index pages; larger measured no faster
                // (SQLite walks the whole cache when it resets it).
                .pragma("cache_size", if writer { "-4096" } else { "-2000" })
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

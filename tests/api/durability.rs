//! The settings that make an acknowledged commit durable, read back from the
//! very connections the submission writer uses. (The kill -9 test cannot see
//! them: a killed process leaves the page cache intact.)

use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait};

use crate::helpers::*;

#[actix_web::test]
async fn every_connection_of_the_writer_commits_durably() {
    let app = spawn_app().await;
    let db = &app.state.db;
    let backend = db.get_database_backend();
    // Hold several connections of the pool at once, so the check is not
    // answered by one connection again and again.
    let mut open = Vec::new();
    for _ in 0..6 {
        open.push(db.begin().await.unwrap());
    }
    for txn in &open {
        let value = |sql: &str| {
            let sql = sql.to_owned();
            async move {
                let row = txn
                    .query_one_raw(Statement::from_string(backend, sql.clone()))
                    .await
                    .unwrap()
                    .unwrap_or_else(|| panic!("{sql}: no row"));
                row.try_get_by_index::<String>(0)
                    .or_else(|_| row.try_get_by_index::<i64>(0).map(|n| n.to_string()))
                    .unwrap()
            }
        };
        match backend {
            DbBackend::Sqlite => {
                assert_eq!(value("PRAGMA journal_mode").await.to_lowercase(), "wal");
                // 2 = FULL (a fsync of the WAL at every commit).
                assert_eq!(value("PRAGMA synchronous").await, "2");
            }
            DbBackend::Postgres => {
                assert_eq!(value("SHOW synchronous_commit").await, "on");
                assert_eq!(value("SHOW fsync").await, "on");
            }
            other => panic!("unexpected backend {other:?}"),
        }
    }
}

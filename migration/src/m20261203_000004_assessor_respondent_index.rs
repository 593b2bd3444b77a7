//! The respondent-hash index covers assessor responses only.
//!
//! `idx_response_respondent_hash` exists for one lookup: whether an upload's
//! respondents were already stored by an assessor (`db::uploads::
//! already_stored`, `WHERE source = 'assessor' AND respondent_hash IN …`).
//! Indexing every response for it made each citizen submission update a
//! second index at a random place (the hashes are uniformly random), so each
//! commit wrote twice as many index pages. A partial index on the assessor
//! rows serves the lookup as before (both SQLite and PostgreSQL use it when
//! the query's condition names `source = 'assessor'`) and citizen
//! submissions no longer touch it. The unique index on (institution, period,
//! respondent) is unchanged: it is what keeps one response per respondent.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

const OLD: &str = "idx_response_respondent_hash";
const NEW: &str = "idx_response_assessor_respondent";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX \"{NEW}\" ON \"response\" (\"respondent_hash\") \
             WHERE \"source\" = 'assessor'"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX \"{OLD}\""))
            .await?;
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        db.execute_unprepared(&format!(
            "CREATE INDEX \"{OLD}\" ON \"response\" (\"respondent_hash\")"
        ))
        .await?;
        db.execute_unprepared(&format!("DROP INDEX \"{NEW}\""))
            .await?;
        Ok(())
    }
}

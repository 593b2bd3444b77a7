//! What the rating-integrity measures need of a response, as keyed hashes
//! only: the client's network (IPv4 /24, IPv6 /48) and the normalised
//! comment. Both are nullable: rows stored before this migration, uploads
//! (no network) and responses without a comment keep nulls.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000003_create_responses::Response;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum IntegrityKeys {
    NetworkHash,
    CommentKey,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // One column per statement: SQLite's ALTER TABLE adds one at a time.
        for column in [IntegrityKeys::NetworkHash, IntegrityKeys::CommentKey] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Response::Table)
                        .add_column(string_len_null(column, 64))
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [IntegrityKeys::CommentKey, IntegrityKeys::NetworkHash] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Response::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

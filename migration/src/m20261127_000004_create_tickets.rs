//! One-time ticket codes an institution hands out per service transaction
//! (`/s/{code}?t=TICKET`). Only a keyed hash of the code is stored.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000001_create_catalog::Institution;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Ticket {
    Table,
    Id,
    InstitutionId,
    CodeHash,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Ticket::Table)
                    .col(big_pk_auto(Ticket::Id))
                    .col(integer(Ticket::InstitutionId))
                    .col(string_len_uniq(Ticket::CodeHash, 64))
                    .col(timestamp_with_time_zone(Ticket::CreatedAt))
                    .col(timestamp_with_time_zone(Ticket::ExpiresAt))
                    .col(timestamp_with_time_zone_null(Ticket::UsedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Ticket::Table, Ticket::InstitutionId)
                            .to(Institution::Table, Institution::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Ticket::Table).to_owned())
            .await
    }
}

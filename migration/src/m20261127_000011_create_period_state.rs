//! The state of a collection period. A frozen (published) period takes no
//! new responses, from citizens or assessors. Publishing fills it in.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum PeriodState {
    Table,
    Period,
    Frozen,
    UpdatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(PeriodState::Table)
                    .col(string_len(PeriodState::Period, 16).primary_key())
                    .col(boolean(PeriodState::Frozen).default(false))
                    .col(timestamp_with_time_zone(PeriodState::UpdatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(PeriodState::Table).to_owned())
            .await
    }
}

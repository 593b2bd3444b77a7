//! Why the office voided a response (the integrity review voids a selection
//! with one reason); null for live responses and for responses voided
//! before the reason was kept, or by an upheld appeal (whose reason is the
//! appeal's).

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000003_create_responses::Response;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum VoidReason {
    VoidReason,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Response::Table)
                    .add_column(text_null(VoidReason::VoidReason))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Response::Table)
                    .drop_column(VoidReason::VoidReason)
                    .to_owned(),
            )
            .await
    }
}

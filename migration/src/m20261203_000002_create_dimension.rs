//! Dimensions (attitude, efficiency, …) get names in both languages, so
//! pages show "服务态度" or "Attitude of staff" rather than a code. The code
//! stays the key that questionnaire items and model weights refer to; a
//! dimension without a row here is shown by its code.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Dimension {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Dimension::Table)
                    .col(pk_auto(Dimension::Id))
                    .col(string_len_uniq(Dimension::Code, 64))
                    .col(string(Dimension::NameZh))
                    .col(string(Dimension::NameEn))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Dimension::Table).to_owned())
            .await
    }
}

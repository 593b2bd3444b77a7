//! The indicator model (weights, thresholds, grade bands) as versioned TOML
//! documents: a change is a new version, so every published snapshot names
//! the exact model it was computed with.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum ModelVersion {
    Table,
    Id,
    Version,
    Toml,
    Note,
    CreatedBy,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(ModelVersion::Table)
                    .col(pk_auto(ModelVersion::Id))
                    .col(integer_uniq(ModelVersion::Version))
                    .col(text(ModelVersion::Toml))
                    .col(string(ModelVersion::Note).default(""))
                    .col(string_null(ModelVersion::CreatedBy))
                    .col(timestamp_with_time_zone(ModelVersion::CreatedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(ModelVersion::Table).to_owned())
            .await
    }
}

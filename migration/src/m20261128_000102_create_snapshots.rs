//! Published snapshots: immutable records of one computation of a period's
//! indicators (run id, model version, input row counts and hash, code
//! version), with the four output tables and the three input tables of the
//! run kept as Parquet documents, so any published figure can be served in
//! any format and recomputed from exactly the input it came from.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Snapshot {
    Table,
    Id,
    RunId,
    Period,
    ModelVersion,
    NInstitutions,
    NResponses,
    NAnswers,
    InputHash,
    CodeVersion,
    CreatedBy,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum SnapshotTable {
    Table,
    SnapshotId,
    Name,
    Parquet,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Snapshot::Table)
                    .col(pk_auto(Snapshot::Id))
                    .col(string_len_uniq(Snapshot::RunId, 36))
                    .col(string_len(Snapshot::Period, 16))
                    .col(integer(Snapshot::ModelVersion))
                    .col(big_integer(Snapshot::NInstitutions))
                    .col(big_integer(Snapshot::NResponses))
                    .col(big_integer(Snapshot::NAnswers))
                    .col(string_len(Snapshot::InputHash, 64))
                    .col(string_len(Snapshot::CodeVersion, 64))
                    .col(string_len(Snapshot::CreatedBy, 64))
                    .col(timestamp_with_time_zone(Snapshot::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_snapshot_period")
                    .table(Snapshot::Table)
                    .col(Snapshot::Period)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(SnapshotTable::Table)
                    .col(integer(SnapshotTable::SnapshotId))
                    .col(string_len(SnapshotTable::Name, 64))
                    .col(blob(SnapshotTable::Parquet))
                    .primary_key(
                        Index::create()
                            .col(SnapshotTable::SnapshotId)
                            .col(SnapshotTable::Name),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(SnapshotTable::Table, SnapshotTable::SnapshotId)
                            .to(Snapshot::Table, Snapshot::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SnapshotTable::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Snapshot::Table).to_owned())
            .await
    }
}

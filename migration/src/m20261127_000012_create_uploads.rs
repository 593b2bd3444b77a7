//! The record of every assessor upload (stored or refused), and an index on
//! `response.respondent_hash` so an upload can check "already stored for
//! this organisation and period" without scanning a whole period.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000003_create_responses::Response;
use crate::m20261127_000010_create_assessors::AssessorOrg;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Upload {
    Table,
    Id,
    OrgId,
    FileHash,
    /// The file hash while the upload is stored, else null: the unique index
    /// on (org, stored_hash) makes a file stored at most once per organisation
    /// even under concurrent re-uploads (nulls never collide).
    StoredHash,
    FileName,
    Format,
    Status,
    TotalRows,
    StoredRows,
    ErrorCount,
    Report,
    CreatedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Upload::Table)
                    .col(big_pk_auto(Upload::Id))
                    .col(integer(Upload::OrgId))
                    .col(string_len_null(Upload::FileHash, 64))
                    .col(string_len_null(Upload::StoredHash, 64))
                    .col(string_len_null(Upload::FileName, 255))
                    .col(string_len(Upload::Format, 8))
                    .col(string_len(Upload::Status, 16))
                    .col(integer(Upload::TotalRows))
                    .col(integer(Upload::StoredRows))
                    .col(integer(Upload::ErrorCount))
                    .col(text_null(Upload::Report))
                    .col(timestamp_with_time_zone(Upload::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Upload::Table, Upload::OrgId)
                            .to(AssessorOrg::Table, AssessorOrg::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_upload_org_stored_hash")
                    .table(Upload::Table)
                    .col(Upload::OrgId)
                    .col(Upload::StoredHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_upload_org_created")
                    .table(Upload::Table)
                    .col(Upload::OrgId)
                    .col(Upload::CreatedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_response_respondent_hash")
                    .table(Response::Table)
                    .col(Response::RespondentHash)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name("idx_response_respondent_hash")
                    .table(Response::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_table(Table::drop().table(Upload::Table).to_owned())
            .await
    }
}

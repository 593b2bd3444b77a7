//! Third-party assessment firms, their API tokens (only a keyed hash is
//! stored) and the institutions each is contracted for, per period.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000001_create_catalog::{Category, District, Institution};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum AssessorOrg {
    Table,
    Id,
    Code,
    Name,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum AssessorToken {
    Table,
    Id,
    OrgId,
    TokenHash,
    Prefix,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[derive(DeriveIden)]
pub enum AssessorContract {
    Table,
    Id,
    OrgId,
    Period,
    InstitutionId,
    CategoryId,
    DistrictId,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(AssessorOrg::Table)
                    .col(pk_auto(AssessorOrg::Id))
                    .col(string_len_uniq(AssessorOrg::Code, 64))
                    .col(string(AssessorOrg::Name))
                    .col(timestamp_with_time_zone(AssessorOrg::CreatedAt))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AssessorToken::Table)
                    .col(big_pk_auto(AssessorToken::Id))
                    .col(integer(AssessorToken::OrgId))
                    .col(string_len_uniq(AssessorToken::TokenHash, 64))
                    .col(string_len(AssessorToken::Prefix, 16))
                    .col(timestamp_with_time_zone(AssessorToken::CreatedAt))
                    .col(timestamp_with_time_zone(AssessorToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(AssessorToken::RevokedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AssessorToken::Table, AssessorToken::OrgId)
                            .to(AssessorOrg::Table, AssessorOrg::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AssessorContract::Table)
                    .col(big_pk_auto(AssessorContract::Id))
                    .col(integer(AssessorContract::OrgId))
                    .col(string_len(AssessorContract::Period, 16))
                    .col(integer_null(AssessorContract::InstitutionId))
                    .col(integer_null(AssessorContract::CategoryId))
                    .col(integer_null(AssessorContract::DistrictId))
                    .foreign_key(
                        ForeignKey::create()
                            .from(AssessorContract::Table, AssessorContract::OrgId)
                            .to(AssessorOrg::Table, AssessorOrg::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AssessorContract::Table, AssessorContract::InstitutionId)
                            .to(Institution::Table, Institution::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AssessorContract::Table, AssessorContract::CategoryId)
                            .to(Category::Table, Category::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(AssessorContract::Table, AssessorContract::DistrictId)
                            .to(District::Table, District::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_assessor_contract_org_period")
                    .table(AssessorContract::Table)
                    .col(AssessorContract::OrgId)
                    .col(AssessorContract::Period)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            AssessorContract::Table.into_iden(),
            AssessorToken::Table.into_iden(),
            AssessorOrg::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

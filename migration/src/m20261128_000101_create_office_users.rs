//! Office accounts (administrators, analysts, institution users), their
//! server-side sessions, and the API tokens of machine clients. Passwords are
//! kept as argon2 hashes; session ids and API tokens only as keyed hashes.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000001_create_catalog::Institution;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum OfficeUser {
    Table,
    Id,
    Username,
    PasswordHash,
    Role,
    InstitutionId,
    FailedLogins,
    LockedUntil,
    Active,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum OfficeSession {
    Table,
    IdHash,
    UserId,
    Csrf,
    CreatedAt,
    ExpiresAt,
}

#[derive(DeriveIden)]
pub enum ApiToken {
    Table,
    Id,
    Name,
    TokenHash,
    Prefix,
    Scope,
    CreatedBy,
    CreatedAt,
    ExpiresAt,
    RevokedAt,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(OfficeUser::Table)
                    .col(pk_auto(OfficeUser::Id))
                    .col(string_len_uniq(OfficeUser::Username, 64))
                    .col(string(OfficeUser::PasswordHash))
                    .col(string_len(OfficeUser::Role, 16))
                    .col(integer_null(OfficeUser::InstitutionId))
                    .col(integer(OfficeUser::FailedLogins).default(0))
                    .col(timestamp_with_time_zone_null(OfficeUser::LockedUntil))
                    .col(boolean(OfficeUser::Active).default(true))
                    .col(timestamp_with_time_zone(OfficeUser::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OfficeUser::Table, OfficeUser::InstitutionId)
                            .to(Institution::Table, Institution::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(OfficeSession::Table)
                    .col(string_len(OfficeSession::IdHash, 64).primary_key())
                    .col(integer(OfficeSession::UserId))
                    .col(string_len(OfficeSession::Csrf, 64))
                    .col(timestamp_with_time_zone(OfficeSession::CreatedAt))
                    .col(timestamp_with_time_zone(OfficeSession::ExpiresAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(OfficeSession::Table, OfficeSession::UserId)
                            .to(OfficeUser::Table, OfficeUser::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ApiToken::Table)
                    .col(pk_auto(ApiToken::Id))
                    .col(string_len(ApiToken::Name, 128))
                    .col(string_len_uniq(ApiToken::TokenHash, 64))
                    .col(string_len(ApiToken::Prefix, 16))
                    .col(string_len(ApiToken::Scope, 16))
                    .col(string_len_null(ApiToken::CreatedBy, 64))
                    .col(timestamp_with_time_zone(ApiToken::CreatedAt))
                    .col(timestamp_with_time_zone_null(ApiToken::ExpiresAt))
                    .col(timestamp_with_time_zone_null(ApiToken::RevokedAt))
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            ApiToken::Table.into_iden(),
            OfficeSession::Table.into_iden(),
            OfficeUser::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

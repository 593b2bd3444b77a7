//! Responses and their answers. The unique index on (institution, period,
//! respondent hash) is what makes "one response per respondent per
//! institution per period" hold under races and across instances.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000001_create_catalog::Institution;
use crate::m20261127_000002_create_questionnaires::Questionnaire;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Response {
    Table,
    Id,
    InstitutionId,
    QuestionnaireId,
    Source,
    Period,
    SubmittedAt,
    DurationMs,
    Channel,
    RespondentHash,
    Comment,
    Voided,
}

#[derive(DeriveIden)]
pub enum Answer {
    Table,
    ResponseId,
    ItemCode,
    DimensionCode,
    Rating,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Response::Table)
                    .col(big_pk_auto(Response::Id))
                    .col(integer(Response::InstitutionId))
                    .col(integer(Response::QuestionnaireId))
                    .col(string_len(Response::Source, 16))
                    .col(string_len(Response::Period, 16))
                    .col(timestamp_with_time_zone(Response::SubmittedAt))
                    .col(big_integer_null(Response::DurationMs))
                    .col(string_len(Response::Channel, 16))
                    .col(string_len(Response::RespondentHash, 64))
                    .col(text_null(Response::Comment))
                    .col(boolean(Response::Voided).default(false))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Response::Table, Response::InstitutionId)
                            .to(Institution::Table, Institution::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Response::Table, Response::QuestionnaireId)
                            .to(Questionnaire::Table, Questionnaire::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_response_respondent")
                    .table(Response::Table)
                    .col(Response::InstitutionId)
                    .col(Response::Period)
                    .col(Response::RespondentHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_response_period")
                    .table(Response::Table)
                    .col(Response::Period)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Answer::Table)
                    .col(big_integer(Answer::ResponseId))
                    .col(string_len(Answer::ItemCode, 64))
                    .col(string_len(Answer::DimensionCode, 64))
                    .col(small_integer_null(Answer::Rating))
                    .primary_key(
                        Index::create()
                            .col(Answer::ResponseId)
                            .col(Answer::ItemCode),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Answer::Table, Answer::ResponseId)
                            .to(Response::Table, Response::Id),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Answer::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Response::Table).to_owned())
            .await
    }
}

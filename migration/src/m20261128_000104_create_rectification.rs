//! Rectification tasks (one per flagged institution and period, opened by
//! publishing, closed by the next published period) and appeals against
//! individual ratings.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000001_create_catalog::Institution;
use crate::m20261127_000003_create_responses::Response;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum RectificationTask {
    Table,
    Id,
    Period,
    InstitutionId,
    RunId,
    Score,
    Reasons,
    Status,
    Deadline,
    Plan,
    PlanAt,
    Report,
    ReportAt,
    ReviewNote,
    ReviewedBy,
    ReviewedAt,
    FollowupPeriod,
    FollowupScore,
    ScoreChange,
    StillFlagged,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum Appeal {
    Table,
    Id,
    ResponseId,
    InstitutionId,
    Kind,
    Reason,
    Status,
    FiledBy,
    CreatedAt,
    DecidedBy,
    DecidedAt,
    DecisionNote,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RectificationTask::Table)
                    .col(pk_auto(RectificationTask::Id))
                    .col(string_len(RectificationTask::Period, 16))
                    .col(integer(RectificationTask::InstitutionId))
                    .col(string_len(RectificationTask::RunId, 36))
                    .col(double_null(RectificationTask::Score))
                    .col(text(RectificationTask::Reasons))
                    .col(string_len(RectificationTask::Status, 24))
                    .col(date(RectificationTask::Deadline))
                    .col(text_null(RectificationTask::Plan))
                    .col(timestamp_with_time_zone_null(RectificationTask::PlanAt))
                    .col(text_null(RectificationTask::Report))
                    .col(timestamp_with_time_zone_null(RectificationTask::ReportAt))
                    .col(text_null(RectificationTask::ReviewNote))
                    .col(string_len_null(RectificationTask::ReviewedBy, 64))
                    .col(timestamp_with_time_zone_null(RectificationTask::ReviewedAt))
                    .col(string_len_null(RectificationTask::FollowupPeriod, 16))
                    .col(double_null(RectificationTask::FollowupScore))
                    .col(double_null(RectificationTask::ScoreChange))
                    .col(boolean_null(RectificationTask::StillFlagged))
                    .col(timestamp_with_time_zone(RectificationTask::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(RectificationTask::Table, RectificationTask::InstitutionId)
                            .to(Institution::Table, Institution::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_rectification_period_institution")
                    .table(RectificationTask::Table)
                    .col(RectificationTask::Period)
                    .col(RectificationTask::InstitutionId)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Appeal::Table)
                    .col(pk_auto(Appeal::Id))
                    .col(big_integer(Appeal::ResponseId))
                    .col(integer(Appeal::InstitutionId))
                    .col(string_len(Appeal::Kind, 16))
                    .col(text(Appeal::Reason))
                    .col(string_len(Appeal::Status, 16))
                    .col(string_len(Appeal::FiledBy, 64))
                    .col(timestamp_with_time_zone(Appeal::CreatedAt))
                    .col(string_len_null(Appeal::DecidedBy, 64))
                    .col(timestamp_with_time_zone_null(Appeal::DecidedAt))
                    .col(text_null(Appeal::DecisionNote))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeal::Table, Appeal::ResponseId)
                            .to(Response::Table, Response::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Appeal::Table, Appeal::InstitutionId)
                            .to(Institution::Table, Institution::Id),
                    )
                    .to_owned(),
            )
            .await?;
        // One appeal per response: a decided appeal is final.
        manager
            .create_index(
                Index::create()
                    .name("uq_appeal_response")
                    .table(Appeal::Table)
                    .col(Appeal::ResponseId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Appeal::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RectificationTask::Table).to_owned())
            .await
    }
}

//! Versioned questionnaires: one live version per category; a version that has
//! collected responses is never edited in place, a change makes a new version.

use sea_orm_migration::{prelude::*, schema::*};

use crate::m20261127_000001_create_catalog::Category;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum Questionnaire {
    Table,
    Id,
    CategoryId,
    Version,
    CreatedAt,
}

#[derive(DeriveIden)]
pub enum QuestionnaireItem {
    Table,
    Id,
    QuestionnaireId,
    Code,
    DimensionCode,
    TextZh,
    TextEn,
    Position,
    Required,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Questionnaire::Table)
                    .col(pk_auto(Questionnaire::Id))
                    .col(integer(Questionnaire::CategoryId))
                    .col(integer(Questionnaire::Version))
                    .col(timestamp_with_time_zone(Questionnaire::CreatedAt))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Questionnaire::Table, Questionnaire::CategoryId)
                            .to(Category::Table, Category::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_questionnaire_category_version")
                    .table(Questionnaire::Table)
                    .col(Questionnaire::CategoryId)
                    .col(Questionnaire::Version)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(QuestionnaireItem::Table)
                    .col(pk_auto(QuestionnaireItem::Id))
                    .col(integer(QuestionnaireItem::QuestionnaireId))
                    .col(string_len(QuestionnaireItem::Code, 64))
                    .col(string_len(QuestionnaireItem::DimensionCode, 64))
                    .col(string(QuestionnaireItem::TextZh))
                    .col(string(QuestionnaireItem::TextEn))
                    .col(integer(QuestionnaireItem::Position))
                    .col(boolean(QuestionnaireItem::Required).default(false))
                    .foreign_key(
                        ForeignKey::create()
                            .from(QuestionnaireItem::Table, QuestionnaireItem::QuestionnaireId)
                            .to(Questionnaire::Table, Questionnaire::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("uq_questionnaire_item_code")
                    .table(QuestionnaireItem::Table)
                    .col(QuestionnaireItem::QuestionnaireId)
                    .col(QuestionnaireItem::Code)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(QuestionnaireItem::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Questionnaire::Table).to_owned())
            .await
    }
}

//! Districts, categories (sectors) and the institutions citizens rate.

use sea_orm_migration::{prelude::*, schema::*};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
pub enum District {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
}

#[derive(DeriveIden)]
pub enum Category {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
}

#[derive(DeriveIden)]
pub enum Institution {
    Table,
    Id,
    Code,
    NameZh,
    NameEn,
    CategoryId,
    DistrictId,
    Address,
    Active,
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(District::Table)
                    .col(pk_auto(District::Id))
                    .col(string_len_uniq(District::Code, 64))
                    .col(string(District::NameZh))
                    .col(string(District::NameEn))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Category::Table)
                    .col(pk_auto(Category::Id))
                    .col(string_len_uniq(Category::Code, 64))
                    .col(string(Category::NameZh))
                    .col(string(Category::NameEn))
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Institution::Table)
                    .col(pk_auto(Institution::Id))
                    .col(string_len_uniq(Institution::Code, 64))
                    .col(string(Institution::NameZh))
                    .col(string(Institution::NameEn))
                    .col(integer(Institution::CategoryId))
                    .col(integer(Institution::DistrictId))
                    .col(string(Institution::Address).default(""))
                    .col(boolean(Institution::Active).default(true))
                    .foreign_key(
                        ForeignKey::create()
                            .from(Institution::Table, Institution::CategoryId)
                            .to(Category::Table, Category::Id),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .from(Institution::Table, Institution::DistrictId)
                            .to(District::Table, District::Id),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("idx_institution_category_district")
                    .table(Institution::Table)
                    .col(Institution::CategoryId)
                    .col(Institution::DistrictId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Institution::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(Category::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(District::Table).to_owned())
            .await
    }
}

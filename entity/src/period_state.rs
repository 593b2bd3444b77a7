//! The state of a collection period; a frozen period takes no new responses.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "period_state")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub period: String,
    pub frozen: bool,
    pub updated_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

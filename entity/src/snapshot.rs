//! A published computation of a period's indicators. Never updated.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "snapshot")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub run_id: String,
    pub period: String,
    pub model_version: i32,
    pub n_institutions: i64,
    pub n_responses: i64,
    pub n_answers: i64,
    /// SHA-256 of the export the run read.
    pub input_hash: String,
    pub code_version: String,
    pub created_by: String,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

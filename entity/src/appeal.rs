//! An institution's appeal against one rating as mistaken or malicious.
//! An upheld appeal voids the response (kept, marked, left out of the next
//! computation).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "appeal")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    #[sea_orm(unique)]
    pub response_id: i64,
    pub institution_id: i32,
    /// `mistaken` or `malicious`.
    pub kind: String,
    #[sea_orm(column_type = "Text")]
    pub reason: String,
    /// `pending`, `upheld` or `rejected`.
    pub status: String,
    pub filed_by: String,
    pub created_at: DateTimeUtc,
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub decision_note: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

//! The record of one assessor upload, stored or refused. `report` holds the
//! JSON array of row errors (capped); `stored_hash` is the file hash while the
//! upload is stored, so a file is stored at most once per organisation.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "upload")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub org_id: i32,
    /// SHA-256 of the file as received (null when it was refused unread).
    pub file_hash: Option<String>,
    pub stored_hash: Option<String>,
    pub file_name: Option<String>,
    /// `csv`, `xlsx`, `json` or `unknown`.
    pub format: String,
    /// `stored`, `invalid`, `unsupported`, `too_large` or `failed`.
    pub status: String,
    pub total_rows: i32,
    pub stored_rows: i32,
    pub error_count: i32,
    #[sea_orm(column_type = "Text", nullable)]
    pub report: Option<String>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

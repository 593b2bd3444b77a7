//! A rectification task: opened when a published period flags an
//! institution, answered with a plan and a completion report, reviewed by
//! the office, and followed up by the next published period.

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "rectification_task")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i32,
    pub period: String,
    pub institution_id: i32,
    /// The snapshot that opened (or last confirmed) the task.
    pub run_id: String,
    pub score: Option<f64>,
    /// JSON: `{"score_below": bool, "dimensions": [{"code", "index"}]}`.
    #[sea_orm(column_type = "Text")]
    pub reasons: String,
    /// `open`, `plan_submitted`, `plan_accepted`, `report_submitted`,
    /// `completed` or `withdrawn`.
    pub status: String,
    /// When the institution's next answer is due.
    pub deadline: Date,
    #[sea_orm(column_type = "Text", nullable)]
    pub plan: Option<String>,
    pub plan_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub report: Option<String>,
    pub report_at: Option<DateTimeUtc>,
    #[sea_orm(column_type = "Text", nullable)]
    pub review_note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTimeUtc>,
    /// The next published period, once there is one.
    pub followup_period: Option<String>,
    pub followup_score: Option<f64>,
    pub score_change: Option<f64>,
    pub still_flagged: Option<bool>,
    pub created_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

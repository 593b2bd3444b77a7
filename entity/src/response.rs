//! A submitted questionnaire. `respondent_hash` is HMAC(secret, period, device
//! or ticket), or a hash of the assessor's reference: never the raw identifier,
//! and unlinkable across periods (rows stored before 2026-12 were keyed
//! without the period).

use sea_orm::entity::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel, Serialize)]
#[sea_orm(table_name = "response")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    pub institution_id: i32,
    pub questionnaire_id: i32,
    /// `citizen` or `assessor`.
    pub source: String,
    /// `YYYY`, `YYYY-Qn` or `YYYY-MM`.
    pub period: String,
    pub submitted_at: DateTimeUtc,
    pub duration_ms: Option<i64>,
    /// `web`, `ticket`, `phone`, `onsite`, `mystery`.
    pub channel: String,
    pub respondent_hash: String,
    pub comment: Option<String>,
    pub voided: bool,
    /// Keyed hash of the client's network (IPv4 /24, IPv6 /48) within the
    /// period; null for uploads and for rows stored before it was kept.
    pub network_hash: Option<String>,
    /// Keyed hash of the normalised comment within the period (see
    /// `domain::comment`); null without a comment, or with nothing left of it.
    pub comment_key: Option<String>,
    /// Why the office voided it (the integrity review's one reason for a
    /// selection); null otherwise.
    pub void_reason: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

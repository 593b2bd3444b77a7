//! Schema migrations, applied in order at start-up and by `pingyi migrate`.
//! Append-only: a migration that has landed is never edited, only followed.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_catalog;
mod m20261127_000002_create_questionnaires;
mod m20261127_000003_create_responses;
mod m20261127_000004_create_tickets;
mod m20261127_000010_create_assessors;
mod m20261127_000011_create_period_state;
mod m20261127_000012_create_uploads;
mod m20261128_000001_create_model_versions;
mod m20261128_000101_create_office_users;
mod m20261128_000102_create_snapshots;
mod m20261128_000103_create_audit_log;
mod m20261128_000104_create_rectification;
mod m20261128_000105_cluster_answers;
mod m20261203_000001_add_response_integrity_keys;
mod m20261203_000002_create_dimension;
mod m20261203_000003_add_response_void_reason;
mod m20261203_000004_assessor_respondent_index;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_catalog::Migration),
            Box::new(m20261127_000002_create_questionnaires::Migration),
            Box::new(m20261127_000003_create_responses::Migration),
            Box::new(m20261127_000004_create_tickets::Migration),
            Box::new(m20261127_000010_create_assessors::Migration),
            Box::new(m20261127_000011_create_period_state::Migration),
            Box::new(m20261127_000012_create_uploads::Migration),
            Box::new(m20261128_000001_create_model_versions::Migration),
            Box::new(m20261128_000101_create_office_users::Migration),
            Box::new(m20261128_000102_create_snapshots::Migration),
            Box::new(m20261128_000103_create_audit_log::Migration),
            Box::new(m20261128_000104_create_rectification::Migration),
            Box::new(m20261128_000105_cluster_answers::Migration),
            Box::new(m20261203_000001_add_response_integrity_keys::Migration),
            Box::new(m20261203_000002_create_dimension::Migration),
            Box::new(m20261203_000003_add_response_void_reason::Migration),
            Box::new(m20261203_000004_assessor_respondent_index::Migration),
        ]
    }
}

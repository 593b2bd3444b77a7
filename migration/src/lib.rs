//! Schema migrations, applied in order at start-up and by `pingyi migrate`.
//! Append-only: a migration that has landed is never edited, only followed.

pub use sea_orm_migration::prelude::*;

mod m20261127_000001_create_catalog;
mod m20261127_000002_create_questionnaires;
mod m20261127_000003_create_responses;
mod m20261127_000004_create_tickets;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261127_000001_create_catalog::Migration),
            Box::new(m20261127_000002_create_questionnaires::Migration),
            Box::new(m20261127_000003_create_responses::Migration),
            Box::new(m20261127_000004_create_tickets::Migration),
        ]
    }
}

//! The versioned indicator model.

use anyhow::Context;
use chrono::Utc;
use entity::model_version;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, QueryOrder};

/// The model a fresh installation starts with.
pub const DEFAULT_MODEL: &str = include_str!("default_model.toml");

/// A model version, parsed.
#[derive(Clone, Debug)]
pub struct CurrentModel {
    pub version: i32,
    pub toml: String,
    pub model: analysis::Model,
}

/// The latest model version, creating version 1 from [`DEFAULT_MODEL`] when
/// there is none yet.
pub async fn current(db: &impl ConnectionTrait) -> anyhow::Result<CurrentModel> {
    let latest = model_version::Entity::find()
        .order_by_desc(model_version::Column::Version)
        .one(db)
        .await
        .context("Failed to load the model")?;
    let row = match latest {
        Some(row) => row,
        None => save(db, DEFAULT_MODEL, "default model", None).await?,
    };
    let model = analysis::Model::from_toml_str(&row.toml)
        .map_err(|e| anyhow::anyhow!("Model version {} is invalid: {e}", row.version))?;
    Ok(CurrentModel {
        version: row.version,
        toml: row.toml,
        model,
    })
}

/// Stores a new model version after checking that it parses; returns it.
pub async fn save(
    db: &impl ConnectionTrait,
    toml: &str,
    note: &str,
    created_by: Option<&str>,
) -> anyhow::Result<model_version::Model> {
    analysis::Model::from_toml_str(toml).map_err(|e| anyhow::anyhow!("{e}"))?;
    let next = model_version::Entity::find()
        .order_by_desc(model_version::Column::Version)
        .one(db)
        .await
        .context("Failed to load the model")?
        .map_or(1, |m| m.version + 1);
    let row = model_version::ActiveModel {
        version: Set(next),
        toml: Set(toml.to_owned()),
        note: Set(note.to_owned()),
        created_by: Set(created_by.map(str::to_owned)),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    model_version::Entity::insert(row)
        .exec_with_returning(db)
        .await
        .context("Failed to store the model version")
}

/// One model version, if it exists.
pub async fn version(
    db: &impl ConnectionTrait,
    version: i32,
) -> anyhow::Result<Option<model_version::Model>> {
    use sea_orm::{ColumnTrait, QueryFilter};
    model_version::Entity::find()
        .filter(model_version::Column::Version.eq(version))
        .one(db)
        .await
        .context("Failed to read a model version")
}

/// Every model version, newest first.
pub async fn versions(db: &impl ConnectionTrait) -> anyhow::Result<Vec<model_version::Model>> {
    model_version::Entity::find()
        .order_by_desc(model_version::Column::Version)
        .all(db)
        .await
        .context("Failed to list model versions")
}

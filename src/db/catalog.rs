//! The catalog citizens browse (districts, categories, institutions and each
//! category's live questionnaire), held in memory: every page view reads it,
//! and it changes only when the office edits it, which calls [`CatalogCache::reload`].

use std::collections::HashMap;
use std::sync::Arc;

use anyhow::Context;
use entity::{category, dimension, district, institution, questionnaire, questionnaire_item};
use parking_lot::RwLock;
use sea_orm::{ConnectionTrait, EntityTrait, QueryOrder};
use serde::Serialize;

use crate::domain::submission::ItemSpec;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Named {
    pub id: i32,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
}

/// Districts, categories and dimensions have the same four columns.
macro_rules! named_from {
    ($($table:ident),*) => {$(
        impl From<$table::Model> for Named {
            fn from(row: $table::Model) -> Named {
                Named {
                    id: row.id,
                    code: row.code,
                    name_zh: row.name_zh,
                    name_en: row.name_en,
                }
            }
        }
    )*};
}
named_from!(district, category, dimension);

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Institution {
    pub id: i32,
    pub code: String,
    pub name_zh: String,
    pub name_en: String,
    pub address: String,
    pub category: usize,
    pub district: usize,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Item {
    pub code: String,
    pub dimension_code: String,
    pub text_zh: String,
    pub text_en: String,
    pub required: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Questionnaire {
    pub id: i32,
    pub version: i32,
    pub items: Vec<Item>,
}

impl Questionnaire {
    pub fn item_specs(&self) -> Vec<ItemSpec> {
        self.items
            .iter()
            .map(|i| ItemSpec {
                code: i.code.clone(),
                dimension_code: i.dimension_code.clone(),
                required: i.required,
            })
            .collect()
    }
}

/// An immutable snapshot of the catalog.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Catalog {
    /// Which reload made this snapshot: it grows by one each time the
    /// content changes, so what is derived from a snapshot (the rendered
    /// questionnaires) can be keyed by it and dropped when it is stale.
    pub generation: u64,
    pub districts: Vec<Named>,
    pub categories: Vec<Named>,
    /// Named dimensions; items may use a code without a row here.
    pub dimensions: Vec<Named>,
    /// Active institutions, sorted by category, district and code.
    pub institutions: Vec<Institution>,
    by_code: HashMap<String, usize>,
    /// Live questionnaire per category index.
    questionnaires: HashMap<usize, Arc<Questionnaire>>,
}

impl Catalog {
    pub fn institution(&self, code: &str) -> Option<&Institution> {
        self.by_code.get(code).map(|&i| &self.institutions[i])
    }

    pub fn questionnaire_for(&self, institution: &Institution) -> Option<Arc<Questionnaire>> {
        self.questionnaires.get(&institution.category).cloned()
    }

    /// The live questionnaire of a category (by index).
    pub fn questionnaire_of_category(&self, category: usize) -> Option<Arc<Questionnaire>> {
        self.questionnaires.get(&category).cloned()
    }

    /// Every live questionnaire.
    pub fn all_questionnaires(&self) -> impl Iterator<Item = &Arc<Questionnaire>> {
        self.questionnaires.values()
    }

    pub fn category_index(&self, code: &str) -> Option<usize> {
        self.categories.iter().position(|c| c.code == code)
    }

    pub fn district_index(&self, code: &str) -> Option<usize> {
        self.districts.iter().position(|d| d.code == code)
    }

    pub fn dimension(&self, code: &str) -> Option<&Named> {
        self.dimensions.iter().find(|d| d.code == code)
    }

    /// Loads the whole catalog in a handful of queries.
    pub async fn load(db: &impl ConnectionTrait) -> anyhow::Result<Catalog> {
        let districts: Vec<Named> = district::Entity::find()
            .order_by_asc(district::Column::Code)
            .all(db)
            .await
            .context("Failed to load districts")?
            .into_iter()
            .map(Named::from)
            .collect();
        let categories: Vec<Named> = category::Entity::find()
            .order_by_asc(category::Column::Id)
            .all(db)
            .await
            .context("Failed to load categories")?
            .into_iter()
            .map(Named::from)
            .collect();
        let dimensions: Vec<Named> = dimension::Entity::find()
            .order_by_asc(dimension::Column::Id)
            .all(db)
            .await
            .context("Failed to load dimensions")?
            .into_iter()
            .map(Named::from)
            .collect();
        let district_ix: HashMap<i32, usize> = districts
            .iter()
            .enumerate()
            .map(|(i, d)| (d.id, i))
            .collect();
        let category_ix: HashMap<i32, usize> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.id, i))
            .collect();

        let mut institutions: Vec<Institution> = institution::Entity::find()
            .all(db)
            .await
            .context("Failed to load institutions")?
            .into_iter()
            .filter(|i| i.active)
            .filter_map(|i| {
                Some(Institution {
                    category: *category_ix.get(&i.category_id)?,
                    district: *district_ix.get(&i.district_id)?,
                    id: i.id,
                    code: i.code,
                    name_zh: i.name_zh,
                    name_en: i.name_en,
                    address: i.address,
                })
            })
            .collect();
        institutions.sort_by(|a, b| {
            (a.category, a.district, &a.code).cmp(&(b.category, b.district, &b.code))
        });
        let by_code = institutions
            .iter()
            .enumerate()
            .map(|(i, inst)| (inst.code.clone(), i))
            .collect();

        // The live questionnaire of a category is its highest version.
        let mut latest: HashMap<i32, questionnaire::Model> = HashMap::new();
        for q in questionnaire::Entity::find()
            .all(db)
            .await
            .context("Failed to load questionnaires")?
        {
            if latest
                .get(&q.category_id)
                .is_none_or(|cur| cur.version < q.version)
            {
                latest.insert(q.category_id, q);
            }
        }
        let mut items_by_q: HashMap<i32, Vec<questionnaire_item::Model>> = HashMap::new();
        for item in questionnaire_item::Entity::find()
            .order_by_asc(questionnaire_item::Column::Position)
            .all(db)
            .await
            .context("Failed to load questionnaire items")?
        {
            items_by_q
                .entry(item.questionnaire_id)
                .or_default()
                .push(item);
        }
        let questionnaires = latest
            .into_values()
            .filter_map(|q| {
                let items = items_by_q.remove(&q.id).unwrap_or_default();
                let view = Questionnaire {
                    id: q.id,
                    version: q.version,
                    items: items
                        .into_iter()
                        .map(|i| Item {
                            code: i.code,
                            dimension_code: i.dimension_code,
                            text_zh: i.text_zh,
                            text_en: i.text_en,
                            required: i.required,
                        })
                        .collect(),
                };
                Some((*category_ix.get(&q.category_id)?, Arc::new(view)))
            })
            .collect();
        Ok(Catalog {
            generation: 0,
            districts,
            categories,
            dimensions,
            institutions,
            by_code,
            questionnaires,
        })
    }
}

/// Shared, swappable catalog snapshot.
#[derive(Clone, Default)]
pub struct CatalogCache {
    current: Arc<RwLock<Arc<Catalog>>>,
    /// One reload at a time: a slow periodic refresh that read the tables
    /// before an office edit committed must not overwrite the edit's reload.
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl CatalogCache {
    pub fn get(&self) -> Arc<Catalog> {
        self.current.read().clone()
    }

    /// Reads the catalog again. An unchanged catalog keeps its snapshot
    /// (and generation), so the periodic refresh of a cluster does not
    /// throw away what the instance derived from it.
    pub async fn reload(&self, db: &impl ConnectionTrait) -> anyhow::Result<()> {
        let _one_at_a_time = self.reloading.lock().await;
        let mut fresh = Catalog::load(db).await?;
        let mut current = self.current.write();
        fresh.generation = current.generation;
        if **current != fresh {
            fresh.generation += 1;
            *current = Arc::new(fresh);
        }
        Ok(())
    }
}

/// Inserts or updates institutions by code (the caller's transaction makes
/// it all or none).
pub async fn upsert_institutions(
    db: &impl ConnectionTrait,
    rows: Vec<institution::ActiveModel>,
) -> anyhow::Result<()> {
    use sea_orm::sea_query::OnConflict;
    for row in rows {
        institution::Entity::insert(row)
            .on_conflict(
                OnConflict::column(institution::Column::Code)
                    .update_columns([
                        institution::Column::NameZh,
                        institution::Column::NameEn,
                        institution::Column::CategoryId,
                        institution::Column::DistrictId,
                        institution::Column::Address,
                        institution::Column::Active,
                    ])
                    .to_owned(),
            )
            .exec_without_returning(db)
            .await
            .context("Failed to store an institution")?;
    }
    Ok(())
}

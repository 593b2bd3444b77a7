//! The indicator model as a form: thresholds, source weights, grade bands
//! and a dimension-weight table per category. The form is turned into the
//! same TOML the raw editor takes, so one validation (the analysis crate's)
//! and one versioned store serve both.

use std::collections::BTreeMap;

use actix_web::{HttpResponse, web};
use analysis::GradeBand;
use analysis::Model;
use serde::Serialize;

use super::error::OfficeError;
use super::manage::store_model;
use super::{check_csrf, require_admin};
use crate::db::catalog::Catalog;
use crate::web::auth::Office;
use crate::web::i18n::Message;
use crate::web::state::AppState;

/// Empty rows offered after the grade bands, to add bands.
const SPARE_GRADE_ROWS: usize = 2;

/// A dimension-weight row of the form: `default` or a category.
#[derive(Serialize)]
struct WeightRow {
    table: String,
    label: String,
    /// One cell per dimension column; `None` is a blank cell.
    weights: Vec<Option<f64>>,
}

/// What the model page needs to draw the form.
#[derive(Serialize)]
pub struct Editor {
    dimensions: Vec<String>,
    rows: Vec<WeightRow>,
    grades: Vec<GradeBand>,
}

/// The form's content for `model`: a weight row for `default` and for every
/// category (blank where the category has no table of its own).
pub fn editor(model: &Model, catalog: &Catalog) -> Editor {
    let mut dimensions: Vec<String> = model
        .dimension_weights
        .values()
        .flat_map(|w| w.keys().cloned())
        .collect();
    dimensions.sort();
    dimensions.dedup();
    let row = |table: &str, label: String| WeightRow {
        table: table.to_owned(),
        label,
        weights: dimensions
            .iter()
            .map(|d| {
                model
                    .dimension_weights
                    .get(table)
                    .and_then(|w| w.get(d))
                    .copied()
            })
            .collect(),
    };
    let mut rows = vec![row("default", "default".to_owned())];
    for c in &catalog.categories {
        rows.push(row(&c.code, format!("{} ({})", c.name_zh, c.code)));
    }
    // Tables for codes not (or no longer) in the catalog stay editable.
    for table in model.dimension_weights.keys() {
        if !rows.iter().any(|r| &r.table == table) {
            rows.push(row(table, table.clone()));
        }
    }
    let mut grades = model.grades.clone();
    grades.extend((0..SPARE_GRADE_ROWS).map(|_| GradeBand {
        grade: String::new(),
        min: 0.0,
    }));
    Editor {
        dimensions,
        rows,
        grades,
    }
}

/// The submitted fields, by name.
struct Fields(BTreeMap<String, String>);

impl Fields {
    fn text(&self, name: &str) -> &str {
        self.0.get(name).map_or("", |v| v.trim())
    }

    /// A required number; the message names the field and the value.
    fn number(&self, name: &'static str) -> Result<f64, OfficeError> {
        let text = self.text(name);
        text.parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad_number(name, text))
    }

    fn whole(&self, name: &'static str) -> Result<i64, OfficeError> {
        let text = self.text(name);
        text.parse::<i64>().map_err(|_| bad_number(name, text))
    }
}

fn bad_number(field: &str, text: &str) -> OfficeError {
    OfficeError::Invalid(
        Message::new("msg_model_field")
            .arg("field", field)
            .arg("value", text),
    )
}

/// Builds the model the form describes on top of `current` (so fields the
/// form does not show are kept).
fn model_from_form(current: &Model, fields: &Fields) -> Result<Model, OfficeError> {
    let mut model = current.clone();
    model.min_completion = fields.number("min_completion")?;
    model.speeder_ms_per_item = fields.number("speeder_ms_per_item")?;
    model.min_sample = fields.whole("min_sample")?;
    model.prior_strength = fields.number("prior_strength")?;
    model.rectify_below = fields.number("rectify_below")?;
    model.rectify_dimension_below = fields.number("rectify_dimension_below")?;
    model.points_max = fields.number("points_max")?;
    model.source_weights.citizen = fields.number("source_citizen")?;
    model.source_weights.assessor = fields.number("source_assessor")?;

    let mut grades = Vec::new();
    for i in 0.. {
        let name_key = format!("grade.{i}.name");
        if !fields.0.contains_key(&name_key) {
            break;
        }
        let grade = fields.text(&name_key);
        let min_key = format!("grade.{i}.min");
        let min_text = fields.text(&min_key);
        if grade.is_empty() && min_text.is_empty() {
            continue;
        }
        let min = min_text
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad_number(&min_key, min_text))?;
        grades.push(GradeBand {
            grade: grade.to_owned(),
            min,
        });
    }
    model.grades = grades;

    // `dw.<table>.<dimension>`: a blank cell is no weight of its own (the
    // method then takes `default`'s), and a wholly blank row is no table.
    let mut tables: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for (name, value) in &fields.0 {
        let Some((table, dimension)) = name
            .strip_prefix("dw.")
            .and_then(|rest| rest.rsplit_once('.'))
        else {
            continue;
        };
        let entry = tables.entry(table.to_owned()).or_default();
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let weight = value
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite())
            .ok_or_else(|| bad_number(name, value))?;
        entry.insert(dimension.to_owned(), weight);
    }
    tables.retain(|_, weights| !weights.is_empty());
    model.dimension_weights = tables;
    Ok(model)
}

/// `POST /office/model/form`: the structured editor's save.
pub async fn save(
    state: web::Data<AppState>,
    Office(session): Office,
    form: web::Form<Vec<(String, String)>>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    let fields = Fields(form.into_inner().into_iter().collect());
    check_csrf(&session, fields.text("csrf"))?;
    let current = crate::db::model::current(&state.db).await?;
    let model = model_from_form(&current.model, &fields)?;
    let toml = toml::to_string(&model).map_err(anyhow::Error::from)?;
    store_model(&state, &session, &toml, fields.text("note")).await
}

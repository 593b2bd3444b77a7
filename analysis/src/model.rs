//! `model.toml`: the parameters of the method, parsed and validated once.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use toml::{Table, Value};

use crate::columns::MODEL;
use crate::error::{AnalysisError, InputError, input_err};

/// Name of the weight table used by categories without one of their own.
pub const DEFAULT_TABLE: &str = "default";

/// Ratings above this are refused as a model error: ratings are kept as `i32`.
const MAX_SCALE_POINTS: i64 = 1_000_000;

/// Relative weight of each source in the combined index.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SourceWeights {
    pub citizen: f64,
    pub assessor: f64,
}

/// One grade band: the first band (in file order) whose `min` the score reaches.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct GradeBand {
    pub grade: String,
    pub min: f64,
}

/// A parsed and validated `model.toml`.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Model {
    /// K: ratings run 1..=K.
    pub scale_points: i64,
    /// Share of shown items that must be answered.
    pub min_completion: f64,
    /// Faster than this many milliseconds per answered item is a speeder.
    pub speeder_ms_per_item: f64,
    /// Below this many valid responses an institution is `low_sample`.
    pub min_sample: i64,
    /// k in the shrinkage; 0 disables it.
    pub prior_strength: f64,
    /// A score below this calls for rectification.
    pub rectify_below: f64,
    /// A dimension index below this calls for rectification.
    pub rectify_dimension_below: f64,
    /// Points this indicator is worth in the main scoring model.
    pub points_max: f64,
    pub source_weights: SourceWeights,
    /// Grade bands in file order.
    pub grades: Vec<GradeBand>,
    /// Weight tables by category (`default` included), each dimension -> weight.
    pub dimension_weights: BTreeMap<String, BTreeMap<String, f64>>,
    /// The optional `[integrity]` section (`integrity.md`), defaults filled in.
    pub integrity: IntegrityParams,
}

/// The parameters of the rating-integrity detector.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct IntegrityParams {
    /// Flag when a robust z reaches this.
    pub z_threshold: f64,
    /// Smallest spread used in a z.
    pub scale_floor: f64,
    /// Width of the busiest window, in minutes.
    pub burst_window_minutes: i64,
    /// A respondent rating this many institutions in a period is roaming.
    pub roaming_institutions: i64,
    /// Institutions needed to form a baseline.
    pub min_baseline: i64,
    /// Fewer comments: `duplicate_comment_share` is null.
    pub min_comments: i64,
}

impl Default for IntegrityParams {
    fn default() -> Self {
        IntegrityParams {
            z_threshold: 3.5,
            scale_floor: 0.05,
            burst_window_minutes: 60,
            roaming_institutions: 5,
            min_baseline: 5,
            min_comments: 3,
        }
    }
}

const INTEGRITY_KEYS: [&str; 6] = [
    "z_threshold",
    "scale_floor",
    "burst_window_minutes",
    "roaming_institutions",
    "min_baseline",
    "min_comments",
];

/// The `[integrity]` section: absent means every default; each key is
/// optional, unknown keys are refused.
fn integrity(table: &Table) -> Result<IntegrityParams, AnalysisError> {
    let mut params = IntegrityParams::default();
    let Some(section) = table.get("integrity") else {
        return Ok(params);
    };
    let Value::Table(t) = section else {
        return input_err(
            MODEL,
            "integrity",
            format!("expected a table, found {}", section.type_str()),
        );
    };
    if let Some(extra) = t.keys().find(|k| !INTEGRITY_KEYS.contains(&k.as_str())) {
        return input_err(MODEL, format!("integrity.{extra}"), "unknown key");
    }
    let finite = |name: &str| -> Result<Option<f64>, AnalysisError> {
        let key = format!("integrity.{name}");
        let Some(v) = t.get(name) else {
            return Ok(None);
        };
        let x = number(v, &key)?;
        if !x.is_finite() {
            return input_err(MODEL, key, "must be a finite number");
        }
        Ok(Some(x))
    };
    // Whole numbers may be written `60` or `60.0`; beyond the range of i64
    // they saturate (no count or window comes near).
    let whole = |name: &str| -> Result<Option<i64>, AnalysisError> {
        match finite(name)? {
            Some(x) if x.fract() != 0.0 => input_err(
                MODEL,
                format!("integrity.{name}"),
                format!("{x} is not a whole number"),
            ),
            Some(x) => Ok(Some(x as i64)),
            None => Ok(None),
        }
    };
    if let Some(x) = finite("z_threshold")? {
        params.z_threshold = x;
    }
    if let Some(x) = finite("scale_floor")? {
        params.scale_floor = x;
    }
    if let Some(x) = whole("burst_window_minutes")? {
        params.burst_window_minutes = x;
    }
    if let Some(x) = whole("roaming_institutions")? {
        params.roaming_institutions = x;
    }
    if let Some(x) = whole("min_baseline")? {
        params.min_baseline = x;
    }
    if let Some(x) = whole("min_comments")? {
        params.min_comments = x;
    }
    let p = &params;
    let ranges: [(&str, bool, &str); 6] = [
        ("z_threshold", p.z_threshold > 0.0, "must be > 0"),
        ("scale_floor", p.scale_floor > 0.0, "must be > 0"),
        (
            "burst_window_minutes",
            p.burst_window_minutes >= 1,
            "must be at least 1",
        ),
        (
            "roaming_institutions",
            p.roaming_institutions >= 2,
            "must be at least 2",
        ),
        ("min_baseline", p.min_baseline >= 3, "must be at least 3"),
        ("min_comments", p.min_comments >= 2, "must be at least 2"),
    ];
    for (name, ok, problem) in ranges {
        if !ok {
            return input_err(MODEL, format!("integrity.{name}"), problem);
        }
    }
    Ok(params)
}

impl Model {
    /// Parses and validates a model from TOML text.
    pub fn from_toml_str(s: &str) -> Result<Model, AnalysisError> {
        let table: Table = s
            .parse()
            .map_err(|e: toml::de::Error| InputError::new(MODEL, "", e.to_string()))?;
        let model = Model {
            scale_points: int(&table, "scale_points")?,
            min_completion: float(&table, "min_completion")?,
            speeder_ms_per_item: float(&table, "speeder_ms_per_item")?,
            min_sample: int(&table, "min_sample")?,
            prior_strength: float(&table, "prior_strength")?,
            rectify_below: float(&table, "rectify_below")?,
            rectify_dimension_below: float(&table, "rectify_dimension_below")?,
            points_max: float(&table, "points_max")?,
            source_weights: source_weights(&table)?,
            grades: grades(&table)?,
            dimension_weights: dimension_weights(&table)?,
            integrity: integrity(&table)?,
        };
        model.check()?;
        Ok(model)
    }

    /// Reads and parses a model file.
    pub fn from_path(path: &Path) -> Result<Model, AnalysisError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| AnalysisError::io(format!("Failed to read {}", path.display()), e))?;
        Model::from_toml_str(&text)
    }

    fn check(&self) -> Result<(), AnalysisError> {
        if self.scale_points < 2 {
            return input_err(MODEL, "scale_points", "must be at least 2");
        }
        if self.scale_points > MAX_SCALE_POINTS {
            return input_err(
                MODEL,
                "scale_points",
                format!("must be at most {MAX_SCALE_POINTS}"),
            );
        }
        if !self.prior_strength.is_finite() || self.prior_strength < 0.0 {
            return input_err(MODEL, "prior_strength", "must be a finite number >= 0");
        }
        let sw = &self.source_weights;
        for (name, w) in [("citizen", sw.citizen), ("assessor", sw.assessor)] {
            if !w.is_finite() || w < 0.0 {
                return input_err(
                    MODEL,
                    format!("source_weights.{name}"),
                    "must be a finite number >= 0",
                );
            }
        }
        if sw.citizen == 0.0 && sw.assessor == 0.0 {
            return input_err(MODEL, "source_weights", "citizen and assessor are both 0");
        }
        for (category, weights) in &self.dimension_weights {
            for (dimension, w) in weights {
                if !w.is_finite() || *w <= 0.0 {
                    return input_err(
                        MODEL,
                        format!("dimension_weights.{category}.{dimension}"),
                        format!("weight {w} is not > 0"),
                    );
                }
            }
        }
        Ok(())
    }

    /// The weight table a category uses, if any.
    pub(crate) fn has_weight_table(&self, category: &str) -> bool {
        self.dimension_weights.contains_key(category)
            || self.dimension_weights.contains_key(DEFAULT_TABLE)
    }

    /// Weight of a dimension in a category: its own table, else `default`.
    pub(crate) fn weight(&self, category: &str, dimension: &str) -> Option<f64> {
        self.dimension_weights
            .get(category)
            .and_then(|t| t.get(dimension))
            .or_else(|| {
                self.dimension_weights
                    .get(DEFAULT_TABLE)
                    .and_then(|t| t.get(dimension))
            })
            .copied()
    }

    /// Categories that have a table of their own (not `default`).
    pub(crate) fn own_tables(&self) -> impl Iterator<Item = &str> {
        self.dimension_weights
            .keys()
            .map(String::as_str)
            .filter(|c| *c != DEFAULT_TABLE)
    }

    /// Weight of a dimension for categories without a table of their own.
    pub(crate) fn default_weight(&self, dimension: &str) -> Option<f64> {
        self.dimension_weights
            .get(DEFAULT_TABLE)
            .and_then(|t| t.get(dimension))
            .copied()
    }
}

fn get<'a>(table: &'a Table, key: &str) -> Result<&'a Value, AnalysisError> {
    table
        .get(key)
        .ok_or_else(|| InputError::new(MODEL, key, "missing key").into())
}

fn int(table: &Table, key: &str) -> Result<i64, AnalysisError> {
    match get(table, key)? {
        Value::Integer(i) => Ok(*i),
        other => input_err(
            MODEL,
            key,
            format!("expected an integer, found {}", other.type_str()),
        ),
    }
}

fn number(value: &Value, key: &str) -> Result<f64, AnalysisError> {
    match value {
        Value::Integer(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        other => input_err(
            MODEL,
            key,
            format!("expected a number, found {}", other.type_str()),
        ),
    }
}

fn float(table: &Table, key: &str) -> Result<f64, AnalysisError> {
    number(get(table, key)?, key)
}

fn sub_table<'a>(table: &'a Table, key: &str) -> Result<&'a Table, AnalysisError> {
    match get(table, key)? {
        Value::Table(t) => Ok(t),
        other => input_err(
            MODEL,
            key,
            format!("expected a table, found {}", other.type_str()),
        ),
    }
}

fn source_weights(table: &Table) -> Result<SourceWeights, AnalysisError> {
    let t = sub_table(table, "source_weights")?;
    if let Some(extra) = t.keys().find(|k| *k != "citizen" && *k != "assessor") {
        return input_err(
            MODEL,
            format!("source_weights.{extra}"),
            "unknown source (only citizen and assessor)",
        );
    }
    let weight = |name: &str| -> Result<f64, AnalysisError> {
        let key = format!("source_weights.{name}");
        match t.get(name) {
            Some(v) => number(v, &key),
            None => input_err(MODEL, key, "missing key"),
        }
    };
    Ok(SourceWeights {
        citizen: weight("citizen")?,
        assessor: weight("assessor")?,
    })
}

fn grades(table: &Table) -> Result<Vec<GradeBand>, AnalysisError> {
    let Value::Array(bands) = get(table, "grades")? else {
        return input_err(MODEL, "grades", "expected an array of tables [[grades]]");
    };
    bands
        .iter()
        .enumerate()
        .map(|(i, band)| {
            let key = format!("grades[{i}]");
            let Value::Table(band) = band else {
                return input_err(MODEL, key, "expected a table");
            };
            let grade = match band.get("grade") {
                Some(Value::String(s)) => s.clone(),
                Some(_) => return input_err(MODEL, format!("{key}.grade"), "expected a string"),
                None => return input_err(MODEL, format!("{key}.grade"), "missing key"),
            };
            let min = match band.get("min") {
                Some(v) => number(v, &format!("{key}.min"))?,
                None => return input_err(MODEL, format!("{key}.min"), "missing key"),
            };
            Ok(GradeBand { grade, min })
        })
        .collect()
}

fn dimension_weights(
    table: &Table,
) -> Result<BTreeMap<String, BTreeMap<String, f64>>, AnalysisError> {
    let t = sub_table(table, "dimension_weights")?;
    t.iter()
        .map(|(category, weights)| {
            let key = format!("dimension_weights.{category}");
            let Value::Table(weights) = weights else {
                return input_err(MODEL, key, "expected a table");
            };
            let weights = weights
                .iter()
                .map(|(dimension, w)| {
                    Ok((dimension.clone(), number(w, &format!("{key}.{dimension}"))?))
                })
                .collect::<Result<BTreeMap<_, _>, AnalysisError>>()?;
            Ok((category.clone(), weights))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    pub(crate) const SAMPLE: &str = include_str!("../../tests/fixtures/example/model.toml");

    fn error_key(text: &str) -> String {
        Model::from_toml_str(text)
            .unwrap_err()
            .as_input()
            .expect("an input error")
            .key
            .clone()
    }

    #[test]
    fn sample_model_parses() {
        let m = Model::from_toml_str(SAMPLE).unwrap();
        assert_eq!(m.scale_points, 5);
        assert_eq!(m.source_weights.citizen, 0.6);
        assert_eq!(m.grades.len(), 4);
        assert_eq!(m.grades[1].grade, "B");
        assert_eq!(m.weight("hospital", "attitude"), Some(0.30));
        assert_eq!(m.weight("water", "attitude"), Some(0.25));
        assert_eq!(m.weight("water", "nope"), None);
    }

    #[test]
    fn integrity_section_defaults_and_whole_floats() {
        let m = Model::from_toml_str(SAMPLE).unwrap();
        assert_eq!(m.integrity, IntegrityParams::default());
        let text = format!(
            "{SAMPLE}\n[integrity]\nburst_window_minutes = 30.0\nz_threshold = 4\nmin_comments = 2\n"
        );
        let m = Model::from_toml_str(&text).unwrap();
        assert_eq!(m.integrity.burst_window_minutes, 30);
        assert_eq!(m.integrity.z_threshold, 4.0);
        assert_eq!(m.integrity.min_comments, 2);
        assert_eq!(m.integrity.min_baseline, 5);
    }

    #[test]
    fn missing_key_is_named() {
        let text = SAMPLE.replace("min_sample = 5\n", "");
        assert_eq!(error_key(&text), "min_sample");
    }

    #[test]
    fn bad_values_are_refused() {
        assert_eq!(
            error_key(&SAMPLE.replace("scale_points = 5", "scale_points = 1")),
            "scale_points"
        );
        assert_eq!(
            error_key(&SAMPLE.replace("prior_strength = 4", "prior_strength = -1")),
            "prior_strength"
        );
        assert_eq!(
            error_key(&SAMPLE.replace("citizen = 0.6", "citizen = -0.6")),
            "source_weights.citizen"
        );
        assert_eq!(
            error_key(
                &SAMPLE.replace("citizen = 0.6\nassessor = 0.4", "citizen = 0\nassessor = 0")
            ),
            "source_weights"
        );
        assert_eq!(
            error_key(&SAMPLE.replace("citizen = 0.6", "citizen = 0.6\nexpert = 0.1")),
            "source_weights.expert"
        );
        assert_eq!(
            error_key(&SAMPLE.replace("outcome = 0.30", "outcome = 0")),
            "dimension_weights.hospital.outcome"
        );
    }
}

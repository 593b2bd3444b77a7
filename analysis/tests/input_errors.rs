//! Each input error of the spec is refused, naming table, key and problem,
//! and nothing is written.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use analysis::{InputError, Model};
use common::*;

/// The example inputs with one text replacement in one file.
struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new() -> Case {
        let dir = tempfile::tempdir().unwrap();
        for f in [
            "institutions.csv",
            "responses.csv",
            "answers.csv",
            "model.toml",
        ] {
            std::fs::copy(example_dir().join(f), dir.path().join(f)).unwrap();
        }
        Case { dir }
    }

    fn edit(self, file: &str, from: &str, to: &str) -> Case {
        let path = self.dir.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{file} has no {from:?}");
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
        self
    }

    /// Appends raw bytes to `file`.
    fn append(self, file: &str, bytes: &[u8]) -> Case {
        let path = self.dir.path().join(file);
        let mut content = std::fs::read(&path).unwrap();
        content.extend_from_slice(bytes);
        std::fs::write(&path, content).unwrap();
        self
    }

    /// Runs and writes into `<dir>/out`; returns the input error.
    fn error(&self) -> InputError {
        let out = self.dir.path().join("out");
        let result = Model::from_path(&self.dir.path().join("model.toml"))
            .and_then(|model| run_and_write(inputs_in(self.dir.path(), "csv")?, &model, &out));
        let err = result.expect_err("input must be refused");
        assert!(err.is_input(), "not an input error: {err}");
        assert_nothing_written(&out);
        err.as_input().unwrap().clone()
    }
}

fn assert_nothing_written(out: &Path) {
    if out.exists() {
        let entries: Vec<_> = std::fs::read_dir(out).unwrap().collect();
        assert!(entries.is_empty(), "output written: {entries:?}");
    }
}

fn assert_error(case: Case, table: &str, key: &str, problem_contains: &str) {
    let e = case.error();
    assert_eq!((e.table.as_str(), e.key.as_str()), (table, key), "{e}");
    assert!(
        e.problem.contains(problem_contains),
        "{e:?} does not mention {problem_contains:?}"
    );
}

const R07: &str = "r07,W2,citizen,2012-Q1,71000,false";

#[test]
fn missing_column_is_refused() {
    let case = Case::new().edit(
        "institutions.csv",
        "institution_code,category_code,district_code",
        "institution_code,category_code,district",
    );
    assert_error(
        case,
        "institutions",
        "column district_code",
        "missing column",
    );
}

#[test]
fn missing_model_key_is_refused() {
    let case = Case::new().edit("model.toml", "points_max = 20.0\n", "");
    assert_error(case, "model", "points_max", "missing key");
}

#[test]
fn empty_response_id_is_refused() {
    let case = Case::new().edit("responses.csv", R07, ",W2,citizen,2012-Q1,71000,false");
    assert_error(case, "responses", "row 7", "empty response_id");
}

#[test]
fn empty_item_code_is_refused() {
    let case = Case::new().edit("answers.csv", "r02,eff1,efficiency,4", "r02,,efficiency,4");
    assert_error(
        case,
        "answers",
        "response_id 'r02', row 9",
        "empty item_code",
    );
}

#[test]
fn empty_category_code_is_refused() {
    let case = Case::new().edit("institutions.csv", "W3,water,dongcheng", "W3,,dongcheng");
    assert_error(
        case,
        "institutions",
        "institution_code 'W3'",
        "empty category_code",
    );
}

#[test]
fn duplicate_institution_code_is_refused() {
    let case = Case::new().edit("institutions.csv", "W4,water", "W3,water");
    assert_error(case, "institutions", "institution_code 'W3'", "duplicate");
}

#[test]
fn duplicate_response_id_is_refused() {
    let case = Case::new().edit("responses.csv", "r08,W2", "r07,W2");
    assert_error(case, "responses", "response_id 'r07'", "duplicate");
}

#[test]
fn duplicate_answer_is_refused() {
    let case = Case::new().edit("answers.csv", "r02,att2,attitude,3", "r02,att1,attitude,3");
    assert_error(
        case,
        "answers",
        "response_id 'r02', item_code 'att1'",
        "duplicate",
    );
}

#[test]
fn unknown_institution_is_refused() {
    let case = Case::new().edit("responses.csv", R07, "r07,W9,citizen,2012-Q1,71000,false");
    assert_error(
        case,
        "responses",
        "response_id 'r07'",
        "institution 'W9' does not exist",
    );
}

#[test]
fn answer_of_unknown_response_is_refused() {
    let case = Case::new().edit("answers.csv", "r02,att1,attitude,3", "r99,att1,attitude,3");
    assert_error(
        case,
        "answers",
        "response_id 'r99', item_code 'att1'",
        "does not exist",
    );
}

#[test]
fn unknown_source_is_refused() {
    let case = Case::new().edit("responses.csv", R07, "r07,W2,Citizen,2012-Q1,71000,false");
    assert_error(case, "responses", "response_id 'r07'", "source 'Citizen'");
}

#[test]
fn rating_outside_scale_is_refused() {
    let case = Case::new().edit("answers.csv", "r02,att1,attitude,3", "r02,att1,attitude,7");
    assert_error(
        case,
        "answers",
        "response_id 'r02', item_code 'att1'",
        "rating 7 outside 1..5",
    );
}

#[test]
fn rating_zero_is_refused() {
    let case = Case::new().edit("answers.csv", "r02,att1,attitude,3", "r02,att1,attitude,0");
    assert_error(
        case,
        "answers",
        "response_id 'r02', item_code 'att1'",
        "outside 1..5",
    );
}

#[test]
fn non_integer_rating_is_refused() {
    let case = Case::new().edit(
        "answers.csv",
        "r02,att1,attitude,3",
        "r02,att1,attitude,3.0",
    );
    assert_error(
        case,
        "answers",
        "response_id 'r02', item_code 'att1'",
        "'3.0' is not an integer",
    );
}

#[test]
fn bad_rating_of_voided_response_is_refused() {
    let case = Case::new().edit("answers.csv", "r40,att1,attitude,", "r40,att1,attitude,9");
    assert_error(
        case,
        "answers",
        "response_id 'r40', item_code 'att1'",
        "outside",
    );
}

#[test]
fn non_integer_duration_is_refused() {
    let case = Case::new().edit("responses.csv", R07, "r07,W2,citizen,2012-Q1, 71000,false");
    assert_error(
        case,
        "responses",
        "response_id 'r07'",
        "duration_ms ' 71000' is not an integer",
    );
}

#[test]
fn non_boolean_voided_is_refused() {
    let case = Case::new().edit("responses.csv", R07, "r07,W2,citizen,2012-Q1,71000,yes");
    assert_error(
        case,
        "responses",
        "response_id 'r07'",
        "voided 'yes' is not a boolean",
    );
}

#[test]
fn empty_voided_is_refused() {
    let case = Case::new().edit("responses.csv", R07, "r07,W2,citizen,2012-Q1,71000,");
    assert_error(case, "responses", "response_id 'r07'", "voided is empty");
}

#[test]
fn malformed_period_is_refused() {
    let case = Case::new().edit("responses.csv", R07, "r07,W2,citizen,2012-q1,71000,false");
    assert_error(
        case,
        "responses",
        "response_id 'r07'",
        "period '2012-q1' is malformed",
    );
}

#[test]
fn mixed_period_granularity_is_refused() {
    let case = Case::new().edit("responses.csv", R07, "r07,W2,citizen,2012-03,71000,false");
    assert_error(case, "responses", "response_id 'r07'", "mixed granularity");
}

#[test]
fn item_with_two_dimensions_is_refused() {
    let case = Case::new().edit("answers.csv", "r02,att2,attitude,3", "r02,att2,outcome,3");
    assert_error(case, "answers", "item_code 'att2'", "two dimension_codes");
}

#[test]
fn dimension_without_weight_is_refused() {
    let case = Case::new().edit("answers.csv", "r02,att2,attitude,3", "r02,park1,parking,3");
    assert_error(
        case,
        "answers",
        "response_id 'r02', item_code 'park1'",
        "dimension 'parking'",
    );
}

#[test]
fn category_without_weight_table_is_refused() {
    let case = Case::new().edit(
        "model.toml",
        "[dimension_weights.default]",
        "[dimension_weights.power]",
    );
    assert_error(
        case,
        "institutions",
        "institution_code 'W1'",
        "category 'water'",
    );
}

#[test]
fn non_positive_weight_is_refused() {
    let case = Case::new().edit("model.toml", "environment = 0.15", "environment = 0.0");
    assert_error(
        case,
        "model",
        "dimension_weights.default.environment",
        "not > 0",
    );
}

#[test]
fn bad_source_weights_are_refused() {
    let case = Case::new().edit("model.toml", "assessor = 0.4\n", "");
    assert_error(case, "model", "source_weights.assessor", "missing key");
}

#[test]
fn scale_points_below_two_is_refused() {
    let case = Case::new().edit("model.toml", "scale_points = 5", "scale_points = 1");
    assert_error(case, "model", "scale_points", "at least 2");
}

#[test]
fn negative_prior_strength_is_refused() {
    let case = Case::new().edit("model.toml", "prior_strength = 4", "prior_strength = -4");
    assert_error(case, "model", "prior_strength", ">= 0");
}

#[test]
fn a_file_that_is_not_utf8_is_refused_naming_its_table() {
    for table in ["institutions", "responses", "answers"] {
        let case = Case::new().append(&format!("{table}.csv"), b"\xff\xfe,x\n");
        let e = case.error();
        assert_eq!((e.table.as_str(), e.key.as_str()), (table, ""), "{e}");
        assert!(e.problem.starts_with("cannot be read: "), "{e}");
        assert!(e.problem.contains("utf-8"), "{e}");
    }
}

#[test]
fn a_row_with_too_many_fields_is_refused_without_polars_hints() {
    let case = Case::new().append("answers.csv", b"r01,att1,attitude,4,surplus\n");
    let e = case.error();
    assert_eq!(e.table, "answers", "{e}");
    assert!(e.problem.starts_with("cannot be read: "), "{e}");
    assert!(!e.problem.contains("Consider"), "{e}");
}

//! Helpers shared by the integration tests.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};

use analysis::{AnalysisError, Format, Inputs, Model, Outputs, run, write_outputs};

/// The worked example of the spec (a copy inside the repo).
pub fn example_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/example")
}

pub fn example_model() -> Model {
    Model::from_path(&example_dir().join("model.toml")).unwrap()
}

/// Inputs from a directory holding `institutions`, `responses`, `answers` with
/// extension `ext`.
pub fn inputs_in(dir: &Path, ext: &str) -> Result<Inputs, AnalysisError> {
    Inputs::from_paths(
        &dir.join(format!("institutions.{ext}")),
        &dir.join(format!("responses.{ext}")),
        &dir.join(format!("answers.{ext}")),
    )
}

/// Runs and writes CSV into `out`, as the CLI does.
pub fn run_and_write(inputs: Inputs, model: &Model, out: &Path) -> Result<Outputs, AnalysisError> {
    let mut outputs = run(inputs, model)?;
    write_outputs(&mut outputs, out, Format::Csv)?;
    Ok(outputs)
}

/// A plain CSV file as rows of fields (the fixtures quote nothing).
pub fn read_csv(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// Compares two CSV tables as the spec defines matching: same header and row
/// order, equal text, or floats within relative 1e-9 (absolute near zero).
pub fn assert_tables_match(actual: &Path, expected: &Path) {
    let a = read_csv(actual);
    let e = read_csv(expected);
    assert_eq!(a.first(), e.first(), "{}: header", expected.display());
    assert_eq!(a.len(), e.len(), "{}: row count", expected.display());
    let header = &e[0];
    for (i, (ra, re)) in a.iter().zip(&e).enumerate().skip(1) {
        assert_eq!(
            ra.len(),
            re.len(),
            "{} row {i}: field count",
            expected.display()
        );
        for (j, (x, y)) in ra.iter().zip(re).enumerate() {
            if x == y {
                continue;
            }
            let close = match (x.parse::<f64>(), y.parse::<f64>()) {
                (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
                _ => false,
            };
            assert!(
                close,
                "{} row {i} ({}) column {}: got {x:?}, expected {y:?}",
                expected.display(),
                re[..2].join(","),
                header[j]
            );
        }
    }
}

pub const TABLES: [&str; 4] = [
    "institution_indicators",
    "dimension_indicators",
    "group_indicators",
    "survey_quality",
];

//! Edge cases of the method beyond the worked example.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use analysis::{Inputs, Model, run};
use common::*;
use polars::prelude::*;

fn example_with_model(edit: (&str, &str)) -> analysis::Outputs {
    let text = std::fs::read_to_string(example_dir().join("model.toml")).unwrap();
    assert!(text.contains(edit.0));
    let model = Model::from_toml_str(&text.replace(edit.0, edit.1)).unwrap();
    run(inputs_in(&example_dir(), "csv").unwrap(), &model).unwrap()
}

fn row(df: &DataFrame, period: &str, institution: &str) -> DataFrame {
    df.clone()
        .lazy()
        .filter(
            col("period")
                .eq(lit(period))
                .and(col("institution_code").eq(lit(institution))),
        )
        .collect()
        .unwrap()
}

fn f64_at(df: &DataFrame, c: &str) -> Option<f64> {
    df.column(c).unwrap().f64().unwrap().get(0)
}

#[test]
fn present_sources_weighing_zero_give_a_row_without_indices() {
    let out = example_with_model(("assessor = 0.4", "assessor = 0"));
    let w3 = row(&out.institution_indicators, "2012-Q1", "W3");
    assert_eq!(
        w3.column("n_assessor").unwrap().i64().unwrap().get(0),
        Some(2)
    );
    for c in [
        "index_assessor",
        "index",
        "se",
        "ci_low",
        "satisfied_rate",
        "score",
        "points",
        "delta_prev",
    ] {
        assert_eq!(f64_at(&w3, c), None, "{c}");
    }
    assert_eq!(w3.column("grade").unwrap().str().unwrap().get(0), None);
    assert_eq!(
        w3.column("rank_in_category").unwrap().i64().unwrap().get(0),
        None
    );
    assert_eq!(
        w3.column("low_sample").unwrap().bool().unwrap().get(0),
        Some(true)
    );
    assert_eq!(
        w3.column("rectification").unwrap().bool().unwrap().get(0),
        Some(false)
    );
    // Its dimension rows stay, without index and se.
    let dims = row(&out.dimension_indicators, "2012-Q1", "W3");
    assert_eq!(dims.height(), 5);
    assert_eq!(dims.column("index").unwrap().null_count(), 5);
    // W1 mixes both: the citizen mean alone makes the index.
    let w1 = row(&out.institution_indicators, "2012-Q1", "W1");
    let index = f64_at(&w1, "index").unwrap();
    assert!((index - 77.29166666666667).abs() < 1e-9);
    assert_eq!(f64_at(&w1, "index_citizen"), Some(index));
}

#[test]
fn zero_min_sample_still_flags_rows_without_valid_responses() {
    let out = example_with_model(("min_sample = 5", "min_sample = 0"));
    let h3 = row(&out.institution_indicators, "2012-Q1", "H3");
    assert_eq!(
        h3.column("low_sample").unwrap().bool().unwrap().get(0),
        Some(true)
    );
    let h1 = row(&out.institution_indicators, "2012-Q1", "H1");
    assert_eq!(
        h1.column("low_sample").unwrap().bool().unwrap().get(0),
        Some(false)
    );
}

#[test]
fn empty_inputs_give_empty_tables_with_all_columns() {
    let (i, r, a) = analysis::synth::generate(0, 1).unwrap();
    let out = run(
        Inputs {
            institutions: i.lazy(),
            responses: r.lazy(),
            answers: a.lazy(),
        },
        &example_model(),
    )
    .unwrap();
    assert_eq!(out.institution_indicators.height(), 0);
    assert_eq!(out.institution_indicators.width(), 22);
    assert_eq!(out.dimension_indicators.width(), 7);
    assert_eq!(out.group_indicators.width(), 8);
    assert_eq!(out.survey_quality.width(), 9);
}

#[test]
fn monthly_and_yearly_periods_find_their_previous_period() {
    for (q1, q2) in [("2011-12", "2012-01"), ("2011", "2012")] {
        let dir = tempfile::tempdir().unwrap();
        for f in ["institutions.csv", "answers.csv"] {
            std::fs::copy(example_dir().join(f), dir.path().join(f)).unwrap();
        }
        let text = std::fs::read_to_string(example_dir().join("responses.csv")).unwrap();
        let text = text.replace("2012-Q1", q1).replace("2012-Q2", q2);
        std::fs::write(dir.path().join("responses.csv"), text).unwrap();
        let out = run(inputs_in(dir.path(), "csv").unwrap(), &example_model()).unwrap();
        let h2 = row(&out.institution_indicators, q2, "H2");
        let delta = f64_at(&h2, "delta_prev").unwrap();
        assert!((delta - -10.42283950617284).abs() < 1e-9, "{q2}: {delta}");
    }
}

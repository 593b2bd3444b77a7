//! Properties of the pipeline on the example and on generated data.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;

use analysis::{Format, Inputs, Model, Outputs, run, synth, write_outputs, write_table};
use common::*;
use polars::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

fn frames(inputs: Inputs) -> (DataFrame, DataFrame, DataFrame) {
    (
        inputs.institutions.collect().unwrap(),
        inputs.responses.collect().unwrap(),
        inputs.answers.collect().unwrap(),
    )
}

fn inputs_of(i: &DataFrame, r: &DataFrame, a: &DataFrame) -> Inputs {
    Inputs {
        institutions: i.clone().lazy(),
        responses: r.clone().lazy(),
        answers: a.clone().lazy(),
    }
}

fn shuffled(df: &DataFrame, seed: u64) -> DataFrame {
    let mut idx: Vec<IdxSize> = (0..df.height() as IdxSize).collect();
    idx.shuffle(&mut StdRng::seed_from_u64(seed));
    df.take(&IdxCa::from_vec("".into(), idx)).unwrap()
}

fn assert_outputs_match(a: Outputs, b: Outputs) {
    let dir = tempfile::tempdir().unwrap();
    let (da, db) = (dir.path().join("a"), dir.path().join("b"));
    write_outputs(&mut { a }, &da, Format::Csv).unwrap();
    write_outputs(&mut { b }, &db, Format::Csv).unwrap();
    for t in TABLES.iter().chain(&["integrity"]) {
        let file = format!("{t}.csv");
        assert_tables_match(&da.join(&file), &db.join(&file));
    }
}

fn sample_model() -> Model {
    Model::from_toml_str(synth::SAMPLE_MODEL).unwrap()
}

#[test]
fn shuffling_input_rows_changes_nothing() {
    let model = example_model();
    let (i, r, a) = frames(inputs_in(&example_dir(), "csv").unwrap());
    let base = run(inputs_of(&i, &r, &a), &model).unwrap();
    let mixed = run(
        inputs_of(&shuffled(&i, 1), &shuffled(&r, 2), &shuffled(&a, 3)),
        &model,
    )
    .unwrap();
    assert_outputs_match(base, mixed);

    let model = sample_model();
    let (i, r, a) = synth::generate(3_000, 7).unwrap();
    let base = run(inputs_of(&i, &r, &a), &model).unwrap();
    let mixed = run(
        inputs_of(&shuffled(&i, 4), &shuffled(&r, 5), &shuffled(&a, 6)),
        &model,
    )
    .unwrap();
    assert_outputs_match(base, mixed);
}

#[test]
fn zero_prior_strength_gives_score_equal_to_index() {
    let text = synth::SAMPLE_MODEL.replace("prior_strength = 20", "prior_strength = 0");
    let model = Model::from_toml_str(&text).unwrap();
    let (i, r, a) = synth::generate(3_000, 11).unwrap();
    let out = run(inputs_of(&i, &r, &a), &model).unwrap();
    let t = &out.institution_indicators;
    let score: Vec<Option<f64>> = t.column("score").unwrap().f64().unwrap().iter().collect();
    let index: Vec<Option<f64>> = t.column("index").unwrap().f64().unwrap().iter().collect();
    assert_eq!(score, index);
    assert!(score.iter().flatten().count() > 10);
}

#[test]
fn csv_and_parquet_inputs_give_the_same_result() {
    let model = sample_model();
    let (mut i, mut r, mut a) = synth::generate(2_000, 3).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let write = |ext: &str, i: &mut DataFrame, r: &mut DataFrame, a: &mut DataFrame| {
        write_table(i, &dir.path().join(format!("institutions.{ext}"))).unwrap();
        write_table(r, &dir.path().join(format!("responses.{ext}"))).unwrap();
        write_table(a, &dir.path().join(format!("answers.{ext}"))).unwrap();
    };
    write("csv", &mut i, &mut r, &mut a);
    write("parquet", &mut i, &mut r, &mut a);
    let from_csv = run(inputs_in(dir.path(), "csv").unwrap(), &model).unwrap();
    let from_parquet = run(inputs_in(dir.path(), "parquet").unwrap(), &model).unwrap();
    let from_frames = run(inputs_of(&i, &r, &a), &model).unwrap();
    assert_outputs_match(from_csv, from_parquet.clone());
    assert_outputs_match(from_parquet, from_frames);
}

#[test]
fn parquet_column_of_wrong_type_is_refused() {
    let (mut i, mut r, a) = synth::generate(200, 1).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut a = a
        .lazy()
        .with_column(col("rating").cast(DataType::String))
        .collect()
        .unwrap();
    write_table(&mut i, &dir.path().join("institutions.parquet")).unwrap();
    write_table(&mut r, &dir.path().join("responses.parquet")).unwrap();
    write_table(&mut a, &dir.path().join("answers.parquet")).unwrap();
    let err = inputs_in(dir.path(), "parquet").err().expect("refused");
    let e = err.as_input().expect("an input error");
    assert_eq!(
        (e.table.as_str(), e.key.as_str()),
        ("answers", "column rating")
    );
}

#[test]
fn generated_data_runs_and_counts_add_up() {
    let model = sample_model();
    let (i, r, a) = synth::generate(5_000, 42).unwrap();
    let voided = r.column("voided").unwrap().bool().unwrap().sum().unwrap() as i64;
    let out = run(inputs_of(&i, &r, &a), &model).unwrap();
    let sum = |df: &DataFrame, c: &str| df.column(c).unwrap().i64().unwrap().sum().unwrap();
    let q = &out.survey_quality;
    assert_eq!(sum(q, "n_voided"), voided);
    assert_eq!(sum(q, "n_responses") + voided, r.height() as i64);
    assert_eq!(
        sum(q, "n_valid") + sum(q, "n_incomplete") + sum(q, "n_speeder"),
        sum(q, "n_responses")
    );
    for c in ["n_incomplete", "n_speeder", "n_straightliner"] {
        assert!(sum(q, c) > 0, "{c}");
    }
    assert!(
        q.column("cronbach_alpha")
            .unwrap()
            .f64()
            .unwrap()
            .iter()
            .flatten()
            .count()
            > 0
    );
    let inst = &out.institution_indicators;
    assert_eq!(
        sum(inst, "n_citizen") + sum(inst, "n_assessor"),
        sum(q, "n_valid")
    );
    for t in [
        &out.institution_indicators,
        &out.dimension_indicators,
        &out.group_indicators,
    ] {
        assert!(t.height() > 0);
    }
    // Some institutions rely on one source only, some on tiny samples.
    let low: u32 = inst
        .column("low_sample")
        .unwrap()
        .bool()
        .unwrap()
        .sum()
        .unwrap();
    assert!(low > 0);
    assert!(
        inst.column("n_assessor")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .any(|n| n == Some(0))
    );
    assert!(
        inst.column("n_citizen")
            .unwrap()
            .i64()
            .unwrap()
            .iter()
            .any(|n| n == Some(0))
    );
    write_outputs(
        &mut { out },
        &tempfile::tempdir().unwrap().path().join("o"),
        Format::Parquet,
    )
    .unwrap();
}

#[test]
fn outputs_are_written_all_or_nothing() {
    let out = run(inputs_in(&example_dir(), "csv").unwrap(), &example_model()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    // A directory where a table should go makes the rename fail.
    let target = dir.path().join("o");
    std::fs::create_dir_all(target.join("survey_quality.csv/x")).unwrap();
    let err = write_outputs(&mut { out }, &target, Format::Csv);
    assert!(err.is_err());
    let mut names: Vec<String> = std::fs::read_dir(&target)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["survey_quality.csv"], "{:?}", Path::new(&target));
}

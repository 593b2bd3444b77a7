//! The rating-integrity table (`integrity.md`): the worked example exactly,
//! its input errors, and properties (optional columns, formats, no effect
//! on the indicators).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use analysis::{Format, Inputs, Model, Outputs, run, synth, write_outputs, write_table};
use common::*;
use polars::prelude::*;

fn integrity_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/integrity-example")
}

fn integrity_model() -> Model {
    Model::from_path(&integrity_dir().join("model.toml")).unwrap()
}

/// The example's tables with the spec's types, as a dataframe library holds
/// them (CSV read as text, then cast).
fn typed(dir: &Path) -> (DataFrame, DataFrame, DataFrame) {
    let read = |t: &str| {
        CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(dir.join(format!("{t}.csv"))))
            .unwrap()
            .finish()
            .unwrap()
    };
    let r = read("responses")
        .lazy()
        .with_columns([
            col("duration_ms").cast(DataType::Int64),
            col("voided").eq(lit("true")),
        ])
        .collect()
        .unwrap();
    let a = read("answers")
        .lazy()
        .with_column(col("rating").cast(DataType::Int64))
        .collect()
        .unwrap();
    (read("institutions"), r, a)
}

fn inputs_of(i: &DataFrame, r: &DataFrame, a: &DataFrame) -> Inputs {
    Inputs {
        institutions: i.clone().lazy(),
        responses: r.clone().lazy(),
        answers: a.clone().lazy(),
    }
}

/// Writes the outputs as CSV into a fresh directory.
fn written(outputs: Outputs) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write_outputs(&mut { outputs }, dir.path(), Format::Csv).unwrap();
    dir
}

fn column_strings(df: &DataFrame, name: &str) -> Vec<Option<String>> {
    df.column(name)
        .unwrap()
        .cast(&DataType::String)
        .unwrap()
        .str()
        .unwrap()
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect()
}

#[test]
fn worked_integrity_example_matches_expected_table() {
    let dir = integrity_dir();
    let out = tempfile::tempdir().unwrap();
    run_and_write(
        inputs_in(&dir, "csv").unwrap(),
        &integrity_model(),
        out.path(),
    )
    .unwrap();
    assert_tables_match(
        &out.path().join("integrity.csv"),
        &dir.join("expected/integrity.csv"),
    );
}

#[test]
fn integrity_example_from_parquet_gives_the_same_table_as_from_csv() {
    let dir = integrity_dir();
    let (i, r, a) = typed(&dir);
    let pq = tempfile::tempdir().unwrap();
    for (name, df) in [("institutions", &i), ("responses", &r), ("answers", &a)] {
        write_table(&mut df.clone(), &pq.path().join(format!("{name}.parquet"))).unwrap();
    }
    let out = tempfile::tempdir().unwrap();
    run_and_write(
        inputs_in(pq.path(), "parquet").unwrap(),
        &integrity_model(),
        out.path(),
    )
    .unwrap();
    assert_tables_match(
        &out.path().join("integrity.csv"),
        &dir.join("expected/integrity.csv"),
    );
}

#[test]
fn integrity_table_has_the_spec_types_and_never_null_flags() {
    let (i, r, a) = typed(&integrity_dir());
    let out = run(inputs_of(&i, &r, &a), &integrity_model()).unwrap();
    let t = &out.integrity;
    let names: Vec<&str> = t.get_column_names().iter().map(|s| s.as_str()).collect();
    assert_eq!(names, analysis::columns::INTEGRITY_COLUMNS);
    for c in ["n", "top_network_n", "burst_n", "top_comment_n"] {
        assert_eq!(t.column(c).unwrap().dtype(), &DataType::Int64, "{c}");
    }
    for c in [
        "network_top_share",
        "z_network",
        "z_speeder",
        "roaming_share",
    ] {
        assert_eq!(t.column(c).unwrap().dtype(), &DataType::Float64, "{c}");
    }
    assert_eq!(t.column("flagged").unwrap().dtype(), &DataType::Boolean);
    assert_eq!(t.column("flags").unwrap().null_count(), 0);
    assert_eq!(t.column("flagged").unwrap().null_count(), 0);
    // Parquet keeps the empty string for "no flag".
    let dir = tempfile::tempdir().unwrap();
    write_outputs(&mut out.clone(), dir.path(), Format::Parquet).unwrap();
    let file = std::fs::File::open(dir.path().join("integrity.parquet")).unwrap();
    let back = ParquetReader::new(file).finish().unwrap();
    assert_eq!(back.column("flags").unwrap().null_count(), 0);
    assert!(column_strings(&back, "flags").contains(&Some(String::new())));
}

#[test]
fn inputs_without_the_optional_columns_give_null_measures_but_every_row() {
    let (i, r, a) = typed(&integrity_dir());
    let model = integrity_model();
    let full = run(inputs_of(&i, &r, &a), &model).unwrap();
    let bare = r.drop_many(["submitted_at", "respondent", "network", "comment_key"]);
    let out = run(inputs_of(&i, &bare, &a), &model).unwrap();
    let t = &out.integrity;
    assert_eq!(t.height(), full.integrity.height());
    for c in [
        "network_top_share",
        "burst_share",
        "duplicate_comment_share",
        "roaming_share",
        "z_network",
        "z_burst",
        "z_duplicate_comment",
        "z_roaming",
        "top_network",
        "top_network_n",
        "burst_start",
        "burst_n",
        "top_comment_key",
        "top_comment_n",
    ] {
        assert_eq!(t.column(c).unwrap().null_count(), t.height(), "{c}");
    }
    for c in [
        "period",
        "institution_code",
        "n",
        "all_top_share",
        "speeder_share",
        "z_all_top",
        "z_speeder",
    ] {
        assert_eq!(
            column_strings(t, c),
            column_strings(&full.integrity, c),
            "{c}"
        );
    }
    // H1's speeder flag does not need the optional columns.
    assert!(column_strings(t, "flags").contains(&Some("speeder".into())));

    // Without submitted_at only the burst goes.
    let no_time = r.drop("submitted_at").unwrap();
    let out = run(inputs_of(&i, &no_time, &a), &model).unwrap();
    let t = &out.integrity;
    assert_eq!(t.column("burst_share").unwrap().null_count(), t.height());
    assert_eq!(t.column("burst_start").unwrap().null_count(), t.height());
    for c in [
        "network_top_share",
        "duplicate_comment_share",
        "roaming_share",
    ] {
        assert_eq!(
            column_strings(t, c),
            column_strings(&full.integrity, c),
            "{c}"
        );
    }
}

#[test]
fn the_integrity_columns_change_no_indicator() {
    let model = integrity_model();
    let (i, r, a) = typed(&integrity_dir());
    let bare = r.drop_many(["submitted_at", "respondent", "network", "comment_key"]);
    let with = written(run(inputs_of(&i, &r, &a), &model).unwrap());
    let without = written(run(inputs_of(&i, &bare, &a), &model).unwrap());
    for table in TABLES {
        let file = format!("{table}.csv");
        assert_tables_match(&with.path().join(&file), &without.path().join(&file));
    }

    let model = Model::from_toml_str(synth::SAMPLE_MODEL).unwrap();
    let (i, r, a) = synth::generate(3_000, 5).unwrap();
    let bare = r.drop_many(["submitted_at", "respondent", "network", "comment_key"]);
    let with = written(run(inputs_of(&i, &r, &a), &model).unwrap());
    let without = written(run(inputs_of(&i, &bare, &a), &model).unwrap());
    for table in TABLES {
        let file = format!("{table}.csv");
        assert_tables_match(&with.path().join(&file), &without.path().join(&file));
    }
}

#[test]
fn generated_data_gives_the_same_integrity_table_from_csv_and_parquet() {
    let model = Model::from_toml_str(synth::SAMPLE_MODEL).unwrap();
    let (i, r, a) = synth::generate(20_000, 3).unwrap();
    let dirs = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for ext in ["csv", "parquet"] {
        let data = dirs.path().join(ext);
        std::fs::create_dir_all(&data).unwrap();
        for (name, df) in [("institutions", &i), ("responses", &r), ("answers", &a)] {
            write_table(&mut df.clone(), &data.join(format!("{name}.{ext}"))).unwrap();
        }
        let out = dirs.path().join(format!("out-{ext}"));
        run_and_write(inputs_in(&data, ext).unwrap(), &model, &out).unwrap();
        outs.push(out);
    }
    assert_tables_match(
        &outs[0].join("integrity.csv"),
        &outs[1].join("integrity.csv"),
    );
    // The generator exercises the stage: every measure has values.
    let out = run(inputs_of(&i, &r, &a), &model).unwrap();
    let t = &out.integrity;
    assert!(t.height() > 100);
    for c in [
        "network_top_share",
        "burst_share",
        "duplicate_comment_share",
        "roaming_share",
        "z_network",
        "z_burst",
        "z_duplicate_comment",
        "z_roaming",
    ] {
        assert!(
            t.column(c).unwrap().null_count() < t.height(),
            "{c} all null"
        );
    }
}

// ---------------------------------------------------------------------------
// Input errors

/// The integrity example with one replacement in one file; the run must
/// fail with an input error and write nothing.
fn refused(file: &str, from: &str, to: &str) -> analysis::InputError {
    let dir = tempfile::tempdir().unwrap();
    for f in [
        "institutions.csv",
        "responses.csv",
        "answers.csv",
        "model.toml",
    ] {
        std::fs::copy(integrity_dir().join(f), dir.path().join(f)).unwrap();
    }
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} has no {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    let out = dir.path().join("out");
    let result = Model::from_path(&dir.path().join("model.toml"))
        .and_then(|model| run_and_write(inputs_in(dir.path(), "csv")?, &model, &out));
    let err = result.expect_err("input must be refused");
    assert!(err.is_input(), "not an input error: {err}");
    let entries = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(entries, 0, "output written after {err}");
    err.as_input().unwrap().clone()
}

#[test]
fn malformed_or_empty_submitted_at_is_refused_naming_the_response() {
    let cases = [
        // (row to spoil, its time, replacement, key, problem)
        (
            "w1b",
            "2013-01-07T08:59:59.999+08:00",
            "2013-01-07 08:59:59.999+08:00",
            "not an RFC 3339 time",
        ),
        ("w1b", "2013-01-07T08:59:59.999+08:00", "", "is empty"),
        (
            "w2c",
            "2013-01-07T11:00:00.000Z",
            "2013-02-30T11:00:00.000Z",
            "day 30",
        ),
        (
            "w2c",
            "2013-01-07T11:00:00.000Z",
            "2013-01-07T11:00:60.000Z",
            "out of range",
        ),
        (
            "w2c",
            "2013-01-07T11:00:00.000Z",
            "2013-01-07T11:00:00.000",
            "RFC 3339",
        ),
        // Assessor and voided rows are checked too.
        (
            "w6x",
            "2013-01-07T09:00:00Z",
            "2013-01-07T09:00:00+25:00",
            "RFC 3339",
        ),
        ("w6y", "2013-01-07T09:00:00Z", "yesterday", "RFC 3339"),
    ];
    for (id, time, bad, problem) in cases {
        let line = std::fs::read_to_string(integrity_dir().join("responses.csv"))
            .unwrap()
            .lines()
            .find(|l| l.starts_with(&format!("{id},")))
            .unwrap()
            .to_owned();
        let e = refused("responses.csv", &line, &line.replacen(time, bad, 1));
        assert_eq!(
            (e.table.as_str(), e.key.as_str()),
            ("responses", format!("response_id '{id}'").as_str()),
            "{e}"
        );
        assert!(
            e.problem.contains("submitted_at") && e.problem.contains(problem),
            "{id} {bad:?}: {e}"
        );
    }
}

#[test]
fn a_hostile_submitted_at_is_quoted_short() {
    let line = "w1a,W1,citizen,2013-01,60000,false,2013-01-07T00:00:00.000Z,d1,a,x";
    let long = "9".repeat(10_000);
    let e = refused(
        "responses.csv",
        line,
        &line.replace("2013-01-07T00:00:00.000Z", &long),
    );
    assert_eq!(e.key, "response_id 'w1a'");
    assert!(e.problem.len() < 200, "{e}");
}

#[test]
fn each_bad_integrity_model_key_is_refused_by_name() {
    let model = std::fs::read_to_string(integrity_dir().join("model.toml")).unwrap();
    let cases = [
        (
            "[integrity]\nz_threshold = 0",
            "integrity.z_threshold",
            "> 0",
        ),
        (
            "[integrity]\nz_threshold = -1.5",
            "integrity.z_threshold",
            "> 0",
        ),
        (
            "[integrity]\nz_threshold = inf",
            "integrity.z_threshold",
            "finite",
        ),
        (
            "[integrity]\nscale_floor = nan",
            "integrity.scale_floor",
            "finite",
        ),
        (
            "[integrity]\nscale_floor = 0.0",
            "integrity.scale_floor",
            "> 0",
        ),
        (
            "[integrity]\nburst_window_minutes = 0",
            "integrity.burst_window_minutes",
            "at least 1",
        ),
        (
            "[integrity]\nburst_window_minutes = 30.5",
            "integrity.burst_window_minutes",
            "whole",
        ),
        (
            "[integrity]\nroaming_institutions = 1",
            "integrity.roaming_institutions",
            "at least 2",
        ),
        (
            "[integrity]\nroaming_institutions = 2.5",
            "integrity.roaming_institutions",
            "whole",
        ),
        (
            "[integrity]\nmin_baseline = 2",
            "integrity.min_baseline",
            "at least 3",
        ),
        (
            "[integrity]\nmin_baseline = 4.01",
            "integrity.min_baseline",
            "whole",
        ),
        (
            "[integrity]\nmin_comments = 1",
            "integrity.min_comments",
            "at least 2",
        ),
        (
            "[integrity]\nmin_comments = -inf",
            "integrity.min_comments",
            "finite",
        ),
        (
            "[integrity]\nmin_comments = \"3\"",
            "integrity.min_comments",
            "number",
        ),
        (
            "[integrity]\nz_treshold = 3",
            "integrity.z_treshold",
            "unknown key",
        ),
        ("integrity = 3", "integrity", "table"),
    ];
    for (section, key, problem) in cases {
        let text = if section.starts_with('[') {
            format!("{model}\n{section}\n")
        } else {
            format!("{section}\n{model}")
        };
        let err = Model::from_toml_str(&text).expect_err(section);
        let e = err.as_input().expect("an input error");
        assert_eq!(
            (e.table.as_str(), e.key.as_str()),
            ("model", key),
            "{section}: {e}"
        );
        assert!(e.problem.contains(problem), "{section}: {e}");
    }
    // Whole numbers written as floats, and every key at once, are fine.
    let text = format!(
        "{model}\n[integrity]\nz_threshold = 2\nscale_floor = 0.1\nburst_window_minutes = 60.0\n\
         roaming_institutions = 3.0\nmin_baseline = 3\nmin_comments = 2.0\n"
    );
    let m = Model::from_toml_str(&text).unwrap();
    assert_eq!(
        (
            m.integrity.burst_window_minutes,
            m.integrity.roaming_institutions
        ),
        (60, 3)
    );
}

#[test]
fn a_wider_window_and_a_lower_threshold_change_the_flags_as_the_method_says() {
    // A two-hour window takes in W1's 01:00 response: 3 of 4.
    let dir = integrity_dir();
    let model = std::fs::read_to_string(dir.join("model.toml")).unwrap();
    let wide = Model::from_toml_str(&format!(
        "{model}\n[integrity]\nburst_window_minutes = 120\n"
    ))
    .unwrap();
    let out = run(inputs_in(&dir, "csv").unwrap(), &wide).unwrap();
    let t = &out.integrity;
    let w1 = column_strings(t, "institution_code")
        .iter()
        .position(|c| c.as_deref() == Some("W1"))
        .unwrap();
    assert_eq!(column_strings(t, "burst_n")[w1].as_deref(), Some("3"));
    assert_eq!(
        column_strings(t, "burst_start")[w1].as_deref(),
        Some("2013-01-07T00:00:00.000Z")
    );
}

/// Six water institutions of four pool responses each, the first with the
/// given comment keys, the others with distinct ones; runs the integrity
/// example's model.
fn six_with_comments(first: [&str; 4]) -> DataFrame {
    let dir = tempfile::tempdir().unwrap();
    let mut institutions = String::from("institution_code,category_code,district_code\n");
    let mut responses = String::from(
        "response_id,institution_code,source,period,duration_ms,voided,submitted_at,comment_key\n",
    );
    let mut answers = String::from("response_id,item_code,dimension_code,rating\n");
    for i in 1..=6 {
        institutions.push_str(&format!("C{i},water,d1\n"));
        for (j, own) in first.iter().enumerate() {
            let comment = if i == 1 {
                (*own).to_owned()
            } else {
                format!("k{i}{j}")
            };
            responses.push_str(&format!(
                "c{i}{j},C{i},citizen,2013-01,60000,false,2013-01-07T09:00:00Z,{comment}\n"
            ));
            for item in 1..=4 {
                answers.push_str(&format!("c{i}{j},i{item},attitude,3\n"));
            }
        }
    }
    for (name, text) in [
        ("institutions", institutions),
        ("responses", responses),
        ("answers", answers),
    ] {
        std::fs::write(dir.path().join(format!("{name}.csv")), text).unwrap();
    }
    run(inputs_in(dir.path(), "csv").unwrap(), &integrity_model())
        .unwrap()
        .integrity
}

#[test]
fn a_duplicate_comment_flags_only_when_one_key_occurs_three_times() {
    let pair = six_with_comments(["same", "same", "b", "c"]);
    let row = |t: &DataFrame, c: &str| column_strings(t, c)[0].clone();
    assert_eq!(row(&pair, "institution_code").as_deref(), Some("C1"));
    assert_eq!(
        row(&pair, "duplicate_comment_share").as_deref(),
        Some("0.5")
    );
    // Median 0, MAD 0: z = 0.5 / 0.05, far past the threshold, yet a pair
    // is not a pattern.
    let z: f64 = row(&pair, "z_duplicate_comment").unwrap().parse().unwrap();
    assert!((z - 10.0).abs() < 1e-9, "{z}");
    assert_eq!(row(&pair, "top_comment_n").as_deref(), Some("2"));
    assert_eq!(row(&pair, "flags").as_deref(), Some(""));
    assert_eq!(row(&pair, "flagged").as_deref(), Some("false"));

    let three = six_with_comments(["same", "same", "same", "c"]);
    assert_eq!(row(&three, "top_comment_key").as_deref(), Some("same"));
    assert_eq!(row(&three, "top_comment_n").as_deref(), Some("3"));
    assert_eq!(row(&three, "flags").as_deref(), Some("duplicate_comment"));
    assert_eq!(row(&three, "flagged").as_deref(), Some("true"));

    // Two pairs: share 1, the top key is the smaller by code point.
    let pairs = six_with_comments(["b", "a", "b", "a"]);
    assert_eq!(
        row(&pairs, "duplicate_comment_share").as_deref(),
        Some("1.0")
    );
    assert_eq!(row(&pairs, "top_comment_key").as_deref(), Some("a"));
    // No network column: those measures are null, the rows are there.
    assert_eq!(pairs.height(), 6);
    assert_eq!(pairs.column("network_top_share").unwrap().null_count(), 6);
}

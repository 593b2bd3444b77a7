//! `pingyi analyze` on files, through the built binary, as an analyst runs it:
//! the worked example in CSV, in Parquet (as pandas or polars writes it) and
//! mixed; each kind of bad Parquet input; generated Parquet data.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use polars::prelude::*;

const TABLES: [&str; 4] = [
    "institution_indicators",
    "dimension_indicators",
    "group_indicators",
    "survey_quality",
];

fn example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/example")
}

/// The binary, with nothing of the developer's environment that could change
/// the run (settings are loaded, though the file commands need none).
fn pingyi(work: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_pingyi"))
        .args(args)
        .current_dir(work)
        .env("PINGYI_DATA_DIR", work.join("data"))
        .env("PINGYI_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn analyze(work: &Path, inputs: [&Path; 3], model: &Path, out: &Path, format: &str) -> Output {
    let s = |p: &Path| p.to_str().unwrap().to_owned();
    let args = [
        "analyze".to_owned(),
        "--institutions".into(),
        s(inputs[0]),
        "--responses".into(),
        s(inputs[1]),
        "--answers".into(),
        s(inputs[2]),
        "--model".into(),
        s(model),
        "--out".into(),
        s(out),
        "--format".into(),
        format.into(),
    ];
    pingyi(work, &args.iter().map(String::as_str).collect::<Vec<_>>())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A fixture CSV read as text, with the spec's types, as an analyst's
/// dataframe library would hold it.
fn typed(table: &str) -> DataFrame {
    let df = CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(Some(0))
        .try_into_reader_with_file_path(Some(example().join(format!("{table}.csv"))))
        .unwrap()
        .finish()
        .unwrap();
    let casts: Vec<Expr> = match table {
        "responses" => vec![
            col("duration_ms").cast(DataType::Int64),
            col("voided").eq(lit("true")),
        ],
        "answers" => vec![col("rating").cast(DataType::Int64)],
        _ => vec![],
    };
    df.lazy().with_columns(casts).collect().unwrap()
}

fn write_parquet(df: &mut DataFrame, path: &Path) {
    let file = std::fs::File::create(path).unwrap();
    ParquetWriter::new(file).finish(df).unwrap();
}

/// The example's three tables as Parquet files in `dir`, each edited by `edit`.
fn parquet_example(dir: &Path, edit: impl Fn(&str, DataFrame) -> DataFrame) -> [PathBuf; 3] {
    ["institutions", "responses", "answers"].map(|table| {
        let path = dir.join(format!("{table}.parquet"));
        write_parquet(&mut edit(table, typed(table)), &path);
        path
    })
}

fn csv_example() -> [PathBuf; 3] {
    ["institutions", "responses", "answers"].map(|t| example().join(format!("{t}.csv")))
}

/// The spec's matching: same header and rows, equal text or floats within a
/// relative 1e-9.
fn assert_csv_matches(actual: &Path, expected: &Path) {
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p:?}: {e}"));
    let (a, e) = (read(actual), read(expected));
    let (a, e): (Vec<_>, Vec<_>) = (a.lines().collect(), e.lines().collect());
    assert_eq!(a.len(), e.len(), "{expected:?}: row count");
    for (ra, re) in a.iter().zip(&e) {
        let (fa, fe): (Vec<_>, Vec<_>) = (ra.split(',').collect(), re.split(',').collect());
        assert_eq!(fa.len(), fe.len(), "{expected:?}: {ra} vs {re}");
        for (x, y) in fa.iter().zip(&fe) {
            let same = x == y
                || matches!((x.parse::<f64>(), y.parse::<f64>()), (Ok(p), Ok(q))
                    if (p - q).abs() <= 1e-9 * q.abs().max(1e-6));
            assert!(same, "{expected:?}: {ra} vs {re}");
        }
    }
}

#[test]
fn analyze_gives_the_worked_example_from_csv_parquet_and_mixed_files() {
    let work = tempfile::tempdir().unwrap();
    let parquet = work.path().join("parquet");
    std::fs::create_dir_all(&parquet).unwrap();
    let pq = parquet_example(&parquet, |_, df| df);
    let csv = csv_example();
    let model = example().join("model.toml");
    let runs: [(&str, [&Path; 3]); 3] = [
        ("csv", [&csv[0], &csv[1], &csv[2]]),
        ("parquet", [&pq[0], &pq[1], &pq[2]]),
        ("mixed", [&pq[0], &csv[1], &pq[2]]),
    ];
    for (name, inputs) in runs {
        let out = work.path().join(format!("out-{name}"));
        let run = analyze(work.path(), inputs, &model, &out, "csv");
        assert_eq!(run.status.code(), Some(0), "{name}: {}", stderr(&run));
        for table in TABLES {
            assert_csv_matches(
                &out.join(format!("{table}.csv")),
                &example().join(format!("expected/{table}.csv")),
            );
        }
    }

    // Parquet out, from Parquet in: the same tables, readable by anyone's polars.
    let out = work.path().join("out-parquet-format");
    let run = analyze(
        work.path(),
        [&pq[0], &pq[1], &pq[2]],
        &model,
        &out,
        "parquet",
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    for table in TABLES {
        let file = std::fs::File::open(out.join(format!("{table}.parquet"))).unwrap();
        let df = ParquetReader::new(file).finish().unwrap();
        let expected = std::fs::read_to_string(example().join(format!("expected/{table}.csv")))
            .unwrap()
            .lines()
            .count()
            - 1;
        assert_eq!(df.height(), expected, "{table}");
    }
}

#[test]
fn analyze_refuses_each_kind_of_bad_parquet_input_with_exit_2_and_writes_nothing() {
    // Each case spoils one table; the message must name it.
    type Spoil = fn(DataFrame) -> DataFrame;
    let cases: [(&str, &str, Spoil); 6] = [
        ("a rating stored as text", "answers", |df| {
            set(df, col("rating").cast(DataType::String))
        }),
        ("a missing column", "responses", |df| {
            df.drop("period").unwrap()
        }),
        ("a rating outside the scale", "answers", |df| {
            set(df, lit(9i64).alias("rating"))
        }),
        ("a duplicate institution", "institutions", |df| {
            df.vstack(&df.head(Some(1))).unwrap()
        }),
        ("a response of an unknown institution", "responses", |df| {
            set(df, lit("NOPE").alias("institution_code"))
        }),
        ("a malformed period", "responses", |df| {
            set(df, lit("2012-Q9").alias("period"))
        }),
    ];
    let model = example().join("model.toml");
    for (what, table, spoil) in cases {
        let work = tempfile::tempdir().unwrap();
        let pq = parquet_example(work.path(), |t, df| if t == table { spoil(df) } else { df });
        let out = work.path().join("out");
        let run = analyze(work.path(), [&pq[0], &pq[1], &pq[2]], &model, &out, "csv");
        let message = stderr(&run);
        assert_eq!(run.status.code(), Some(2), "{what}: {message}");
        assert!(message.contains(table), "{what}: {message}");
        assert!(!message.contains("panicked"), "{what}: {message}");
        assert_nothing_written(&out);
    }
}

#[test]
fn analyze_refuses_a_file_that_is_not_parquet_and_exits_1_when_it_cannot_write() {
    let work = tempfile::tempdir().unwrap();
    let mut pq = parquet_example(work.path(), |_, df| df);
    let model = example().join("model.toml");

    // Not Parquet at all: bad input naming the table.
    let fake = work.path().join("fake.parquet");
    std::fs::write(&fake, b"PAR1 this is not a parquet file").unwrap();
    let out = work.path().join("out");
    let run = analyze(work.path(), [&pq[0], &pq[1], &fake], &model, &out, "csv");
    let message = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{message}");
    assert!(message.contains("answers"), "{message}");
    assert_nothing_written(&out);

    // The output directory cannot be made (a file is in the way): not the
    // input's fault, exit 1, and nothing half-written.
    let blocker = work.path().join("blocker");
    std::fs::write(&blocker, b"").unwrap();
    let out = blocker.join("out");
    pq[2] = work.path().join("answers.parquet");
    let run = analyze(
        work.path(),
        [&pq[0], &pq[1], &pq[2]],
        &model,
        &out,
        "parquet",
    );
    assert_eq!(run.status.code(), Some(1), "{}", stderr(&run));
    assert!(!out.exists());
}

#[test]
fn analyze_runs_on_generated_parquet_data_and_matches_the_same_data_in_csv() {
    let work = tempfile::tempdir().unwrap();
    let mut outs = Vec::new();
    for format in ["parquet", "csv"] {
        let data = work.path().join(format!("data-{format}"));
        let run = pingyi(
            work.path(),
            &[
                "demo-data",
                "--responses",
                "3000",
                "--seed",
                "7",
                "--format",
                format,
                "--out",
                data.to_str().unwrap(),
            ],
        );
        assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
        let inputs =
            ["institutions", "responses", "answers"].map(|t| data.join(format!("{t}.{format}")));
        let out = work.path().join(format!("out-{format}"));
        let run = analyze(
            work.path(),
            [&inputs[0], &inputs[1], &inputs[2]],
            &data.join("model.toml"),
            &out,
            "csv",
        );
        assert_eq!(run.status.code(), Some(0), "{format}: {}", stderr(&run));
        outs.push(out);
    }
    for table in TABLES {
        let file = |dir: &Path| dir.join(format!("{table}.csv"));
        assert_csv_matches(&file(&outs[0]), &file(&outs[1]));
        let rows = std::fs::read_to_string(file(&outs[0]))
            .unwrap()
            .lines()
            .count();
        assert!(rows > 1, "{table} has rows");
    }
}

/// The table with one column computed anew.
fn set(df: DataFrame, value: Expr) -> DataFrame {
    df.lazy().with_column(value).collect().unwrap()
}

fn assert_nothing_written(out: &Path) {
    let entries = std::fs::read_dir(out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(entries, 0, "{out:?} holds files after an error");
}

fn integrity_example() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/integrity-example")
}

/// The integrity example as Parquet files in `dir` (typed as pandas or
/// polars would write them), `edit` applied to the responses.
fn integrity_parquet(dir: &Path, edit: impl Fn(DataFrame) -> DataFrame) -> [PathBuf; 3] {
    ["institutions", "responses", "answers"].map(|table| {
        let df = CsvReadOptions::default()
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .try_into_reader_with_file_path(Some(integrity_example().join(format!("{table}.csv"))))
            .unwrap()
            .finish()
            .unwrap();
        let mut df = match table {
            "responses" => edit(
                df.lazy()
                    .with_columns([
                        col("duration_ms").cast(DataType::Int64),
                        col("voided").eq(lit("true")),
                    ])
                    .collect()
                    .unwrap(),
            ),
            "answers" => set(df, col("rating").cast(DataType::Int64)),
            _ => df,
        };
        let path = dir.join(format!("{table}.parquet"));
        write_parquet(&mut df, &path);
        path
    })
}

#[test]
fn analyze_writes_the_integrity_table_of_the_worked_example_from_csv_and_parquet() {
    let work = tempfile::tempdir().unwrap();
    let csv = ["institutions", "responses", "answers"]
        .map(|t| integrity_example().join(format!("{t}.csv")));
    let pq = integrity_parquet(work.path(), |df| df);
    let model = integrity_example().join("model.toml");
    for (name, inputs) in [("csv", &csv), ("parquet", &pq)] {
        let out = work.path().join(format!("out-{name}"));
        let run = analyze(
            work.path(),
            [&inputs[0], &inputs[1], &inputs[2]],
            &model,
            &out,
            "csv",
        );
        assert_eq!(run.status.code(), Some(0), "{name}: {}", stderr(&run));
        assert_csv_matches(
            &out.join("integrity.csv"),
            &integrity_example().join("expected/integrity.csv"),
        );
        // Beside the four indicator tables.
        for table in TABLES {
            assert!(out.join(format!("{table}.csv")).exists(), "{name}: {table}");
        }
    }
    // Parquet out: the same rows, flags never null.
    let out = work.path().join("out-parquet-format");
    let run = analyze(
        work.path(),
        [&pq[0], &pq[1], &pq[2]],
        &model,
        &out,
        "parquet",
    );
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    let file = std::fs::File::open(out.join("integrity.parquet")).unwrap();
    let df = ParquetReader::new(file).finish().unwrap();
    assert_eq!(df.height(), 9);
    assert_eq!(df.column("flags").unwrap().null_count(), 0);
}

#[test]
fn analyze_refuses_a_malformed_submitted_at_with_exit_2_and_writes_nothing() {
    let work = tempfile::tempdir().unwrap();
    let model = integrity_example().join("model.toml");

    // CSV: one time with a space for the T.
    let csv_dir = work.path().join("csv");
    std::fs::create_dir_all(&csv_dir).unwrap();
    for t in ["institutions", "answers"] {
        std::fs::copy(
            integrity_example().join(format!("{t}.csv")),
            csv_dir.join(format!("{t}.csv")),
        )
        .unwrap();
    }
    let responses = std::fs::read_to_string(integrity_example().join("responses.csv")).unwrap();
    std::fs::write(
        csv_dir.join("responses.csv"),
        responses.replacen("2013-01-07T05:00:00.000Z", "2013-01-07 05:00:00.000Z", 1),
    )
    .unwrap();
    let csv = ["institutions", "responses", "answers"].map(|t| csv_dir.join(format!("{t}.csv")));
    let out = work.path().join("out-csv");
    let run = analyze(
        work.path(),
        [&csv[0], &csv[1], &csv[2]],
        &model,
        &out,
        "csv",
    );
    let message = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{message}");
    assert!(
        message.contains("responses")
            && message.contains("w1d")
            && message.contains("submitted_at"),
        "{message}"
    );
    assert_nothing_written(&out);

    // Parquet: an empty string on an assessor's row.
    let pq_dir = work.path().join("pq");
    std::fs::create_dir_all(&pq_dir).unwrap();
    let pq = integrity_parquet(&pq_dir, |df| {
        set(
            df,
            when(col("response_id").eq(lit("w6x")))
                .then(lit(""))
                .otherwise(col("submitted_at"))
                .alias("submitted_at"),
        )
    });
    let out = work.path().join("out-parquet");
    let run = analyze(
        work.path(),
        [&pq[0], &pq[1], &pq[2]],
        &model,
        &out,
        "parquet",
    );
    let message = stderr(&run);
    assert_eq!(run.status.code(), Some(2), "{message}");
    assert!(
        message.contains("w6x") && message.contains("submitted_at is empty"),
        "{message}"
    );
    assert_nothing_written(&out);
}

//! `pingyi export`, `pingyi analyze` on files and `pingyi analyze --period`
//! on the database, through the real binary.

use std::path::Path;
use std::process::Command;

use crate::helpers::*;
use sea_orm::ConnectionTrait;

use crate::helpers::office::responses;

pub fn pingyi(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_pingyi"))
        .args(args)
        .env("PINGYI_DATABASE_URL", app.state.settings.database_url())
        .env("PINGYI_DATA_DIR", &app.state.settings.data_dir)
        .env("PINGYI_SECRET", "test-secret-test-secret-test-secret-0123")
        .env("PINGYI_LOG", "warn")
        .output()
        .expect("the binary runs")
}

fn read(dir: &Path, table: &str) -> String {
    std::fs::read_to_string(dir.join(format!("{table}.csv"))).unwrap()
}

#[actix_web::test]
async fn export_then_analyze_on_files_equals_analyze_on_the_database() {
    let app = spawn_app().await;
    for (code, rating, period) in [
        ("water-01", 2, "2026-01"),
        ("water-02", 5, "2026-01"),
        ("water-01", 4, "2026-02"),
        ("power-01", 3, "2026-02"),
    ] {
        responses(&app, code, period, 4, rating, Some("意见")).await;
    }
    // A voided response must travel through the export, flagged.
    let voided = responses(&app, "water-03", "2026-02", 2, 1, None).await[0];
    app.db
        .execute_unprepared(&format!(
            "UPDATE response SET voided = true WHERE id = {voided}"
        ))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (exported, from_files, from_db) = (
        dir.path().join("export"),
        dir.path().join("files"),
        dir.path().join("db"),
    );

    let out = pingyi(
        &app,
        &[
            "export",
            "--period",
            "2026-02",
            "--out",
            exported.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        read(&exported, "responses").contains(",true"),
        "voided responses are exported, flagged"
    );
    let out = pingyi(
        &app,
        &[
            "analyze",
            "--institutions",
            exported.join("institutions.csv").to_str().unwrap(),
            "--responses",
            exported.join("responses.csv").to_str().unwrap(),
            "--answers",
            exported.join("answers.csv").to_str().unwrap(),
            "--model",
            exported.join("model.toml").to_str().unwrap(),
            "--out",
            from_files.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = pingyi(
        &app,
        &[
            "analyze",
            "--period",
            "2026-02",
            "--out",
            from_db.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The same through Parquet: `export --format parquet`, then `analyze` on
    // those files (the run that panicked in polars before).
    let (exported_pq, from_parquet) = (dir.path().join("export-pq"), dir.path().join("pq"));
    let out = pingyi(
        &app,
        &[
            "export",
            "--period",
            "2026-02",
            "--format",
            "parquet",
            "--out",
            exported_pq.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = |name: &str| exported_pq.join(name).to_str().unwrap().to_owned();
    let out = pingyi(
        &app,
        &[
            "analyze",
            "--institutions",
            &file("institutions.parquet"),
            "--responses",
            &file("responses.parquet"),
            "--answers",
            &file("answers.parquet"),
            "--model",
            &file("model.toml"),
            "--out",
            from_parquet.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    for table in [
        "institution_indicators",
        "dimension_indicators",
        "group_indicators",
        "survey_quality",
    ] {
        let (a, b) = (read(&from_files, table), read(&from_db, table));
        assert_eq!(a, b, "{table}");
        assert_eq!(read(&from_parquet, table), b, "{table} from Parquet");
        assert!(a.lines().count() > 1, "{table} has rows");
    }
    assert!(
        read(&from_db, "institution_indicators").contains("2026-01"),
        "the previous period is included for delta_prev"
    );
}

#[actix_web::test]
async fn analyze_exits_2_on_bad_input_and_writes_nothing() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/example");
    let answers = dir.path().join("answers.csv");
    let text = std::fs::read_to_string(fixtures.join("answers.csv")).unwrap();
    std::fs::write(
        &answers,
        text.replacen("r01,att1,attitude,4", "r01,att1,attitude,9", 1),
    )
    .unwrap();
    let out_dir = dir.path().join("out");
    let out = pingyi(
        &app,
        &[
            "analyze",
            "--institutions",
            fixtures.join("institutions.csv").to_str().unwrap(),
            "--responses",
            fixtures.join("responses.csv").to_str().unwrap(),
            "--answers",
            answers.to_str().unwrap(),
            "--model",
            fixtures.join("model.toml").to_str().unwrap(),
            "--out",
            out_dir.to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let message = String::from_utf8_lossy(&out.stderr);
    assert!(
        message.contains("answers") && message.contains("r01") && message.contains('9'),
        "{message}"
    );
    assert!(!out_dir.join("institution_indicators.csv").exists());
}

//! What a submission keeps for the integrity checks: a keyed hash of the
//! client's network and of the normalised comment, never the address or
//! the text's normal form.

use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::*;

/// (institution code, network hash, comment key) of every response, by id.
async fn keys_of(app: &TestApp) -> Vec<(String, Option<String>, Option<String>)> {
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            "SELECT i.code, r.network_hash, r.comment_key FROM response r \
             JOIN institution i ON i.id = r.institution_id ORDER BY r.id"
                .to_owned(),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
                r.try_get_by_index(2).unwrap(),
            )
        })
        .collect()
}

/// Rates `code` from a new device at `ip`, with `comment` if given.
async fn rate_with(app: &TestApp, ip: &str, code: &str, comment: Option<&str>) {
    let browser = app.browser(ip);
    let form = browser.form(app, code).await;
    let mut fields = with_form(&form, water_answers());
    if let Some(c) = comment {
        set(&mut fields, "comment", c);
    }
    let status = browser.post(app, code, &fields).await.status();
    assert_eq!(status, StatusCode::SEE_OTHER, "{ip} rates {code}");
}

#[actix_web::test]
async fn a_submission_keeps_keyed_hashes_of_its_network_and_normalised_comment() {
    let app = spawn_app().await;
    rate_with(
        &app,
        "198.51.100.7",
        "water-01",
        Some("服务很好，非常满意！"),
    )
    .await;
    // Same /24, and the same praise give or take spacing and punctuation.
    rate_with(
        &app,
        "198.51.100.201",
        "water-02",
        Some(" 服务很好 非常满意!! "),
    )
    .await;
    // Another /24; a comment of punctuation only; no comment.
    rate_with(&app, "198.51.101.7", "water-03", Some("！！！")).await;
    rate_with(&app, "2001:db8:7:1::5", "water-04", None).await;
    rate_with(&app, "2001:db8:7:ff::9", "water-05", Some("窗口人少")).await;

    let rows = keys_of(&app).await;
    assert_eq!(rows.len(), 5);
    let network = |i: usize| rows[i].1.clone().expect("a network hash");
    let comment = |i: usize| rows[i].2.clone();
    assert_eq!(network(0), network(1), "one IPv4 /24, one network");
    assert_ne!(network(0), network(2), "another /24");
    assert_eq!(network(3), network(4), "one IPv6 /48, one network");
    assert_ne!(network(2), network(3));
    assert!(comment(0).is_some());
    assert_eq!(comment(0), comment(1), "the same text once normalised");
    assert_eq!(comment(2), None, "nothing left of the comment");
    assert_eq!(comment(3), None, "no comment");
    assert!(comment(4).is_some() && comment(4) != comment(0));
    for (_, network, key) in &rows {
        for value in network.iter().chain(key) {
            assert_eq!(value.len(), 64, "a keyed hash: {value}");
            assert!(
                !value.contains("198.51") && !value.contains("2001:db8"),
                "never the address: {value}"
            );
        }
    }
    // The comment itself is kept as written (the office reads it).
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE comment = '服务很好，非常满意！'")
            .await,
        1
    );
}

#[actix_web::test]
async fn rows_stored_before_the_integrity_migration_keep_nulls() {
    use migration::{Migrator, MigratorTrait};
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("m.db").display());
    let db = pingyi::db::connect(&url).await.unwrap();
    let names: Vec<String> = Migrator::migrations()
        .iter()
        .map(|m| m.name().to_owned())
        .collect();
    let at = names
        .iter()
        .position(|n| n == "m20261203_000001_add_response_integrity_keys")
        .expect("the integrity migration is registered") as u32;
    Migrator::up(&db, Some(at)).await.unwrap();
    let sql = |s: &str| Statement::from_string(db.get_database_backend(), s.to_owned());
    for s in [
        "INSERT INTO category (id, code, name_zh, name_en) VALUES (1, 'c', 'c', 'c')",
        "INSERT INTO district (id, code, name_zh, name_en) VALUES (1, 'd', 'd', 'd')",
        "INSERT INTO institution (id, code, name_zh, name_en, category_id, district_id, address, active) \
         VALUES (1, 'i', 'i', 'i', 1, 1, '', true)",
        "INSERT INTO questionnaire (id, category_id, version, created_at) VALUES (1, 1, 1, '2026-01-01T00:00:00Z')",
        "INSERT INTO response (institution_id, questionnaire_id, source, period, submitted_at, \
         channel, respondent_hash, comment, voided) VALUES \
         (1, 1, 'citizen', '2026-11', '2026-11-02T08:00:00Z', 'web', 'h', '很好', false)",
    ] {
        db.execute_raw(sql(s)).await.unwrap();
    }
    Migrator::up(&db, None).await.unwrap();
    let row = db
        .query_one_raw(sql(
            "SELECT network_hash, comment_key, comment FROM response",
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<Option<String>>(0).unwrap(), None);
    assert_eq!(row.try_get_by_index::<Option<String>>(1).unwrap(), None);
    assert_eq!(row.try_get_by_index::<String>(2).unwrap(), "很好");
    // And back down: the columns go, the row stays.
    Migrator::down(&db, Some(names.len() as u32 - at))
        .await
        .unwrap();
    assert!(
        db.query_one_raw(sql("SELECT network_hash FROM response"))
            .await
            .is_err()
    );
    let n = db
        .query_one_raw(sql("SELECT COUNT(*) FROM response"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(n.try_get_by_index::<i64>(0).unwrap(), 1);
}

/// The rows of a CSV table as maps from column to text.
fn csv_rows(path: &std::path::Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut reader = csv::Reader::from_path(path).unwrap();
    let headers = reader.headers().unwrap().clone();
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            headers
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

#[actix_web::test]
async fn pingyi_export_writes_the_integrity_columns_that_pingyi_analyze_reads() {
    use crate::analysis_cli::pingyi;
    use crate::integrity_support::{PERIOD, plant};
    let app = spawn_app().await;
    let planted = plant(&app).await;
    // And one real submission, with what the server keeps of it.
    let now = pingyi::domain::period::Period::containing(
        chrono::Utc::now(),
        app.state.settings.period,
        app.state.settings.utc_offset_hours,
    );
    rate_with(&app, "198.51.100.7", "water-01", Some("很好")).await;

    let dir = tempfile::tempdir().unwrap();
    let ok = |out: std::process::Output| {
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let path = |p: &std::path::Path| p.to_str().unwrap().to_owned();
    let (exported, from_files, from_db) = (
        dir.path().join("export"),
        dir.path().join("files"),
        dir.path().join("db"),
    );
    ok(pingyi(
        &app,
        &["export", "--period", PERIOD, "--out", &path(&exported)],
    ));
    let responses = csv_rows(&exported.join("responses.csv"));
    assert_eq!(responses.len(), 8 * 32 + 4 * 10);
    assert_eq!(
        planted.all.values().map(Vec::len).sum::<usize>(),
        responses.len()
    );
    for r in &responses {
        let at = &r["submitted_at"];
        assert!(
            at.len() == 24 && at.starts_with("2026-10-") && at.ends_with(".000Z"),
            "RFC 3339 in UTC, milliseconds: {at}"
        );
        assert!(!r["respondent"].is_empty() && !r["network"].is_empty());
    }
    let pasted = responses
        .iter()
        .filter(|r| r["comment_key"] == "pasted")
        .count();
    assert_eq!(pasted, 12);
    assert!(
        responses
            .iter()
            .all(|r| !r.values().any(|v| v.contains("非常满意"))),
        "no comment text leaves the database"
    );

    let file = |name: &str| path(&exported.join(name));
    ok(pingyi(
        &app,
        &[
            "analyze",
            "--institutions",
            &file("institutions.csv"),
            "--responses",
            &file("responses.csv"),
            "--answers",
            &file("answers.csv"),
            "--model",
            &file("model.toml"),
            "--out",
            &path(&from_files),
        ],
    ));
    ok(pingyi(
        &app,
        &["analyze", "--period", PERIOD, "--out", &path(&from_db)],
    ));
    let text = |dir: &std::path::Path| std::fs::read_to_string(dir.join("integrity.csv")).unwrap();
    assert_eq!(
        text(&from_files),
        text(&from_db),
        "files and database agree"
    );

    let rows = csv_rows(&from_files.join("integrity.csv"));
    let row = |code: &str| {
        rows.iter()
            .find(|r| r["period"] == PERIOD && r["institution_code"] == code)
            .unwrap_or_else(|| panic!("a row for {code}"))
    };
    for (code, flags, evidence) in [
        ("water-01", "network", "top_network_n"),
        ("water-02", "duplicate_comment", "top_comment_n"),
        ("water-03", "burst", "burst_n"),
    ] {
        assert_eq!(row(code)["flags"], flags, "{code}");
        let n = planted.behind[code].len().to_string();
        assert_eq!(row(code)[evidence], n, "{code} {evidence}");
    }
    for (code, flags) in [
        ("water-04", "all_top"),
        ("water-05", "roaming"),
        ("water-06", ""),
        ("water-07", ""),
        ("water-08", ""),
    ] {
        assert_eq!(row(code)["flags"], flags, "{code}");
    }
    assert_eq!(row("water-04")["all_top_share"], "0.625");
    assert_eq!(row("water-05")["roaming_share"], "0.3125");
    assert_eq!(row("water-01")["top_network"], "office-wifi");
    assert_eq!(row("water-02")["top_comment_key"], "pasted");
    assert_eq!(row("water-03")["burst_start"], "2026-10-17T13:12:00.000Z");
    assert_eq!(
        row("power-01")["z_roaming"],
        "",
        "a small pool is never judged"
    );

    // The current period's one real response travels with its hashes.
    let current = dir.path().join("current");
    ok(pingyi(
        &app,
        &[
            "export",
            "--period",
            &now.to_string(),
            "--out",
            &path(&current),
        ],
    ));
    let real = csv_rows(&current.join("responses.csv"));
    let real = real
        .iter()
        .find(|r| r["period"] == now.to_string())
        .unwrap();
    assert_eq!(real["network"].len(), 64);
    assert_eq!(real["comment_key"].len(), 64);
    assert_eq!(real["respondent"].len(), 64);
}

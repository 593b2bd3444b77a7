//! Publishing, snapshots, the scores API, rectification and appeals.

use pingyi::app::frames::{self, Cell};
use pingyi::domain::office::Role;
use polars::prelude::{DataFrame, IntoLazy};
use reqwest::StatusCode;

use crate::helpers::office::*;
use crate::helpers::*;

async fn bytes(app: &TestApp, browser: &Browser, path: &str) -> Vec<u8> {
    let r = browser.client.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.bytes().await.unwrap().to_vec()
}

async fn parquet(app: &TestApp, browser: &Browser, path: &str) -> DataFrame {
    frames::from_parquet(&bytes(app, browser, path).await).unwrap()
}

#[actix_web::test]
async fn publishing_freezes_the_period_for_citizens_until_an_administrator_reopens_it() {
    let app = spawn_app().await;
    let citizen = app.browser("198.51.100.40");
    let form = citizen.form(&app, "water-01").await;
    let r = citizen
        .post(&app, "water-01", &with_form(&form, water_answers()))
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let thanks = citizen
        .get(&app, "/s/water-01/thanks")
        .await
        .text()
        .await
        .unwrap();
    assert!(!thanks.contains("/results/"), "nothing published yet");

    let period = pingyi::domain::period::Period::containing(
        chrono::Utc::now(),
        app.state.settings.period,
        app.state.settings.utc_offset_hours,
    )
    .to_string();
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let published = publish(&app, &admin, &csrf, &period).await;
    assert_eq!(published["snapshot"]["period"], period.as_str());
    assert_eq!(published["snapshot"]["input_rows"]["responses"], 1);
    assert_eq!(
        published["snapshot"]["input_hash"].as_str().unwrap().len(),
        64
    );
    assert!(
        published["snapshot"]["code_version"]
            .as_str()
            .unwrap()
            .starts_with(env!("CARGO_PKG_VERSION"))
    );

    // The thank-you page now links to the results.
    let thanks = citizen
        .get(&app, "/s/water-01/thanks")
        .await
        .text()
        .await
        .unwrap();
    assert!(thanks.contains(&format!("/results/{period}")));
    let results = citizen.get(&app, &format!("/results/{period}")).await;
    assert_eq!(results.status(), StatusCode::OK);
    assert!(results.text().await.unwrap().contains("第1供水营业厅"));

    // Citizens get a clear message and nothing is stored.
    let other = app.browser("198.51.100.41");
    let closed = other.get(&app, "/s/water-02").await;
    assert_eq!(closed.status(), StatusCode::CONFLICT);
    assert!(closed.text().await.unwrap().contains("本期测评已结束"));
    let r = citizen
        .post(&app, "water-01", &with_form(&form, water_answers()))
        .await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("本期测评已结束"));
    assert_eq!(app.responses().await, 1);

    // Reopening needs a reason and is audited.
    let no_reason = admin
        .client
        .post(app.url(&format!("/api/v1/periods/{period}/reopen")))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"reason": " "}))
        .send()
        .await
        .unwrap();
    assert_eq!(no_reason.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let reopened = admin
        .client
        .post(app.url(&format!("/api/v1/periods/{period}/reopen")))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"reason": "late assessor data"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reopened.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        other.get(&app, "/s/water-02").await.status(),
        StatusCode::OK
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'period.reopen' AND detail = 'late assessor data'").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'period.publish'")
            .await,
        1
    );

    // Republishing keeps the old snapshot.
    publish(&app, &admin, &csrf, &period).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshot").await, 2);
    // A period without responses is refused by name.
    let empty = admin
        .client
        .post(app.url("/api/v1/periods/2001-01/publish"))
        .header("x-csrf-token", &csrf)
        .send()
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM period_state WHERE period = '2001-01' AND frozen")
            .await,
        0,
        "a failed publication leaves the period open"
    );
}

/// Two periods of data over two categories, with water-01 doing badly in
/// the first.
async fn two_periods(app: &TestApp) {
    for (code, rating) in [
        ("water-01", 2),
        ("water-02", 5),
        ("water-03", 4),
        ("power-01", 3),
        ("power-02", 5),
    ] {
        responses(app, code, "2026-01", 4, rating, Some("意见")).await;
    }
    for (code, rating) in [
        ("water-01", 5),
        ("water-02", 5),
        ("water-03", 3),
        ("power-01", 4),
        ("power-02", 4),
    ] {
        responses(app, code, "2026-02", 3, rating, None).await;
    }
}

#[actix_web::test]
async fn recomputing_from_a_snapshots_export_gives_identical_figures() {
    let app = spawn_app().await;
    two_periods(&app).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let published = publish(&app, &admin, &csrf, "2026-02").await;
    let run = published["snapshot"]["run_id"].as_str().unwrap().to_owned();
    // Later data do not change a snapshot.
    responses(&app, "water-02", "2026-03", 2, 1, None).await;

    let institutions = parquet(
        &app,
        &admin,
        &format!("/api/v1/snapshots/{run}/export?table=institutions&format=parquet"),
    )
    .await;
    let responses_df = parquet(
        &app,
        &admin,
        &format!("/api/v1/snapshots/{run}/export?table=responses&format=parquet"),
    )
    .await;
    let answers = parquet(
        &app,
        &admin,
        &format!("/api/v1/snapshots/{run}/export?table=answers&format=parquet"),
    )
    .await;
    assert_eq!(
        responses_df.height(),
        5 * 4 + 5 * 3,
        "the export holds the period and the one before"
    );
    let model_toml =
        String::from_utf8(bytes(&app, &admin, &format!("/api/v1/snapshots/{run}/model")).await)
            .unwrap();
    let model = analysis::Model::from_toml_str(&model_toml).unwrap();
    // Polars blocks: off the test's single-threaded runtime.
    let out = std::thread::spawn(move || {
        analysis::run(
            analysis::Inputs {
                institutions: institutions.lazy(),
                responses: responses_df.lazy(),
                answers: answers.lazy(),
            },
            &model,
        )
        .unwrap()
    })
    .join()
    .unwrap();
    for (table, recomputed) in [
        ("institution", &out.institution_indicators),
        ("dimension", &out.dimension_indicators),
        ("group", &out.group_indicators),
        ("quality", &out.survey_quality),
        ("integrity", &out.integrity),
    ] {
        let recomputed = frames::filter_eq(recomputed, "period", "2026-02").unwrap();
        let published = parquet(
            &app,
            &admin,
            &format!("/api/v1/indicators?run={run}&table={table}&format=parquet"),
        )
        .await;
        assert!(published.height() > 0, "{table}");
        assert!(
            published.equals_missing(&recomputed),
            "{table}: published\n{published}\nrecomputed\n{recomputed}"
        );
    }
    // The CSV export hashes to the snapshot's input hash.
    let mut hasher = <sha2::Sha256 as sha2::Digest>::new();
    for table in ["institutions", "responses", "answers"] {
        let csv = bytes(
            &app,
            &admin,
            &format!("/api/v1/snapshots/{run}/export?table={table}"),
        )
        .await;
        sha2::Digest::update(&mut hasher, &csv);
    }
    assert_eq!(
        hex::encode(sha2::Digest::finalize(hasher)),
        published["snapshot"]["input_hash"].as_str().unwrap()
    );
}

fn cells_of(df: &DataFrame) -> Vec<(String, Vec<Cell>)> {
    frames::cells(df).unwrap()
}

#[actix_web::test]
async fn the_scores_api_in_each_format_parses_back_to_the_same_values() {
    let app = spawn_app().await;
    two_periods(&app).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    publish(&app, &admin, &csrf, "2026-02").await;
    let token = pingyi::db::users::issue_api_token(&app.db, &app.state.keys, "model", None, None)
        .await
        .unwrap()
        .token;
    for table in ["institution", "dimension", "group", "quality", "integrity"] {
        let reference = parquet(
            &app,
            &admin,
            &format!("/api/v1/indicators?period=2026-02&table={table}&format=parquet"),
        )
        .await;
        let expected = cells_of(&reference);
        assert!(reference.height() > 0);

        // JSON
        let json: serde_json::Value = get_with_token(
            &app,
            &format!("/api/v1/indicators?period=2026-02&table={table}"),
            &token,
        )
        .await
        .json()
        .await
        .unwrap();
        let rows = json["rows"].as_array().unwrap();
        assert_eq!(rows.len(), reference.height(), "{table}");
        for (name, values) in &expected {
            for (row, cell) in rows.iter().zip(values) {
                let v = &row[name];
                match cell {
                    Cell::Null => assert!(v.is_null(), "{table}.{name}"),
                    Cell::Text(s) => assert_eq!(v.as_str(), Some(s.as_str())),
                    Cell::Int(i) => assert_eq!(v.as_i64(), Some(*i)),
                    Cell::Float(f) => assert_eq!(v.as_f64(), Some(*f), "{table}.{name} exactly"),
                    Cell::Bool(b) => assert_eq!(v.as_bool(), Some(*b)),
                }
            }
        }

        // CSV
        let csv = get_with_token(
            &app,
            &format!("/api/v1/indicators?period=2026-02&table={table}&format=csv"),
            &token,
        )
        .await
        .text()
        .await
        .unwrap();
        let mut reader = csv::Reader::from_reader(csv.as_bytes());
        let header: Vec<String> = reader
            .headers()
            .unwrap()
            .iter()
            .map(str::to_owned)
            .collect();
        assert_eq!(
            header,
            expected.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>()
        );
        for (r, record) in reader.records().enumerate() {
            let record = record.unwrap();
            for (c, (name, values)) in expected.iter().enumerate() {
                let field = &record[c];
                match &values[r] {
                    Cell::Null => assert_eq!(field, "", "{table}.{name}"),
                    Cell::Text(s) => assert_eq!(field, s),
                    Cell::Int(i) => assert_eq!(field.parse::<i64>().unwrap(), *i),
                    Cell::Float(f) => {
                        assert_eq!(field.parse::<f64>().unwrap(), *f, "{table}.{name} exactly")
                    }
                    Cell::Bool(b) => assert_eq!(field, if *b { "true" } else { "false" }),
                }
            }
        }

        // XLSX
        let xlsx = get_with_token(
            &app,
            &format!("/api/v1/indicators?period=2026-02&table={table}&format=xlsx"),
            &token,
        )
        .await
        .bytes()
        .await
        .unwrap();
        use calamine::{Data, Reader, Xlsx};
        let mut book: Xlsx<_> =
            calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx.to_vec())).unwrap();
        let range = book.worksheet_range_at(0).unwrap().unwrap();
        let grid: Vec<Vec<Data>> = range.rows().map(|r| r.to_vec()).collect();
        for (c, (name, values)) in expected.iter().enumerate() {
            assert_eq!(grid[0][c], Data::String(name.clone()));
            for (r, cell) in values.iter().enumerate() {
                let got = grid
                    .get(r + 1)
                    .and_then(|row| row.get(c))
                    .cloned()
                    .unwrap_or(Data::Empty);
                match cell {
                    Cell::Null => assert_eq!(got, Data::Empty, "{table}.{name}"),
                    // A spreadsheet keeps no empty text: an integrity row
                    // without flags (`flags` = "") is a blank cell.
                    Cell::Text(s) if s.is_empty() => {
                        assert!(got == Data::Empty || got == Data::String(String::new()))
                    }
                    Cell::Text(s) => assert_eq!(got, Data::String(s.clone())),
                    Cell::Int(i) => assert_eq!(got, Data::Float(*i as f64)),
                    Cell::Float(f) => assert_eq!(got, Data::Float(*f), "{table}.{name} exactly"),
                    Cell::Bool(b) => assert_eq!(got, Data::Bool(*b)),
                }
            }
        }
    }
    // Filters.
    let water: serde_json::Value =
        get_with_token(&app, "/api/v1/indicators?category=water", &token)
            .await
            .json()
            .await
            .unwrap();
    let rows = water["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert!(rows.iter().all(|r| r["category_code"] == "water"));
    let dims: serde_json::Value = get_with_token(
        &app,
        "/api/v1/indicators?category=power&table=dimension",
        &token,
    )
    .await
    .json()
    .await
    .unwrap();
    assert!(dims["rows"].as_array().unwrap().iter().all(|r| {
        r["institution_code"]
            .as_str()
            .unwrap()
            .starts_with("power-")
    }));
    for bad in [
        "/api/v1/indicators?category=nope",
        "/api/v1/indicators?table=quality&district=haidian",
        "/api/v1/indicators?format=pdf",
        "/api/v1/indicators?period=2026-2",
        "/api/v1/indicators?colour=red",
    ] {
        let r = get_with_token(&app, bad, &token).await;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
        let body: serde_json::Value = r.json().await.unwrap();
        assert!(body["error"].is_string() && body["message"].is_string());
    }
    assert_eq!(
        get_with_token(&app, "/api/v1/indicators?period=2025-01", &token)
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // The OpenAPI document names the endpoints.
    let doc: serde_json::Value = reqwest::get(app.url("/api/docs/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for path in [
        "/api/v1/indicators",
        "/api/v1/periods/{period}/publish",
        "/api/v1/uploads",
    ] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    let ui = reqwest::get(app.url("/api/docs/")).await.unwrap();
    assert_eq!(ui.status(), StatusCode::OK);
    assert!(ui.text().await.unwrap().contains("swagger"));
}

fn location(r: &reqwest::Response) -> String {
    r.headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[actix_web::test]
async fn rectification_runs_from_publication_to_follow_up_across_two_periods() {
    let app = spawn_app_with(|s| s.rectification_working_days = 15).await;
    two_periods(&app).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let (analyst, analyst_csrf) = office_browser(&app, "ana", Role::Analyst, None).await;
    let (inst, inst_csrf) =
        office_browser(&app, "water1", Role::Institution, Some("water-01")).await;
    let (other, other_csrf) =
        office_browser(&app, "water2", Role::Institution, Some("water-02")).await;

    let published = publish(&app, &admin, &csrf, "2026-01").await;
    assert!(published["rectification"]["opened"].as_u64().unwrap() >= 1);
    let id = app.count("SELECT id FROM rectification_task WHERE institution_id = (SELECT id FROM institution WHERE code = 'water-01')").await;
    assert_eq!(app.count("SELECT COUNT(*) FROM rectification_task WHERE institution_id = (SELECT id FROM institution WHERE code = 'water-02')").await, 0);
    let task_page = inst
        .get(&app, &format!("/office/rectification/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(
        task_page.contains("低于 70"),
        "the reasons name the score: {task_page}"
    );
    assert_eq!(
        other
            .get(&app, &format!("/office/rectification/{id}"))
            .await
            .status(),
        StatusCode::NOT_FOUND,
        "another institution's task is hidden"
    );

    let step = |b: &Browser, csrf: &str, step: &str, text: &str| {
        let (b, csrf, step, text) = (
            b.client.clone(),
            csrf.to_owned(),
            step.to_owned(),
            text.to_owned(),
        );
        let url = app.url(&format!("/office/rectification/{id}"));
        async move {
            b.post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("step", step.as_str()),
                    ("text", text.as_str()),
                ])
                .send()
                .await
                .unwrap()
        }
    };
    assert_eq!(
        step(&other, &other_csrf, "submit_plan", "x").await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        step(&inst, &inst_csrf, "submit_report", "too early")
            .await
            .status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        location(&step(&inst, &inst_csrf, "submit_plan", "增加窗口").await),
        format!("/office/rectification/{id}")
    );
    assert_eq!(
        step(&analyst, &analyst_csrf, "accept_plan", "")
            .await
            .status(),
        StatusCode::FORBIDDEN,
        "analysts read only"
    );
    assert_eq!(
        step(&admin, &csrf, "return_plan", "请细化").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        step(
            &inst,
            &inst_csrf,
            "submit_plan",
            "增加两个窗口，延长营业时间"
        )
        .await
        .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        step(&admin, &csrf, "accept_plan", "同意").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        step(&inst, &inst_csrf, "submit_report", "已完成")
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        step(&admin, &csrf, "accept_report", "").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count(&format!("SELECT COUNT(*) FROM rectification_task WHERE id = {id} AND status = 'completed' AND plan LIKE '%两个窗口%'")).await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action LIKE 'rectification.%'")
            .await,
        3,
        "each review is audited"
    );

    // Overdue tasks are highlighted.
    sea_orm::ConnectionTrait::execute_unprepared(&app.db, "UPDATE rectification_task SET status = 'open', deadline = '2000-01-03' WHERE institution_id <> (SELECT id FROM institution WHERE code = 'water-01')").await.unwrap();
    let list = admin
        .get(&app, "/office/rectification")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        app.count("SELECT COUNT(*) FROM rectification_task WHERE status = 'open'")
            .await
            > 0,
        "power-01 is flagged too"
    );
    assert!(list.contains("class=\"overdue\"") && list.contains("逾期任务"));

    // The next published period closes the loop.
    publish(&app, &admin, &csrf, "2026-02").await;
    assert_eq!(
        app.count(&format!("SELECT COUNT(*) FROM rectification_task WHERE id = {id} AND followup_period = '2026-02' AND score_change > 0 AND still_flagged = false")).await,
        1
    );
    let page = inst
        .get(&app, &format!("/office/rectification/{id}"))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("已不在整改名单"));
    let results = app
        .browser("198.51.100.50")
        .get(&app, "/results/2026-01")
        .await
        .text()
        .await
        .unwrap();
    assert!(results.contains("已完成整改"));
}

#[actix_web::test]
async fn an_upheld_appeal_changes_the_next_computation_and_nothing_else() {
    let app = spawn_app().await;
    two_periods(&app).await;
    let malicious = responses(&app, "water-01", "2026-01", 1, 1, Some("恶意差评")).await[0];
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let (inst, inst_csrf) =
        office_browser(&app, "water1", Role::Institution, Some("water-01")).await;
    let first = publish(&app, &admin, &csrf, "2026-01").await;
    let run_a = first["snapshot"]["run_id"].as_str().unwrap().to_owned();
    let mut before: Vec<Vec<u8>> = Vec::new();
    for t in ["institution", "dimension", "group", "quality"] {
        before.push(
            bytes(
                &app,
                &admin,
                &format!("/api/v1/indicators?run={run_a}&table={t}&format=csv"),
            )
            .await,
        );
    }

    // The institution sees the poor, commented rating and appeals it.
    let own = inst
        .get(&app, "/office/institutions/water-01")
        .await
        .text()
        .await
        .unwrap();
    assert!(own.contains("恶意差评") && own.contains("/office/appeals"));
    let filed = post_form(
        &app,
        &inst,
        "/office/appeals",
        &[
            ("csrf", &inst_csrf),
            ("response_id", &malicious.to_string()),
            ("kind", "malicious"),
            ("reason", "同一人重复恶意评价"),
        ],
    )
    .await;
    assert_eq!(filed.status(), StatusCode::SEE_OTHER);
    let again = post_form(
        &app,
        &inst,
        "/office/appeals",
        &[
            ("csrf", &inst_csrf),
            ("response_id", &malicious.to_string()),
            ("kind", "malicious"),
            ("reason", "again"),
        ],
    )
    .await;
    assert_eq!(again.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let appeal = app.count("SELECT id FROM appeal").await;
    let decided = post_form(
        &app,
        &admin,
        &format!("/office/appeals/{appeal}"),
        &[
            ("csrf", &csrf),
            ("decision", "uphold"),
            ("note", "核实属实"),
        ],
    )
    .await;
    assert_eq!(decided.status(), StatusCode::SEE_OTHER);

    // Kept, marked with the appeal and its note; nothing else changed.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM response WHERE id = {malicious} AND voided \
             AND void_reason = 'appeal {appeal} upheld: 核实属实'"
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE voided")
            .await,
        1
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM answer WHERE response_id = {malicious}"
        ))
        .await,
        8
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'appeal.uphold'")
            .await,
        1
    );
    // The published snapshot is immutable.
    for (i, t) in ["institution", "dimension", "group", "quality"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            bytes(
                &app,
                &admin,
                &format!("/api/v1/indicators?run={run_a}&table={t}&format=csv")
            )
            .await,
            before[i],
            "{t}"
        );
    }
    // The next computation leaves the response out and counts it as voided.
    let second = publish(&app, &admin, &csrf, "2026-01").await;
    let run_b = second["snapshot"]["run_id"].as_str().unwrap().to_owned();
    let a = parquet(
        &app,
        &admin,
        &format!("/api/v1/indicators?run={run_a}&format=parquet"),
    )
    .await;
    let b = parquet(
        &app,
        &admin,
        &format!("/api/v1/indicators?run={run_b}&format=parquet"),
    )
    .await;
    let n = |df: &DataFrame, code: &str| {
        let one = frames::filter_eq(df, "institution_code", code).unwrap();
        frames::ints(&one, "n_citizen").unwrap()[0].unwrap()
    };
    assert_eq!(n(&a, "water-01"), 5);
    assert_eq!(n(&b, "water-01"), 4);
    // Other categories are untouched (water's own scores move with its
    // category mean, by the method's shrinkage).
    let power = |df: &DataFrame| frames::filter_eq(df, "category_code", "power").unwrap();
    assert!(power(&a).equals_missing(&power(&b)));
    let qa = parquet(
        &app,
        &admin,
        &format!("/api/v1/indicators?run={run_a}&table=quality&format=parquet"),
    )
    .await;
    let qb = parquet(
        &app,
        &admin,
        &format!("/api/v1/indicators?run={run_b}&table=quality&format=parquet"),
    )
    .await;
    let voided = |df: &DataFrame, cat: &str| {
        frames::ints(
            &frames::filter_eq(df, "category_code", cat).unwrap(),
            "n_voided",
        )
        .unwrap()[0]
            .unwrap()
    };
    assert_eq!((voided(&qa, "water"), voided(&qb, "water")), (0, 1));
    assert_eq!((voided(&qa, "power"), voided(&qb, "power")), (0, 0));
    assert!(power(&qa).equals_missing(&power(&qb)));
}

/// The computation number of the preview a dashboard page shows.
async fn preview_run(app: &TestApp, browser: &Browser, path: &str) -> u64 {
    let response = browser.get(app, path).await;
    assert_eq!(response.status(), StatusCode::OK);
    let page = response.text().await.unwrap();
    let marker = "data-preview-run=\"";
    let start = page.find(marker).expect("a preview") + marker.len();
    let end = start + page[start..].find('"').unwrap();
    page[start..end].parse().unwrap()
}

#[actix_web::test]
async fn the_dashboard_preview_is_computed_once_for_many_viewers_and_again_only_when_data_changed()
{
    // Recheck at every view, so the test sees "unchanged" and "changed".
    let app = spawn_app_with(|s| s.preview_recheck_secs = 0).await;
    let (admin, _) = office_browser(&app, "boss", Role::Admin, None).await;
    responses(&app, "water-01", "2026-03", 6, 4, None).await;
    let path = "/office/dashboard?period=2026-03";
    let views = (0..5).map(|_| preview_run(&app, &admin, path));
    let runs = futures_util::future::join_all(views).await;
    assert_eq!(runs, vec![1; 5], "five viewers, one computation");
    assert_eq!(
        preview_run(&app, &admin, path).await,
        1,
        "unchanged data is not recomputed"
    );
    responses(&app, "water-02", "2026-03", 3, 2, None).await;
    assert_eq!(
        preview_run(&app, &admin, path).await,
        2,
        "new responses are computed"
    );
    assert_eq!(preview_run(&app, &admin, path).await, 2);
}

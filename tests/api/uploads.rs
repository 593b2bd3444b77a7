//! Assessor uploads: tokens, contracts, row-by-row validation, all-or-nothing
//! storage, idempotency, formats and encodings, and the assessors' page.

use pingyi::db::assessors::{self, NewContract};
use pingyi::db::periods;
use pingyi::domain::keys::Purpose;
use pingyi::domain::period::Period;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::*;

const PERIOD: &str = "2025-10";
const WATER_HEADER: &str = "respondent_ref,institution_code,period,interviewed_at,channel,att1,att2,eff1,eff2,env1,tra1,out1,out2,comment";
const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct Firm {
    id: i32,
    token: String,
}

/// An assessor organisation with a token, contracted for the water category
/// in [`PERIOD`].
async fn water_firm(app: &TestApp, code: &str) -> Firm {
    firm(app, code, "water").await
}

async fn firm(app: &TestApp, code: &str, category: &str) -> Firm {
    let id = assessors::create_org(&app.db, code, &format!("{code} Research"))
        .await
        .unwrap();
    let catalog = app.state.catalog.get();
    let category_id = catalog.categories[catalog.category_index(category).unwrap()].id;
    let period: Period = PERIOD.parse().unwrap();
    assessors::add_contract(
        &app.db,
        id,
        &period,
        NewContract {
            category_id: Some(category_id),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let token = assessors::issue_token(&app.db, &app.state.keys, id, 30)
        .await
        .unwrap()
        .token;
    Firm { id, token }
}

/// A valid water row.
fn row(reference: &str, institution: &str, when: &str, channel: &str) -> String {
    format!("{reference},{institution},{PERIOD},{when},{channel},5,4,3,,5,4,5,2,")
}

fn csv(rows: &[String]) -> Vec<u8> {
    let mut text = String::from(WATER_HEADER);
    for r in rows {
        text.push_str("\r\n");
        text.push_str(r);
    }
    text.push_str("\r\n");
    text.into_bytes()
}

async fn upload(
    app: &TestApp,
    token: Option<&str>,
    body: Vec<u8>,
    content_type: &str,
) -> reqwest::Response {
    let mut request = reqwest::Client::new()
        .post(app.url("/api/v1/uploads"))
        .header("content-type", content_type)
        .body(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

async fn upload_csv(app: &TestApp, firm: &Firm, body: Vec<u8>) -> (StatusCode, Value) {
    let response = upload(app, Some(&firm.token), body, "text/csv").await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The (row, column, code) of every reported error.
fn errors(body: &Value) -> Vec<(Option<u64>, Option<String>, String)> {
    body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["row"].as_u64(),
                e["column"].as_str().map(str::to_owned),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn has(body: &Value, row: u64, column: Option<&str>, code: &str) -> bool {
    errors(body)
        .iter()
        .any(|(r, c, k)| *r == Some(row) && c.as_deref() == column && k == code)
}

#[actix_web::test]
async fn a_valid_csv_is_stored_as_assessor_responses_with_the_files_values() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let before = app.responses().await;
    let body = csv(&[
        row("R-001", "water-01", "2025-10-05 10:30", "phone"),
        row("R-002", "water-02", "2025-10-06 14:05", "onsite"),
        "R-003,water-03,2025-10,2025-10-07,mystery,1,2,3,4,5,1,2,3,\"态度好, 但排队久\"".into(),
    ]);
    let (status, answer) = upload_csv(&app, &firm, body).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    assert_eq!(answer["status"], "stored");
    assert_eq!(answer["total_rows"], 3);
    assert_eq!(answer["stored_rows"], 3);
    assert_eq!(answer["replayed"], false);
    assert_eq!(app.responses().await, before + 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor' AND duration_ms IS NULL AND period = '2025-10'").await, 3);
    for (reference, channel) in [
        ("R-001", "phone"),
        ("R-002", "onsite"),
        ("R-003", "mystery"),
    ] {
        let hash = app
            .state
            .keys
            .digest(Purpose::Assessor, &format!("{}:{reference}", firm.id));
        let sql = format!(
            "SELECT COUNT(*) FROM response WHERE respondent_hash = '{hash}' AND channel = '{channel}' AND source = 'assessor'"
        );
        assert_eq!(app.count(&sql).await, 1, "{reference}");
    }
    // 8 items per water response; blank is stored as not applicable.
    assert_eq!(app.count("SELECT COUNT(*) FROM answer a JOIN response r ON r.id = a.response_id WHERE r.source = 'assessor'").await, 24);
    assert_eq!(app.count("SELECT COUNT(*) FROM answer a JOIN response r ON r.id = a.response_id WHERE r.source = 'assessor' AND a.rating IS NULL").await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE comment = '态度好, 但排队久'")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM upload WHERE status = 'stored' AND total_rows = 3 AND stored_rows = 3 AND file_hash IS NOT NULL").await, 1);
}

#[actix_web::test]
async fn each_kind_of_row_error_is_reported_at_its_row_and_column_and_nothing_is_stored() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    // Gas institutions are contracted too, so the item check can be seen.
    let catalog = app.state.catalog.get();
    let gas = catalog.categories[catalog.category_index("gas").unwrap()].id;
    assessors::add_contract(
        &app.db,
        firm.id,
        &PERIOD.parse().unwrap(),
        NewContract {
            category_id: Some(gas),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    periods::set_frozen(&app.db, &"2025-09".parse().unwrap(), true)
        .await
        .unwrap();
    let long_comment = "长".repeat(501);
    let rows = vec![
        row("OK-1", "water-01", "2025-10-05 10:30", "phone"), // 2 valid
        row("E-3", "no-such-unit", "2025-10-05 10:30", "phone"), // 3 unknown institution
        row("E-4", "power-01", "2025-10-05 10:30", "phone"),  // 4 not contracted
        "E-5,gas-01,2025-10,2025-10-05 10:30,phone,5,4,3,,5,4,5,2,".to_owned(), // 5 out2 not a gas item
        "E-6,water-01,2025-10,2025-10-05 10:30,phone,6,4,3,,5,4,5,2,".to_owned(), // 6 rating out of range
        "E-7,water-01,2025-10,2025-10-05 10:30,phone,five,4,3,,5,4,5,2,".to_owned(), // 7 not a rating
        row("E-8", "water-01", "2025-13-45 10:30", "phone"),                         // 8 bad date
        row("E-9", "water-01", "2025-11-02 10:30", "phone"), // 9 outside the period
        "E-10,water-01,2025-10-x,2025-10-05,phone,5,4,3,,5,4,5,2,".to_owned(), // 10 bad period
        "E-11,water-01,2025-09,2025-09-05,phone,5,4,3,,5,4,5,2,".to_owned(), // 11 frozen period
        row("OK-1", "water-02", "2025-10-05 10:30", "phone"), // 12 repeated in file
        row("E-13", "water-01", "2025-10-05 10:30", "fax"),  // 13 bad channel
        "E-14,water-01,2025-10,2025-10-05 10:30,phone,5,4,3".to_owned(), // 14 ragged
        ",water-01,2025-10,2025-10-05 10:30,phone,5,4,3,,5,4,5,2,".to_owned(), // 15 missing reference
        "E-16,water-01,2025-10,2025-10-05 10:30,phone,,,,,,,,,".to_owned(),    // 16 nothing rated
        format!("E-17,water-01,2025-10,2025-10-05 10:30,phone,5,4,3,,5,4,5,2,{long_comment}"), // 17 comment too long
        row("E-18", "water-01", "2099-10-05 10:30", "phone"), // 18 in the future
    ];
    let before = (app.responses().await, app.answers().await);
    let (status, body) = upload_csv(&app, &firm, csv(&rows)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"], "invalid_file");
    assert!(body["upload_id"].as_i64().is_some());
    let expected: &[(u64, Option<&str>, &str)] = &[
        (3, Some("institution_code"), "unknown_institution"),
        (4, Some("institution_code"), "not_contracted"),
        (5, Some("out2"), "unknown_item"),
        (6, Some("att1"), "rating_out_of_range"),
        (7, Some("att1"), "invalid_rating"),
        (8, Some("interviewed_at"), "invalid_date"),
        (9, Some("interviewed_at"), "date_outside_period"),
        (10, Some("period"), "invalid_period"),
        (11, Some("period"), "frozen_period"),
        (12, Some("respondent_ref"), "duplicate_in_file"),
        (13, Some("channel"), "invalid_channel"),
        (14, None, "ragged_row"),
        (15, Some("respondent_ref"), "missing_value"),
        (16, None, "nothing_rated"),
        (17, Some("comment"), "comment_too_long"),
        (18, Some("interviewed_at"), "invalid_date"),
    ];
    for (r, c, code) in expected {
        assert!(
            has(&body, *r, *c, code),
            "row {r} {c:?} {code}: {:?}",
            errors(&body)
        );
    }
    assert_eq!(
        body["total_errors"].as_u64().unwrap(),
        expected.len() as u64,
        "{:?}",
        errors(&body)
    );
    assert!(
        !errors(&body).iter().any(|(r, _, _)| *r == Some(2)),
        "row 2 is valid"
    );
    for e in body["errors"].as_array().unwrap() {
        assert!(!e["message"].as_str().unwrap().is_empty());
    }
    assert_eq!(
        (app.responses().await, app.answers().await),
        before,
        "nothing stored"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM upload WHERE status = 'invalid' AND error_count = 16 AND stored_rows = 0").await, 1);
}

#[actix_web::test]
async fn missing_extra_and_repeated_columns_are_reported_on_the_header_row() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let text = "respondent_ref,institution_code,interviewed_at,channel,att1,att2,eff1,eff2,env1,tra1,out1,out2,notes,att1\r\nR1,water-01,2025-10-05,phone,5,5,5,5,5,5,5,5,x,5\r\n";
    let (status, body) = upload_csv(&app, &firm, text.as_bytes().to_vec()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has(&body, 1, Some("period"), "missing_column"), "{body}");
    assert!(has(&body, 1, Some("notes"), "unknown_column"), "{body}");
    assert!(has(&body, 1, Some("att1"), "duplicate_column"), "{body}");

    // An item of the questionnaire without a column is named at the first row of the category.
    let text = WATER_HEADER.replace(",out2", "")
        + "\r\nR1,water-01,2025-10,2025-10-05,phone,5,5,5,5,5,5,5,\r\n";
    let (status, body) = upload_csv(&app, &firm, text.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(has(&body, 2, Some("out2"), "missing_column"), "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        0
    );
}

#[actix_web::test]
async fn a_respondent_already_stored_for_the_organisation_and_period_is_refused() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let (status, _) = upload_csv(
        &app,
        &firm,
        csv(&[row("R-1", "water-01", "2025-10-05", "phone")]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    // Another file (so not an idempotent replay) repeating R-1, even for another institution.
    let body = csv(&[
        row("R-2", "water-02", "2025-10-05", "phone"),
        row("R-1", "water-03", "2025-10-06", "phone"),
    ]);
    let (status, body) = upload_csv(&app, &firm, body).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        has(&body, 3, Some("respondent_ref"), "already_stored"),
        "{body}"
    );
    assert_eq!(body["total_errors"], 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        1
    );

    // Another organisation may use the same reference: its hash differs.
    let other = water_firm(&app, "other").await;
    let (status, _) = upload_csv(
        &app,
        &other,
        csv(&[row("R-1", "water-01", "2025-10-05", "phone")]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
}

#[actix_web::test]
async fn the_same_file_again_returns_the_first_result_and_stores_nothing_new() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let body = csv(&[
        row("R-1", "water-01", "2025-10-05", "phone"),
        row("R-2", "water-02", "2025-10-05", "onsite"),
    ]);
    let (status, first) = upload_csv(&app, &firm, body.clone()).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, again) = upload_csv(&app, &firm, body.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again["id"], first["id"]);
    assert_eq!(again["stored_rows"], 2);
    assert_eq!(again["replayed"], true);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM upload WHERE status = 'stored'")
            .await,
        1
    );

    // The same file from another organisation is that organisation's own upload.
    let other = water_firm(&app, "other").await;
    let (status, _) = upload_csv(&app, &other, body).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        4
    );
}

#[actix_web::test]
async fn a_file_with_one_bad_row_among_thousands_stores_nothing() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let mut rows: Vec<String> = (0..5000)
        .map(|i| {
            row(
                &format!("R-{i:05}"),
                "water-01",
                "2025-10-05 10:30",
                "phone",
            )
        })
        .collect();
    rows[3210] = "R-03210,water-01,2025-10,2025-10-05 10:30,phone,5,4,3,,5,4,5,7,".into();
    let (status, body) = upload_csv(&app, &firm, csv(&rows)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["total_errors"], 1);
    assert!(
        has(&body, 3212, Some("out2"), "rating_out_of_range"),
        "{body}"
    );
    assert_eq!(body["total_rows"], 5000);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        0
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM answer a JOIN response r ON r.id = a.response_id WHERE r.source = 'assessor'").await, 0);

    // Fixed, the same thousands are stored in one go.
    rows[3210] = row("R-03210", "water-01", "2025-10-05 10:30", "phone");
    let (status, body) = upload_csv(&app, &firm, csv(&rows)).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        5000
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM answer a JOIN response r ON r.id = a.response_id WHERE r.source = 'assessor'").await, 40_000);
}

#[actix_web::test]
async fn errors_are_capped_with_the_total_counted() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let rows: Vec<String> = (0..1500)
        .map(|i| row(&format!("R-{i}"), "nowhere", "2025-10-05", "phone"))
        .collect();
    let (status, body) = upload_csv(&app, &firm, csv(&rows)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["total_errors"], 1500);
    assert_eq!(body["errors"].as_array().unwrap().len(), 1000);
}

#[actix_web::test]
async fn a_csv_saved_in_gbk_is_read_correctly() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = std::fs::read("tests/fixtures/uploads/water_gbk.csv").unwrap();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture really is GBK"
    );
    let (status, body) = upload_csv(&app, &firm, bytes).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["stored_rows"], 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM response WHERE comment = '环境整洁，服务周到' AND channel = 'onsite'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM response WHERE comment = '工作人员态度冷淡' AND channel = 'mystery'").await, 1);
}

#[actix_web::test]
async fn utf8_with_a_bom_is_read_and_utf16_is_refused_by_name() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend(csv(&[format!(
        "R-1,water-01,{PERIOD},2025-10-05,phone,5,4,3,,5,4,5,2,很好"
    )]));
    let (status, body) = upload_csv(&app, &firm, bom).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE comment = '很好'")
            .await,
        1
    );

    let text = String::from_utf8(csv(&[row("R-2", "water-01", "2025-10-05", "phone")])).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let (status, body) = upload_csv(&app, &firm, utf16).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "unsupported_encoding");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("UTF-16LE"),
        "{body}"
    );

    // Bytes that are neither UTF-8 nor GB18030 (Latin-1 é before a space).
    let mut latin1 = csv(&[row("R-3", "water-01", "2025-10-05", "phone")]);
    latin1.pop();
    latin1.extend_from_slice(b"caf\xE9 \xFF\r\n");
    let (status, body) = upload_csv(&app, &firm, latin1).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(body["errors"][0]["code"], "unsupported_encoding", "{body}");

    let response = upload(
        &app,
        Some(&firm.token),
        csv(&[row("R-4", "water-01", "2025-10-05", "phone")]),
        "text/csv; charset=windows-1252",
    )
    .await;
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("windows-1252"),
        "{body}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        1
    );
}

#[actix_web::test]
async fn an_xlsx_made_by_libreoffice_is_stored() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    // Converted from water_libreoffice_source.csv by LibreOffice Calc
    // (soffice --headless --convert-to xlsx): real date cells, shared strings.
    let bytes = std::fs::read("tests/fixtures/uploads/water_libreoffice.xlsx").unwrap();
    let response = upload(&app, Some(&firm.token), bytes, XLSX).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["format"], "xlsx");
    assert_eq!(body["stored_rows"], 4);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor' AND period = '2025-10'")
            .await,
        4
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE comment = '很满意, \"非常好\"'")
            .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM answer WHERE rating IS NULL")
            .await,
        2
    );
}

#[actix_web::test]
async fn xlsx_errors_use_the_spreadsheets_row_numbers() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, name) in WATER_HEADER.split(',').enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    // Row 2 valid; row 3 blank (skipped); row 4 has a rating of 9.
    for (r, rating) in [(1u32, 5.0), (3, 9.0)] {
        sheet.write_string(r, 0, format!("X-{r}")).unwrap();
        sheet.write_string(r, 1, "water-01").unwrap();
        sheet.write_string(r, 2, PERIOD).unwrap();
        sheet.write_string(r, 3, "2025-10-05 10:00").unwrap();
        sheet.write_string(r, 4, "phone").unwrap();
        for c in 5..13 {
            sheet.write_number(r, c, rating).unwrap();
        }
    }
    let bytes = workbook.save_to_buffer().unwrap();
    let response = upload(&app, Some(&firm.token), bytes, XLSX).await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(has(&body, 4, Some("att1"), "rating_out_of_range"), "{body}");
    assert_eq!(body["total_errors"], 8);
}

#[actix_web::test]
async fn json_uploads_are_validated_and_stored_like_csv() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let item = |r: &str, inst: &str, rating: Value| {
        serde_json::json!({
            "respondent_ref": r, "institution_code": inst, "period": PERIOD, "interviewed_at": "2025-10-05T10:30:00+08:00",
            "channel": "onsite", "att1": rating, "att2": 4, "eff1": "3", "eff2": null, "env1": 5, "tra1": 4, "out1": 5, "out2": 2,
            "comment": "好"
        })
    };
    let bad = serde_json::json!([
        item("J-1", "water-01", Value::from(5)),
        item("J-2", "water-09", Value::from(0))
    ]);
    let response = upload(
        &app,
        Some(&firm.token),
        serde_json::to_vec(&bad).unwrap(),
        "application/json",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert!(
        has(&body, 3, Some("institution_code"), "unknown_institution"),
        "{body}"
    );
    assert!(has(&body, 3, Some("att1"), "rating_out_of_range"), "{body}");

    let good = serde_json::json!([
        item("J-1", "water-01", Value::from(5)),
        item("J-2", "water-02", Value::from(1))
    ]);
    let response = upload(
        &app,
        Some(&firm.token),
        serde_json::to_vec(&good).unwrap(),
        "application/json",
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor' AND channel = 'onsite' AND comment = '好'").await, 2);

    let response = upload(
        &app,
        Some(&firm.token),
        b"{\"not\": \"an array\"}".to_vec(),
        "application/json",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], "malformed_file");
}

#[actix_web::test]
async fn the_format_comes_from_the_content_type_or_the_file_name_and_unknown_ones_are_415() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let client = reqwest::Client::new();
    let response = client
        .post(app.url("/api/v1/uploads?filename=october.csv"))
        .bearer_auth(&firm.token)
        .header("content-type", "application/octet-stream")
        .body(csv(&[row("R-1", "water-01", "2025-10-05", "phone")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["file_name"], "october.csv");

    let response = upload(
        &app,
        Some(&firm.token),
        b"%PDF-1.4".to_vec(),
        "application/pdf",
    )
    .await;
    assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "unsupported_format");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("application/pdf")
    );

    // Multipart, as the web page sends it.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(csv(&[row("R-2", "water-01", "2025-10-05", "phone")]))
            .file_name("november.csv"),
    );
    let response = client
        .post(app.url("/api/v1/uploads"))
        .bearer_auth(&firm.token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM upload WHERE status = 'unsupported'")
            .await,
        1
    );
}

#[actix_web::test]
async fn a_body_over_the_limit_is_413_with_a_message_naming_the_limit() {
    let app = spawn_app_with(|s| s.upload_limit_bytes = 4096).await;
    let firm = water_firm(&app, "huace").await;
    let rows: Vec<String> = (0..200)
        .map(|i| row(&format!("R-{i}"), "water-01", "2025-10-05", "phone"))
        .collect();
    let response = upload(&app, Some(&firm.token), csv(&rows), "text/csv").await;
    assert_eq!(response.status(), StatusCode::PAYLOAD_TOO_LARGE);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "payload_too_large");
    assert_eq!(body["limit_bytes"], 4096);
    assert!(body["message"].as_str().unwrap().contains("4096"), "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        0
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM upload WHERE status = 'too_large'")
            .await,
        1
    );
}

#[actix_web::test]
async fn no_token_or_a_bad_revoked_or_expired_one_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let body = || csv(&[row("R-1", "water-01", "2025-10-05", "phone")]);

    let response = upload(&app, None, body(), "text/csv").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    let json: Value = response.json().await.unwrap();
    assert_eq!(json["error"], "missing_token");

    let response = upload(&app, Some("pya_not-a-real-token"), body(), "text/csv").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "invalid_token"
    );

    let prefix: String = firm.token.chars().take(12).collect();
    assessors::revoke_by_prefix(&app.db, &prefix).await.unwrap();
    let response = upload(&app, Some(&firm.token), body(), "text/csv").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "token_revoked"
    );

    let fresh = assessors::issue_token(&app.db, &app.state.keys, firm.id, 30)
        .await
        .unwrap();
    let hash = app.state.keys.digest(Purpose::Token, &fresh.token);
    let backend = app.db.get_database_backend();
    let past = chrono::Utc::now() - chrono::Duration::days(1);
    sea_orm::ConnectionTrait::execute_raw(
        &app.db,
        sea_orm::Statement::from_sql_and_values(
            backend,
            match backend {
                sea_orm::DbBackend::Postgres => {
                    "UPDATE assessor_token SET expires_at = $1 WHERE token_hash = $2"
                }
                _ => "UPDATE assessor_token SET expires_at = ? WHERE token_hash = ?",
            },
            [past.into(), hash.into()],
        ),
    )
    .await
    .unwrap();
    let response = upload(&app, Some(&fresh.token), body(), "text/csv").await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.json::<Value>().await.unwrap()["error"],
        "token_expired"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        0
    );
}

#[actix_web::test]
async fn another_organisations_institution_is_refused() {
    let app = spawn_app().await;
    let water = water_firm(&app, "water-firm").await;
    let power = firm(&app, "power-firm", "power").await;
    let (status, body) = upload_csv(
        &app,
        &power,
        csv(&[row("P-1", "water-01", "2025-10-05", "phone")]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        has(&body, 2, Some("institution_code"), "not_contracted"),
        "{body}"
    );
    // Nor is a contract for another period enough.
    let text = String::from_utf8(csv(&[row("W-1", "water-01", "2025-11-05", "phone")]))
        .unwrap()
        .replace(",2025-10,", ",2025-11,");
    let (status, body) = upload_csv(&app, &water, text.into_bytes()).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        has(&body, 2, Some("institution_code"), "not_contracted"),
        "{body}"
    );
}

#[actix_web::test]
async fn an_upload_reports_its_status_to_its_own_organisation_only() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let (_, body) = upload_csv(
        &app,
        &firm,
        csv(&[row("R-1", "nowhere", "2025-10-05", "phone")]),
    )
    .await;
    let id = body["upload_id"].as_i64().unwrap();
    let client = reqwest::Client::new();
    let response = client
        .get(app.url(&format!("/api/v1/uploads/{id}")))
        .bearer_auth(&firm.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let report: Value = response.json().await.unwrap();
    assert_eq!(report["status"], "invalid");
    assert_eq!(report["total_rows"], 1);
    assert_eq!(report["errors"][0]["code"], "unknown_institution");

    let other = water_firm(&app, "other").await;
    let response = client
        .get(app.url(&format!("/api/v1/uploads/{id}")))
        .bearer_auth(&other.token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let response = client
        .get(app.url(&format!("/api/v1/uploads/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[actix_web::test]
async fn templates_have_the_categorys_item_columns_and_round_trip() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let client = reqwest::Client::new();
    let response = client
        .get(app.url("/api/v1/templates/water.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert_eq!(text.trim_start_matches('\u{feff}').trim_end(), WATER_HEADER);
    let gas = client
        .get(app.url("/api/v1/templates/gas.csv"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!gas.contains("out2"), "gas has no sector item");
    assert_eq!(
        client
            .get(app.url("/api/v1/templates/nothing.csv"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::NOT_FOUND
    );

    // The XLSX template, filled in with a row, uploads as is.
    let response = client
        .get(app.url("/api/v1/templates/water.xlsx"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.headers()["content-type"], XLSX);
    let bytes = response.bytes().await.unwrap().to_vec();
    let mut template: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes)).unwrap();
    use calamine::Reader;
    assert_eq!(template.sheet_names()[0], "responses");
    let range = template.worksheet_range("responses").unwrap();
    let header: Vec<String> = range
        .rows()
        .next()
        .unwrap()
        .iter()
        .map(|c| c.to_string())
        .collect();
    assert_eq!(header.join(","), WATER_HEADER);
    let mut filled = rust_xlsxwriter::Workbook::new();
    let sheet = filled.add_worksheet();
    for (c, name) in header.iter().enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    for (c, value) in row("T-1", "water-04", "2025-10-05 09:00", "mystery")
        .split(',')
        .enumerate()
    {
        sheet.write_string(1, c as u16, value).unwrap();
    }
    let response = upload(
        &app,
        Some(&firm.token),
        filled.save_to_buffer().unwrap(),
        XLSX,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn the_assessor_page_signs_in_with_a_token_uploads_and_shows_the_error_table() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let browser = app.browser("198.51.100.77");
    let page = browser.get(&app, "/assessor").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let csrf = hidden_value(&html, "csrf");

    // A wrong token is refused on the page.
    let refused = browser
        .client
        .post(app.url("/assessor/login"))
        .form(&[("csrf", csrf.as_str()), ("token", "pya_wrong")])
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    // A forged form is refused.
    let forged = browser
        .client
        .post(app.url("/assessor/login"))
        .form(&[("csrf", "x"), ("token", firm.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let signed_in = browser
        .client
        .post(app.url("/assessor/login"))
        .form(&[("csrf", csrf.as_str()), ("token", firm.token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let cookie = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("pingyi_assessor="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
    assert!(
        !cookie.contains(&firm.token),
        "the token itself is never in the cookie"
    );

    let page = browser.get(&app, "/assessor/uploads").await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("/api/v1/templates/water.xlsx"));
    let csrf = hidden_value(&html, "csrf");

    let bad = csv(&[
        row("W-1", "water-01", "2025-10-05", "phone"),
        row("W-2", "<script>x</script>", "2025-10-05", "phone"),
    ]);
    let form = reqwest::multipart::Form::new()
        .text("csrf", csrf.clone())
        .part(
            "file",
            reqwest::multipart::Part::bytes(bad.clone())
                .file_name("october.csv")
                .mime_str("text/csv")
                .unwrap(),
        );
    let posted = browser
        .client
        .post(app.url("/assessor/uploads"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
    let location = posted.headers()["location"].to_str().unwrap().to_owned();
    let report = browser.get(&app, &location).await;
    assert_eq!(report.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = report.text().await.unwrap();
    let doc = scraper::Html::parse_document(&html);
    let cells: Vec<String> = doc
        .select(&scraper::Selector::parse("table.report tbody tr td").unwrap())
        .map(|td| td.text().collect::<String>().trim().to_owned())
        .collect();
    assert_eq!(
        cells[..3],
        [
            "3".to_owned(),
            "institution_code".to_owned(),
            "unknown_institution".to_owned()
        ],
        "{cells:?}"
    );
    assert!(
        html.contains("&lt;script&gt;") && !html.contains("<script>x"),
        "escaped"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        0
    );

    // Without the CSRF token, the upload is refused.
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(bad).file_name("october.csv"),
    );
    let forged = browser
        .client
        .post(app.url("/assessor/uploads"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Once the token is revoked, the session ends.
    let prefix: String = firm.token.chars().take(12).collect();
    assessors::revoke_by_prefix(&app.db, &prefix).await.unwrap();
    let page = browser.get(&app, "/assessor/uploads").await;
    assert_eq!(page.status(), StatusCode::SEE_OTHER);
    assert_eq!(page.headers()["location"], "/assessor");
}

#[actix_web::test]
async fn the_demo_organisation_is_seeded_with_contracts_for_the_current_period() {
    let app = spawn_app().await;
    let current = Period::containing(
        chrono::Utc::now(),
        app.state.settings.period,
        app.state.settings.utc_offset_hours,
    );
    let sql = format!(
        "SELECT COUNT(*) FROM assessor_contract c JOIN assessor_org o ON o.id = c.org_id WHERE o.code = 'demo-survey' AND c.period = '{current}'"
    );
    assert_eq!(app.count(&sql).await, 8, "one contract per category");
    assert_eq!(app.count("SELECT COUNT(*) FROM assessor_token t JOIN assessor_org o ON o.id = t.org_id WHERE o.code = 'demo-survey'").await, 1);
}

fn hidden_value(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker).unwrap() + marker.len();
    let end = html[start..].find('"').unwrap() + start;
    html[start..end].to_owned()
}

// ------------------------------------------------------------ hostile XLSX

/// The parts (name, bytes) of a valid water workbook: the header and one
/// valid row, made by rust_xlsxwriter.
fn water_xlsx_parts() -> Vec<(String, Vec<u8>)> {
    use std::io::Read;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, name) in WATER_HEADER.split(',').enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    for (c, value) in row("X-1", "water-01", "2025-10-05 10:00", "phone")
        .split(',')
        .enumerate()
    {
        sheet.write_string(1, c as u16, value).unwrap();
    }
    let bytes = workbook.save_to_buffer().unwrap();
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..archive.len())
        .map(|i| {
            let mut entry = archive.by_index(i).unwrap();
            let mut content = Vec::new();
            entry.read_to_end(&mut content).unwrap();
            (entry.name().unwrap().to_string(), content)
        })
        .collect()
}

/// Zips parts back into an XLSX.
fn zip_parts(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    use std::io::Write;
    let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, content) in parts {
        writer.start_file(name.as_str(), options).unwrap();
        writer.write_all(content).unwrap();
    }
    writer.finish().unwrap().into_inner()
}

/// The water workbook with part `name` replaced by `edit` of its text.
fn patched_xlsx(name: &str, edit: impl FnOnce(String) -> String) -> Vec<u8> {
    let mut parts = water_xlsx_parts();
    let part = parts.iter_mut().find(|(n, _)| n == name).unwrap();
    part.1 = edit(String::from_utf8(std::mem::take(&mut part.1)).unwrap()).into_bytes();
    zip_parts(&parts)
}

/// Uploads a hostile XLSX: asserts a 422 whose file error has `code`, that
/// nothing was stored, and that the server still stores a valid file.
async fn assert_refused_xlsx(
    app: &TestApp,
    firm: &Firm,
    bytes: Vec<u8>,
    code: &str,
    says: &str,
) -> std::time::Duration {
    let before = app.responses().await;
    let started = std::time::Instant::now();
    let response = upload(app, Some(&firm.token), bytes, XLSX).await;
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_file", "{body}");
    assert_eq!(body["errors"][0]["code"], code, "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains(says), "{message}");
    assert_eq!(app.responses().await, before);
    took
}

/// The server is up and stores a valid file after a hostile one.
async fn assert_still_serving(app: &TestApp, firm: &Firm, reference: &str) {
    let (status, body) = upload_csv(
        app,
        firm,
        csv(&[row(reference, "water-01", "2025-10-05", "phone")]),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[actix_web::test]
async fn an_xlsx_declaring_ten_trillion_shared_strings_is_refused_without_reserving_them() {
    // Before: calamine reserved the table from uniqueCount (240 TB) and
    // the process aborted.
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = patched_xlsx("xl/sharedStrings.xml", |xml| {
        let at = xml.find("uniqueCount=\"").unwrap() + "uniqueCount=\"".len();
        let end = at + xml[at..].find('"').unwrap();
        format!("{}10000000000000{}", &xml[..at], &xml[end..])
    });
    assert!(bytes.len() < 10_000);
    assert_refused_xlsx(
        &app,
        &firm,
        bytes,
        "xlsx_too_large",
        "10000000000000 shared strings",
    )
    .await;
    assert_still_serving(&app, &firm, "S-1").await;
}

#[actix_web::test]
async fn an_xlsx_whose_shared_strings_inflate_a_thousandfold_is_refused_before_inflating() {
    // Before: a 614 KB file inflating to 600 MB was read whole (7.9 s,
    // +2.4 GB of server memory) and stored. Here 24 MiB from ~24 KiB.
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = patched_xlsx("xl/sharedStrings.xml", |xml| {
        let open = xml.find("<si>").unwrap();
        let filler = format!("<si><t>{}</t></si>", "A".repeat(1000)).repeat(24 * 1024);
        format!("{}{filler}{}", &xml[..open], &xml[open..])
    });
    assert!(bytes.len() < 1024 * 1024, "{}", bytes.len());
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_too_large", "shared strings").await;
    assert_still_serving(&app, &firm, "S-2").await;
}

#[actix_web::test]
async fn rows_with_a_cell_in_column_xfd_are_ragged_rows_read_in_bounded_time() {
    // Before: every row was padded to 16,384 cells (40,000 rows: 6.4 s of
    // a core in a release build) and the values beyond the header were
    // materialised.
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    for (c, name) in WATER_HEADER.split(',').enumerate() {
        sheet.write_string(0, c as u16, name).unwrap();
    }
    for r in 1..=40_000u32 {
        sheet.write_string(r, 0, format!("X-{r}")).unwrap();
        sheet.write_string(r, 16_383, "x").unwrap();
    }
    let bytes = workbook.save_to_buffer().unwrap();
    let before = app.responses().await;
    let started = std::time::Instant::now();
    let response = upload(&app, Some(&firm.token), bytes, XLSX).await;
    let took = started.elapsed();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["total_rows"], 40_000);
    assert!(has(&body, 2, None, "ragged_row"), "{body}");
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("column XFD"), "{message}");
    assert_eq!(app.responses().await, before);
    // A debug build reads the 40,000 rows in well under this.
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    assert_still_serving(&app, &firm, "S-3").await;
}

#[actix_web::test]
async fn an_xlsx_header_wider_than_the_column_limit_is_refused_by_name() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = patched_xlsx("xl/worksheets/sheet1.xml", |xml| {
        let end = xml.find("</row>").unwrap();
        format!(
            "{}<c r=\"XFD1\" t=\"inlineStr\"><is><t>far</t></is></c>{}",
            &xml[..end],
            &xml[end..]
        )
    });
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_too_large", "column XFD").await;
    assert_still_serving(&app, &firm, "S-4").await;
}

#[actix_web::test]
async fn an_xlsx_cell_longer_than_a_spreadsheet_cell_can_be_is_refused_naming_the_cell() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let bytes = patched_xlsx("xl/worksheets/sheet1.xml", |xml| {
        let end = xml.rfind("</row>").unwrap();
        format!(
            "{}<c r=\"N2\" t=\"inlineStr\"><is><t>{}</t></is></c>{}",
            &xml[..end],
            "长".repeat(40_000),
            &xml[end..]
        )
    });
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_too_large", "Cell N2").await;
    assert_still_serving(&app, &firm, "S-5").await;
}

#[actix_web::test]
async fn damaged_xlsx_files_are_refused_as_malformed_by_name() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    // Not a zip at all.
    assert_refused_xlsx(
        &app,
        &firm,
        b"respondent_ref\r\n".to_vec(),
        "xlsx_malformed",
        "zip",
    )
    .await;
    // A dimension outside the grid (only ever checked, never used).
    let bytes = patched_xlsx("xl/worksheets/sheet1.xml", |xml| {
        let at = xml.find("<dimension ref=\"").unwrap() + "<dimension ref=\"".len();
        let end = at + xml[at..].find('"').unwrap();
        format!("{}A1:XFD99999999{}", &xml[..at], &xml[end..])
    });
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_malformed", "dimension").await;
    // A zip whose end record declares 65,535 entries.
    let mut bytes = zip_parts(&water_xlsx_parts());
    let end = bytes
        .windows(4)
        .rposition(|w| w == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    bytes[end + 8..end + 12].copy_from_slice(&[0xff; 4]);
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_too_large", "entries").await;
    // A shared-string index past the table.
    let bytes = patched_xlsx("xl/worksheets/sheet1.xml", |xml| {
        let end = xml.rfind("</row>").unwrap();
        format!(
            "{}<c r=\"N2\" t=\"s\"><v>4000000000</v></c>{}",
            &xml[..end],
            &xml[end..]
        )
    });
    assert_refused_xlsx(&app, &firm, bytes, "xlsx_malformed", "shared string").await;
    assert_still_serving(&app, &firm, "S-6").await;
}

#[actix_web::test]
async fn the_rebuilt_water_workbook_is_stored_so_the_hostile_ones_differ_only_by_their_patch() {
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let response = upload(
        &app,
        Some(&firm.token),
        zip_parts(&water_xlsx_parts()),
        XLSX,
    )
    .await;
    assert_eq!(response.status(), StatusCode::CREATED);
}

// ------------------------------------------------------------ encodings

#[actix_web::test]
async fn big5_and_shift_jis_csvs_without_a_charset_are_refused_naming_the_encoding() {
    // Before: decoded as GBK and stored as garbage with private-use characters.
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let text = String::from_utf8(csv(&[format!(
        "R-1,water-01,{PERIOD},2025-10-05,phone,5,4,3,,5,4,5,2,排隊時間太長了"
    )]))
    .unwrap();
    for (encoding, name) in [
        (encoding_rs::BIG5, "Big5"),
        (encoding_rs::SHIFT_JIS, "Shift_JIS"),
    ] {
        let (bytes, _, unmappable) = encoding.encode(&text);
        assert!(!unmappable);
        let (status, body) = upload_csv(&app, &firm, bytes.into_owned()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(body["errors"][0]["code"], "unsupported_encoding");
        let message = body["errors"][0]["message"].as_str().unwrap();
        assert!(message.contains(name), "{message}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        0
    );
    // A short GBK file with two common characters is still read as GBK.
    let gbk_text = text.replace("排隊時間太長了", "一般");
    let (bytes, _, _) = encoding_rs::GBK.encode(&gbk_text);
    let (status, body) = upload_csv(&app, &firm, bytes.into_owned()).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE comment = '一般'")
            .await,
        1
    );
}

// ------------------------------------------------------------ publishing

#[actix_web::test]
async fn an_upload_waits_for_a_publish_in_progress_and_then_finds_the_period_frozen() {
    // Before, on PostgreSQL: the upload re-checked "frozen" without the
    // period's lock, read the state as it was before the publish
    // committed, and stored its rows into the period being published (201).
    use sea_orm::TransactionTrait;
    let app = spawn_app().await;
    let firm = water_firm(&app, "huace").await;
    let period: Period = PERIOD.parse().unwrap();
    // A publish in progress: the period's lock is held (exclusively, on
    // PostgreSQL; SQLite's write lock) until it commits.
    let publish = app.db.begin().await.unwrap();
    periods::set_frozen(&publish, &period, true).await.unwrap();
    let request = reqwest::Client::new()
        .post(app.url("/api/v1/uploads"))
        .header("content-type", "text/csv")
        .bearer_auth(&firm.token)
        .body(csv(&[row("P-1", "water-01", "2025-10-05 10:30", "phone")]));
    let upload = tokio::spawn(async move {
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json::<Value>().await.unwrap())
    });
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert!(
        !upload.is_finished(),
        "the upload must wait for the publish, not commit into the period"
    );
    publish.commit().await.unwrap();
    let (status, body) = upload.await.unwrap();
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["errors"][0]["code"], "frozen_period", "{body}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'assessor'")
            .await,
        0
    );
}

#[actix_web::test]
async fn the_openapi_document_describes_the_upload_bodies_as_files() {
    // Before: the operation had no request body, so API fuzzing sent none.
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/docs/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let body = &doc["paths"]["/api/v1/uploads"]["post"]["requestBody"];
    assert_eq!(body["required"], true, "{body}");
    let content = &body["content"];
    let file = &content["multipart/form-data"]["schema"]["properties"]["file"];
    assert_eq!(file["type"], "string", "{body}");
    assert_eq!(file["format"], "binary", "{body}");
    assert_eq!(
        content["multipart/form-data"]["schema"]["required"][0],
        "file"
    );
    assert_eq!(content[XLSX]["schema"]["format"], "binary", "{body}");
    assert_eq!(content["text/csv"]["schema"]["type"], "string", "{body}");
    assert_eq!(
        content["application/json"]["schema"]["type"], "array",
        "{body}"
    );
    let parameters = doc["paths"]["/api/v1/uploads"]["post"]["parameters"]
        .as_array()
        .unwrap();
    assert!(parameters.iter().any(|p| p["name"] == "filename"));
    // The documented CSV example is a file the endpoint stores.
    let example = content["text/csv"]["example"].as_str().unwrap().to_owned();
    let firm = water_firm(&app, "huace").await;
    let (status, answer) = upload_csv(&app, &firm, example.into_bytes()).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
}

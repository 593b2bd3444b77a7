//! CSV uploads: row-by-row validation, all-or-nothing storage,
//! idempotency, and the encodings spreadsheets save CSV in.

use pingyi::db::assessors::{self, NewContract};
use pingyi::db::periods;
use pingyi::domain::keys::Purpose;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::assessor::*;
use crate::helpers::*;

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
async fn a_malformed_institution_code_is_an_unknown_institution_whose_message_states_the_rule() {
    let app = spawn_app().await;
    let water = water_firm(&app, "water-firm").await;
    let (status, body) = upload_csv(
        &app,
        &water,
        csv(&[row("W-1", "water/01", "2025-10-05", "phone")]),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        has(&body, 2, Some("institution_code"), "unknown_institution"),
        "{body}"
    );
    let message = body["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("'water/01'") && message.contains("1 to 64 ASCII letters"),
        "{message}"
    );
}

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

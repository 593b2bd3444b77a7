//! Assessor uploads: tokens, contracts, formats and limits, status reports,
//! templates, the assessors' page, and publishing; the formats' own tests
//! are in [`csv`], [`xlsx`] and [`json`].

mod csv;
mod json;
mod xlsx;

use pingyi::db::assessors;
use pingyi::db::periods;
use pingyi::domain::keys::Purpose;
use pingyi::domain::period::Period;
use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::assessor::*;
use crate::helpers::*;

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
    let csrf = hidden_field(&html, "csrf").expect("a csrf field");

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
    let csrf = hidden_field(&html, "csrf").expect("a csrf field");

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

//! Publishing keeps the integrity table with the snapshot, and the scores API
//! serves it; it never changes an index or a score.

use pingyi::app::frames;
use pingyi::domain::office::Role;
use polars::prelude::{DataFrame, IntoLazy};
use reqwest::StatusCode;

use crate::helpers::office::*;
use crate::helpers::*;
use crate::integrity_support::{PERIOD, plant};

async fn get(app: &TestApp, browser: &Browser, path: &str) -> reqwest::Response {
    browser.client.get(app.url(path)).send().await.unwrap()
}

async fn parquet(app: &TestApp, browser: &Browser, path: &str) -> DataFrame {
    let r = get(app, browser, path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    frames::from_parquet(&r.bytes().await.unwrap()).unwrap()
}

#[actix_web::test]
async fn a_published_period_serves_its_integrity_table_and_the_flags_change_no_score() {
    let app = spawn_app().await;
    plant(&app).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let published = publish(&app, &admin, &csrf, PERIOD).await;
    let run = published["snapshot"]["run_id"].as_str().unwrap().to_owned();

    let json: serde_json::Value = get(
        &app,
        &admin,
        &format!("/api/v1/indicators?period={PERIOD}&table=integrity"),
    )
    .await
    .json()
    .await
    .unwrap();
    assert_eq!(json["table"], "integrity");
    let rows = json["rows"].as_array().unwrap();
    let flags = |code: &str| {
        rows.iter()
            .find(|r| r["institution_code"] == code)
            .map(|r| r["flags"].as_str().unwrap().to_owned())
    };
    assert_eq!(flags("water-01").as_deref(), Some("network"));
    assert_eq!(flags("water-03").as_deref(), Some("burst"));
    assert_eq!(flags("water-07").as_deref(), Some(""));
    assert_eq!(
        rows.len(),
        12,
        "a row per institution with citizen responses"
    );

    // Filtered like the institution table, by category and by district.
    let water = parquet(
        &app,
        &admin,
        &format!("/api/v1/indicators?run={run}&table=integrity&category=water&format=parquet"),
    )
    .await;
    assert_eq!(water.height(), 8);
    let inst = parquet(
        &app,
        &admin,
        &format!("/api/v1/indicators?run={run}&format=parquet"),
    )
    .await;
    let district = frames::strings(&inst, "district_code").unwrap()[0]
        .clone()
        .unwrap();
    let in_district = parquet(
        &app,
        &admin,
        &format!("/api/v1/indicators?run={run}&table=integrity&district={district}&format=parquet"),
    )
    .await;
    assert!(in_district.height() >= 1 && in_district.height() < 12);

    // The indicators are those of the same export without the integrity
    // columns: the flags change nothing.
    let export = parquet(
        &app,
        &admin,
        &format!("/api/v1/snapshots/{run}/export?table=responses&format=parquet"),
    )
    .await;
    let stripped = export
        .drop_many(["submitted_at", "respondent", "network", "comment_key"])
        .clone();
    assert_eq!(stripped.width() + 4, export.width());
    let institutions = parquet(
        &app,
        &admin,
        &format!("/api/v1/snapshots/{run}/export?table=institutions&format=parquet"),
    )
    .await;
    let answers = parquet(
        &app,
        &admin,
        &format!("/api/v1/snapshots/{run}/export?table=answers&format=parquet"),
    )
    .await;
    let model = analysis::Model::from_toml_str(
        &get(&app, &admin, &format!("/api/v1/snapshots/{run}/model"))
            .await
            .text()
            .await
            .unwrap(),
    )
    .unwrap();
    let out = std::thread::spawn(move || {
        analysis::run(
            analysis::Inputs {
                institutions: institutions.lazy(),
                responses: stripped.lazy(),
                answers: answers.lazy(),
            },
            &model,
        )
        .unwrap()
    })
    .join()
    .unwrap();
    let recomputed = frames::filter_eq(&out.institution_indicators, "period", PERIOD).unwrap();
    assert!(inst.equals_missing(&recomputed), "{inst}\n{recomputed}");
    let without = frames::filter_eq(&out.integrity, "period", PERIOD).unwrap();
    assert!(
        frames::strings(&without, "flags")
            .unwrap()
            .iter()
            .all(|f| f.as_deref() == Some("") || f.as_deref() == Some("all_top")),
        "without the columns only the rating measures can flag"
    );

    // Read like the other tables: institution users are refused.
    let (inst_user, _) = office_browser(&app, "water1", Role::Institution, Some("water-01")).await;
    assert_eq!(
        get(
            &app,
            &inst_user,
            &format!("/api/v1/indicators?period={PERIOD}&table=integrity")
        )
        .await
        .status(),
        StatusCode::FORBIDDEN
    );
    // A snapshot published before the table was kept has none.
    use sea_orm::ConnectionTrait;
    app.db
        .execute_unprepared("DELETE FROM snapshot_table WHERE name = 'integrity'")
        .await
        .unwrap();
    assert_eq!(
        get(
            &app,
            &admin,
            &format!("/api/v1/indicators?run={run}&table=integrity")
        )
        .await
        .status(),
        StatusCode::NOT_FOUND
    );
    // The OpenAPI document offers the table.
    let doc: serde_json::Value = reqwest::get(app.url("/api/docs/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = doc["paths"]["/api/v1/indicators"].to_string() + &doc["components"].to_string();
    assert!(text.contains("\"integrity\""), "{text}");
}

//! JSON uploads: an array of objects keyed by the template's columns.

use reqwest::StatusCode;
use serde_json::Value;

use crate::helpers::assessor::*;
use crate::helpers::*;

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

//! Assessors: organisations with a token and a contract, and their uploads
//! (files in the water template, the endpoint, the error report).

use pingyi::db::assessors::{self, NewContract};
use pingyi::domain::period::Period;
use reqwest::StatusCode;
use serde_json::Value;

use super::TestApp;

/// The period the test organisations are contracted for.
pub const PERIOD: &str = "2025-10";
pub const WATER_HEADER: &str = "respondent_ref,institution_code,period,interviewed_at,channel,att1,att2,eff1,eff2,env1,tra1,out1,out2,comment";
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// An assessor organisation and its API token.
pub struct Firm {
    pub id: i32,
    pub token: String,
}

/// An assessor organisation with a token, contracted for the water category
/// in [`PERIOD`].
pub async fn water_firm(app: &TestApp, code: &str) -> Firm {
    firm(app, code, "water").await
}

/// An assessor organisation with a token, contracted for `category` in
/// [`PERIOD`].
pub async fn firm(app: &TestApp, code: &str, category: &str) -> Firm {
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
pub fn row(reference: &str, institution: &str, when: &str, channel: &str) -> String {
    format!("{reference},{institution},{PERIOD},{when},{channel},5,4,3,,5,4,5,2,")
}

/// A CSV file: the water header and the rows, as Excel ends lines.
pub fn csv(rows: &[String]) -> Vec<u8> {
    let mut text = String::from(WATER_HEADER);
    for r in rows {
        text.push_str("\r\n");
        text.push_str(r);
    }
    text.push_str("\r\n");
    text.into_bytes()
}

/// POSTs a file to the upload endpoint, with the token if any.
pub async fn upload(
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

/// Uploads a CSV file: the status and the JSON answer.
pub async fn upload_csv(app: &TestApp, firm: &Firm, body: Vec<u8>) -> (StatusCode, Value) {
    let response = upload(app, Some(&firm.token), body, "text/csv").await;
    let status = response.status();
    (status, response.json().await.unwrap())
}

/// The (row, column, code) of every reported error.
pub fn errors(body: &Value) -> Vec<(Option<u64>, Option<String>, String)> {
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

/// Whether the answer reports `code` at this row and column.
pub fn has(body: &Value, row: u64, column: Option<&str>, code: &str) -> bool {
    errors(body)
        .iter()
        .any(|(r, c, k)| *r == Some(row) && c.as_deref() == column && k == code)
}

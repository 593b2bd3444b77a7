//! The office: accounts, sign-in, forms, API calls and seeded responses.

use pingyi::db::users;
use pingyi::db::writer::{NewAnswer, NewResponse, Source, WriteOutcome};
use pingyi::domain::office::Role;
use pingyi::domain::period::Period;
use reqwest::StatusCode;

use super::{Browser, TestApp, hidden_field};

pub const PASSWORD: &str = "correct horse battery staple";

/// Creates an account with [`PASSWORD`].
pub async fn user(app: &TestApp, username: &str, role: Role, institution: Option<&str>) {
    let id = institution.map(|code| app.state.catalog.get().institution(code).unwrap().id);
    users::create(&app.db, username, PASSWORD, role, id)
        .await
        .unwrap();
}

/// The first hidden `csrf` field of a page.
pub fn csrf_of(html: &str) -> Option<String> {
    hidden_field(html, "csrf")
}

/// Signs a browser in; returns the session's CSRF token.
pub async fn sign_in(
    app: &TestApp,
    browser: &Browser,
    username: &str,
    password: &str,
) -> reqwest::Response {
    let page = browser
        .get(app, "/office/login")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page).expect("a login csrf");
    post_login(
        app,
        browser,
        &csrf,
        username,
        password,
        "/office/rectification",
    )
    .await
}

/// POSTs the sign-in form with a CSRF token already in hand.
pub async fn post_login(
    app: &TestApp,
    browser: &Browser,
    csrf: &str,
    username: &str,
    password: &str,
    next: &str,
) -> reqwest::Response {
    browser
        .client
        .post(app.url("/office/login"))
        .header("x-forwarded-for", &browser.ip)
        .form(&[
            ("username", username),
            ("password", password),
            ("csrf", csrf),
            ("next", next),
        ])
        .send()
        .await
        .unwrap()
}

/// A signed-in browser of a new account with this role, and its CSRF token.
pub async fn office_browser(
    app: &TestApp,
    username: &str,
    role: Role,
    institution: Option<&str>,
) -> (Browser, String) {
    user(app, username, role, institution).await;
    let browser = app.browser("203.0.113.9");
    let response = sign_in(app, &browser, username, PASSWORD).await;
    assert_eq!(
        response.status(),
        StatusCode::SEE_OTHER,
        "{username} signs in"
    );
    let page = browser
        .get(app, "/office/rectification")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page).expect("a session csrf");
    (browser, csrf)
}

/// POSTs a form.
pub async fn post_form(
    app: &TestApp,
    browser: &Browser,
    path: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    browser
        .client
        .post(app.url(path))
        .header("x-forwarded-for", &browser.ip)
        .form(fields)
        .send()
        .await
        .unwrap()
}

/// Publishes through the API as a signed-in administrator.
pub async fn publish(
    app: &TestApp,
    admin: &Browser,
    csrf: &str,
    period: &str,
) -> serde_json::Value {
    let response = admin
        .client
        .post(app.url(&format!("/api/v1/periods/{period}/publish")))
        .header("x-csrf-token", csrf)
        .send()
        .await
        .unwrap();
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::CREATED, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// Stores `n` citizen responses for an institution in `period`, every item
/// rated `rating`, the first with `comment`. Returns their ids.
pub async fn responses(
    app: &TestApp,
    code: &str,
    period: &str,
    n: usize,
    rating: i16,
    comment: Option<&str>,
) -> Vec<i64> {
    let catalog = app.state.catalog.get();
    let inst = catalog.institution(code).unwrap();
    let q = catalog.questionnaire_for(inst).unwrap();
    let period: Period = period.parse().unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        let response = NewResponse {
            institution_id: inst.id,
            questionnaire_id: q.id,
            source: Source::Citizen,
            period,
            submitted_at: chrono::Utc::now(),
            duration_ms: Some(60_000),
            channel: "web",
            respondent_hash: format!(
                "{code}-{period}-{rating}-{i}-{}",
                uuid::Uuid::new_v4().simple()
            ),
            comment: (i == 0).then(|| comment.map(str::to_owned)).flatten(),
            network_hash: None,
            comment_key: None,
            answers: q
                .items
                .iter()
                .map(|item| NewAnswer {
                    item_code: item.code.clone(),
                    dimension_code: item.dimension_code.clone(),
                    rating: Some(rating),
                })
                .collect(),
            ticket_hash: None,
        };
        match app.state.writer.submit(response).await.unwrap() {
            WriteOutcome::Stored(id) => ids.push(id),
            other => panic!("not stored: {other:?}"),
        }
    }
    ids
}

/// GET with a bearer token.
pub async fn get_with_token(app: &TestApp, path: &str, token: &str) -> reqwest::Response {
    reqwest::Client::new()
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

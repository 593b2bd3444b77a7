//! Voiding from the integrity review through HTTP: an administrator's one
//! audited action with one reason, visible on the responses, refused for a
//! published period until it is reopened; re-running the review shows the
//! pattern gone.

use pingyi::domain::office::Role;
use reqwest::StatusCode;

use crate::helpers::office::*;
use crate::helpers::*;
use crate::integrity_support::{PERIOD, plant};

const NETWORK: &str =
    "/office/integrity/responses?period=2026-10&institution=water-01&measure=network";

async fn html(app: &TestApp, browser: &Browser, path: &str) -> String {
    let r = browser.get(app, path).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.text().await.unwrap()
}

/// POSTs the void form: the selection as repeated `response` fields.
async fn void(
    app: &TestApp,
    browser: &Browser,
    csrf: &str,
    institution: &str,
    ids: &[i64],
    reason: &str,
) -> reqwest::Response {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let mut fields = vec![
        ("csrf", csrf),
        ("period", PERIOD),
        ("institution", institution),
        ("measure", "network"),
        ("reason", reason),
    ];
    fields.extend(ids.iter().map(|id| ("response", id.as_str())));
    post_form(app, browser, "/office/integrity/void", &fields).await
}

async fn voided(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM response WHERE voided")
        .await
}

fn flagged(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let rows = scraper::Selector::parse("tr[data-institution]").unwrap();
    doc.select(&rows)
        .map(|r| r.value().attr("data-institution").unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn an_administrator_voids_the_evidence_with_one_audited_reason_and_the_flag_goes() {
    let app = spawn_app().await;
    let planted = plant(&app).await;
    let wifi = planted.behind["water-01"].clone();
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let (analyst, analyst_csrf) = office_browser(&app, "ana", Role::Analyst, None).await;
    let (inst, inst_csrf) =
        office_browser(&app, "water1", Role::Institution, Some("water-01")).await;
    let review = html(&app, &admin, &format!("/office/integrity?period={PERIOD}")).await;
    assert!(flagged(&review).contains(&"water-01".to_owned()));

    // Only an administrator's form: the page offers it to them alone.
    let page = html(&app, &admin, NETWORK).await;
    assert_eq!(page.matches("name=\"response\"").count(), wifi.len());
    assert!(
        !html(&app, &analyst, NETWORK)
            .await
            .contains("name=\"response\"")
    );
    for (who, token) in [(&analyst, &analyst_csrf), (&inst, &inst_csrf)] {
        let r = void(&app, who, token, "water-01", &wifi, "staff ratings").await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
    }
    // A forged form, no reason, no selection, or a response that is not in
    // this pool: refused, nothing changed.
    let r = void(&app, &admin, "forged", "water-01", &wifi, "staff ratings").await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = void(&app, &admin, &csrf, "water-01", &wifi, "  ").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let r = void(&app, &admin, &csrf, "water-01", &[], "staff ratings").await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let mut stray = wifi.clone();
    stray.push(planted.all["water-02"][0]);
    let r = void(&app, &admin, &csrf, "water-01", &stray, "staff ratings").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert_eq!(voided(&app).await, 0);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'integrity.void'")
            .await,
        0
    );

    // The selection, with one reason: one action.
    let r = void(
        &app,
        &admin,
        &csrf,
        "water-01",
        &wifi,
        "员工在单位Wi-Fi上自评",
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        r.headers()["location"].to_str().unwrap(),
        NETWORK,
        "back to the evidence"
    );
    assert_eq!(voided(&app).await, wifi.len() as i64);
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM response WHERE voided AND void_reason = '员工在单位Wi-Fi上自评'"
        )
        .await,
        wifi.len() as i64
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'integrity.void' AND actor = 'boss'"
        )
        .await,
        1
    );
    let ids = wifi
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'integrity.void' \
             AND target = 'water-01 {PERIOD}' AND detail LIKE '%员工在单位Wi-Fi上自评%' \
             AND detail LIKE '%[{ids}]%'"
        ))
        .await,
        1,
        "the audit entry names the reason and every response"
    );
    let audit = html(&app, &admin, "/office/audit").await;
    assert!(audit.contains("integrity.void"));

    // Visible on the responses: the list behind the evidence is now one
    // response (its top network), the voided ones are listed with the reason.
    let page = html(&app, &admin, NETWORK).await;
    assert_eq!(page.matches("data-response=").count(), 1);
    assert_eq!(page.matches("data-voided=").count(), wifi.len());
    assert!(page.contains("员工在单位Wi-Fi上自评"));
    // Re-running shows the pattern gone; the others stay.
    let review = html(&app, &admin, &format!("/office/integrity?period={PERIOD}")).await;
    let now = flagged(&review);
    assert!(!now.contains(&"water-01".to_owned()), "{now:?}");
    assert_eq!(now.len(), 4);
    // Voiding the same responses again: they are no longer in the pool.
    let r = void(&app, &admin, &csrf, "water-01", &wifi[..1], "again").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
}

#[actix_web::test]
async fn voiding_is_refused_for_a_published_period_until_it_is_reopened() {
    let app = spawn_app().await;
    let planted = plant(&app).await;
    let wifi = planted.behind["water-01"].clone();
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let published = publish(&app, &admin, &csrf, PERIOD).await;
    let run = published["snapshot"]["run_id"].as_str().unwrap().to_owned();

    // The published period is still reviewed (figures of the data as it is).
    let review = html(&app, &admin, &format!("/office/integrity?period={PERIOD}")).await;
    assert!(flagged(&review).contains(&"water-01".to_owned()));
    let page = html(&app, &admin, NETWORK).await;
    assert!(
        !page.contains("name=\"response\""),
        "no void form once published"
    );
    assert!(page.contains("本期已发布"));
    let r = void(&app, &admin, &csrf, "water-01", &wifi, "staff ratings").await;
    assert_eq!(r.status(), StatusCode::CONFLICT);
    assert!(r.text().await.unwrap().contains("2026-10 期已发布"));
    assert_eq!(voided(&app).await, 0);

    let reopened = admin
        .client
        .post(app.url(&format!("/api/v1/periods/{PERIOD}/reopen")))
        .header("x-csrf-token", &csrf)
        .json(&serde_json::json!({"reason": "integrity review"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reopened.status(), StatusCode::NO_CONTENT);
    let r = void(&app, &admin, &csrf, "water-01", &wifi, "staff ratings").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(voided(&app).await, wifi.len() as i64);

    // The old snapshot keeps its figures; republishing leaves the responses
    // out of every table and clears the flag.
    let old: serde_json::Value = admin
        .client
        .get(app.url(&format!("/api/v1/indicators?run={run}&table=integrity")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let flags_of = |v: &serde_json::Value, code: &str| {
        v["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["institution_code"] == code)
            .map(|r| r["flags"].as_str().unwrap().to_owned())
    };
    assert_eq!(flags_of(&old, "water-01").as_deref(), Some("network"));
    publish(&app, &admin, &csrf, PERIOD).await;
    let new: serde_json::Value = admin
        .client
        .get(app.url(&format!(
            "/api/v1/indicators?period={PERIOD}&table=integrity"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(flags_of(&new, "water-01").as_deref(), Some(""));
    let quality: serde_json::Value = admin
        .client
        .get(app.url(&format!(
            "/api/v1/indicators?period={PERIOD}&table=quality&category=water"
        )))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(quality["rows"][0]["n_voided"], wifi.len());
}

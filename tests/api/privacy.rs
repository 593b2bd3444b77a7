use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn no_raw_ip_or_device_id_is_in_the_database() {
    let app = spawn_app().await;
    let browser = app.browser("203.0.113.77");
    let form = browser.form(&app, "water-01").await;
    assert_eq!(
        browser
            .post(&app, "water-01", &with_form(&form, water_answers()))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    let device = browser.device_id(&app).unwrap();
    let backend = app.db.get_database_backend();
    use sea_orm::ConnectionTrait;
    let rows = app
        .db
        .query_all_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT respondent_hash, channel, COALESCE(comment, '') FROM response".to_owned(),
        ))
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    for row in rows {
        for i in 0..3 {
            let value: String = row.try_get_by_index(i).unwrap();
            assert!(
                !value.contains("203.0.113.77") && !value.contains(&device),
                "column {i}: {value}"
            );
        }
        let hash: String = row.try_get_by_index(0).unwrap();
        assert_eq!(hash.len(), 64, "a keyed hash is stored");
    }
}

#[actix_web::test]
async fn pages_carry_security_headers_and_escape_user_text() {
    let app = spawn_app().await;
    let browser = app.browser("203.0.113.78");
    let response = browser
        .get(&app, "/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E")
        .await;
    let headers = response.headers().clone();
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && !csp.contains("unsafe-inline"));
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let body = response.text().await.unwrap();
    assert!(!body.contains("<script>alert(1)</script>") && body.contains("&lt;script&gt;"));
    let form = browser.get(&app, "/s/water-01").await;
    let cookie = form.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"),
        "{cookie}"
    );
}

async fn rate(app: &TestApp, browser: &Browser, code: &str) {
    assert_eq!(
        browser.rate(app, code).await,
        StatusCode::SEE_OTHER,
        "{code}"
    );
}

#[actix_web::test]
async fn a_device_has_one_respondent_hash_within_a_period_and_an_unrelated_one_in_another() {
    let monthly = spawn_app().await;
    let browser = monthly.browser("203.0.113.79");
    rate(&monthly, &browser, "water-01").await;
    rate(&monthly, &browser, "water-02").await;
    let device = browser.device_id(&monthly).unwrap();
    let month = monthly.respondents().await;
    assert_eq!(month.len(), 2);
    assert_eq!(month[0].2, month[1].2, "linkable within the period");
    assert_eq!(
        month[0].2,
        monthly.state.keys.digest_in(
            pingyi::domain::keys::Purpose::DeviceRespondent,
            &month[0].1,
            &device
        ),
        "HMAC(secret, purpose, period, device)"
    );

    // The same device (same cookie, same secret) in another period: here a
    // service collecting by quarter, so its period is another one.
    let quarterly =
        spawn_app_with(|s| s.period = pingyi::domain::period::Granularity::Quarter).await;
    rate(&quarterly, &browser, "water-01").await;
    assert_eq!(browser.device_id(&quarterly).unwrap(), device);
    let quarter = quarterly.respondents().await;
    assert_eq!(quarter.len(), 1);
    assert_ne!(quarter[0].1, month[0].1);
    assert_ne!(quarter[0].2, month[0].2, "unlinkable across periods");
}

#[actix_web::test]
async fn a_ticket_response_cannot_be_joined_to_its_ticket() {
    let app = spawn_app().await;
    let institution = app.state.catalog.get().institution("water-01").unwrap().id;
    let codes = pingyi::db::tickets::issue(&app.db, &app.state.keys, institution, 1, 30)
        .await
        .unwrap();
    let browser = app.browser("203.0.113.80");
    let form = browser.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "t", &codes[0]);
    assert_eq!(
        browser.post(&app, "water-01", &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ticket WHERE used_at IS NOT NULL")
            .await,
        1
    );
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM response r JOIN ticket t ON t.code_hash = r.respondent_hash"
        )
        .await,
        0
    );
}

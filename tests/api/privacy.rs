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

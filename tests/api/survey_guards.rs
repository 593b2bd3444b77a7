use pingyi::configuration::CaptchaMode;
use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn the_submission_quota_gives_429_with_retry_after_while_another_ip_is_unaffected() {
    let app = spawn_app_with(|s| {
        s.rate_limit.submissions_per_hour = 2;
        s.rate_limit.submission_burst = 2;
    })
    .await;
    let flooder = app.browser("203.0.113.10");
    for (i, code) in ["water-01", "water-02"].iter().enumerate() {
        let form = flooder.form(&app, code).await;
        let status = flooder
            .post(&app, code, &with_form(&form, water_answers()))
            .await
            .status();
        assert_eq!(status, StatusCode::SEE_OTHER, "submission {i}");
    }
    let form = flooder.form(&app, "water-03").await;
    let refused = flooder
        .post(&app, "water-03", &with_form(&form, water_answers()))
        .await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "Retry-After {retry}");

    let neighbour = app.browser("198.51.100.20");
    let form = neighbour.form(&app, "water-03").await;
    assert_eq!(
        neighbour
            .post(&app, "water-03", &with_form(&form, water_answers()))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.responses().await, 3);
}

#[actix_web::test]
async fn page_views_have_their_own_quota() {
    let app = spawn_app_with(|s| {
        s.rate_limit.page_views_per_minute = 5;
        s.rate_limit.page_view_burst = 5;
    })
    .await;
    let browser = app.browser("203.0.113.11");
    for _ in 0..5 {
        assert_eq!(browser.get(&app, "/").await.status(), StatusCode::OK);
    }
    let refused = browser.get(&app, "/s/water-01").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    assert_eq!(
        app.browser("203.0.113.12").get(&app, "/").await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn forwarded_for_from_an_untrusted_peer_is_not_believed() {
    let app = spawn_app_with(|s| {
        s.trusted_proxies = vec![];
        s.rate_limit.page_views_per_minute = 3;
        s.rate_limit.page_view_burst = 3;
    })
    .await;
    // Rotating the header does not give a client fresh quotas.
    for i in 0..3 {
        assert_eq!(
            app.browser(&format!("192.0.2.{i}"))
                .get(&app, "/")
                .await
                .status(),
            StatusCode::OK
        );
    }
    assert_eq!(
        app.browser("192.0.2.99").get(&app, "/").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[actix_web::test]
async fn a_wrong_expired_or_reused_captcha_is_refused() {
    let app = spawn_app_with(|s| {
        s.captcha = CaptchaMode::Always;
        s.captcha_ttl_secs = 2;
    })
    .await;
    let browser = app.browser("203.0.113.20");

    // Wrong answer: 422 with a new challenge, nothing stored.
    let form = browser.form(&app, "water-01").await;
    let id = form.captcha_id.clone().expect("a captcha is asked");
    let image = browser.get(&app, &format!("/captcha/{id}.png")).await;
    assert_eq!(image.status(), StatusCode::OK);
    assert!(image.bytes().await.unwrap().starts_with(b"\x89PNG"));
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "captcha_id", &id);
    set(&mut fields, "captcha", "wrong");
    let wrong = browser.post(&app, "water-01", &fields).await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.text().await.unwrap().contains("验证码不正确"));

    // The right answer, after the failed attempt consumed the challenge, is refused too.
    let form = browser.form(&app, "water-01").await;
    let id = form.captcha_id.clone().unwrap();
    let answer = app.captcha_answer(&id).await.unwrap();
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "captcha_id", &id);
    set(&mut fields, "captcha", &answer.to_uppercase());
    assert_eq!(
        browser.post(&app, "water-01", &fields).await.status(),
        StatusCode::SEE_OTHER,
        "case-insensitive"
    );

    // Reuse of a solved challenge on another institution.
    let other = browser.form(&app, "water-02").await;
    let mut reused = with_form(&other, water_answers());
    set(&mut reused, "captcha_id", &id);
    set(&mut reused, "captcha", &answer);
    assert_eq!(
        browser.post(&app, "water-02", &reused).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Expired.
    let form = browser.form(&app, "water-03").await;
    let id = form.captcha_id.clone().unwrap();
    let answer = app.captcha_answer(&id).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "captcha_id", &id);
    set(&mut fields, "captcha", &answer);
    assert_eq!(
        browser.post(&app, "water-03", &fields).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(app.responses().await, 1);
}

#[actix_web::test]
async fn adaptive_captcha_asks_only_after_the_threshold() {
    let app = spawn_app_with(|s| {
        s.captcha = CaptchaMode::Adaptive;
        s.captcha_threshold = 2;
    })
    .await;
    let browser = app.browser("203.0.113.30");
    for code in ["water-01", "water-02"] {
        let form = browser.form(&app, code).await;
        assert!(form.captcha_id.is_none(), "no captcha below the threshold");
        assert_eq!(
            browser
                .post(&app, code, &with_form(&form, water_answers()))
                .await
                .status(),
            StatusCode::SEE_OTHER
        );
    }
    let form = browser.form(&app, "water-03").await;
    assert!(
        form.captcha_id.is_some(),
        "captcha once the address passed the threshold"
    );
    let without = browser
        .post(&app, "water-03", &with_form(&form, water_answers()))
        .await;
    assert_eq!(without.status(), StatusCode::UNPROCESSABLE_ENTITY);
    // Another address is not asked.
    assert!(
        app.browser("198.51.100.30")
            .form(&app, "water-03")
            .await
            .captcha_id
            .is_none()
    );
}

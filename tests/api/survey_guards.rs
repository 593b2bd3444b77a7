use pingyi::setup::configuration::CaptchaMode;
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

#[actix_web::test]
async fn ipv6_addresses_inside_one_64_share_the_address_quota() {
    let app = spawn_app_with(|s| {
        s.rate_limit.submissions_per_hour = 2;
        s.rate_limit.submission_burst = 2;
    })
    .await;
    assert_eq!(
        app.submit_new_device("2001:db8:0:100::1", "water-01").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.submit_new_device("2001:db8:0:100::2", "water-02").await,
        StatusCode::SEE_OTHER
    );
    // A third address of the same /64 is the same client.
    assert_eq!(
        app.submit_new_device("2001:db8:0:100:ffff:1:2:3", "water-03")
            .await,
        StatusCode::TOO_MANY_REQUESTS
    );
    // The next /64 is another client.
    assert_eq!(
        app.submit_new_device("2001:db8:0:101::1", "water-03").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.responses().await, 3);
}

#[actix_web::test]
async fn a_56_rotating_through_its_64s_meets_the_subnet_quota_of_its_48() {
    let app = spawn_app_with(|s| {
        s.rate_limit.subnet_submissions_per_hour = 3;
        s.rate_limit.subnet_submission_burst = 3;
    })
    .await;
    for (i, ip) in ["2001:db8:7:1::1", "2001:db8:7:2::1", "2001:db8:7:3::1"]
        .iter()
        .enumerate()
    {
        assert_eq!(
            app.submit_new_device(ip, "water-01").await,
            StatusCode::SEE_OTHER,
            "{ip}"
        );
        assert_eq!(app.responses().await, i as i64 + 1);
    }
    let refused = app.browser("2001:db8:7:ff::1");
    let form = refused.form(&app, "water-01").await;
    let response = refused
        .post(&app, "water-01", &with_form(&form, water_answers()))
        .await;
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(response.headers().contains_key("retry-after"));
    // Another /48 has its own quota.
    assert_eq!(
        app.submit_new_device("2001:db8:8:1::1", "water-01").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.responses().await, 4);
}

#[actix_web::test]
async fn the_adaptive_captcha_counts_the_submissions_of_an_ipv6_64() {
    let app = spawn_app_with(|s| {
        s.captcha = CaptchaMode::Adaptive;
        s.captcha_threshold = 2;
    })
    .await;
    for (ip, code) in [
        ("2001:db8:0:200::a", "water-01"),
        ("2001:db8:0:200::b", "water-02"),
    ] {
        assert_eq!(app.submit_new_device(ip, code).await, StatusCode::SEE_OTHER);
    }
    let form = app
        .browser("2001:db8:0:200::c")
        .form(&app, "water-03")
        .await;
    assert!(
        form.captcha_id.is_some(),
        "a new address in the same /64 is asked"
    );
    let form = app
        .browser("2001:db8:0:201::c")
        .form(&app, "water-03")
        .await;
    assert!(form.captcha_id.is_none(), "the next /64 is not");
}

#[actix_web::test]
async fn an_ipv4_client_spelt_as_a_mapped_ipv6_address_is_the_same_client() {
    let app = spawn_app_with(|s| {
        s.rate_limit.submissions_per_hour = 1;
        s.rate_limit.submission_burst = 1;
    })
    .await;
    assert_eq!(
        app.submit_new_device("::ffff:203.0.113.90", "water-01")
            .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.submit_new_device("203.0.113.90", "water-02").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(app.responses().await, 1);
}

#[actix_web::test]
async fn mapped_ipv4_clients_of_different_24s_do_not_share_one_subnet_quota() {
    let app = spawn_app_with(|s| {
        s.rate_limit.subnet_submissions_per_hour = 1;
        s.rate_limit.subnet_submission_burst = 1;
    })
    .await;
    assert_eq!(
        app.submit_new_device("::ffff:198.51.100.91", "water-01")
            .await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.submit_new_device("::ffff:203.0.113.92", "water-01")
            .await,
        StatusCode::SEE_OTHER
    );
    // The same /24 is one subnet, however it is spelt.
    assert_eq!(
        app.submit_new_device("198.51.100.93", "water-01").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    assert_eq!(app.responses().await, 2);
}

#[actix_web::test]
async fn a_server_that_sees_ipv4_peers_as_mapped_addresses_still_believes_its_ipv4_proxy() {
    // A socket bound to an IPv6 address sees IPv4 peers as ::ffff:a.b.c.d,
    // as a server bound to [::] does.
    let app = spawn_app_with(|s| {
        s.listen = "[::ffff:127.0.0.1]:0".parse().unwrap();
        s.rate_limit.page_views_per_minute = 1;
        s.rate_limit.page_view_burst = 1;
    })
    .await;
    for ip in ["198.51.100.40", "198.51.100.41", "2001:db8:5::1"] {
        assert_eq!(
            app.browser(ip).get(&app, "/").await.status(),
            StatusCode::OK,
            "{ip} is its own client"
        );
    }
    assert_eq!(
        app.browser("198.51.100.40").get(&app, "/").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
}

#[actix_web::test]
async fn trusted_proxies_written_as_mapped_addresses_match_ipv4_peers() {
    for range in ["::ffff:127.0.0.0/104", "::ffff:127.0.0.1/128"] {
        let app = spawn_app_with(|s| {
            s.trusted_proxies = vec![range.parse().unwrap()];
            s.rate_limit.page_views_per_minute = 1;
            s.rate_limit.page_view_burst = 1;
        })
        .await;
        for ip in ["198.51.100.50", "198.51.100.51"] {
            assert_eq!(
                app.browser(ip).get(&app, "/").await.status(),
                StatusCode::OK,
                "{range}: {ip} is believed"
            );
        }
    }
}

#[actix_web::test]
async fn a_new_device_cookie_from_the_office_login_page_draws_on_the_page_view_quota() {
    let app = spawn_app_with(|s| {
        s.rate_limit.page_views_per_minute = 3;
        s.rate_limit.page_view_burst = 3;
    })
    .await;
    let ip = "203.0.113.95";
    // A questionnaire that mints a device counts once, not twice.
    let citizen = app.browser(ip);
    citizen.form(&app, "water-01").await;
    for i in 0..2 {
        let fresh = app.browser(ip).get(&app, "/office/login").await;
        assert_eq!(fresh.status(), StatusCode::OK, "login page {i}");
        assert!(
            fresh.headers()["set-cookie"]
                .to_str()
                .unwrap()
                .starts_with("pingyi_device="),
            "a device cookie is issued"
        );
    }
    let refused = app.browser(ip).get(&app, "/office/login").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    assert!(
        !refused.headers().contains_key("set-cookie"),
        "no device cookie without quota"
    );
    assert!(!refused.text().await.unwrap().contains("name=\"csrf\""));
    // The quota is the citizen pages' one.
    assert_eq!(
        app.browser(ip).get(&app, "/").await.status(),
        StatusCode::TOO_MANY_REQUESTS
    );
    // A browser that already has its device is not charged for the page.
    assert_eq!(
        citizen.get(&app, "/office/login").await.status(),
        StatusCode::OK
    );
    // Another address is unaffected.
    assert_eq!(
        app.browser("198.51.100.95")
            .get(&app, "/office/login")
            .await
            .status(),
        StatusCode::OK
    );
}

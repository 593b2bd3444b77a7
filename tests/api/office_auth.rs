//! Office accounts, roles, CSRF, lock-out and API tokens.

use pingyi::db::users;
use pingyi::domain::office::Role;
use reqwest::StatusCode;

use crate::helpers::office::*;
use crate::helpers::*;

const PERIOD: &str = "2026-01";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Who {
    Anonymous,
    Citizen,
    Assessor,
    Institution,
    Analyst,
    Admin,
}

/// What a role gets on a page: the page, a redirect to sign in, or 403.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Expect {
    Ok,
    SignIn,
    Forbidden,
}

#[actix_web::test]
async fn every_office_page_and_api_answers_each_role_as_its_permissions_say() {
    let app = spawn_app().await;
    responses(&app, "water-01", PERIOD, 3, 2, Some("太慢了")).await;
    let (admin, admin_csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    publish(&app, &admin, &admin_csrf, PERIOD).await;
    let (analyst, analyst_csrf) = office_browser(&app, "ana", Role::Analyst, None).await;
    let (inst, inst_csrf) =
        office_browser(&app, "water1", Role::Institution, Some("water-01")).await;
    let anonymous = app.browser("203.0.113.20");
    let citizen = app.browser("203.0.113.21");
    citizen.form(&app, "water-02").await;
    let org = pingyi::db::assessors::create_org(&app.db, "acme", "Acme Survey")
        .await
        .unwrap();
    let assessor_token = pingyi::db::assessors::issue_token(&app.db, &app.state.keys, org, 30)
        .await
        .unwrap()
        .token;

    use Expect::*;
    // (path, institution user, analyst)
    let pages: &[(&str, Expect, Expect)] = &[
        ("/office/dashboard", Forbidden, Ok),
        ("/office/dashboard?period=2026-01", Forbidden, Ok),
        ("/office/periods", Forbidden, Ok),
        ("/office/institutions", Forbidden, Ok),
        ("/office/institutions/water-01", Ok, Ok),
        ("/office/institutions/water-02", Forbidden, Ok),
        ("/office/model", Forbidden, Ok),
        ("/office/questionnaires", Forbidden, Ok),
        ("/office/rectification", Ok, Ok),
        ("/office/appeals", Ok, Ok),
        ("/office/audit", Forbidden, Forbidden),
        ("/office/users", Forbidden, Forbidden),
        ("/office/tokens", Forbidden, Forbidden),
    ];
    for who in [
        Who::Anonymous,
        Who::Citizen,
        Who::Assessor,
        Who::Institution,
        Who::Analyst,
        Who::Admin,
    ] {
        let browser = match who {
            Who::Anonymous | Who::Assessor => &anonymous,
            Who::Citizen => &citizen,
            Who::Institution => &inst,
            Who::Analyst => &analyst,
            Who::Admin => &admin,
        };
        for (path, for_inst, for_analyst) in pages {
            let expect = match who {
                Who::Anonymous | Who::Citizen | Who::Assessor => SignIn,
                Who::Institution => *for_inst,
                Who::Analyst => *for_analyst,
                Who::Admin => Ok,
            };
            let mut request = browser.client.get(app.url(path));
            if who == Who::Assessor {
                request = request.bearer_auth(&assessor_token);
            }
            let response = request.send().await.unwrap();
            let status = response.status();
            match expect {
                Ok => assert_eq!(status, StatusCode::OK, "{who:?} {path}"),
                Forbidden => assert_eq!(status, StatusCode::FORBIDDEN, "{who:?} {path}"),
                SignIn => {
                    assert_eq!(status, StatusCode::SEE_OTHER, "{who:?} {path}");
                    assert!(
                        response.headers()["location"]
                            .to_str()
                            .unwrap()
                            .starts_with("/office/login?next=")
                    );
                }
            }
        }
        // The API: reading scores, and publishing.
        for path in [
            "/api/v1/indicators",
            "/api/v1/snapshots",
            "/api/v1/indicators?table=quality&format=csv",
        ] {
            let mut request = browser.client.get(app.url(path));
            if who == Who::Assessor {
                request = request.bearer_auth(&assessor_token);
            }
            let status = request.send().await.unwrap().status();
            let expected = match who {
                Who::Anonymous | Who::Citizen | Who::Assessor => StatusCode::UNAUTHORIZED,
                Who::Institution => StatusCode::FORBIDDEN,
                Who::Analyst | Who::Admin => StatusCode::OK,
            };
            assert_eq!(status, expected, "{who:?} GET {path}");
        }
        let csrf = match who {
            Who::Institution => inst_csrf.as_str(),
            Who::Analyst => analyst_csrf.as_str(),
            Who::Admin => admin_csrf.as_str(),
            _ => "",
        };
        let mut request = browser
            .client
            .post(app.url(&format!("/api/v1/periods/{PERIOD}/publish")))
            .header("x-csrf-token", csrf);
        if who == Who::Assessor {
            request = request.bearer_auth(&assessor_token);
        }
        let status = request.send().await.unwrap().status();
        let expected = match who {
            Who::Anonymous | Who::Citizen | Who::Assessor => StatusCode::UNAUTHORIZED,
            Who::Institution | Who::Analyst => StatusCode::FORBIDDEN,
            Who::Admin => StatusCode::CREATED,
        };
        assert_eq!(status, expected, "{who:?} POST publish");
    }
    // The public results need no account.
    assert_eq!(
        anonymous
            .get(&app, &format!("/results/{PERIOD}"))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        anonymous.get(&app, "/results/2019-01").await.status(),
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        anonymous.get(&app, "/api/docs/openapi.json").await.status(),
        StatusCode::OK
    );
}

#[actix_web::test]
async fn office_forms_without_the_session_csrf_token_change_nothing() {
    let app = spawn_app().await;
    responses(&app, "water-01", PERIOD, 2, 3, None).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let forged = post_form(
        &app,
        &admin,
        &format!("/office/periods/{PERIOD}/publish"),
        &[("csrf", "forged")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshot").await, 0);
    // The API needs the token in a header when called with a session.
    let no_header = admin
        .client
        .post(app.url(&format!("/api/v1/periods/{PERIOD}/publish")))
        .send()
        .await
        .unwrap();
    assert_eq!(no_header.status(), StatusCode::FORBIDDEN);
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshot").await, 0);
    let ok = post_form(
        &app,
        &admin,
        &format!("/office/periods/{PERIOD}/publish"),
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.count("SELECT COUNT(*) FROM snapshot").await, 1);
    // Signing out ends the session on the server.
    let out = post_form(&app, &admin, "/office/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        admin.get(&app, "/office/dashboard").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM office_session").await, 0);
}

#[actix_web::test]
async fn repeated_failed_logins_lock_the_account_even_against_the_right_password() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 3;
        s.login_lockout_minutes = 15;
    })
    .await;
    user(&app, "ana", Role::Analyst, None).await;
    let browser = app.browser("203.0.113.30");
    let mut pages = Vec::new();
    for _ in 0..3 {
        let r = sign_in(&app, &browser, "ana", "wrong password!").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        pages.push(r.text().await.unwrap());
    }
    let right = sign_in(&app, &browser, "ana", PASSWORD).await;
    assert_eq!(
        right.status(),
        StatusCode::UNAUTHORIZED,
        "locked despite the right password"
    );
    pages.push(right.text().await.unwrap());
    // Unknown users get the same answer as a wrong password and a lock.
    let unknown = sign_in(&app, &browser, "nobody", PASSWORD).await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    pages.push(unknown.text().await.unwrap());
    assert!(pages[0].contains("用户名或密码不正确"));
    assert!(
        pages.iter().all(|p| *p == pages[0]),
        "a wrong password, a locked account and an unknown user answer alike"
    );
    // When the lock is lifted, the right password works and resets the count.
    sea_orm::ConnectionTrait::execute_unprepared(
        &app.db,
        "UPDATE office_user SET locked_until = NULL",
    )
    .await
    .unwrap();
    assert_eq!(
        sign_in(&app, &browser, "ana", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM office_user WHERE username = 'ana' AND failed_logins = 0")
            .await,
        1
    );
}

#[actix_web::test]
async fn passwords_are_argon2_hashes_and_a_login_form_needs_its_csrf_token() {
    let app = spawn_app().await;
    user(&app, "ana", Role::Analyst, None).await;
    let hashes = users::list(&app.db).await.unwrap();
    assert!(
        hashes
            .iter()
            .all(|u| u.password_hash.starts_with("$argon2id$")
                && !u.password_hash.contains(PASSWORD))
    );
    let browser = app.browser("203.0.113.31");
    browser.get(&app, "/office/login").await;
    let forged = post_form(
        &app,
        &browser,
        "/office/login",
        &[("username", "ana"), ("password", PASSWORD), ("csrf", "x")],
    )
    .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    // Only local office paths are followed after sign-in.
    let page = browser
        .get(&app, "/office/login")
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page).unwrap();
    let r = post_form(
        &app,
        &browser,
        "/office/login",
        &[
            ("username", "ana"),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("next", "https://evil.example/"),
        ],
    )
    .await;
    assert_eq!(r.headers()["location"], "/office");
    let cookie = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("pingyi_office="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"),
        "{cookie}"
    );
}

#[actix_web::test]
async fn api_tokens_read_scores_until_revoked_or_expired_and_never_publish() {
    let app = spawn_app().await;
    responses(&app, "water-01", PERIOD, 2, 4, None).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    publish(&app, &admin, &csrf, PERIOD).await;
    let issued = users::issue_api_token(&app.db, &app.state.keys, "main model", None, Some("test"))
        .await
        .unwrap();
    assert!(issued.token.starts_with("pyo_"));
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM api_token WHERE token_hash LIKE '%{}%'",
            &issued.token[4..20]
        ))
        .await,
        0,
        "only a hash is stored"
    );
    assert_eq!(
        get_with_token(&app, "/api/v1/indicators", &issued.token)
            .await
            .status(),
        StatusCode::OK
    );
    let publish_with_token = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/periods/{PERIOD}/publish")))
        .bearer_auth(&issued.token)
        .send()
        .await
        .unwrap();
    assert_eq!(publish_with_token.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        users::revoke_api_token(&app.db, &issued.prefix)
            .await
            .unwrap(),
        1
    );
    let revoked = get_with_token(&app, "/api/v1/indicators", &issued.token).await;
    assert_eq!(revoked.status(), StatusCode::UNAUTHORIZED);
    let body: serde_json::Value = revoked.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    let expired = users::issue_api_token(&app.db, &app.state.keys, "old", Some(-1), None)
        .await
        .unwrap();
    assert_eq!(
        get_with_token(&app, "/api/v1/indicators", &expired.token)
            .await
            .status(),
        StatusCode::UNAUTHORIZED
    );
    // Issuing from the office page shows the token once and audits it.
    let page = post_form(
        &app,
        &admin,
        "/office/tokens",
        &[("csrf", &csrf), ("name", "scoring"), ("days", "30")],
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("pyo_"));
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'api_token.add'")
            .await,
        1
    );
}

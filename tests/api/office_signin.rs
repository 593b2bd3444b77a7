//! Office sign-in under attack: concurrent guessing, the per-address quota,
//! unlocking (office page and command line), answers that do not tell which
//! accounts exist, where a sign-in returns to, and the `PINGYI_PASSWORD` of
//! `pingyi user add`.

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::Utc;
use entity::office_user;
use pingyi::domain::office::Role;
use reqwest::StatusCode;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter};

use crate::helpers::office::*;
use crate::helpers::*;

/// Quotas high enough that only the lock-out is tested.
fn many_logins(s: &mut pingyi::setup::configuration::Settings) {
    s.rate_limit.logins_per_hour = 100_000;
    s.rate_limit.login_burst = 100_000;
}

/// The login page's CSRF token for this browser (its device).
async fn login_csrf(app: &TestApp, browser: &Browser) -> String {
    let page = browser
        .get(app, "/office/login")
        .await
        .text()
        .await
        .unwrap();
    csrf_of(&page).expect("a login csrf")
}

async fn account(app: &TestApp, username: &str) -> office_user::Model {
    office_user::Entity::find()
        .filter(office_user::Column::Username.eq(username))
        .one(&app.db)
        .await
        .unwrap()
        .unwrap()
}

/// Moves the lock of every account into the past: the lock-out has passed.
async fn let_the_lock_expire(app: &TestApp) {
    office_user::Entity::update_many()
        .col_expr(
            office_user::Column::LockedUntil,
            Expr::value(Some(Utc::now() - chrono::Duration::seconds(1))),
        )
        .filter(office_user::Column::LockedUntil.is_not_null())
        .exec(&app.db)
        .await
        .unwrap();
}

/// Locks `username` with wrong passwords from its own address.
async fn lock(app: &TestApp, username: &str, failures: u32) {
    let browser = app.browser("198.51.100.200");
    let csrf = login_csrf(app, &browser).await;
    for _ in 0..failures {
        let r = post_login(app, &browser, &csrf, username, "wrong password!", "/office").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    assert!(account(app, username).await.locked_until.is_some());
}

fn pingyi(app: &TestApp, args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_pingyi"));
    command
        .args(args)
        .env("PINGYI_DATABASE_URL", app.state.settings.database_url())
        .env("PINGYI_DATA_DIR", &app.state.settings.data_dir)
        .env("PINGYI_SECRET", "test-secret-test-secret-test-secret-0123")
        .env("PINGYI_LOG", "warn");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("the binary runs")
}

#[actix_web::test]
async fn concurrent_wrong_passwords_lock_the_account_before_the_right_one_arrives() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 5;
        s.login_lockout_minutes = 15;
        many_logins(s);
    })
    .await;
    user(&app, "ana", Role::Analyst, None).await;
    let browser = app.browser("198.51.100.10");
    let csrf = login_csrf(&app, &browser).await;
    let mut guesses = Vec::new();
    for i in 0..30 {
        let (client, url, ip, csrf) = (
            browser.client.clone(),
            app.url("/office/login"),
            browser.ip.clone(),
            csrf.clone(),
        );
        guesses.push(tokio::spawn(async move {
            client
                .post(url)
                .header("x-forwarded-for", ip)
                .form(&[
                    ("username", "ana"),
                    ("password", format!("wrong guess {i}").as_str()),
                    ("csrf", &csrf),
                ])
                .send()
                .await
                .unwrap()
                .status()
        }));
    }
    // The right password, while the guesses are still being verified: 50 ms
    // later, and once five attempts are counted (the count comes before the
    // slow verification, so this is at once; the wait only keeps a busy test
    // machine from making the test flaky).
    tokio::time::sleep(Duration::from_millis(50)).await;
    let deadline = Instant::now() + Duration::from_secs(2);
    while account(&app, "ana").await.failed_logins < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let right = post_login(&app, &browser, &csrf, "ana", PASSWORD, "/office").await;
    assert_eq!(
        right.status(),
        StatusCode::UNAUTHORIZED,
        "the right password got in during a lock-out"
    );
    for guess in guesses {
        assert_eq!(guess.await.unwrap(), StatusCode::UNAUTHORIZED);
    }
    let ana = account(&app, "ana").await;
    assert!(ana.locked_until.is_some_and(|t| t > Utc::now()));
    assert_eq!(
        ana.failed_logins, 5,
        "only as many guesses as allowed were counted (and verified)"
    );
    let again = post_login(&app, &browser, &csrf, "ana", PASSWORD, "/office").await;
    assert_eq!(again.status(), StatusCode::UNAUTHORIZED);

    // Once the lock-out has passed, the right password works and the
    // count starts again.
    let_the_lock_expire(&app).await;
    let after = post_login(&app, &browser, &csrf, "ana", PASSWORD, "/office").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    let ana = account(&app, "ana").await;
    assert_eq!((ana.failed_logins, ana.locked_until), (0, None));
}

#[actix_web::test]
async fn the_last_allowed_guess_signs_in_when_it_is_right() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 3;
        many_logins(s);
    })
    .await;
    user(&app, "ana", Role::Analyst, None).await;
    let browser = app.browser("198.51.100.11");
    let csrf = login_csrf(&app, &browser).await;
    for _ in 0..2 {
        let r = post_login(&app, &browser, &csrf, "ana", "wrong password!", "/office").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let third = post_login(&app, &browser, &csrf, "ana", PASSWORD, "/office").await;
    assert_eq!(third.status(), StatusCode::SEE_OTHER);
    let ana = account(&app, "ana").await;
    assert_eq!((ana.failed_logins, ana.locked_until), (0, None));
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[actix_web::test]
async fn a_locked_account_and_an_unknown_one_answer_alike_in_status_page_and_time() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 2;
        many_logins(s);
    })
    .await;
    user(&app, "ana", Role::Analyst, None).await;
    lock(&app, "ana", 2).await;
    let browser = app.browser("198.51.100.12");
    let csrf = login_csrf(&app, &browser).await;
    let locked = post_login(&app, &browser, &csrf, "ana", PASSWORD, "/office").await;
    let unknown = post_login(&app, &browser, &csrf, "nobody", PASSWORD, "/office").await;
    assert_eq!(locked.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    let (locked, unknown) = (locked.text().await.unwrap(), unknown.text().await.unwrap());
    assert_eq!(locked, unknown, "the pages differ");
    assert!(locked.contains("用户名或密码不正确"));

    // Both run one argon2 verification: neither answers markedly faster.
    let (mut locked_times, mut unknown_times) = (Vec::new(), Vec::new());
    for _ in 0..9 {
        for (name, times) in [("ana", &mut locked_times), ("nobody", &mut unknown_times)] {
            let started = Instant::now();
            let r = post_login(&app, &browser, &csrf, name, PASSWORD, "/office").await;
            times.push(started.elapsed());
            assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        }
    }
    let (locked, unknown) = (median(locked_times), median(unknown_times));
    assert!(
        locked * 2 > unknown && unknown * 2 > locked,
        "locked {locked:?} vs unknown {unknown:?}"
    );
}

#[actix_web::test]
async fn sign_in_attempts_beyond_the_address_quota_get_429_with_retry_after_and_the_login_page() {
    let app = spawn_app_with(|s| {
        s.rate_limit.logins_per_hour = 30;
        s.rate_limit.login_burst = 10;
    })
    .await;
    user(&app, "ana", Role::Analyst, None).await;
    let browser = app.browser("198.51.100.13");
    let csrf = login_csrf(&app, &browser).await;
    for i in 0..10 {
        let r = post_login(&app, &browser, &csrf, &format!("guess{i}"), "x", "/office").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let refused = post_login(&app, &browser, &csrf, "ana", PASSWORD, "/office").await;
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=120).contains(&retry), "Retry-After {retry}");
    let page = refused.text().await.unwrap();
    assert!(
        page.contains("name=\"password\"") && page.contains("登录尝试过于频繁"),
        "{page}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM office_session").await, 0);
    // Another address has its own quota.
    let other = app.browser("198.51.100.14");
    let csrf = login_csrf(&app, &other).await;
    let ok = post_login(&app, &other, &csrf, "ana", PASSWORD, "/office").await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn an_administrator_unlocks_an_account_from_the_users_page_and_it_is_audited() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 2;
        many_logins(s);
    })
    .await;
    user(&app, "ana", Role::Analyst, None).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let (analyst, analyst_csrf) = office_browser(&app, "carl", Role::Analyst, None).await;
    lock(&app, "ana", 2).await;
    let id = account(&app, "ana").await.id;
    let page = admin.get(&app, "/office/users").await.text().await.unwrap();
    let action = format!("/office/users/{id}/unlock");
    assert!(page.contains(&action), "no unlock button: {page}");

    // Forged, or not an administrator: nothing changes.
    let forged = post_form(&app, &admin, &action, &[("csrf", "forged")]).await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);
    let by_analyst = post_form(&app, &analyst, &action, &[("csrf", &analyst_csrf)]).await;
    assert_eq!(by_analyst.status(), StatusCode::FORBIDDEN);
    assert!(account(&app, "ana").await.locked_until.is_some());
    let missing = post_form(
        &app,
        &admin,
        "/office/users/999999/unlock",
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);

    let done = post_form(&app, &admin, &action, &[("csrf", &csrf)]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);
    assert_eq!(done.headers()["location"], "/office/users");
    let ana = account(&app, "ana").await;
    assert_eq!((ana.failed_logins, ana.locked_until), (0, None));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.unlock' AND actor = 'boss' AND target = 'ana'"
        )
        .await,
        1
    );
    let browser = app.browser("198.51.100.15");
    assert_eq!(
        sign_in(&app, &browser, "ana", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );
}

#[actix_web::test]
async fn pingyi_user_unlock_lifts_a_lock_and_names_an_unknown_account() {
    let app = spawn_app_with(|s| {
        s.login_max_failures = 2;
        many_logins(s);
    })
    .await;
    user(&app, "ana", Role::Analyst, None).await;
    lock(&app, "ana", 2).await;

    let out = pingyi(&app, &["user", "unlock", "--username", "ana"], &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ana = account(&app, "ana").await;
    assert_eq!((ana.failed_logins, ana.locked_until), (0, None));
    assert_eq!(
        app.count(
            "SELECT COUNT(*) FROM audit_log WHERE action = 'user.unlock' AND actor = 'cli' AND target = 'ana'"
        )
        .await,
        1
    );
    let browser = app.browser("198.51.100.16");
    assert_eq!(
        sign_in(&app, &browser, "ana", PASSWORD).await.status(),
        StatusCode::SEE_OTHER
    );

    let unknown = pingyi(&app, &["user", "unlock", "--username", "ghost"], &[]);
    assert_eq!(unknown.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert!(
        stderr.contains("No office account named 'ghost'"),
        "{stderr}"
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'user.unlock'")
            .await,
        1
    );
}

#[actix_web::test]
async fn pingyi_user_add_takes_the_password_from_pingyi_password_as_its_help_says() {
    let app = spawn_app().await;
    let password = "a long enough password";
    let out = pingyi(
        &app,
        &["user", "add", "--username", "xia", "--role", "analyst"],
        &[
            ("PINGYI_PASSWORD", password),
            // Read by the analysis pipeline, not a setting either.
            ("PINGYI_ANALYSIS_TIMING", "1"),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let browser = app.browser("198.51.100.17");
    assert_eq!(
        sign_in(&app, &browser, "xia", password).await.status(),
        StatusCode::SEE_OTHER
    );
    // A typo of a real setting is still refused, naming it.
    let typo = pingyi(
        &app,
        &["user", "add", "--username", "yan", "--role", "analyst"],
        &[
            ("PINGYI_PASSWORD", password),
            ("PINGYI_LOGIN_MAX_FAILURE", "3"),
        ],
    );
    assert_eq!(typo.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&typo.stderr).contains("login_max_failure"));
}

#[actix_web::test]
async fn a_sign_in_returns_only_to_a_local_office_path_and_never_fails_on_its_next() {
    let app = spawn_app_with(many_logins).await;
    user(&app, "ana", Role::Analyst, None).await;
    let browser = app.browser("198.51.100.18");
    let csrf = login_csrf(&app, &browser).await;
    for (next, expected) in [
        (
            "/office/institutions/water-01?period=2026-01",
            "/office/institutions/water-01?period=2026-01",
        ),
        ("/office", "/office"),
        ("/\t/evil.example/x", "/office"),
        ("/office/\t/x", "/office"),
        ("/office\r\nSet-Cookie: a=b", "/office"),
        ("/office/%0d%0aSet-Cookie:%20a=b", "/office"),
        ("//evil.example/office", "/office"),
        ("/%2F/evil.example", "/office"),
        ("/\\evil.example", "/office"),
        ("https://evil.example/office", "/office"),
        ("/s/water-01", "/office"),
        ("/officex", "/office"),
        ("", "/office"),
    ] {
        let r = post_login(&app, &browser, &csrf, "ana", PASSWORD, next).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{next:?}");
        assert_eq!(r.headers()["location"], expected, "{next:?}");
    }
    // The sign-in page keeps only a safe `next` in its form.
    let page = browser
        .get(&app, "/office/login?next=%2Foffice%0D%0Ax")
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("name=\"next\" value=\"/office\""), "{html}");
}

/// Whether `text` has a time of day (`HH:MM`) in it.
fn has_time_of_day(text: &str) -> bool {
    text.as_bytes().windows(5).any(|w| {
        w[0].is_ascii_digit()
            && w[1].is_ascii_digit()
            && w[2] == b':'
            && w[3].is_ascii_digit()
            && w[4].is_ascii_digit()
    })
}

/// The table row that shows `comment`.
fn row_of<'a>(html: &'a str, comment: &str) -> &'a str {
    let at = html.find(comment).expect("the comment is shown");
    let start = html[..at].rfind("<tr").unwrap();
    let end = at + html[at..].find("</tr>").unwrap();
    &html[start..end]
}

#[actix_web::test]
async fn institution_users_see_the_day_of_a_comment_and_the_office_the_minute() {
    let app = spawn_app().await;
    responses(&app, "water-01", "2026-01", 1, 2, Some("柜台太慢了")).await;
    let today = (Utc::now() + chrono::Duration::hours(8))
        .format("%Y-%m-%d")
        .to_string();
    let (inst, _) = office_browser(&app, "water1", Role::Institution, Some("water-01")).await;
    let html = inst
        .get(&app, "/office/institutions/water-01")
        .await
        .text()
        .await
        .unwrap();
    let row = row_of(&html, "柜台太慢了");
    assert!(row.contains(&today), "{row}");
    assert!(
        !has_time_of_day(row),
        "an institution user sees the minute: {row}"
    );

    let (admin, _) = office_browser(&app, "boss", Role::Admin, None).await;
    let html = admin
        .get(&app, "/office/institutions/water-01")
        .await
        .text()
        .await
        .unwrap();
    let row = row_of(&html, "柜台太慢了");
    assert!(row.contains(&today) && has_time_of_day(row), "{row}");
}

#![allow(clippy::unwrap_used, clippy::expect_used)]
//! End-to-end tests in a real browser: headless Chromium over WebDriver, at a
//! phone and a desktop viewport, in both languages, with an accessibility
//! audit (axe-core) of every page visited. Screenshots of each page are kept
//! in `target/tmp/browser/<test>/`.

// The API tests' helpers, of which these tests use a few.
#[path = "../api/helpers/mod.rs"]
#[allow(dead_code, unused_imports)]
mod helpers;

mod driver;
mod pages;

use fantoccini::key::Key;
use pingyi::domain::office::Role;
use pingyi::setup::configuration::CaptchaMode;
use pingyi::web::i18n::Lang;

use driver::{Browser, Setup, Viewport, tools};
use helpers::office::{PASSWORD, responses, user};
use helpers::{TestApp, spawn_app, spawn_app_with};

fn text(app: &TestApp, lang: Lang, key: &str) -> String {
    app.state.templates.text(lang, key)
}

/// Answers every item of the questionnaire with the keyboard alone: Tab to
/// each radio group, Space to choose, Tab to the submit button, Enter.
/// Returns how many groups were answered.
async fn answer_by_keyboard(b: &Browser) -> usize {
    let groups = b.all("fieldset.item").await.len();
    assert!(groups >= 5, "a questionnaire has items");
    let mut answered = std::collections::BTreeSet::new();
    for _ in 0..(groups * 3 + 20) {
        b.press(Key::Tab).await;
        let focused = b.focused().await;
        let name = focused["name"].as_str().unwrap_or_default().to_owned();
        match (focused["tag"].as_str(), focused["type"].as_str()) {
            (Some("input"), Some("radio")) if name.starts_with("q_") => {
                assert!(answered.insert(name.clone()), "Tab came back to {name}");
                b.press(Key::Space).await;
                let checked = b
                    .client
                    .execute("return document.activeElement.checked;", vec![])
                    .await
                    .unwrap();
                assert_eq!(
                    checked,
                    serde_json::json!(true),
                    "Space chose an answer of {name}"
                );
            }
            (Some("button"), Some("submit")) => {
                assert_eq!(answered.len(), groups, "every group was reached by Tab");
                b.press_and_load(Key::Enter).await;
                return answered.len();
            }
            _ => {}
        }
    }
    panic!("the submit button was never reached by Tab (answered {answered:?})");
}

/// Chooses the first answer of every item with clicks (a touch on a phone).
async fn answer_by_clicks(b: &Browser) {
    for fieldset in b.all("fieldset.item").await {
        let label = fieldset
            .find(fantoccini::Locator::Css(".scale label"))
            .await
            .unwrap();
        label.click().await.unwrap();
    }
}

#[actix_web::test]
async fn a_citizen_finds_rates_and_cannot_rate_twice_on_a_phone_by_keyboard() {
    let Some(tools) = tools() else { return };
    let app = spawn_app().await;
    let b = Browser::open(
        &tools,
        &app.address,
        "citizen_phone",
        Setup::new(Viewport::Phone, "zh-CN"),
    )
    .await;

    b.goto("/").await;
    assert_eq!(b.html_lang().await, "zh-CN");
    b.audit("landing").await;
    // Find an institution by name.
    let search = b.css("#q").await;
    search.send_keys("供水").await.unwrap();
    b.click_and_load("form.search button[type=submit]").await;
    assert!(b.path().await.contains("q="), "the search ran");
    b.audit("search").await;
    let first = b.css("ul.units a").await;
    let href = first.attr("href").await.unwrap().unwrap();
    assert!(first.text().await.unwrap().contains("供水"));
    b.click_and_load("ul.units a").await;
    assert_eq!(b.path().await, href);
    b.audit("questionnaire").await;
    // The script adds a live progress line; the form does not need it.
    let progress = b.css("#progress").await;
    assert!(
        progress.text().await.unwrap().contains('0'),
        "progress starts at 0"
    );

    let answered = answer_by_keyboard(&b).await;
    b.css("main h1").await;
    assert_eq!(b.path().await, format!("{href}/thanks"));
    assert_eq!(
        b.text("main h1").await,
        text(&app, Lang::Zh, "thanks_title")
    );
    b.audit("thanks").await;
    assert_eq!(app.responses().await, 1);
    assert_eq!(app.answers().await as usize, answered);

    // Rating again in the period: the already-rated page, nothing stored.
    b.goto(&href).await;
    answer_by_clicks(&b).await;
    b.click_and_load("form.survey button[type=submit]").await;
    assert_eq!(
        b.text("main h1").await,
        text(&app, Lang::Zh, "already_title")
    );
    b.audit("already_rated").await;
    assert_eq!(app.responses().await, 1);

    // A page that does not exist, in the reader's language.
    b.goto("/s/no-such-unit").await;
    assert_eq!(
        b.text("main h1").await,
        text(&app, Lang::Zh, "error_not_found")
    );
    b.audit("not_found").await;
    b.close().await;
}

#[actix_web::test]
async fn an_english_browser_gets_english_pages_and_the_switch_sticks_on_a_desktop() {
    let Some(tools) = tools() else { return };
    let app = spawn_app().await;
    let b = Browser::open(
        &tools,
        &app.address,
        "citizen_desktop_en",
        Setup::new(Viewport::Desktop, "en-GB"),
    )
    .await;

    b.goto("/").await;
    assert_eq!(b.html_lang().await, "en", "Accept-Language picks English");
    assert_eq!(
        b.text("main h1").await,
        text(&app, Lang::En, "search_title")
    );
    b.audit("landing").await;
    // Browse by sector, then rate with clicks.
    b.click_and_load("ul.chips a").await;
    assert!(b.path().await.contains("category="));
    let first = b.css("ul.units a").await;
    let href = first.attr("href").await.unwrap().unwrap();
    b.click_and_load("ul.units a").await;
    b.audit("questionnaire").await;

    // Inline validation: sending with nothing chosen marks the items and
    // sends nothing.
    b.css("form.survey button[type=submit]")
        .await
        .click()
        .await
        .unwrap();
    assert_eq!(b.path().await, href, "the script kept the empty form here");
    let inline = b.all("fieldset.item .error.inline").await;
    assert_eq!(inline.len(), b.all("fieldset.item").await.len());
    assert_eq!(
        inline[0].text().await.unwrap(),
        text(&app, Lang::En, "err_required")
    );
    b.audit("questionnaire_inline_errors").await;
    assert_eq!(app.responses().await, 0);

    answer_by_clicks(&b).await;
    assert!(
        b.all("fieldset.item .error.inline").await.is_empty(),
        "answers clear the marks"
    );
    b.css("#comment")
        .await
        .send_keys("Friendly staff, short queue.")
        .await
        .unwrap();
    b.click_and_load("form.survey button[type=submit]").await;
    assert_eq!(b.path().await, format!("{href}/thanks"));
    assert_eq!(
        b.text("main h1").await,
        text(&app, Lang::En, "thanks_title")
    );
    b.audit("thanks").await;

    // The switch to Chinese sticks over the browser's English.
    let switch = b.css("header a.lang").await;
    assert_eq!(
        switch.attr("hreflang").await.unwrap().as_deref(),
        Some("zh")
    );
    b.click_and_load("header a.lang").await;
    assert_eq!(
        b.path().await,
        format!("{href}/thanks"),
        "back to the same page"
    );
    assert_eq!(b.html_lang().await, "zh-CN");
    assert_eq!(
        b.text("main h1").await,
        text(&app, Lang::Zh, "thanks_title")
    );
    b.goto("/").await;
    assert_eq!(b.html_lang().await, "zh-CN", "the choice sticks");
    b.audit("landing_switched").await;
    b.close().await;
}

#[actix_web::test]
async fn the_captcha_image_is_shown_and_a_wrong_answer_is_refused() {
    let Some(tools) = tools() else { return };
    let app = spawn_app_with(|s| s.captcha = CaptchaMode::Always).await;
    let b = Browser::open(
        &tools,
        &app.address,
        "captcha",
        Setup::new(Viewport::Phone, "zh-CN"),
    )
    .await;
    b.goto("/s/water-01").await;
    let loaded = b
        .client
        .execute(
            "const img = document.querySelector('img[src^=\"/captcha/\"]'); \
             return img.complete && img.naturalWidth > 0;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(loaded, serde_json::json!(true), "the captcha image loads");
    b.audit("captcha").await;

    answer_by_clicks(&b).await;
    b.css("#captcha").await.send_keys("wrong1").await.unwrap();
    b.click_and_load("form.survey button[type=submit]").await;
    assert_eq!(b.path().await, "/s/water-01", "refused, back on the form");
    assert!(
        b.text("main")
            .await
            .contains(&text(&app, Lang::Zh, "err_captcha")),
        "the refusal says why"
    );
    b.audit("captcha_refused").await;
    assert_eq!(app.responses().await, 0, "nothing stored");

    // The refilled form keeps the answers; the right code goes through.
    let id = b
        .css("input[name=captcha_id]")
        .await
        .attr("value")
        .await
        .unwrap()
        .unwrap();
    let answer = app.captcha_answer(&id).await.expect("a live challenge");
    b.css("#captcha").await.send_keys(&answer).await.unwrap();
    b.click_and_load("form.survey button[type=submit]").await;
    assert_eq!(b.path().await, "/s/water-01/thanks");
    assert_eq!(app.responses().await, 1);
    b.close().await;
}

#[actix_web::test]
async fn the_questionnaire_works_without_its_script() {
    let Some(tools) = tools() else { return };
    let app = spawn_app().await;
    let b = Browser::open(
        &tools,
        &app.address,
        "without_script",
        Setup::new(Viewport::Phone, "zh-CN"),
    )
    .await;
    // The script never loads, as on a browser with JavaScript off or a
    // network that drops it.
    b.block_urls(&["*/static/survey.js"]).await;
    b.goto("/s/power-01").await;
    assert!(
        !b.css("#progress").await.is_displayed().await.unwrap(),
        "no script, no progress line"
    );
    // An empty form goes to the server, which answers with the marked items.
    b.click_and_load("form.survey button[type=submit]").await;
    assert_eq!(b.path().await, "/s/power-01");
    assert!(
        b.text(".alert")
            .await
            .contains(&text(&app, Lang::Zh, "fix_errors")),
        "the server's error summary"
    );
    let marked = b.all("fieldset.item.invalid").await.len();
    assert_eq!(marked, b.all("fieldset.item").await.len());
    b.audit("server_errors").await;
    assert_eq!(app.responses().await, 0);
    answer_by_clicks(&b).await;
    b.click_and_load("form.survey button[type=submit]").await;
    assert_eq!(b.path().await, "/s/power-01/thanks");
    b.audit("thanks").await;
    assert_eq!(app.responses().await, 1);
    b.close().await;
}

pub(crate) async fn sign_in(b: &Browser, username: &str) {
    b.goto("/office/login").await;
    b.css("#username").await.send_keys(username).await.unwrap();
    b.css("#password").await.send_keys(PASSWORD).await.unwrap();
    b.click_and_load("form button[type=submit]").await;
    assert!(
        !b.path().await.starts_with("/office/login"),
        "{username} signed in"
    );
}

#[actix_web::test]
async fn the_office_publishes_a_period_and_an_institution_answers_its_task() {
    let Some(tools) = tools() else { return };
    let app = spawn_app().await;
    let period = pingyi::domain::period::Period::containing(
        chrono::Utc::now(),
        app.state.settings.period,
        app.state.settings.utc_offset_hours,
    )
    .to_string();
    for (code, rating) in [("water-01", 2), ("water-02", 5), ("water-03", 4)] {
        responses(&app, code, &period, 4, rating, Some("意见")).await;
    }
    user(&app, "boss", Role::Admin, None).await;
    user(&app, "water1", Role::Institution, Some("water-01")).await;
    let b = Browser::open(
        &tools,
        &app.address,
        "office",
        Setup::new(Viewport::Desktop, "zh-CN"),
    )
    .await;

    b.goto("/office/login").await;
    b.audit("login").await;
    sign_in(&b, "boss").await;
    b.goto("/office/periods").await;
    b.audit("periods").await;
    b.click_and_load(&format!(
        "form[action=\"/office/periods/{period}/publish\"] button"
    ))
    .await;
    assert_eq!(b.path().await, format!("/office/dashboard?period={period}"));
    b.audit("dashboard").await;
    // The ranking: water-02 (all 5) first, water-01 (all 2) last.
    let ranking = b.text("table.ranking").await;
    let catalog = app.state.catalog.get();
    let name = |code: &str| catalog.institution(code).unwrap().name_zh.clone();
    let (best, worst) = (
        ranking.find(&name("water-02")).expect("water-02 ranked"),
        ranking.find(&name("water-01")).expect("water-01 ranked"),
    );
    assert!(best < worst, "ranked by score: {ranking}");
    b.goto("/office/institutions/water-01").await;
    assert!(
        b.all("svg.chart[role=img]").await.len() >= 2,
        "the trend and the dimension profile"
    );
    b.audit("institution").await;
    for page in [
        "institutions",
        "model",
        "questionnaires",
        "rectification",
        "appeals",
        "users",
        "tokens",
        "audit",
    ] {
        b.goto(&format!("/office/{page}")).await;
        b.audit(page).await;
    }
    b.goto(&format!("/results/{period}")).await;
    assert!(b.text("main").await.contains(&name("water-02")));
    b.audit("public_results").await;
    b.goto("/office/periods").await;
    b.click_and_load("header form button[type=submit]").await;

    // The institution answers its rectification task with a plan.
    sign_in(&b, "water1").await;
    b.goto("/office/rectification").await;
    b.audit("institution_tasks").await;
    b.click_and_load("main a[href^=\"/office/rectification/\"]")
        .await;
    b.audit("task").await;
    b.css("textarea#text")
        .await
        .send_keys("增设两个窗口，高峰期加派人手。")
        .await
        .unwrap();
    b.click_and_load("main form button[type=submit]").await;
    assert_eq!(
        app.count("SELECT COUNT(*) FROM rectification_task WHERE status = 'plan_submitted' AND plan LIKE '%两个窗口%'")
            .await,
        1
    );
    b.audit("task_plan_submitted").await;
    b.close().await;
}

#[actix_web::test]
async fn office_pages_and_errors_follow_the_readers_language() {
    let Some(tools) = tools() else { return };
    let app = spawn_app().await;
    user(&app, "analyst", Role::Analyst, None).await;
    let b = Browser::open(
        &tools,
        &app.address,
        "office_en",
        Setup::new(Viewport::Phone, "en-US"),
    )
    .await;
    b.goto("/office/login").await;
    assert_eq!(b.html_lang().await, "en");
    b.audit("login").await;
    // A wrong password: refused in English.
    b.css("#username").await.send_keys("analyst").await.unwrap();
    b.css("#password")
        .await
        .send_keys("not the password")
        .await
        .unwrap();
    b.click_and_load("form button[type=submit]").await;
    assert!(
        b.text("main")
            .await
            .contains(&text(&app, Lang::En, "msg_login_invalid"))
    );
    b.audit("login_refused").await;
    sign_in(&b, "analyst").await;
    b.goto("/office/dashboard").await;
    assert_eq!(b.html_lang().await, "en");
    b.audit("dashboard").await;
    // An analyst may not manage accounts: the refusal is in English too.
    b.goto("/office/users").await;
    assert_eq!(
        b.text("main h1").await,
        text(&app, Lang::En, "error_forbidden")
    );
    b.audit("forbidden").await;
    // A bad period names the problem.
    b.goto("/office/dashboard?period=2026-13").await;
    assert!(b.text("main").await.contains("2026-13"));
    b.audit("bad_period").await;
    b.close().await;
}

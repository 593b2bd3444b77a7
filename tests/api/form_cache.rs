//! The questionnaire pages kept rendered: what a citizen receives from the
//! cache is what a fresh render gives, with their own device's values, and
//! an office edit shows on the next view.

use std::sync::atomic::{AtomicUsize, Ordering};

use pingyi::domain::office::Role;
use pingyi::setup::configuration::{CaptchaMode, Settings};
use reqwest::StatusCode;

use crate::helpers::office::office_browser;
use crate::helpers::*;

/// Two instances on identical demo data and the same secret: one serving
/// forms from the cache, one rendering every view (`form_cache_bytes = 0`).
async fn cached_and_fresh(configure: impl Fn(&mut Settings)) -> (TestApp, TestApp) {
    let cached = spawn_app_with(|s| configure(s)).await;
    let fresh = spawn_app_with(|s| {
        configure(s);
        s.form_cache_bytes = 0;
    })
    .await;
    (cached, fresh)
}

/// A citizen's view of `path` in `lang` from a new device: the page with its
/// per-view values (device-bound CSRF token and clock, captcha id) replaced
/// by placeholders, and the values.
pub async fn view(app: &TestApp, path: &str, lang: &str) -> (String, Vec<String>) {
    // Each view from an address of its own, well inside the view quota.
    static VIEWS: AtomicUsize = AtomicUsize::new(0);
    let n = VIEWS.fetch_add(1, Ordering::Relaxed);
    let browser = app.browser(&format!(
        "10.{}.{}.{}",
        n / 65_536 % 256,
        n / 256 % 256,
        n % 256
    ));
    let response = browser
        .client
        .get(app.url(path))
        .header("x-forwarded-for", &browser.ip)
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{path} in {lang}");
    let mut page = response.text().await.unwrap();
    let mut values = Vec::new();
    for name in ["csrf", "clock", "captcha_id"] {
        if let Some(value) = hidden_field(&page, name) {
            assert!(value.len() >= 16, "{name} is a real token: {value}");
            page = page.replace(&value, &format!("[{name}]"));
            values.push(value);
        }
    }
    (page, values)
}

/// Both languages, several institutions and categories, with and without a
/// ticket code (one that needs escaping), a miss and then a hit each time.
async fn assert_same_pages(cached: &TestApp, fresh: &TestApp) {
    let paths = [
        "/s/water-01",
        "/s/water-02",
        "/s/hospital-03",
        "/s/postal-07",
        "/s/water-01?t=ABCD-1234",
        "/s/water-01?t=%3Cscript%3E%22%27%26",
    ];
    for lang in ["zh-CN", "en"] {
        for path in paths {
            let (expected, _) = view(fresh, path, lang).await;
            for round in ["miss", "hit"] {
                let (page, _) = view(cached, path, lang).await;
                assert_eq!(page, expected, "{path} in {lang}, cache {round}");
            }
        }
    }
}

#[actix_web::test]
async fn a_cached_form_is_a_fresh_render_but_for_the_values_of_the_device() {
    let (cached, fresh) = cached_and_fresh(|_| {}).await;
    assert_same_pages(&cached, &fresh).await;
    let (bytes, pages) = cached.state.forms.usage();
    assert!(pages >= 10, "the views were cached: {pages} pages");
    assert!(bytes > 0);
    // A hostile ticket stays escaped in the cached page.
    let (page, _) = view(&cached, "/s/water-01?t=%3Cscript%3E%22", "en").await;
    assert!(page.contains("value=\"&lt;script&gt;&quot;\""), "{page}");
    assert!(!page.contains("<script>\""));
}

#[actix_web::test]
async fn a_cached_form_with_a_captcha_asks_each_viewer_their_own_challenge() {
    let (cached, fresh) = cached_and_fresh(|s| s.captcha = CaptchaMode::Always).await;
    assert_same_pages(&cached, &fresh).await;
    let (_, first) = view(&cached, "/s/water-01", "en").await;
    let (_, second) = view(&cached, "/s/water-01", "en").await;
    assert_eq!(first.len(), 3, "csrf, clock and captcha id");
    for (a, b) in first.iter().zip(&second) {
        assert_ne!(a, b, "two viewers never share a value");
    }
    // Each challenge is a real one the captcha store knows.
    assert!(cached.captcha_answer(&second[2]).await.is_some());
}

#[actix_web::test]
async fn a_questionnaire_edited_while_the_cache_is_warm_is_served_at_the_next_view() {
    let (cached, fresh) = cached_and_fresh(|_| {}).await;
    assert_same_pages(&cached, &fresh).await;
    let items = "att1,attitude,yes,工作人员的服务态度,Courtesy of the staff\n\
                 out3,outcome,yes,水费账单是否清楚,Clarity of the water bill\n";
    for app in [&cached, &fresh] {
        let (admin, csrf) = office_browser(app, "boss", Role::Admin, None).await;
        let saved = admin
            .client
            .post(app.url("/office/questionnaires/water"))
            .form(&[
                ("csrf", csrf.as_str()),
                ("items", items),
                ("note", "shorter"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    }
    let (page, _) = view(&cached, "/s/water-01", "en").await;
    assert!(page.contains("Clarity of the water bill"));
    assert!(!page.contains("q_eff1"), "the old items are gone");
    assert_same_pages(&cached, &fresh).await;
    // The new form is the one that is accepted.
    let browser = cached.browser("198.51.100.20");
    let form = browser.form(&cached, "water-01").await;
    let answers = vec![
        ("q_att1".to_owned(), "5".to_owned()),
        ("q_out3".to_owned(), "4".to_owned()),
    ];
    let posted = browser
        .post(&cached, "water-01", &with_form(&form, answers))
        .await;
    assert_eq!(posted.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn two_devices_never_receive_each_others_token() {
    let app = spawn_app().await;
    // Warm the cache, then many new devices at once.
    app.browser("198.51.100.1").form(&app, "water-01").await;
    let browsers: Vec<Browser> = (0..40)
        .map(|i| app.browser(&format!("198.51.{}.{}", 100 + i / 200, i % 200 + 2)))
        .collect();
    let forms =
        futures_util::future::join_all(browsers.iter().map(|b| b.form(&app, "water-01"))).await;
    let mut tokens: Vec<&str> = forms.iter().map(|f| f.csrf.as_str()).collect();
    tokens.sort_unstable();
    tokens.dedup();
    assert_eq!(tokens.len(), forms.len(), "every device has its own token");
    // A token works only for the device it was served to.
    let swapped = with_form(&forms[1], water_answers());
    let refused = browsers[0].post(&app, "water-01", &swapped).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let fields: Vec<_> = forms
        .iter()
        .map(|f| with_form(f, water_answers()))
        .collect();
    let accepted = futures_util::future::join_all(
        browsers
            .iter()
            .zip(&fields)
            .map(|(b, f)| b.post(&app, "water-01", f)),
    )
    .await;
    for response in accepted {
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
    }
}

/// Renames an institution through the office's form.
pub async fn rename(app: &TestApp, admin: &Browser, csrf: &str, code: &str, name_en: &str) {
    let catalog = app.state.catalog.get();
    let institution = catalog.institution(code).unwrap();
    let category = catalog.categories[institution.category].code.clone();
    let district = catalog.districts[institution.district].code.clone();
    let saved = admin
        .client
        .post(app.url("/office/institutions"))
        .form(&[
            ("csrf", csrf),
            ("code", code),
            ("name_zh", "改名后的营业厅"),
            ("name_en", name_en),
            ("category", category.as_str()),
            ("district", district.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn a_catalog_change_is_visible_on_the_next_view_of_the_instance_that_made_it() {
    let app = spawn_app().await;
    let (before, _) = view(&app, "/s/water-01", "en").await;
    assert!(!before.contains("Renamed Hall"));
    let generation = app.state.catalog.get().generation;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    rename(&app, &admin, &csrf, "water-01", "Renamed Hall").await;
    assert!(app.state.catalog.get().generation > generation);
    let (en, _) = view(&app, "/s/water-01", "en").await;
    assert!(en.contains("Renamed Hall"), "{en}");
    let (zh, _) = view(&app, "/s/water-01", "zh-CN").await;
    assert!(zh.contains("改名后的营业厅"));
    // Re-reading an unchanged catalog keeps its generation (and the pages).
    let generation = app.state.catalog.get().generation;
    app.state.catalog.reload(&app.db).await.unwrap();
    assert_eq!(app.state.catalog.get().generation, generation);
}

#[actix_web::test]
async fn the_cache_stays_within_its_budget() {
    // Room for about two pages.
    let app = spawn_app_with(|s| s.form_cache_bytes = 24 * 1024).await;
    for code in ["water-01", "water-02", "power-01", "gas-01", "transit-01"] {
        for lang in ["zh-CN", "en"] {
            view(&app, &format!("/s/{code}"), lang).await;
        }
    }
    let (bytes, pages) = app.state.forms.usage();
    assert!(bytes <= 24 * 1024, "{bytes} bytes held");
    assert!(pages < 10, "{pages} pages held");
    // Dropped pages are rendered again, the same.
    let (again, _) = view(&app, "/s/water-01", "en").await;
    assert!(again.contains("/s/water-01"));
}

//! The pages of issue 17 in a real browser: the public results on a phone
//! without horizontal scrolling, each unit's public history, the office
//! pages in both languages; every page audited with axe.

use crate::driver::{Browser, Setup, Viewport, tools};
use crate::helpers::{TestApp, spawn_app_with};

/// The app with its demo, and the last published period.
async fn demo() -> (TestApp, String) {
    let app = spawn_app_with(|s| s.demo_history = true).await;
    let last = app
        .state
        .settings
        .period_at(chrono::Utc::now())
        .previous()
        .to_string();
    (app, last)
}

/// The document's scroll width and the viewport's width, in CSS pixels.
async fn widths(b: &Browser) -> (i64, i64) {
    let v = b
        .client
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await
        .unwrap();
    (v[0].as_i64().unwrap(), v[1].as_i64().unwrap())
}

#[actix_web::test]
async fn public_results_fit_a_phone_and_link_each_unit_to_its_history() {
    let Some(tools) = tools() else { return };
    let (app, last) = demo().await;
    for (lang, name) in [("zh-CN", "results_phone_zh"), ("en-GB", "results_phone_en")] {
        let b = Browser::open(
            &tools,
            &app.address,
            name,
            Setup::new(Viewport::Phone, lang),
        )
        .await;
        b.goto(&format!("/results/{last}")).await;
        let (scroll, viewport) = widths(&b).await;
        assert_eq!(viewport, 390, "a phone viewport");
        assert_eq!(scroll, viewport, "no horizontal scroll on the results page");
        assert!(b.all("table.results").await.len() >= 8, "every category");
        b.audit("results").await;
        let first = b.css("table.results td.unit a").await;
        let href = first.attr("href").await.unwrap().unwrap();
        assert!(href.starts_with("/results/institution/"), "{href}");
        b.click_and_load("table.results td.unit a").await;
        assert_eq!(b.path().await, href);
        let (scroll, viewport) = widths(&b).await;
        assert_eq!(scroll, viewport, "no horizontal scroll on the history page");
        assert!(b.text("main").await.contains(&last));
        b.audit("history").await;
        b.close().await;
    }
}

/// Pages in a PDF printed by Chromium (its page objects are uncompressed).
fn pdf_pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf);
    text.match_indices("/Type /Page")
        .filter(|(at, m)| !text[at + m.len()..].starts_with('s'))
        .count()
}

#[actix_web::test]
async fn the_bulletin_prints_on_a4_with_every_category_and_no_table_cut() {
    let Some(tools) = tools() else { return };
    let (app, last) = demo().await;
    let categories = app.state.catalog.get().categories.len();
    let b = Browser::open(
        &tools,
        &app.address,
        "bulletin_public",
        Setup::new(Viewport::Desktop, "zh-CN"),
    )
    .await;
    b.goto(&format!("/results/{last}/bulletin")).await;
    b.audit("bulletin").await;
    assert_eq!(
        b.all("section.category h3").await.len(),
        categories,
        "every category"
    );
    let pdf = b.print_pdf("bulletin").await;
    let pages = pdf_pages(&pdf);
    // A page or two of headline and charts, a page per category, the rest.
    assert!(
        (categories + 1..=categories * 3 + 4).contains(&pages),
        "{pages} pages for {categories} categories"
    );
    // As printed: A4 less its margins is about 700 CSS pixels wide; no
    // table may reach past it, and the navigation is gone.
    b.cdp_value(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "print" }),
    )
    .await;
    b.cdp_value(
        "Emulation.setDeviceMetricsOverride",
        serde_json::json!({ "width": 703, "height": 1000, "deviceScaleFactor": 1, "mobile": false }),
    )
    .await;
    let cut = b
        .client
        .execute(
            "const w = document.documentElement.clientWidth; \
             return [...document.querySelectorAll('table')] \
               .filter(t => t.getBoundingClientRect().right > w + 1 || t.scrollWidth > t.clientWidth + 1) \
               .map(t => t.closest('section').className);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(cut, serde_json::json!([]), "tables cut at the right edge");
    let header_shown = b
        .client
        .execute(
            "return getComputedStyle(document.querySelector('header.top')).display;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        header_shown,
        serde_json::json!("none"),
        "no navigation in print"
    );
    b.close().await;
}

#[actix_web::test]
async fn the_office_bulletin_and_pages_pass_the_audit_in_both_languages() {
    let Some(tools) = tools() else { return };
    let (app, last) = demo().await;
    crate::helpers::office::user(&app, "boss", pingyi::domain::office::Role::Admin, None).await;
    for (viewport, lang, name) in [
        (Viewport::Desktop, "zh-CN", "office_desktop_zh"),
        (Viewport::Phone, "en-GB", "office_phone_en"),
    ] {
        let b = Browser::open(&tools, &app.address, name, Setup::new(viewport, lang)).await;
        crate::sign_in(&b, "boss").await;
        for (page, path) in [
            ("bulletin", format!("/office/periods/{last}/bulletin")),
            ("dashboard", format!("/office/dashboard?period={last}")),
            ("institution", "/office/institutions/water-01".to_owned()),
            ("institutions", "/office/institutions".to_owned()),
        ] {
            b.goto(&path).await;
            b.audit(page).await;
            if page == "bulletin" {
                let pdf = b.print_pdf("office_bulletin").await;
                assert!(pdf_pages(&pdf) > 8, "a page per category at least");
            }
        }
        b.close().await;
    }
}

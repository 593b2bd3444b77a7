//! The pages of issue 17 in a real browser: the public results on a phone
//! without horizontal scrolling, each unit's public history, the office
//! pages in both languages; every page audited with axe.

use crate::driver::{Browser, Setup, Viewport, tools};
use crate::helpers::spawn_app_with;

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
    let app = spawn_app_with(|s| s.demo_history = true).await;
    let last = app
        .state
        .settings
        .period_at(chrono::Utc::now())
        .previous()
        .to_string();
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

//! The demo carries planted manipulations, so a newcomer sees the integrity
//! review at work.

use std::collections::BTreeMap;

use pingyi::domain::office::Role;
use reqwest::StatusCode;

use crate::helpers::office::*;
use crate::helpers::*;

/// (institution, flag links' measures) of the review table.
fn flagged(html: &str) -> BTreeMap<String, Vec<String>> {
    let doc = scraper::Html::parse_document(html);
    let rows = scraper::Selector::parse("tr[data-institution]").unwrap();
    let links = scraper::Selector::parse("ul.flags a").unwrap();
    doc.select(&rows)
        .map(|r| {
            let code = r.value().attr("data-institution").unwrap().to_owned();
            let measures = r
                .select(&links)
                .map(|a| {
                    let href = a.value().attr("href").unwrap();
                    href.rsplit("measure=").next().unwrap().to_owned()
                })
                .collect();
            (code, measures)
        })
        .collect()
}

#[actix_web::test]
async fn the_demo_shows_its_planted_patterns_on_the_integrity_review() {
    let started = std::time::Instant::now();
    let app = spawn_app_with(|s| s.demo_history = true).await;
    eprintln!("demo start-up: {:?}", started.elapsed());
    let last = app.state.settings.current_period().previous();
    let (admin, _) = office_browser(&app, "boss", Role::Admin, None).await;

    let r = admin
        .get(&app, &format!("/office/integrity?period={last}"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    let flags = flagged(&page);
    eprintln!("{last}: {flags:?}");
    for (code, measure) in [
        ("power-03", "network"),
        ("gas-02", "duplicate_comment"),
        ("transit-01", "burst"),
    ] {
        assert!(
            flags
                .get(code)
                .is_some_and(|m| m.iter().any(|x| x == measure)),
            "{code} flagged for {measure}: {flags:?}"
        );
    }
    assert!(
        !flags.contains_key("heating-03"),
        "the burst voided on appeal is gone: {flags:?}"
    );
    assert!(flags.len() <= 5, "hardly any false alarm: {flags:?}");

    // The office's first visit, without a period, shows a review with flags.
    let first = admin
        .get(&app, "/office/integrity")
        .await
        .text()
        .await
        .unwrap();
    assert!(!flagged(&first).is_empty(), "{first}");
}

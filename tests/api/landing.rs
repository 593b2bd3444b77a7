use std::collections::{BTreeSet, VecDeque};

use reqwest::StatusCode;

use crate::helpers::*;

fn links(html: &str) -> Vec<String> {
    html.split("href=\"")
        .skip(1)
        .filter_map(|s| s.split('"').next())
        .map(|s| s.replace("&amp;", "&"))
        .collect()
}

#[actix_web::test]
async fn every_institution_is_reachable_from_the_landing_page_by_links_alone() {
    let app = spawn_app_with(|s| {
        s.rate_limit.page_view_burst = 10_000;
    })
    .await;
    let browser = app.browser("198.51.100.40");
    let mut seen_pages = BTreeSet::new();
    let mut queue = VecDeque::from(["/".to_owned()]);
    let mut institutions = BTreeSet::new();
    while let Some(page) = queue.pop_front() {
        if !seen_pages.insert(page.clone()) || seen_pages.len() > 500 {
            continue;
        }
        let html = browser.get(&app, &page).await.text().await.unwrap();
        for link in links(&html) {
            if let Some(code) = link.strip_prefix("/s/") {
                institutions.insert(code.to_owned());
            } else if link.starts_with("/?") {
                queue.push_back(link);
            }
        }
    }
    let all: BTreeSet<String> = app
        .state
        .catalog
        .get()
        .institutions
        .iter()
        .map(|i| i.code.clone())
        .collect();
    assert_eq!(all.len(), 60, "the demo set has 60 institutions");
    assert_eq!(institutions, all);
}

#[actix_web::test]
async fn search_finds_by_name_and_filters_by_district_and_category() {
    let app = spawn_app().await;
    let browser = app.browser("198.51.100.41");
    let html = browser
        .get(&app, "/?q=%E4%BE%9B%E7%83%AD")
        .await
        .text()
        .await
        .unwrap(); // 供热
    assert!(html.contains("/s/heating-01") && !html.contains("/s/water-01\""));
    let html = browser
        .get(&app, "/?category=hospital&district=")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("/s/hospital-01") && !html.contains("/s/water-"));
    let html = browser
        .get(&app, "/?q=zzzz-nothing")
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("没有找到"));
}

#[actix_web::test]
async fn english_is_one_switch_away() {
    let app = spawn_app().await;
    let browser = app.browser("198.51.100.42");
    let switch = browser.get(&app, "/lang/en?next=%2Fs%2Fwater-01").await;
    assert_eq!(switch.status(), StatusCode::SEE_OTHER);
    assert_eq!(switch.headers()["location"], "/s/water-01");
    let html = browser.get(&app, "/s/water-01").await.text().await.unwrap();
    assert!(
        html.contains("Very satisfied")
            && html.contains("Not applicable")
            && html.contains("lang=\"en\"")
    );
    // No open redirect.
    let evil = browser.get(&app, "/lang/zh?next=%2F%2Fevil.example").await;
    assert_eq!(evil.headers()["location"], "/");
}

#[actix_web::test]
async fn the_language_switch_returns_only_to_a_local_path_and_never_fails_on_its_next() {
    let app = spawn_app_with(|s| {
        s.rate_limit.page_view_burst = 10_000;
    })
    .await;
    let browser = app.browser("198.51.100.44");
    for (query, expected) in [
        // A tab, a newline or a backslash that browsers drop or turn into
        // `/`, making `//evil.example`: another site.
        ("next=/%09/evil.example/x", "/"),
        ("next=/%0A/evil.example", "/"),
        ("next=/%5Cevil.example", "/"),
        ("next=%2F%2Fevil.example", "/"),
        ("next=/%252F/evil.example", "/"),
        ("next=https://evil.example/", "/"),
        ("next=javascript:alert(1)", "/"),
        // Header splitting: once a plain-text 500.
        ("next=/x%0D%0ASet-Cookie:%20a%3Db", "/"),
        ("next=/x%0D%0A", "/"),
        ("next=/x%00", "/"),
        ("next=/x%7F", "/"),
        ("next=/%FF%FE", "/%EF%BF%BD%EF%BF%BD"),
        ("next=/a&next=//evil.example", "/a"),
        ("next=", "/"),
        ("", "/"),
        // Local paths are followed (non-ASCII percent-encoded).
        ("next=%2Fs%2Fwater-01%3Fx%3D1", "/s/water-01?x=1"),
        ("next=/results/2026-01", "/results/2026-01"),
        ("next=/s/%E6%B0%B4", "/s/%E6%B0%B4"),
    ] {
        let r = browser.get(&app, &format!("/lang/en?{query}")).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{query}");
        assert_eq!(r.headers()["location"], expected, "{query}");
    }
    let long = format!("/lang/zh?next=/{}", "a".repeat(3000));
    let r = browser.get(&app, &long).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/");
}

#[actix_web::test]
async fn the_qr_code_is_a_printable_svg() {
    let app = spawn_app().await;
    let response = app
        .browser("198.51.100.43")
        .get(&app, "/qr/water-01.svg")
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "image/svg+xml");
    assert!(response.text().await.unwrap().contains("<svg"));
    assert_eq!(
        app.browser("198.51.100.43")
            .get(&app, "/qr/none.svg")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

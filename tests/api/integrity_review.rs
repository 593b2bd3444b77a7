//! The office's integrity review through HTTP: the page per role and
//! language, its sorting, and the drill-down to the responses behind each
//! piece of evidence.

use std::collections::BTreeSet;

use pingyi::domain::office::Role;
use reqwest::StatusCode;

use crate::helpers::office::*;
use crate::helpers::*;
use crate::integrity_support::{PASTED, PERIOD, plant};

async fn page(app: &TestApp, browser: &Browser, path: &str, lang: &str) -> (StatusCode, String) {
    let r = browser
        .client
        .get(app.url(path))
        .header("accept-language", lang)
        .send()
        .await
        .unwrap();
    (r.status(), r.text().await.unwrap())
}

/// The `data-institution` values of the review table, in order.
fn institutions(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let rows = scraper::Selector::parse("tr[data-institution]").unwrap();
    doc.select(&rows)
        .map(|r| r.value().attr("data-institution").unwrap().to_owned())
        .collect()
}

/// The ids of the listed responses.
fn listed(html: &str) -> BTreeSet<i64> {
    let doc = scraper::Html::parse_document(html);
    let rows = scraper::Selector::parse("tr[data-response]").unwrap();
    doc.select(&rows)
        .map(|r| r.value().attr("data-response").unwrap().parse().unwrap())
        .collect()
}

/// The drill-down links of the review page, by (institution, measure).
fn links(html: &str) -> Vec<String> {
    let doc = scraper::Html::parse_document(html);
    let a = scraper::Selector::parse("ul.flags a").unwrap();
    doc.select(&a)
        .map(|a| a.value().attr("href").unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn the_review_shows_the_flagged_institutions_to_the_office_only_in_both_languages() {
    let app = spawn_app().await;
    plant(&app).await;
    let (admin, _) = office_browser(&app, "boss", Role::Admin, None).await;
    let (analyst, _) = office_browser(&app, "ana", Role::Analyst, None).await;
    let (inst, _) = office_browser(&app, "water1", Role::Institution, Some("water-01")).await;

    // Without a period: the latest period citizens rated in.
    let (status, zh) = page(&app, &admin, "/office/integrity", "zh-CN").await;
    assert_eq!(status, StatusCode::OK);
    assert!(zh.contains(&format!("测评真实性 · {PERIOD}")), "{zh}");
    let flagged = institutions(&zh);
    assert_eq!(
        flagged.iter().cloned().collect::<BTreeSet<_>>(),
        ["water-01", "water-02", "water-03", "water-04", "water-05"]
            .map(String::from)
            .into(),
        "the planted ones, no clean one"
    );
    assert!(
        zh.contains("20 份评价来自同一网络"),
        "evidence in plain words"
    );
    assert!(zh.contains("同一条留言出现 12 次"));
    assert!(zh.contains("各项指标的含义") && zh.contains("共核查 12 个单位，其中 5 个被标记"));
    // Sorted by the highest z, largest first, by default.
    let (_, by_name) = page(
        &app,
        &admin,
        &format!("/office/integrity?period={PERIOD}&sort=institution&dir=asc"),
        "zh",
    )
    .await;
    assert_eq!(
        institutions(&by_name),
        ["water-01", "water-02", "water-03", "water-04", "water-05"]
    );
    let (_, by_name_desc) = page(
        &app,
        &admin,
        &format!("/office/integrity?period={PERIOD}&sort=institution&dir=desc"),
        "zh",
    )
    .await;
    assert_eq!(
        institutions(&by_name_desc),
        ["water-05", "water-04", "water-03", "water-02", "water-01"]
    );
    let (_, by_burst) = page(
        &app,
        &admin,
        &format!("/office/integrity?period={PERIOD}&sort=z_burst"),
        "zh",
    )
    .await;
    assert_eq!(institutions(&by_burst)[0], "water-03");

    // The analyst reads it too, in English.
    let (status, en) = page(
        &app,
        &analyst,
        &format!("/office/integrity?period={PERIOD}"),
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(en.contains("Rating integrity") && en.contains("20 responses from one network"));
    assert!(en.contains("one comment 12 times") && en.contains("What the measures mean"));
    assert!(en.contains("12 institutions reviewed, 5 flagged"));
    // The office's pages link it.
    let (_, dashboard) = page(
        &app,
        &admin,
        &format!("/office/dashboard?period={PERIOD}"),
        "en",
    )
    .await;
    assert!(dashboard.contains(&format!("/office/integrity?period={PERIOD}")));

    // An institution user sees nothing of it.
    for path in [
        "/office/integrity".to_owned(),
        format!("/office/integrity?period={PERIOD}"),
        format!("/office/integrity/responses?period={PERIOD}&institution=water-01&measure=network"),
    ] {
        let (status, body) = page(&app, &inst, &path, "zh").await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{path}");
        assert!(!body.contains("20 份评价"), "{path}");
    }
    let (_, own) = page(&app, &inst, "/office/institutions/water-01", "zh").await;
    assert!(
        !own.contains("/office/integrity"),
        "no link for institution users"
    );
    // Anonymous: to the sign-in page.
    let anonymous = app.browser("198.51.100.99");
    let r = anonymous.get(&app, "/office/integrity").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn each_flag_lists_exactly_the_responses_behind_its_evidence_and_no_hash() {
    let app = spawn_app().await;
    let planted = plant(&app).await;
    let (analyst, _) = office_browser(&app, "ana", Role::Analyst, None).await;
    let (_, review) = page(
        &app,
        &analyst,
        &format!("/office/integrity?period={PERIOD}"),
        "zh",
    )
    .await;
    let links = links(&review);
    for (code, measure) in [
        ("water-01", "network"),
        ("water-02", "duplicate_comment"),
        ("water-03", "burst"),
        ("water-04", "all_top"),
        ("water-05", "roaming"),
    ] {
        let href = format!(
            "/office/integrity/responses?period={PERIOD}&institution={code}&measure={measure}"
        );
        assert!(links.contains(&href), "{href} in {links:?}");
        let (status, html) = page(&app, &analyst, &href, "zh").await;
        assert_eq!(status, StatusCode::OK, "{href}");
        let expected: BTreeSet<i64> = planted.behind[code].iter().copied().collect();
        assert_eq!(listed(&html), expected, "{code} {measure}");
        // Time, channel, ratings and comment; never a network, device or key.
        assert!(html.contains("2026-10-") && html.contains("网页问卷"));
        for secret in [
            "office-wifi",
            "net-water",
            "dev-water",
            "roamer-",
            "pasted",
            "ck-water",
        ] {
            assert!(!html.contains(secret), "{code}: {secret} shown");
        }
    }
    let (_, pasted) = page(
        &app,
        &analyst,
        &format!("/office/integrity/responses?period={PERIOD}&institution=water-02&measure=duplicate_comment"),
        "zh",
    )
    .await;
    assert_eq!(pasted.matches(PASTED).count(), 12, "the comments are shown");
    // A measure that does not flag can still be listed (here: nobody).
    let (status, none) = page(
        &app,
        &analyst,
        &format!(
            "/office/integrity/responses?period={PERIOD}&institution=water-07&measure=network"
        ),
        "en",
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(listed(&none).len(), 1, "its top network holds one response");
    for bad in [
        format!("/office/integrity/responses?period={PERIOD}&institution=water-01&measure=nope"),
        format!("/office/integrity/responses?period={PERIOD}&institution=nope&measure=network"),
        "/office/integrity/responses?period=2001-01&institution=water-01&measure=network".into(),
    ] {
        assert_eq!(
            page(&app, &analyst, &bad, "zh").await.0,
            StatusCode::NOT_FOUND,
            "{bad}"
        );
    }
}

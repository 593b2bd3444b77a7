//! What the office pages show a person: the index with its interval and
//! the score as separate, labelled figures; names, not codes.

use pingyi::domain::office::Role;
use reqwest::StatusCode;
use scraper::{Html, Selector};

use crate::helpers::office::*;
use crate::helpers::*;

/// The cells of a table's first body row under each header, by header text.
fn first_row(html: &str, table: &str) -> Vec<(String, String)> {
    let doc = Html::parse_document(html);
    let sel = |s: &str| Selector::parse(s).unwrap();
    let table = doc.select(&sel(table)).next().expect("the table");
    let heads: Vec<String> = table
        .select(&sel("thead th"))
        .map(|h| h.text().collect::<String>())
        .collect();
    let row = table.select(&sel("tbody tr")).next().expect("a row");
    let cells: Vec<String> = row
        .select(&sel("td"))
        .map(|c| c.text().collect::<String>().trim().to_owned())
        .collect();
    heads.into_iter().zip(cells).collect()
}

fn cell<'a>(row: &'a [(String, String)], head: &str) -> &'a str {
    &row.iter()
        .find(|(h, _)| h == head)
        .unwrap_or_else(|| panic!("no column {head}: {row:?}"))
        .1
}

#[actix_web::test]
async fn the_index_interval_and_the_shrunk_score_are_shown_apart_with_a_note() {
    let app = spawn_app().await;
    let period = "2026-03";
    // A small, glowing sample and larger, weaker ones in the same category.
    responses(&app, "water-01", period, 3, 5, None).await;
    responses(&app, "water-02", period, 30, 3, None).await;
    responses(&app, "water-02", period, 30, 4, None).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    publish(&app, &admin, &csrf, period).await;

    let page = admin
        .get(&app, "/office/institutions/water-01")
        .await
        .text()
        .await
        .unwrap();
    let t = |key| app.state.templates.text(pingyi::web::i18n::Lang::Zh, key);
    let row = first_row(&page, "main table");
    let index: f64 = cell(&row, &t("office_index")).parse().unwrap();
    let score: f64 = cell(&row, &t("office_score")).parse().unwrap();
    assert_eq!(index, 100.0, "every rating 5: the index is 100");
    assert!(score < 95.0, "pulled toward the category mean: {score}");
    // All ratings equal: no spread, so the interval is the index itself.
    assert_eq!(cell(&row, &t("office_ci")), "100.0–100.0");
    assert!(page.contains(&t("office_score_note")), "the note says why");
    // The chart draws the index with its interval and the score apart.
    assert!(page.contains(&t("office_index")) && page.contains("#1F4E8C"));

    let dashboard = admin
        .get(&app, &format!("/office/dashboard?period={period}"))
        .await;
    assert_eq!(dashboard.status(), StatusCode::OK);
    let dashboard = dashboard.text().await.unwrap();
    let row = first_row(&dashboard, "table.ranking");
    let index: f64 = cell(&row, &t("office_index")).parse().unwrap();
    let score: f64 = cell(&row, &t("office_score")).parse().unwrap();
    assert!(index > score, "{row:?}");
    assert!(dashboard.contains(&t("office_score_note")));
}

#[actix_web::test]
async fn dimensions_and_categories_are_shown_by_name_in_the_readers_language() {
    let app = spawn_app().await;
    let period = "2026-03";
    responses(&app, "water-01", period, 3, 2, Some("排队太久")).await;
    responses(&app, "gas-01", period, 3, 4, None).await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    publish(&app, &admin, &csrf, period).await;

    let zh = admin
        .get(&app, "/office/institutions/water-01")
        .await
        .text()
        .await
        .unwrap();
    assert!(zh.contains("服务态度") && zh.contains("办理结果"), "{zh}");
    for code in ["attitude", "efficiency", "outcome", "att1", ">water<"] {
        assert!(!zh.contains(code), "the code {code} is shown: {zh}");
    }
    // The data-quality table lists categories by name.
    let dashboard = admin
        .get(&app, &format!("/office/dashboard?period={period}"))
        .await
        .text()
        .await
        .unwrap();
    let doc = Html::parse_document(&dashboard);
    let first_cells: Vec<String> = doc
        .select(&Selector::parse("main table:not(.ranking) tbody td:first-child").unwrap())
        .map(|c| c.text().collect())
        .collect();
    assert_eq!(first_cells, ["燃气", "供水"], "{dashboard}");

    // In English, English names.
    let en = admin
        .client
        .get(app.url("/office/institutions/water-01"))
        .header("x-forwarded-for", &admin.ip)
        .header("accept-language", "en")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("Attitude of staff"), "{en}");

    // The office renames a dimension; pages follow at once.
    let r = post_form(
        &app,
        &admin,
        "/office/catalog",
        &[
            ("csrf", csrf.as_str()),
            ("kind", "dimension"),
            ("code", "attitude"),
            ("name_zh", "窗口服务态度"),
            ("name_en", "Counter courtesy"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let page = admin
        .get(&app, "/office/institutions/water-01")
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("窗口服务态度"));
    let list = admin
        .get(&app, "/office/institutions")
        .await
        .text()
        .await
        .unwrap();
    assert!(list.contains("Counter courtesy"), "the list of dimensions");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'dimension.save'")
            .await,
        1
    );
    // Analysts read; they do not rename.
    let (analyst, csrf) = office_browser(&app, "ana", Role::Analyst, None).await;
    let r = post_form(
        &app,
        &analyst,
        "/office/catalog",
        &[
            ("csrf", csrf.as_str()),
            ("kind", "dimension"),
            ("code", "attitude"),
            ("name_zh", "x"),
            ("name_en", "x"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn each_unit_of_the_public_results_links_to_its_public_history() {
    let app = spawn_app().await;
    for period in ["2026-02", "2026-03"] {
        responses(&app, "water-01", period, 4, 4, Some("内部意见")).await;
        responses(&app, "water-02", period, 4, 3, None).await;
    }
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    publish(&app, &admin, &csrf, "2026-02").await;
    publish(&app, &admin, &csrf, "2026-03").await;
    let citizen = app.browser("198.51.100.7");
    let results = citizen
        .get(&app, "/results/2026-03")
        .await
        .text()
        .await
        .unwrap();
    assert!(
        results.contains("href=\"/results/institution/water-01\""),
        "{results}"
    );
    let r = citizen.get(&app, "/results/institution/water-01").await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("/results/2026-02") && page.contains("/results/2026-03"),
        "{page}"
    );
    assert!(!page.contains("内部意见"), "no comments on the public page");
    assert_eq!(
        citizen
            .get(&app, "/results/institution/no-such-unit")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
}

//! The period bulletin: office and public variants, as a page, a workbook
//! and CSV tables in a zip.

use std::io::Read as _;

use pingyi::domain::office::Role;
use reqwest::StatusCode;

use crate::helpers::office::*;
use crate::helpers::*;

async fn published(app: &TestApp) -> (Browser, String) {
    for period in ["2026-02", "2026-03"] {
        responses(app, "water-01", period, 3, 2, Some("内部意见：排队太久")).await;
        responses(app, "water-02", period, 30, 5, None).await;
        responses(app, "gas-01", period, 20, 4, None).await;
    }
    let (admin, csrf) = office_browser(app, "boss", Role::Admin, None).await;
    publish(app, &admin, &csrf, "2026-02").await;
    publish(app, &admin, &csrf, "2026-03").await;
    (admin, csrf)
}

#[actix_web::test]
async fn the_office_bulletin_has_every_part_and_the_public_one_no_internal_details() {
    let app = spawn_app().await;
    let (admin, _) = published(&app).await;
    let t = |key| app.state.templates.text(pingyi::web::i18n::Lang::Zh, key);

    let office = admin.get(&app, "/office/periods/2026-03/bulletin").await;
    assert_eq!(office.status(), StatusCode::OK);
    let office = office.text().await.unwrap();
    for key in [
        "bulletin_headline",
        "bulletin_rankings",
        "bulletin_below",
        "bulletin_progress",
        "bulletin_quality",
        "bulletin_index",
        "office_voided",
    ] {
        assert!(office.contains(&t(key)), "{key} in the office bulletin");
    }
    // Every category with a row, by name; the flagged unit; charts as SVG.
    let catalog = app.state.catalog.get();
    let name = |code: &str| catalog.institution(code).unwrap().name_zh.clone();
    assert!(office.contains("<h3>供水</h3>") && office.contains("<h3>燃气</h3>"));
    assert!(office.contains(&name("water-01")));
    assert!(office.matches("<svg class=\"chart\"").count() >= 2);
    // The earlier period's task, followed up.
    assert!(office.contains("2026-02"));

    let citizen = app.browser("198.51.100.8");
    let public = citizen.get(&app, "/results/2026-03/bulletin").await;
    assert_eq!(public.status(), StatusCode::OK);
    let public = public.text().await.unwrap();
    assert!(public.contains("<h3>供水</h3>") && public.contains(&name("water-02")));
    for internal in [
        format!(">{}</th>", t("bulletin_index")),
        format!(">{}</th>", t("bulletin_ci_low")),
        format!(">{}</th>", t("office_voided")),
        t("bulletin_run"),
        "内部意见".to_owned(),
    ] {
        assert!(
            !public.contains(&internal),
            "the public bulletin shows {internal}"
        );
    }
    // An unpublished or malformed period is not found, publicly and for the office.
    for path in [
        "/results/2026-04/bulletin",
        "/results/2026-13/bulletin",
        "/results/2026-04/bulletin.xlsx",
    ] {
        assert_eq!(
            citizen.get(&app, path).await.status(),
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
    assert_eq!(
        admin
            .get(&app, "/office/periods/2026-04/bulletin")
            .await
            .status(),
        StatusCode::NOT_FOUND
    );
    // The office variant needs a session.
    let r = citizen.get(&app, "/office/periods/2026-03/bulletin").await;
    assert!(
        r.status().is_redirection() || r.status() == StatusCode::UNAUTHORIZED,
        "{}",
        r.status()
    );
}

#[actix_web::test]
async fn the_bulletin_downloads_as_a_workbook_and_as_csv_tables_in_a_zip() {
    let app = spawn_app().await;
    let (admin, _) = published(&app).await;

    let r = admin
        .get(&app, "/office/periods/2026-03/bulletin.xlsx")
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    use calamine::Reader as _;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let sheets = book.sheet_names();
    assert_eq!(sheets.len(), 5, "one sheet per part: {sheets:?}");
    let rankings = book.worksheet_range(&sheets[1]).unwrap();
    let text: Vec<String> = rankings
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| c.to_string())
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    assert!(text.iter().any(|r| r.starts_with("供水|1|")), "{text:?}");

    let citizen = app.browser("198.51.100.9");
    let r = citizen.get(&app, "/results/2026-03/bulletin.zip").await;
    assert_eq!(r.status(), StatusCode::OK);
    let bytes = r.bytes().await.unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes.to_vec())).unwrap();
    let names: Vec<String> = zip.file_names().map(|n| n.unwrap().into_owned()).collect();
    assert_eq!(zip.len(), 5, "{names:?}");
    let mut rankings = String::new();
    zip.by_name("2_rankings.csv")
        .unwrap()
        .read_to_string(&mut rankings)
        .unwrap();
    assert!(rankings.starts_with('\u{feff}'), "a BOM for Excel");
    assert!(rankings.contains("供水") && rankings.contains("燃气"));
    let mut quality = String::new();
    zip.by_name("5_data_quality.csv")
        .unwrap()
        .read_to_string(&mut quality)
        .unwrap();
    let header = quality.lines().next().unwrap();
    assert_eq!(
        header.split(',').count(),
        3,
        "the public quality table is short: {header}"
    );
}

//! The institution list imported from a CSV file, as Excel writes it.

use pingyi::domain::office::Role;
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};

use crate::helpers::office::*;
use crate::helpers::*;

async fn import(app: &TestApp, browser: &Browser, csrf: &str, file: Vec<u8>) -> reqwest::Response {
    let form = Form::new()
        .text("csrf", csrf.to_owned())
        .part(
            "file",
            Part::bytes(file)
                .file_name("units.csv")
                .mime_str("text/csv")
                .unwrap(),
        )
        .text("csv", "");
    browser
        .client
        .post(app.url("/office/institutions/import"))
        .header("x-forwarded-for", &browser.ip)
        .multipart(form)
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn a_gbk_csv_file_is_imported_whole_and_a_bad_row_imports_nothing() {
    let app = spawn_app().await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let before = app.count("SELECT COUNT(*) FROM institution").await;

    // Excel on Chinese Windows saves CSV as GBK.
    let text = "code,name_zh,name_en,category,district,address\n\
                water-90,东城第九十供水营业厅,Dongcheng Water Hall 90,water,dongcheng,东城区某路1号\n\
                water-91,西城第九十一供水营业厅,Xicheng Water Hall 91,water,xicheng,\n";
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(text);
    assert!(!unmappable);
    let r = import(&app, &admin, &csrf, gbk.into_owned()).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM institution").await,
        before + 2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM institution WHERE code = 'water-90' AND name_zh = '东城第九十供水营业厅'").await,
        1
    );
    assert!(
        app.state.catalog.get().institution("water-91").is_some(),
        "the catalog is reloaded"
    );

    // A UTF-8 file with a BOM and one bad row: nothing is stored, and the
    // page names the line and the value.
    let bad = "\u{feff}code,name_zh,name_en,category,district\n\
               water-92,第九十二供水营业厅,Hall 92,water,dongcheng\n\
               water-93,第九十三供水营业厅,Hall 93,water,atlantis\n";
    let r = import(&app, &admin, &csrf, bad.as_bytes().to_vec()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(page.contains("3") && page.contains("atlantis"), "{page}");
    assert!(page.contains("未做任何更改"), "{page}");
    assert_eq!(
        app.count("SELECT COUNT(*) FROM institution").await,
        before + 2
    );

    // Neither UTF-8 nor GBK.
    let r = import(&app, &admin, &csrf, vec![0xff, 0xfe, 0x00, 0xd8, 0x41]).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("UTF-8"));

    // Without the session's CSRF token nothing happens.
    let r = import(&app, &admin, "forged", text.as_bytes().to_vec()).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Analysts and institution users may not import.
    for (name, role, inst) in [
        ("ana", Role::Analyst, None),
        ("water1", Role::Institution, Some("water-01")),
    ] {
        let (browser, csrf) = office_browser(&app, name, role, inst).await;
        let r = import(&app, &browser, &csrf, text.as_bytes().to_vec()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{name}");
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM institution").await,
        before + 2
    );
}

#[actix_web::test]
async fn codes_that_would_break_a_url_are_refused_in_the_forms_and_the_import() {
    let app = spawn_app().await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let before = app.count("SELECT COUNT(*) FROM institution").await;

    // A category code with a slash would end up in /office/questionnaires/{code}.
    let save_category = |code: &'static str| {
        let (app, admin, csrf) = (&app, &admin, csrf.clone());
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("kind", "category"),
                ("code", code),
                ("name_zh", "新类别"),
                ("name_en", "New"),
            ];
            post_form(app, admin, "/office/catalog", &fields)
                .await
                .status()
        }
    };
    for code in ["water/2", "..", "a b"] {
        assert_eq!(
            save_category(code).await,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{code}"
        );
    }
    assert_eq!(
        app.count("SELECT COUNT(*) FROM category WHERE code IN ('water/2', '..', 'a b')")
            .await,
        0
    );
    assert_eq!(save_category("library.v2").await, StatusCode::SEE_OTHER);

    // One institution from the form.
    let r = post_form(
        &app,
        &admin,
        "/office/institutions",
        &[
            ("csrf", &csrf),
            ("code", "water/96"),
            ("name_zh", "第九十六供水营业厅"),
            ("name_en", "Hall 96"),
            ("category", "water"),
            ("district", "dongcheng"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("water/96"));

    // The import names the line, the field and the code.
    let bad = "code,name_zh,name_en,category,district\n\
               water-94,第九十四供水营业厅,Hall 94,water,dongcheng\n\
               water/95,第九十五供水营业厅,Hall 95,water,dongcheng\n";
    let r = import(&app, &admin, &csrf, bad.as_bytes().to_vec()).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("line 3") && page.contains("institution code") && page.contains("water/95"),
        "{page}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM institution").await, before);
}

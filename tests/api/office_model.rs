//! The indicator model edited through the office's form.

use pingyi::domain::office::Role;
use reqwest::StatusCode;
use scraper::{Html, Selector};

use crate::helpers::office::*;
use crate::helpers::*;

/// Every named field of the model form, with the value the page shows.
async fn form_fields(app: &TestApp, browser: &Browser) -> Vec<(String, String)> {
    let page = browser
        .get(app, "/office/model")
        .await
        .text()
        .await
        .unwrap();
    let html = Html::parse_document(&page);
    let inputs = Selector::parse("form.model-form input[name]").unwrap();
    html.select(&inputs)
        .map(|i| {
            let v = i.value();
            (
                v.attr("name").unwrap().to_owned(),
                v.attr("value").unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

async fn save(app: &TestApp, browser: &Browser, fields: &[(String, String)]) -> reqwest::Response {
    let pairs: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    post_form(app, browser, "/office/model/form", &pairs).await
}

async fn versions(app: &TestApp) -> i64 {
    app.count("SELECT COUNT(*) FROM model_version").await
}

#[actix_web::test]
async fn the_model_form_saves_a_new_version_and_refuses_bad_values_naming_them() {
    let app = spawn_app().await;
    let (admin, _) = office_browser(&app, "boss", Role::Admin, None).await;
    let mut fields = form_fields(&app, &admin).await;
    assert!(
        fields.contains(&("dw.default.attitude".into(), "0.25".into())),
        "the page shows the current weights: {fields:?}"
    );
    assert!(
        fields.contains(&("dw.water.attitude".into(), String::new())),
        "a sector without its own weights is a blank row"
    );
    let before = versions(&app).await;

    set(&mut fields, "rectify_below", "65");
    for (dimension, weight) in [
        ("attitude", "0.3"),
        ("efficiency", "0.3"),
        ("environment", "0.1"),
        ("transparency", "0.1"),
        ("outcome", "0.2"),
    ] {
        set(&mut fields, &format!("dw.water.{dimension}"), weight);
    }
    set(&mut fields, "note", "water weights of their own");
    let r = save(&app, &admin, &fields).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "{}",
        r.text().await.unwrap()
    );
    assert_eq!(versions(&app).await, before + 1);
    let current = pingyi::db::model::current(&app.db).await.unwrap();
    assert_eq!(current.model.rectify_below, 65.0);
    assert_eq!(current.model.dimension_weights["water"]["efficiency"], 0.3);
    assert_eq!(
        current.model.dimension_weights["hospital"]["attitude"], 0.3,
        "rows not touched keep their weights"
    );
    assert_eq!(
        current.model.grades.len(),
        4,
        "blank grade rows are dropped"
    );

    // Bad input: nothing is stored, and the page says which field.
    let mut bad = form_fields(&app, &admin).await;
    set(&mut bad, "min_sample", "thirty");
    set(&mut bad, "note", "oops");
    let r = save(&app, &admin, &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("thirty") && page.contains("min_sample"),
        "{page}"
    );
    // A weight that is not above 0 is refused by the method's validation.
    let mut bad = form_fields(&app, &admin).await;
    set(&mut bad, "dw.default.attitude", "0");
    set(&mut bad, "note", "oops");
    let r = save(&app, &admin, &bad).await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(versions(&app).await, before + 1);

    // Analysts read the model but may not change it.
    let (analyst, analyst_csrf) = office_browser(&app, "ana", Role::Analyst, None).await;
    let mut fields = form_fields(&app, &analyst).await;
    set(&mut fields, "csrf", &analyst_csrf);
    let r = save(&app, &analyst, &fields).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(versions(&app).await, before + 1);
}

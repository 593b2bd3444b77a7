use pingyi::domain::office::Role;
use reqwest::StatusCode;

use crate::helpers::office::{office_browser, responses};
use crate::helpers::*;

const NEW_WATER: &str = "att1,attitude,yes,工作人员的服务态度,Courtesy of the staff\n\
eff1,efficiency,yes,办理业务的速度,Speed of service\n\
out1,outcome,no,\"您的事情是否得到解决, 满意吗\",Whether your matter was resolved\n\
out3,outcome,yes,水费账单是否清楚,Clarity of the water bill\n";

async fn save(app: &TestApp, browser: &Browser, csrf: &str, items: &str) -> reqwest::Response {
    browser
        .client
        .post(app.url("/office/questionnaires/water"))
        .form(&[("csrf", csrf), ("items", items), ("note", "shorter form")])
        .send()
        .await
        .unwrap()
}

#[actix_web::test]
async fn saving_a_questionnaire_makes_a_new_version_and_leaves_the_old_one_untouched() {
    let app = spawn_app().await;
    let old_id = {
        let catalog = app.state.catalog.get();
        catalog
            .questionnaire_for(catalog.institution("water-01").unwrap())
            .unwrap()
            .id
    };
    responses(&app, "water-01", "2026-01", 2, 4, None).await;
    let old_items = app
        .count(&format!(
            "SELECT COUNT(*) FROM questionnaire_item WHERE questionnaire_id = {old_id}"
        ))
        .await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;

    let saved = save(&app, &admin, &csrf, NEW_WATER).await;
    assert_eq!(saved.status(), StatusCode::SEE_OTHER);
    let catalog = app.state.catalog.get();
    let live = catalog
        .questionnaire_for(catalog.institution("water-01").unwrap())
        .unwrap();
    assert_ne!(live.id, old_id);
    assert_eq!(live.version, 2);
    assert_eq!(
        live.items
            .iter()
            .map(|i| i.code.as_str())
            .collect::<Vec<_>>(),
        ["att1", "eff1", "out1", "out3"]
    );
    // The old version and the responses that answered it are unchanged.
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM questionnaire_item WHERE questionnaire_id = {old_id}"
        ))
        .await,
        old_items
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM response WHERE questionnaire_id = {old_id}"
        ))
        .await,
        2
    );
    // Citizens get the new form at once; a submission records the new version.
    let citizen = app.browser("198.51.100.90");
    let form = citizen.form(&app, "water-02").await;
    assert!(form.html.contains("水费账单是否清楚") && !form.html.contains("q_eff2"));
    let answers = [
        ("q_att1", "5"),
        ("q_eff1", "4"),
        ("q_out1", "na"),
        ("q_out3", "3"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect();
    assert_eq!(
        citizen
            .post(&app, "water-02", &with_form(&form, answers))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count(&format!(
            "SELECT COUNT(*) FROM response WHERE questionnaire_id = {}",
            live.id
        ))
        .await,
        1
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'questionnaire.version'")
            .await,
        1
    );
}

#[actix_web::test]
async fn a_bad_questionnaire_is_refused_with_its_line_and_changes_nothing() {
    let app = spawn_app().await;
    let (admin, csrf) = office_browser(&app, "boss", Role::Admin, None).await;
    let before = app.count("SELECT COUNT(*) FROM questionnaire").await;
    let refused = save(
        &app,
        &admin,
        &csrf,
        "att1,attitude,yes,态度,Courtesy\natt1,attitude,maybe,态度,Courtesy\n",
    )
    .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = refused.text().await.unwrap();
    assert!(body.contains("line 2") && body.contains("twice"), "{body}");
    let unknown = save(&app, &admin, &csrf, "att1,happiness,yes,幸福,Happiness\n").await;
    assert_eq!(unknown.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM questionnaire").await,
        before
    );
    // Analysts read but do not change; a forged token changes nothing.
    let (analyst, analyst_csrf) = office_browser(&app, "reader", Role::Analyst, None).await;
    assert_eq!(
        save(&app, &analyst, &analyst_csrf, NEW_WATER)
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_ne!(
        save(&app, &admin, "forged", NEW_WATER).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM questionnaire").await,
        before
    );
}

use reqwest::StatusCode;

use crate::helpers::*;

#[actix_web::test]
async fn questionnaire_renders_for_a_seeded_institution() {
    let app = spawn_app().await;
    let browser = app.browser("198.51.100.1");
    let form = browser.form(&app, "water-01").await;
    assert!(
        form.html.contains("第1供水营业厅"),
        "the institution's name is shown"
    );
    assert_eq!(
        form.html.matches("type=\"radio\"").count(),
        8 * 6,
        "8 items × (5 levels + N/A)"
    );
    assert!(form.html.contains("非常满意") && form.html.contains("不适用"));
    assert!(
        form.html.len() < 30 * 1024,
        "page is {} bytes",
        form.html.len()
    );
    assert!(browser.device_id(&app).is_some(), "a device cookie is set");
}

#[actix_web::test]
async fn unknown_institution_is_a_404_page_without_internals() {
    let app = spawn_app().await;
    let response = app
        .browser("198.51.100.1")
        .get(&app, "/s/no-such-place")
        .await;
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    let body = response.text().await.unwrap();
    assert!(body.contains("页面不存在") && body.contains("lang=\"zh-CN\""));
    assert!(!body.to_lowercase().contains("error:") && !body.contains("sqlx"));
    // In the language the browser asks for.
    let english = app
        .browser("198.51.100.1")
        .client
        .get(app.url("/s/no-such-place"))
        .header("accept-language", "en-GB,en;q=0.9,zh;q=0.5")
        .send()
        .await
        .unwrap();
    assert_eq!(english.status(), StatusCode::NOT_FOUND);
    assert_eq!(english.headers()["vary"], "Accept-Language, Cookie");
    let body = english.text().await.unwrap();
    assert!(
        body.contains("Not found") && body.contains("lang=\"en\"") && !body.contains("页面不存在")
    );
}

#[actix_web::test]
async fn valid_submission_stores_the_response_and_every_answer() {
    let app = spawn_app().await;
    let browser = app.browser("198.51.100.2");
    let form = browser.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "comment", "排队时间有点长");
    let response = browser.post(&app, "water-01", &fields).await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(response.headers()["location"], "/s/water-01/thanks");
    assert_eq!(app.responses().await, 1);
    assert_eq!(app.answers().await, 8);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM answer WHERE rating IS NULL AND item_code = 'eff2'")
            .await,
        1
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM answer WHERE rating = 2 AND item_code = 'out2' AND dimension_code = 'outcome'").await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE source = 'citizen' AND channel = 'web' AND duration_ms >= 0 AND comment = '排队时间有点长'").await,
        1
    );
    let thanks = browser.get(&app, "/s/water-01/thanks").await;
    assert!(thanks.text().await.unwrap().contains("感谢您的评价"));
}

#[actix_web::test]
async fn each_invalid_input_gives_422_at_its_field_and_stores_nothing() {
    let app = spawn_app_with(|s| s.rate_limit.submission_burst = 20).await;
    let browser = app.browser("198.51.100.3");
    let form = browser.form(&app, "water-01").await;
    type Mutation = Box<dyn Fn(&mut Vec<(String, String)>)>;
    let cases: Vec<(&str, Mutation, &str)> = vec![
        (
            "rating out of range",
            Box::new(|f| set(f, "q_att1", "6")),
            "请从 1 到 5 级中选择",
        ),
        (
            "rating not a number",
            Box::new(|f| set(f, "q_att1", "five")),
            "请从 1 到 5 级中选择",
        ),
        (
            "required item missing",
            Box::new(|f| remove(f, "q_eff1")),
            "请选择一项",
        ),
        (
            "comment too long",
            Box::new(|f| set(f, "comment", &"长".repeat(501))),
            "意见过长",
        ),
        (
            "unknown item",
            Box::new(|f| set(f, "q_nope", "3")),
            "表单已过期",
        ),
        (
            "nothing rated",
            Box::new(|f| {
                for (n, v) in f.iter_mut() {
                    if n.starts_with("q_") {
                        *v = "na".into();
                    }
                }
            }),
            "请至少对一项作出评价",
        ),
    ];
    for (name, mutate, message) in cases {
        let mut fields = with_form(&form, water_answers());
        mutate(&mut fields);
        let response = browser.post(&app, "water-01", &fields).await;
        assert_eq!(
            response.status(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "{name}"
        );
        let html = response.text().await.unwrap();
        assert!(html.contains(message), "{name}: message shown");
        assert!(
            html.contains("name=\"csrf\""),
            "{name}: the form is re-rendered"
        );
    }
    assert_eq!(app.responses().await, 0);
    assert_eq!(app.answers().await, 0);
}

#[actix_web::test]
async fn a_refused_form_keeps_what_the_citizen_entered() {
    let app = spawn_app().await;
    let browser = app.browser("198.51.100.4");
    let form = browser.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    remove(&mut fields, "q_eff1");
    set(&mut fields, "comment", "<b>好</b>");
    let html = browser
        .post(&app, "water-01", &fields)
        .await
        .text()
        .await
        .unwrap();
    assert!(html.contains("name=\"q_att1\" value=\"5\" checked"));
    assert!(
        html.contains("&lt;b&gt;好&lt;&#x2F;b&gt;") || html.contains("&lt;b&gt;好&lt;/b&gt;"),
        "comment refilled, escaped"
    );
}

#[actix_web::test]
async fn a_second_submission_from_the_same_device_gives_409() {
    let app = spawn_app().await;
    let browser = app.browser("198.51.100.5");
    let form = browser.form(&app, "water-01").await;
    let first = browser
        .post(&app, "water-01", &with_form(&form, water_answers()))
        .await;
    assert_eq!(first.status(), StatusCode::SEE_OTHER);
    let form = browser.form(&app, "water-01").await;
    let second = browser
        .post(&app, "water-01", &with_form(&form, water_answers()))
        .await;
    assert_eq!(second.status(), StatusCode::CONFLICT);
    assert!(second.text().await.unwrap().contains("您已评价过"));
    assert_eq!(app.responses().await, 1);
    assert_eq!(app.answers().await, 8);
    // Another institution is a different rating.
    let other = browser.form(&app, "water-02").await;
    let response = browser
        .post(&app, "water-02", &with_form(&other, water_answers()))
        .await;
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
}

#[actix_web::test]
async fn fifty_concurrent_submissions_from_one_device_store_one() {
    let app = spawn_app_with(|s| {
        s.rate_limit.submission_burst = 100;
        s.rate_limit.subnet_submission_burst = 100;
    })
    .await;
    let browser = app.browser("198.51.100.6");
    let form = browser.form(&app, "water-01").await;
    let fields = with_form(&form, water_answers());
    let attempts = (0..50).map(|_| browser.post(&app, "water-01", &fields));
    let statuses: Vec<StatusCode> = futures_util::future::join_all(attempts)
        .await
        .iter()
        .map(|r| r.status())
        .collect();
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::SEE_OTHER)
            .count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CONFLICT)
            .count(),
        49,
        "{statuses:?}"
    );
    assert_eq!(app.responses().await, 1);
    assert_eq!(app.answers().await, 8);
}

#[actix_web::test]
async fn a_missing_or_foreign_csrf_token_is_refused() {
    let app = spawn_app().await;
    let browser = app.browser("198.51.100.7");
    let form = browser.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    remove(&mut fields, "csrf");
    assert_eq!(
        browser.post(&app, "water-01", &fields).await.status(),
        StatusCode::FORBIDDEN
    );

    // A token served to another browser does not work here (cross-site forgery).
    let other = app.browser("198.51.100.8");
    let other_form = other.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "csrf", &other_form.csrf);
    assert_eq!(
        browser.post(&app, "water-01", &fields).await.status(),
        StatusCode::FORBIDDEN
    );

    // No device cookie at all.
    let stranger = app.browser("198.51.100.9");
    assert_eq!(
        stranger
            .post(&app, "water-01", &with_form(&form, water_answers()))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.responses().await, 0);
}

#[actix_web::test]
async fn a_forged_or_foreign_form_clock_is_refused() {
    let app = spawn_app().await;
    let browser = app.browser("198.51.100.10");
    let form = browser.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "clock", "water-01:0.AAAA");
    assert_eq!(
        browser.post(&app, "water-01", &fields).await.status(),
        StatusCode::FORBIDDEN
    );
    // A clock served for another institution.
    assert_eq!(
        browser
            .post(&app, "water-02", &with_form(&form, water_answers()))
            .await
            .status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.responses().await, 0);
}

/// A ticket past its expiry is refused inside the commit, and the times the
/// submission writer stores are the text the rest of the server writes and
/// compares (on SQLite the writer has a connection of its own, outside the
/// ORM; a different text form would break the office's text comparisons).
#[actix_web::test]
async fn an_expired_ticket_is_refused_and_stored_times_keep_one_form() {
    use entity::ticket;
    use sea_orm::{
        ActiveModelTrait, ActiveValue::Set, ConnectionTrait, DbBackend, EntityTrait, QueryOrder,
    };

    let app = spawn_app().await;
    let institution = app.state.catalog.get().institution("water-01").unwrap().id;
    let codes = pingyi::db::tickets::issue(&app.db, &app.state.keys, institution, 2, 30)
        .await
        .unwrap();
    // The first ticket issued (codes come in the order of their rows)
    // expired a second ago.
    let ids: Vec<i64> = ticket::Entity::find()
        .order_by_asc(ticket::Column::Id)
        .all(&app.db)
        .await
        .unwrap()
        .iter()
        .map(|t| t.id)
        .collect();
    ticket::ActiveModel {
        id: Set(ids[0]),
        expires_at: Set(chrono::Utc::now() - chrono::Duration::seconds(1)),
        ..Default::default()
    }
    .update(&app.db)
    .await
    .unwrap();
    let (expired, valid) = (&codes[0], &codes[1]);

    let browser = app.browser("198.51.100.21");
    let form = browser.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "t", expired);
    assert_eq!(
        browser.post(&app, "water-01", &fields).await.status(),
        StatusCode::CONFLICT
    );
    assert_eq!(app.responses().await, 0);
    set(&mut fields, "t", valid);
    assert_eq!(
        browser.post(&app, "water-01", &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.responses().await, 1);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ticket WHERE used_at IS NOT NULL")
            .await,
        1
    );

    if app.db.get_database_backend() == DbBackend::Sqlite {
        let row = app
            .db
            .query_one_raw(sea_orm::Statement::from_string(
                DbBackend::Sqlite,
                "SELECT r.submitted_at, t.used_at, t.created_at FROM response r, ticket t \
                 WHERE t.used_at IS NOT NULL",
            ))
            .await
            .unwrap()
            .unwrap();
        let texts: Vec<String> = (0..3)
            .map(|i| row.try_get_by_index::<String>(i).unwrap())
            .collect();
        // `created_at` was written through the ORM; the other two by the writer.
        let shape = |t: &str| {
            let (seconds, zone) = t.split_at(19);
            let fraction = zone.trim_end_matches("+00:00");
            (
                seconds.as_bytes()[10],
                zone.ends_with("+00:00"),
                fraction.is_empty() || fraction.starts_with('.'),
            )
        };
        for text in &texts {
            assert_eq!(shape(text), (b'T', true, true), "{texts:?}");
        }
        assert_eq!(
            texts[0], texts[1],
            "the ticket is used at the response's time"
        );
    }
}

#[actix_web::test]
async fn a_ticket_works_once() {
    let app = spawn_app().await;
    let institution = app.state.catalog.get().institution("water-01").unwrap().id;
    let codes = pingyi::db::tickets::issue(&app.db, &app.state.keys, institution, 2, 30)
        .await
        .unwrap();
    let browser = app.browser("198.51.100.11");
    let page = browser
        .get(&app, &format!("/s/water-01?t={}", codes[0]))
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains(&format!("name=\"t\" value=\"{}\"", codes[0])));
    let form = browser.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "t", &codes[0]);
    assert_eq!(
        browser.post(&app, "water-01", &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    // The same ticket again, even from another device, is refused.
    let other = app.browser("198.51.100.12");
    let form = other.form(&app, "water-01").await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "t", &codes[0]);
    let again = other.post(&app, "water-01", &fields).await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    // An unknown ticket is refused; the second real ticket works.
    set(&mut fields, "t", "made-up-code");
    assert_eq!(
        other.post(&app, "water-01", &fields).await.status(),
        StatusCode::CONFLICT
    );
    set(&mut fields, "t", &codes[1]);
    assert_eq!(
        other.post(&app, "water-01", &fields).await.status(),
        StatusCode::SEE_OTHER
    );
    // A ticket of one institution does not open another.
    assert_eq!(app.responses().await, 2);
    assert_eq!(
        app.count("SELECT COUNT(*) FROM response WHERE channel = 'ticket'")
            .await,
        2
    );
    assert_eq!(
        app.count("SELECT COUNT(*) FROM ticket WHERE used_at IS NOT NULL")
            .await,
        2
    );
}

#[actix_web::test]
async fn a_form_clock_served_to_another_device_is_refused() {
    let app = spawn_app().await;
    let harvester = app.browser("198.51.100.13");
    let harvested = harvester.form(&app, "water-01").await;
    let other = app.browser("198.51.100.14");
    let own = other.form(&app, "water-01").await;
    // The other device's own CSRF token, with a clock served to the first.
    let mut fields = with_form(&own, water_answers());
    set(&mut fields, "clock", &harvested.clock);
    assert_eq!(
        other.post(&app, "water-01", &fields).await.status(),
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.responses().await, 0);
    // With the clock it was served, the same submission is taken.
    assert_eq!(
        other
            .post(&app, "water-01", &with_form(&own, water_answers()))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.responses().await, 1);
}

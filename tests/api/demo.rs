//! The demo looks like a city a few weeks into a period, and is the same
//! every time it is made.

use std::time::Instant;

use crate::helpers::*;

async fn demo() -> (TestApp, std::time::Duration) {
    let started = Instant::now();
    let app = spawn_app_with(|s| s.demo_history = true).await;
    (app, started.elapsed())
}

/// `(status, n)` rows of a grouped count, as text.
async fn grouped(app: &TestApp, sql: &str) -> Vec<String> {
    use sea_orm::{ConnectionTrait, Statement};
    let rows = app
        .db
        .query_all_raw(Statement::from_string(
            app.db.get_database_backend(),
            sql.to_owned(),
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let key: String = r.try_get_by_index(0).unwrap();
            let n = r
                .try_get_by_index::<i64>(1)
                .or_else(|_| r.try_get_by_index::<i32>(1).map(i64::from))
                .unwrap();
            format!("{key}={n}")
        })
        .collect()
}

#[actix_web::test]
async fn the_demo_is_a_city_under_way_with_every_state_and_is_the_same_each_time() {
    let (app, took) = demo().await;
    eprintln!("start-up with the demo took {took:?} (debug build)");
    let current = pingyi::domain::period::Period::containing(
        chrono::Utc::now(),
        app.state.settings.period,
        app.state.settings.utc_offset_hours,
    );
    let last = current.previous();
    // Two published periods before the current one.
    assert_eq!(
        app.count("SELECT COUNT(DISTINCT period) FROM snapshot")
            .await,
        2
    );
    // The current period: citizens and the firm's upload, spread over days.
    let sources = grouped(
        &app,
        &format!("SELECT source, COUNT(*) FROM response WHERE period = '{current}' GROUP BY source ORDER BY source"),
    )
    .await;
    assert_eq!(sources.len(), 2, "{sources:?}");
    // The last period was collected over its days, not at one instant.
    let instants = app
        .count(&format!(
            "SELECT COUNT(DISTINCT submitted_at) FROM response WHERE period = '{last}'"
        ))
        .await;
    assert!(instants > 1000, "spread over the period: {instants}");
    // Comments in Chinese and in English.
    assert!(
        app.count("SELECT COUNT(*) FROM response WHERE comment LIKE '%窗口%'")
            .await
            > 0
    );
    assert!(
        app.count("SELECT COUNT(*) FROM response WHERE comment LIKE '%counter%'")
            .await
            > 0
    );
    // Tasks in every state, an upheld and a rejected appeal.
    let states = grouped(
        &app,
        "SELECT status, COUNT(*) FROM rectification_task GROUP BY status ORDER BY status",
    )
    .await;
    for state in [
        "completed",
        "open",
        "plan_accepted",
        "plan_submitted",
        "report_submitted",
        "withdrawn",
    ] {
        assert!(
            states.iter().any(|s| s.starts_with(&format!("{state}="))),
            "{state}: {states:?}"
        );
    }
    let appeals = grouped(
        &app,
        "SELECT status, COUNT(*) FROM appeal GROUP BY status ORDER BY status",
    )
    .await;
    assert!(
        appeals.iter().any(|s| s.starts_with("upheld="))
            && appeals.iter().any(|s| s.starts_with("rejected=")),
        "{appeals:?}"
    );
    // Uploads: one stored per category file, one refused with its report.
    let uploads = grouped(
        &app,
        "SELECT status, COUNT(*) FROM upload GROUP BY status ORDER BY status",
    )
    .await;
    assert_eq!(uploads, ["invalid=1", "stored=2"]);
    assert!(
        app.count("SELECT COUNT(*) FROM upload WHERE status = 'invalid' AND error_count >= 3")
            .await
            == 1
    );

    // The same again: the same responses, comments and states.
    let (again, _) = demo().await;
    for sql in [
        "SELECT COUNT(*) FROM response",
        "SELECT COUNT(*) FROM response WHERE comment IS NOT NULL",
        "SELECT COUNT(*) FROM answer WHERE rating = 1",
        "SELECT COUNT(*) FROM rectification_task WHERE status = 'completed'",
    ] {
        assert_eq!(app.count(sql).await, again.count(sql).await, "{sql}");
    }
}

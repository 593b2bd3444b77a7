//! The real binary as a separate process: killed with SIGKILL under
//! submission load, or stopped with SIGTERM, then checked through its database.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

use crate::helpers::*;

const SECRET: &str = "crash-test-secret-crash-test-secret-0123456";

struct Server {
    child: Child,
    url: String,
}

fn start_server(data_dir: &std::path::Path, database_url: Option<&str>, port: u16) -> Server {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pingyi"));
    cmd.arg("serve")
        .env("PINGYI_LISTEN", format!("127.0.0.1:{port}"))
        .env("PINGYI_DATA_DIR", data_dir)
        .env("PINGYI_SECRET", SECRET)
        .env("PINGYI_CAPTCHA", "off")
        // The PostgreSQL runs name their database: ask for the demo by name.
        .env("PINGYI_DEMO", "true")
        .env("PINGYI_DEMO_HISTORY", "false")
        .env("PINGYI_TRUSTED_PROXIES", "127.0.0.1")
        .env("PINGYI_RATE_LIMIT__SUBMISSION_BURST", "100000")
        .env("PINGYI_RATE_LIMIT__SUBNET_SUBMISSION_BURST", "100000")
        .env("PINGYI_RATE_LIMIT__PAGE_VIEW_BURST", "100000")
        .env("PINGYI_LOG", "warn")
        .env_remove("PINGYI_DATABASE_URL")
        .env_remove("PINGYI_REDIS_URL")
        // The test's own switch; the server refuses unknown PINGYI_ keys.
        .env_remove("PINGYI_CRASH_CYCLES")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if let Some(url) = database_url {
        cmd.env("PINGYI_DATABASE_URL", url);
    }
    Server {
        child: cmd.spawn().expect("the binary starts"),
        url: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_ready(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{url}/healthz")).await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} did not start");
}

/// A free port below the ephemeral range (32768+ on Linux): the server is
/// restarted on the same port, and while it is down the load's thousands of
/// client connections must not take that port as their local one.
fn free_port() -> u16 {
    // Tests run in parallel: each call starts its search elsewhere.
    static CALLS: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let start = (std::process::id() % 1_000) as u16 * 7 + call * 1_009;
    (0..2_000u16)
        .map(|i| 20_000 + (start + i * 7) % 12_000)
        .find(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
        .expect("a free port below the ephemeral range")
}

/// A distinct, valid address per simulated citizen.
fn client_ip(n: usize) -> String {
    format!(
        "10.{}.{}.{}",
        (n / 62_500) % 250 + 1,
        (n / 250) % 250,
        n % 250 + 1
    )
}

/// One simulated citizen: fetch the form, submit with a unique comment.
/// Returns the comment when the server acknowledged it (303).
async fn one_submission(url: &str, n: usize) -> Option<String> {
    // A fresh cookie jar: a new device each time.
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let page = browser
        .get(format!("{url}/s/water-0{}", n % 8 + 1))
        .header("x-forwarded-for", client_ip(n))
        .send()
        .await
        .ok()?;
    let html = page.text().await.ok()?;
    let field = |name: &str| hidden_field(&html, name);
    let comment = format!("crash-{n}");
    let mut fields = vec![
        ("csrf".to_owned(), field("csrf")?),
        ("clock".to_owned(), field("clock")?),
        ("comment".to_owned(), comment.clone()),
    ];
    fields.extend(water_answers());
    let response = browser
        .post(format!("{url}/s/water-0{}", n % 8 + 1))
        .header("x-forwarded-for", client_ip(n))
        .form(&fields)
        .send()
        .await
        .ok()?;
    (response.status() == StatusCode::SEE_OTHER).then_some(comment)
}

/// Submits from `workers` concurrent citizens until `stop` is set.
async fn load(
    url: String,
    first: usize,
    workers: usize,
    acknowledged: Arc<Mutex<Vec<String>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) {
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(first));
    let mut tasks = Vec::new();
    for _ in 0..workers {
        let (url, acknowledged, stop, next) = (
            url.clone(),
            acknowledged.clone(),
            stop.clone(),
            next.clone(),
        );
        tasks.push(tokio::spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if let Some(c) = one_submission(&url, n).await {
                    acknowledged.lock().push(c);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn check_database(db: &DatabaseConnection, acknowledged: &[String]) {
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT r.comment, (SELECT COUNT(*) FROM answer a WHERE a.response_id = r.id) FROM response r".to_owned(),
        ))
        .await
        .unwrap();
    let mut stored = std::collections::HashMap::new();
    for row in rows {
        let comment: Option<String> = row.try_get_by_index(0).unwrap();
        let answers: i64 = row.try_get_by_index(1).unwrap();
        // Nothing half-written: every stored response has all its answers.
        assert_eq!(answers, 8, "response {comment:?} has {answers} answers");
        stored.insert(comment.unwrap_or_default(), answers);
    }
    for comment in acknowledged {
        assert!(
            stored.contains_key(comment),
            "acknowledged {comment} is lost"
        );
    }
}

/// Kill -9 cycles per backend: `PINGYI_CRASH_CYCLES` (default 2; the figure
/// in docs/benchmarks.md is from 20).
fn cycles() -> usize {
    std::env::var("PINGYI_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2)
}

async fn crash_under_load(database_url: Option<String>) {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let cycles = cycles();
    for cycle in 0..cycles {
        let mut server = start_server(dir.path(), database_url.as_deref(), port);
        wait_ready(&server.url).await;
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let before = acknowledged.lock().len();
        // Numbers (comments, addresses) never repeat across cycles.
        let driver = tokio::spawn(load(
            server.url.clone(),
            cycle * 100_000,
            16,
            acknowledged.clone(),
            stop.clone(),
        ));
        // Let acknowledgements accumulate, then kill the server mid-flight.
        let deadline = Instant::now() + Duration::from_secs(20);
        while acknowledged.lock().len() < before + 100 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        driver.await.unwrap();
        let now = acknowledged.lock().len();
        assert!(
            now >= before + 100,
            "load reached the server in cycle {cycle} ({})",
            now - before
        );
    }
    let acknowledged = acknowledged.lock().clone();
    eprintln!(
        "crash: {cycles} kill -9 cycles, {} acknowledged submissions to check",
        acknowledged.len()
    );

    // The server comes back on the same data and serves again.
    let mut server = start_server(dir.path(), database_url.as_deref(), port);
    wait_ready(&server.url).await;
    assert!(
        one_submission(&server.url, 99_999_999).await.is_some(),
        "accepts after restart"
    );
    server.child.kill().unwrap();
    server.child.wait().unwrap();

    let url = database_url.unwrap_or_else(|| {
        format!(
            "sqlite://{}?mode=ro",
            dir.path().join("pingyi.db").display()
        )
    });
    let db = Database::connect(&url).await.unwrap();
    if db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        let row = db
            .query_one_raw(Statement::from_string(
                db.get_database_backend(),
                "PRAGMA integrity_check".to_owned(),
            ))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.try_get_by_index::<String>(0).unwrap(), "ok");
    }
    check_database(&db, &acknowledged).await;
}

#[actix_web::test]
async fn every_acknowledged_submission_survives_a_kill_9_on_sqlite() {
    crash_under_load(None).await;
}

#[actix_web::test]
async fn every_acknowledged_submission_survives_a_kill_9_on_postgresql() {
    let base = std::env::var("PINGYI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into());
    let pg = PgDatabase::create(&base).await;
    crash_under_load(Some(pg.url.clone())).await;
}

#[actix_web::test]
async fn sigterm_lets_in_flight_requests_finish_and_exits_promptly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = start_server(dir.path(), None, free_port());
    wait_ready(&server.url).await;
    let acknowledged = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let driver = tokio::spawn(load(
        server.url.clone(),
        0,
        8,
        acknowledged.clone(),
        stop.clone(),
    ));
    while acknowledged.lock().len() < 30 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let signalled = Instant::now();
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(15),
            "exits within the bound"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "a clean exit: {status:?}");
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    driver.await.unwrap();
    // New connections are refused once it has gone.
    assert!(
        reqwest::get(format!("{}/healthz", server.url))
            .await
            .is_err()
    );
    let acknowledged = acknowledged.lock().clone();
    let db = Database::connect(format!(
        "sqlite://{}?mode=ro",
        dir.path().join("pingyi.db").display()
    ))
    .await
    .unwrap();
    check_database(&db, &acknowledged).await;
}

//! Cluster mode against the real PostgreSQL and Redis of the machine
//! (`PINGYI_TEST_DATABASE_URL`, `PINGYI_TEST_REDIS_URL`; by default the
//! local servers on their standard ports), and failure injection with a
//! Redis server and a database proxy the tests start and kill themselves.

use std::net::TcpListener as StdListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use pingyi::setup::configuration::{CaptchaMode, Settings};
use reqwest::StatusCode;
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::AbortHandle;

use crate::helpers::*;

fn pg_base() -> String {
    std::env::var("PINGYI_TEST_DATABASE_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

fn redis_url() -> String {
    std::env::var("PINGYI_TEST_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// One test's settings on a shared database and Redis server (the Redis key
/// prefix is the test's own, from [`base_settings`]).
fn cluster_settings(db_url: &str, redis: &str) -> Settings {
    let mut s = base_settings();
    s.database_url = Some(db_url.to_owned());
    s.redis_url = Some(redis.to_owned());
    s
}

/// Two instances on one fresh PostgreSQL database and one Redis prefix.
async fn two_instances(configure: impl Fn(&mut Settings)) -> (TestApp, TestApp, PgDatabase) {
    let pg = PgDatabase::create(&pg_base()).await;
    let mut settings = cluster_settings(&pg.url, &redis_url());
    configure(&mut settings);
    // Sequential start: the first instance migrates and seeds.
    let a = spawn_instance(settings.clone(), None).await;
    let b = spawn_instance(settings, None).await;
    (a, b, pg)
}

#[actix_web::test]
async fn a_flood_from_one_ip_across_two_instances_is_held_to_one_quota() {
    let (a, b, _pg) = two_instances(|s| {
        s.rate_limit.submissions_per_hour = 4;
        s.rate_limit.submission_burst = 4;
    })
    .await;
    let mut accepted = 0;
    let mut limited = 0;
    for i in 0..10 {
        let app = if i % 2 == 0 { &a } else { &b };
        // A new device each time: only the address is shared.
        let browser = app.browser("203.0.113.50");
        let code = format!("water-0{}", i % 8 + 1);
        let form = browser.form(app, &code).await;
        match browser
            .post(app, &code, &with_form(&form, water_answers()))
            .await
            .status()
        {
            StatusCode::SEE_OTHER => accepted += 1,
            StatusCode::TOO_MANY_REQUESTS => limited += 1,
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((accepted, limited), (4, 6));
    assert_eq!(a.responses().await, 4);
}

#[actix_web::test]
async fn a_respondent_who_submitted_on_one_instance_is_refused_on_the_other() {
    let (a, b, _pg) = two_instances(|_| {}).await;
    let browser = a.browser("203.0.113.51");
    let form = browser.form(&a, "water-01").await;
    assert_eq!(
        browser
            .post(&a, "water-01", &with_form(&form, water_answers()))
            .await
            .status(),
        StatusCode::SEE_OTHER
    );
    // The same browser (device cookie) on the other instance.
    let form = browser.form(&b, "water-01").await;
    let again = browser
        .post(&b, "water-01", &with_form(&form, water_answers()))
        .await;
    assert_eq!(again.status(), StatusCode::CONFLICT);
    assert_eq!(b.responses().await, 1);
}

#[actix_web::test]
async fn a_captcha_solved_once_cannot_be_reused_on_the_other_instance() {
    let (a, b, _pg) = two_instances(|s| s.captcha = CaptchaMode::Always).await;
    let browser = a.browser("203.0.113.52");
    let form = browser.form(&a, "water-01").await;
    let id = form.captcha_id.clone().unwrap();
    // The image is served by either instance: the answer lives in Redis.
    assert_eq!(
        browser
            .get(&b, &format!("/captcha/{id}.png"))
            .await
            .status(),
        StatusCode::OK
    );
    let answer = b.captcha_answer(&id).await.unwrap();
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "captcha_id", &id);
    set(&mut fields, "captcha", &answer);
    assert_eq!(
        browser.post(&a, "water-01", &fields).await.status(),
        StatusCode::SEE_OTHER
    );

    let other = b.browser("203.0.113.53");
    let form = other.form(&b, "water-02").await;
    let mut fields = with_form(&form, water_answers());
    set(&mut fields, "captcha_id", &id);
    set(&mut fields, "captcha", &answer);
    assert_eq!(
        other.post(&b, "water-02", &fields).await.status(),
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(a.responses().await, 1);
}

#[actix_web::test]
async fn ipv6_clients_rotating_addresses_and_64s_across_two_instances_meet_the_64_and_48_quotas() {
    let (a, b, _pg) = two_instances(|s| {
        s.rate_limit.submissions_per_hour = 2;
        s.rate_limit.submission_burst = 2;
        s.rate_limit.subnet_submissions_per_hour = 3;
        s.rate_limit.subnet_submission_burst = 3;
    })
    .await;
    let steps = [
        (&a, "2001:db8:9:1::1", StatusCode::SEE_OTHER),
        (&b, "2001:db8:9:1::2", StatusCode::SEE_OTHER),
        // A third address of the /64: its address quota is spent (in Redis).
        (&a, "2001:db8:9:1::3", StatusCode::TOO_MANY_REQUESTS),
        (&b, "2001:db8:9:2::1", StatusCode::SEE_OTHER),
        // A fresh /64 of the same /48: the subnet quota is spent.
        (&a, "2001:db8:9:3::1", StatusCode::TOO_MANY_REQUESTS),
        (&b, "2001:db8:9:ff00::1", StatusCode::TOO_MANY_REQUESTS),
        // Another /48.
        (&a, "2001:db8:a:1::1", StatusCode::SEE_OTHER),
    ];
    for (i, (app, ip, expected)) in steps.into_iter().enumerate() {
        let code = format!("water-0{}", i % 8 + 1);
        assert_eq!(
            app.submit_new_device(ip, &code).await,
            expected,
            "step {i}: {ip}"
        );
    }
    assert_eq!(a.responses().await, 4);
}

#[actix_web::test]
async fn the_adaptive_captcha_counts_an_ipv6_64_across_two_instances() {
    let (a, b, _pg) = two_instances(|s| {
        s.captcha = CaptchaMode::Adaptive;
        s.captcha_threshold = 2;
    })
    .await;
    assert_eq!(
        a.submit_new_device("2001:db8:b:1::1", "water-01").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        b.submit_new_device("2001:db8:b:1::2", "water-02").await,
        StatusCode::SEE_OTHER
    );
    let asked = a.browser("2001:db8:b:1::3").form(&a, "water-03").await;
    assert!(asked.captcha_id.is_some(), "the /64 passed the threshold");
    let other = b.browser("2001:db8:b:2::1").form(&b, "water-03").await;
    assert!(other.captcha_id.is_none(), "the next /64 did not");
}

#[actix_web::test]
async fn a_device_rating_on_two_instances_has_one_respondent_hash_and_its_dedup_keys_name_it() {
    let pg = PgDatabase::create(&pg_base()).await;
    let settings = cluster_settings(&pg.url, &redis_url());
    let prefix = settings.redis_prefix.clone();
    let a = spawn_instance(settings.clone(), None).await;
    let b = spawn_instance(settings, None).await;
    let browser = a.browser("203.0.113.54");
    for (app, code) in [(&a, "water-01"), (&b, "water-02")] {
        let form = browser.form(app, code).await;
        assert_eq!(
            browser
                .post(app, code, &with_form(&form, water_answers()))
                .await
                .status(),
            StatusCode::SEE_OTHER,
            "{code}"
        );
    }
    use sea_orm::ConnectionTrait;
    let rows =
        a.db.query_all_raw(sea_orm::Statement::from_string(
            a.db.get_database_backend(),
            "SELECT institution_id, period, respondent_hash FROM response ORDER BY institution_id"
                .to_owned(),
        ))
        .await
        .unwrap();
    let rows: Vec<(i32, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r.try_get_by_index(0).unwrap(),
                r.try_get_by_index(1).unwrap(),
                r.try_get_by_index(2).unwrap(),
            )
        })
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].2, rows[1].2, "one respondent hash in the period");
    let client = redis::Client::open(redis_url()).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    for (institution, period, hash) in &rows {
        let key = format!("{prefix}dedup:{institution}:{period}:{hash}");
        let exists: u32 = redis::cmd("EXISTS")
            .arg(&key)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(exists, 1, "{key}");
    }
    // Each instance refuses the other's institution for this device.
    for (app, code) in [(&a, "water-02"), (&b, "water-01")] {
        assert_eq!(
            browser.rate(app, code).await,
            StatusCode::CONFLICT,
            "{code}"
        );
    }
    assert_eq!(a.responses().await, 2);
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A redis-server of the test's own.
struct OwnRedis {
    port: u16,
    child: Option<Child>,
}

impl OwnRedis {
    fn start(port: u16) -> OwnRedis {
        let child = Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is installed");
        for _ in 0..100 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        OwnRedis {
            port,
            child: Some(child),
        }
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        self.kill();
    }
}

async fn health(app: &TestApp) -> serde_json::Value {
    reqwest::get(app.url("/healthz"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[actix_web::test]
async fn while_redis_is_down_submissions_are_accepted_and_limited_and_health_says_degraded() {
    let port = free_port();
    let mut redis = OwnRedis::start(port);
    let app = spawn_app_with(|s| {
        s.redis_url = Some(format!("redis://127.0.0.1:{}", redis.port));
        s.rate_limit.submissions_per_hour = 2;
        s.rate_limit.submission_burst = 2;
    })
    .await;
    assert_eq!(health(&app).await["status"], "ok");
    assert_eq!(
        app.submit_new_device("203.0.113.60", "water-01").await,
        StatusCode::SEE_OTHER
    );

    redis.kill();
    // Accepted while Redis is down (the first call notices and falls back).
    assert_eq!(
        app.submit_new_device("203.0.113.61", "water-01").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(health(&app).await["status"], "degraded");
    assert_eq!(health(&app).await["redis"], "unreachable");
    // Still limited, by the in-process fallback.
    assert_eq!(
        app.submit_new_device("203.0.113.62", "water-02").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.submit_new_device("203.0.113.62", "water-03").await,
        StatusCode::SEE_OTHER
    );
    assert_eq!(
        app.submit_new_device("203.0.113.62", "water-04").await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let metrics = reqwest::get(app.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("pingyi_redis_degraded 1"), "{metrics}");

    // Back: the service returns to Redis by itself.
    let redis = OwnRedis::start(port);
    let mut recovered = false;
    for _ in 0..50 {
        if health(&app).await["status"] == "ok" {
            recovered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(recovered, "health returns to ok");
    assert_eq!(
        app.submit_new_device("203.0.113.63", "water-05").await,
        StatusCode::SEE_OTHER
    );
    let client = redis::Client::open(format!("redis://127.0.0.1:{}", redis.port)).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}rl:*", app.state.settings.redis_prefix))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "rate-limit state is in Redis again");
    assert_eq!(app.responses().await, 5);
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct DbProxy {
    port: u16,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl DbProxy {
    async fn start(port: u16, upstream: (String, u16)) -> DbProxy {
        let proxy = DbProxy {
            port,
            tasks: Arc::new(Mutex::new(Vec::new())),
        };
        proxy.open(upstream).await;
        proxy
    }

    async fn open(&self, upstream: (String, u16)) {
        let socket = TcpSocket::new_v4().unwrap();
        socket.set_reuseaddr(true).unwrap();
        socket.bind(([127, 0, 0, 1], self.port).into()).unwrap();
        let listener = socket.listen(64).unwrap();
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut outbound) =
                        TcpStream::connect((upstream.0.as_str(), upstream.1)).await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                tasks.lock().push(conn.abort_handle());
            }
        });
        self.tasks.lock().push(accept.abort_handle());
    }

    fn cut(&self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
    }
}

#[actix_web::test]
async fn while_the_database_is_unreachable_a_submission_gets_503_and_nothing_is_stored() {
    let pg = PgDatabase::create(&pg_base()).await;
    let url: url_like::Parts = url_like::parse(&pg.url);
    let port = free_port();
    let proxy = DbProxy::start(port, (url.host.clone(), url.port)).await;
    let proxied = url_like::with_host_port(&pg.url, "127.0.0.1", port);
    let mut settings = base_settings();
    settings.database_url = Some(proxied);
    let app = spawn_instance(settings, None).await;
    assert_eq!(
        app.submit_new_device("203.0.113.70", "water-01").await,
        StatusCode::SEE_OTHER
    );

    proxy.cut();
    let browser = app.browser("203.0.113.71");
    let form = browser.form(&app, "water-02").await; // served from the in-memory catalog
    let refused = browser
        .post(&app, "water-02", &with_form(&form, water_answers()))
        .await;
    assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(refused.headers().contains_key("retry-after"));
    assert!(refused.text().await.unwrap().contains("您的评价没有保存"));
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        StatusCode::SERVICE_UNAVAILABLE
    );

    proxy.open((url.host.clone(), url.port)).await;
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..50 {
        let form = browser.form(&app, "water-02").await;
        status = browser
            .post(&app, "water-02", &with_form(&form, water_answers()))
            .await
            .status();
        if status == StatusCode::SEE_OTHER {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(status, StatusCode::SEE_OTHER, "the service recovers");
    // Exactly the two acknowledged responses, each with all its answers.
    let direct = sea_orm::Database::connect(&pg.url).await.unwrap();
    use sea_orm::ConnectionTrait;
    let row = direct
        .query_one_raw(sea_orm::Statement::from_string(
            direct.get_database_backend(),
            "SELECT (SELECT COUNT(*) FROM response), (SELECT COUNT(*) FROM answer)".to_owned(),
        ))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.try_get_by_index::<i64>(0).unwrap(), 2);
    assert_eq!(row.try_get_by_index::<i64>(1).unwrap(), 16);
}

/// Just enough URL handling for postgres://user@host:port/db?query.
mod url_like {
    pub struct Parts {
        pub host: String,
        pub port: u16,
    }

    fn authority(url: &str) -> (usize, usize) {
        let start = url.find("://").unwrap() + 3;
        let end = start + url[start..].find('/').unwrap();
        let host_start = url[start..end]
            .rfind('@')
            .map(|i| start + i + 1)
            .unwrap_or(start);
        (host_start, end)
    }

    pub fn parse(url: &str) -> Parts {
        let (s, e) = authority(url);
        let hostport = &url[s..e];
        match hostport.rsplit_once(':') {
            Some((h, p)) => Parts {
                host: h.to_owned(),
                port: p.parse().unwrap(),
            },
            None => Parts {
                host: hostport.to_owned(),
                port: 5432,
            },
        }
    }

    pub fn with_host_port(url: &str, host: &str, port: u16) -> String {
        let (s, e) = authority(url);
        format!("{}{host}:{port}{}", &url[..s], &url[e..])
    }
}

#[actix_web::test]
async fn an_office_edit_on_one_instance_reaches_the_cached_forms_of_the_other_within_the_refresh_interval()
 {
    use crate::form_cache::{rename, view};
    use pingyi::domain::office::Role;
    let (a, b, _pg) = two_instances(|s| s.catalog_refresh_secs = 1).await;
    // B has the form cached.
    for _ in 0..2 {
        let (page, _) = view(&b, "/s/water-01", "en").await;
        assert!(!page.contains("Renamed Hall"));
    }
    let (admin, csrf) = crate::helpers::office::office_browser(&a, "boss", Role::Admin, None).await;
    rename(&a, &admin, &csrf, "water-01", "Renamed Hall").await;
    let (on_a, _) = view(&a, "/s/water-01", "en").await;
    assert!(on_a.contains("Renamed Hall"), "at once on A");
    let started = std::time::Instant::now();
    loop {
        let (on_b, _) = view(&b, "/s/water-01", "en").await;
        if on_b.contains("Renamed Hall") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "B still serves the old form after 5 s (refresh every 1 s)"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

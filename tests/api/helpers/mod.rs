//! What the API tests share: a running service on a random port with its
//! own database, data directory and Redis key prefix; the page scraper; and,
//! in submodules, a citizen's browser, the office's accounts and sign-in,
//! and the assessors' organisations and uploads.

pub mod assessor;
pub mod browser;
pub mod office;

pub use browser::{Browser, remove, set, water_answers, with_form};

use pingyi::setup::configuration::{CaptchaMode, Settings};
use pingyi::web::startup::Application;
use pingyi::web::state::AppState;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// A running service with its own database and data directory.
pub struct TestApp {
    pub address: String,
    pub state: actix_web::web::Data<AppState>,
    pub db: DatabaseConnection,
    _data_dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

/// The settings every test starts from.
pub fn base_settings() -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        demo: Some(true),
        demo_history: false,
        captcha: CaptchaMode::Off,
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        secret: Some("test-secret-test-secret-test-secret-0123".into()),
        // A key prefix of the test's own: tests sharing a Redis server
        // (cluster mode) never see each other's rate limits, captchas,
        // counters or dedup keys.
        redis_prefix: format!("pingyi-test-{}:", uuid::Uuid::new_v4().simple()),
        ..Settings::default()
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    let mut settings = base_settings();
    let pg = match std::env::var("PINGYI_TEST_DATABASE_URL") {
        Ok(base) => Some(PgDatabase::create(&base).await),
        Err(_) => None,
    };
    settings.database_url = pg.as_ref().map(|p| p.url.clone());
    configure(&mut settings);
    spawn_instance(settings, pg).await
}

/// Starts one instance on the given settings (its own data directory unless
/// the settings name a database elsewhere).
pub async fn spawn_instance(mut settings: Settings, pg: Option<PgDatabase>) -> TestApp {
    let data_dir = tempfile::tempdir().unwrap();
    settings.data_dir = data_dir.path().to_path_buf();
    let app = Application::build(settings)
        .await
        .expect("the application builds");
    let port = app.port();
    let state = app.state();
    let db = state.db.clone();
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address: format!("http://127.0.0.1:{port}"),
        state,
        db,
        _data_dir: data_dir,
        _pg: pg,
    }
}

/// A PostgreSQL database of one test, dropped when the test ends.
pub struct PgDatabase {
    base: String,
    name: String,
    pub url: String,
}

impl PgDatabase {
    pub async fn create(base: &str) -> PgDatabase {
        let name = format!("pingyi_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(base).await.unwrap();
        admin
            .execute_raw(Statement::from_string(
                admin.get_database_backend(),
                format!("CREATE DATABASE {name}"),
            ))
            .await
            .unwrap();
        PgDatabase {
            url: replace_db_name(base, &name),
            base: base.to_owned(),
            name,
        }
    }
}

fn replace_db_name(url: &str, name: &str) -> String {
    let (head, query) = url
        .split_once('?')
        .map(|(h, q)| (h, Some(q)))
        .unwrap_or((url, None));
    let cut = head.rfind('/').unwrap();
    let mut out = format!("{}/{name}", &head[..cut]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let (base, name) = (self.base.clone(), self.name.clone());
        // Drop the database from a thread of its own: Drop cannot await.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&base).await {
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = admin
                        .execute_raw(Statement::from_string(admin.get_database_backend(), sql))
                        .await;
                }
            });
        })
        .join();
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    pub async fn count(&self, sql: &str) -> i64 {
        let backend = self.db.get_database_backend();
        let row = self
            .db
            .query_one_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .unwrap()
            .unwrap();
        // COUNT(*) is BIGINT, other integer columns may be INTEGER on PostgreSQL.
        row.try_get_by_index::<i64>(0)
            .or_else(|_| row.try_get_by_index::<i32>(0).map(i64::from))
            .unwrap()
    }

    pub async fn responses(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM response").await
    }

    pub async fn answers(&self) -> i64 {
        self.count("SELECT COUNT(*) FROM answer").await
    }

    /// (institution id, period, respondent hash) of every stored response,
    /// by institution.
    pub async fn respondents(&self) -> Vec<(i32, String, String)> {
        let rows = self
            .db
            .query_all_raw(Statement::from_string(
                self.db.get_database_backend(),
                "SELECT institution_id, period, respondent_hash FROM response \
                 ORDER BY institution_id"
                    .to_owned(),
            ))
            .await
            .unwrap();
        rows.iter()
            .map(|r| {
                (
                    r.try_get_by_index(0).unwrap(),
                    r.try_get_by_index(1).unwrap(),
                    r.try_get_by_index(2).unwrap(),
                )
            })
            .collect()
    }

    /// The captcha answer the server holds for a challenge (as a person
    /// reading the image would know it).
    pub async fn captcha_answer(&self, id: &str) -> Option<String> {
        self.state.guards.captcha.peek(id).await.unwrap()
    }
}

/// The value of the first field named `name` in a page's HTML, as the
/// templates write hidden fields (`name="…" value="…"`): the one scraper of
/// CSRF tokens, form clocks and captcha ids.
pub fn hidden_field(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

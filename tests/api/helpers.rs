use std::collections::HashMap;
use std::time::Duration;

use pingyi::setup::configuration::{CaptchaMode, Settings};
use pingyi::web::startup::Application;
use pingyi::web::state::AppState;
use reqwest::StatusCode;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection, Statement};

/// A running service with its own database and data directory.
pub struct TestApp {
    pub address: String,
    pub state: actix_web::web::Data<AppState>,
    pub db: DatabaseConnection,
    _data_dir: tempfile::TempDir,
    _pg: Option<PgDatabase>,
}

/// A browser: its own cookie jar (so its own device), no redirects followed,
/// and the client address a trusted proxy reports for it.
pub struct Browser {
    pub client: reqwest::Client,
    pub ip: String,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

/// The hidden fields of a served form.
#[derive(Debug, Clone)]
pub struct Form {
    pub csrf: String,
    pub clock: String,
    pub captcha_id: Option<String>,
    pub html: String,
}

pub fn base_settings() -> Settings {
    Settings {
        listen: "127.0.0.1:0".parse().unwrap(),
        demo: Some(true),
        demo_history: false,
        captcha: CaptchaMode::Off,
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        secret: Some("test-secret-test-secret-test-secret-0123".into()),
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
    pub fn browser(&self, ip: &str) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Browser {
            client,
            ip: ip.to_owned(),
            jar,
        }
    }

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

    /// Submits a complete water form for `code` from a new device at `ip`.
    pub async fn submit_new_device(&self, ip: &str, code: &str) -> StatusCode {
        self.browser(ip).rate(self, code).await
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

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

impl Browser {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client
            .get(app.url(path))
            .header("x-forwarded-for", &self.ip)
            .send()
            .await
            .unwrap()
    }

    pub async fn form(&self, app: &TestApp, code: &str) -> Form {
        let response = self.get(app, &format!("/s/{code}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        Form {
            csrf: hidden(&html, "csrf").expect("a csrf field"),
            clock: hidden(&html, "clock").expect("a clock field"),
            captcha_id: hidden(&html, "captcha_id"),
            html,
        }
    }

    pub async fn post(
        &self,
        app: &TestApp,
        code: &str,
        fields: &[(String, String)],
    ) -> reqwest::Response {
        self.client
            .post(app.url(&format!("/s/{code}")))
            .header("x-forwarded-for", &self.ip)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Fetches the form of `code` and submits it with a complete water answer set.
    pub async fn rate(&self, app: &TestApp, code: &str) -> StatusCode {
        let form = self.form(app, code).await;
        self.post(app, code, &with_form(&form, water_answers()))
            .await
            .status()
    }

    /// The device id held in this browser's signed cookie.
    pub fn device_id(&self, app: &TestApp) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = app.url("/").parse().unwrap();
        let header = self.jar.cookies(&url)?;
        let cookies = header.to_str().ok()?.to_owned();
        cookies
            .split("; ")
            .find_map(|c| c.strip_prefix("pingyi_device="))
            .and_then(|v| v.rsplit_once('.').map(|(id, _)| id.to_owned()))
    }
}

/// A complete, valid answer set for a water institution (8 items).
pub fn water_answers() -> Vec<(String, String)> {
    [
        ("q_att1", "5"),
        ("q_att2", "4"),
        ("q_eff1", "3"),
        ("q_eff2", "na"),
        ("q_env1", "5"),
        ("q_tra1", "4"),
        ("q_out1", "5"),
        ("q_out2", "2"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect()
}

/// The form's hidden fields plus the given answers.
pub fn with_form(form: &Form, answers: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut fields = vec![
        ("csrf".to_owned(), form.csrf.clone()),
        ("clock".to_owned(), form.clock.clone()),
    ];
    fields.extend(answers);
    fields
}

pub fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_owned(), value.to_owned()));
}

pub fn remove(fields: &mut Vec<(String, String)>, name: &str) {
    fields.retain(|(n, _)| n != name);
}

#[allow(dead_code)]
pub fn to_map(fields: &[(String, String)]) -> HashMap<String, String> {
    fields.iter().cloned().collect()
}

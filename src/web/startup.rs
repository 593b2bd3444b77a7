//! The one place that wires the application together.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{Compress, DefaultHeaders};
use actix_web::{App, HttpServer, web};
use anyhow::Context;

use crate::db;
use crate::db::catalog::CatalogCache;
use crate::db::writer::SubmissionWriter;
use crate::domain::keys::Keys;
use crate::guard::Guards;
use crate::setup::configuration::Settings;
use crate::web::form_cache::FormCache;
use crate::web::i18n::Templates;
use crate::web::routes;
use crate::web::state::AppState;

/// Largest form body accepted from a citizen.
const FORM_LIMIT: usize = 64 * 1024;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    /// The demo assessor token, issued when the demo data was seeded now.
    demo_assessor_token: Option<String>,
    /// The demo office administrator's password, when it was created now.
    demo_admin_password: Option<String>,
}

impl Application {
    /// Connects, migrates, seeds (when configured and empty), binds.
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let db = db::connect(&settings.database_url()).await?;
        db::migrate(&db).await?;
        let keys = Keys::new(settings.resolve_secret()?);
        let mut demo_assessor_token = None;
        let mut demo_admin_password = None;
        if settings.seeds_demo() && db::seed::seed_if_empty(&db).await? {
            tracing::info!("Seeded the demo data set into the empty database");
            demo_assessor_token = Some(crate::app::demo::seed_demo(&db, &keys, &settings).await?);
            demo_admin_password = db::users::ensure_demo_admin(&db).await?;
            if settings.demo_history {
                let period =
                    crate::app::demo_history::seed_and_publish(&db, &settings, &keys).await?;
                tracing::info!(%period, "Published a demo history period");
            }
        }
        let mut app = Self::build_with(settings, db, keys).await?;
        app.demo_assessor_token = demo_assessor_token;
        app.demo_admin_password = demo_admin_password;
        Ok(app)
    }

    /// Builds on an open, migrated database and the server's keys.
    pub async fn build_with(
        settings: Settings,
        db: sea_orm::DatabaseConnection,
        keys: Keys,
    ) -> anyhow::Result<Application> {
        crate::web::metrics::install();
        let templates = Arc::new(Templates::load()?);
        let catalog = CatalogCache::default();
        catalog.reload(&db).await?;
        let guards = Guards::for_settings(&settings).await?;
        let writer = SubmissionWriter::start(db::writer_target(&db).await?)?;
        let listener = TcpListener::bind(settings.listen)
            .with_context(|| format!("Failed to listen on {}", settings.listen))?;
        let port = listener
            .local_addr()
            .context("Failed to read the bound address")?
            .port();

        let previews = crate::app::preview::PreviewCache::new(Duration::from_secs(
            settings.preview_recheck_secs,
        ));
        let state = web::Data::new(AppState {
            writer,
            forms: FormCache::new(settings.form_cache_bytes),
            settings,
            db,
            catalog,
            frozen: Default::default(),
            previews,
            guards,
            keys,
            templates,
        });
        spawn_housekeeping(&state);
        let app_state = state.clone();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(web::PayloadConfig::new(FORM_LIMIT))
                .wrap(actix_web::middleware::from_fn(
                    routes::localise::localise_errors,
                ))
                .wrap(Compress::default())
                .wrap(security_headers())
                .wrap(actix_web::middleware::from_fn(crate::web::metrics::track))
                .wrap(tracing_actix_web::TracingLogger::<
                    crate::web::request_span::PrivateRootSpan,
                >::new())
                .configure(routes::config)
        })
        .listen(listener)
        .context("Failed to start the HTTP server")?
        .shutdown_timeout(10)
        // `web::block` work (captcha drawing) is CPU-bound: more threads than
        // cores only add memory (each keeps its allocator heap), not speed.
        .worker_max_blocking_threads(8)
        .run();
        Ok(Application {
            port,
            server,
            state,
            demo_assessor_token: None,
            demo_admin_password: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The demo office administrator's password (user `admin`), when this
    /// start-up seeded the demo data.
    pub fn demo_admin_password(&self) -> Option<&str> {
        self.demo_admin_password.as_deref()
    }

    /// The demo assessor token, when this start-up seeded the demo data.
    pub fn demo_assessor_token(&self) -> Option<&str> {
        self.demo_assessor_token.as_deref()
    }

    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// Headers every response carries: no inline script or style from anywhere
/// else, no framing, no MIME sniffing, no referrer leaking ticket codes.
fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        ))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Referrer-Policy", "no-referrer"))
}

/// How often committed WAL pages are copied back into an SQLite file. Often
/// enough that each copy (and the flush of the database file after it) is a
/// small burst of writes, which the writer's own flushes do not queue
/// behind for long, and that the copy usually catches up with the WAL, so
/// the WAL restarts from its beginning instead of growing to the writer's
/// backstop, where the writer would have to copy it itself.
const CHECKPOINT_EVERY: Duration = Duration::from_millis(250);

/// Periodic clean-up of in-memory guard state, so memory stays bounded.
fn spawn_housekeeping(state: &web::Data<AppState>) {
    let limiter = state.guards.local_limiter.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            limiter.retain_recent();
        }
    });
    // SQLite: the WAL is copied back into the database file here, every
    // `CHECKPOINT_EVERY`, rather than by the submission writer between two batches.
    if state.db.get_database_backend() == sea_orm::DbBackend::Sqlite {
        let db = state.db.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(CHECKPOINT_EVERY);
            loop {
                tick.tick().await;
                if let Err(e) = db::checkpoint(&db).await {
                    tracing::warn!(error = ?e, "WAL checkpoint failed; the writer will do it");
                }
            }
        });
    }
    // Office edits reload the catalog of the instance that made them at once;
    // the other instances of a cluster pick them up within this interval.
    let state = state.clone();
    tokio::spawn(async move {
        let every = Duration::from_secs(state.settings.catalog_refresh_secs.max(1));
        let mut tick = tokio::time::interval(every);
        tick.tick().await;
        loop {
            tick.tick().await;
            if let Err(e) = state.catalog.reload(&state.db).await {
                tracing::warn!(error = ?e, "Failed to refresh the catalog; keeping the current one");
            }
        }
    });
}

//! The command line: `pingyi serve` (the default) and the operator commands.

pub mod analysis;
pub mod assessor;
pub mod office;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::db;
use crate::domain::keys;
use crate::setup::configuration::Settings;
use crate::web::startup::Application;

#[derive(Parser)]
#[command(
    name = "pingyi",
    version,
    about = "Public evaluation of public-service institutions"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web application (the default).
    Serve,
    /// Apply the database migrations and exit.
    Migrate,
    /// Seed the demo data set into an empty database.
    SeedDemo,
    /// Compute the indicators from files (as in the spec) or from the database.
    Analyze(crate::cli::analysis::AnalyzeArgs),
    /// Write a period's input tables (and the model) from the database.
    Export(crate::cli::analysis::ExportArgs),
    /// Generate a synthetic data set (input tables and model) for tests and benchmarks.
    DemoData(crate::cli::analysis::DemoDataArgs),
    /// Manage third-party assessor organisations, tokens and contracts.
    Assessor {
        #[command(subcommand)]
        command: crate::cli::assessor::AssessorCommand,
    },
    /// Compute, snapshot and freeze a period's indicators.
    Publish(crate::cli::office::PublishArgs),
    /// Manage office accounts.
    User {
        #[command(subcommand)]
        command: crate::cli::office::UserCommand,
    },
    /// Manage the read-only API tokens of machine clients.
    ApiToken {
        #[command(subcommand)]
        command: crate::cli::office::ApiTokenCommand,
    },
    /// Issue one-time ticket codes for an institution (printed once).
    Tickets {
        /// Institution code.
        #[arg(long)]
        institution: String,
        /// How many codes.
        #[arg(long, default_value_t = 10)]
        count: usize,
        /// Days the codes stay valid.
        #[arg(long, default_value_t = 30)]
        days: i64,
    },
}

impl Cli {
    pub async fn run(self) -> ExitCode {
        let settings = match Settings::load() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::from(2);
            }
        };
        match self.command.unwrap_or(Command::Serve) {
            Command::Serve => report(serve(settings).await),
            Command::Migrate => report(migrate(&settings).await),
            Command::SeedDemo => report(seed(&settings).await),
            Command::Assessor { command } => {
                report(crate::cli::assessor::run(&settings, command).await)
            }
            Command::Publish(args) => report(crate::cli::office::publish(&settings, args).await),
            Command::User { command } => report(crate::cli::office::user(&settings, command).await),
            Command::ApiToken { command } => {
                report(crate::cli::office::api_token(&settings, command).await)
            }
            Command::Tickets {
                institution,
                count,
                days,
            } => report(tickets(&settings, &institution, count, days).await),
            // These report their own errors and choose their exit codes (2 = bad input).
            Command::Analyze(args) => crate::cli::analysis::analyze(&settings, args).await,
            Command::Export(args) => crate::cli::analysis::export(&settings, args).await,
            Command::DemoData(args) => crate::cli::analysis::demo_data(args).await,
        }
    }
}

/// Exit code of an operator command: 0, or 1 with the error chain printed.
fn report(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings.clone()).await?;
    let host = settings.listen.ip();
    println!("Pingyi is serving on http://{host}:{}/", app.port());
    if let Some(password) = app.demo_admin_password() {
        println!(
            "Demo office login (shown once): user admin, password {password} at http://{host}:{}/office/login",
            app.port()
        );
    }
    if let Some(token) = app.demo_assessor_token() {
        println!("Demo assessor token for organisation demo-survey (shown once): {token}");
    }
    app.run_until_stopped().await?;
    Ok(())
}

async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    let conn = db::connect(&settings.database_url()).await?;
    db::migrate(&conn).await?;
    println!("Migrations applied.");
    Ok(())
}

async fn seed(settings: &Settings) -> anyhow::Result<()> {
    let conn = db::connect(&settings.database_url()).await?;
    db::migrate(&conn).await?;
    if db::seed::seed_if_empty(&conn).await? {
        println!("Demo data seeded.");
        let keys = keys::Keys::new(settings.resolve_secret()?);
        let token = crate::app::demo::seed_demo(&conn, &keys, settings).await?;
        println!("Demo assessor token for organisation demo-survey (shown once): {token}");
    } else {
        println!("The database already has institutions; nothing seeded.");
    }
    Ok(())
}

async fn tickets(
    settings: &Settings,
    institution: &str,
    count: usize,
    days: i64,
) -> anyhow::Result<()> {
    let conn = db::connect(&settings.database_url()).await?;
    db::migrate(&conn).await?;
    let catalog = db::catalog::Catalog::load(&conn).await?;
    let inst = catalog
        .institution(institution)
        .ok_or_else(|| anyhow::anyhow!("No institution with code '{institution}'"))?;
    let keys = keys::Keys::new(settings.resolve_secret()?);
    for code in db::tickets::issue(&conn, &keys, inst.id, count, days).await? {
        println!(
            "{}/s/{}?t={code}",
            settings.public_url.trim_end_matches('/'),
            inst.code
        );
    }
    Ok(())
}

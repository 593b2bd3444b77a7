//! The command line: `pingyi serve` (the default) and the operator commands.

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::configuration::Settings;
use crate::startup::Application;
use crate::{db, keys};

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
        let result = match self.command.unwrap_or(Command::Serve) {
            Command::Serve => serve(settings).await,
            Command::Migrate => migrate(&settings).await,
            Command::SeedDemo => seed(&settings).await,
            Command::Tickets {
                institution,
                count,
                days,
            } => tickets(&settings, &institution, count, days).await,
        };
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        }
    }
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings.clone()).await?;
    let host = settings.listen.ip();
    println!("Pingyi is serving on http://{host}:{}/", app.port());
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

use std::process::ExitCode;

use clap::Parser;

#[actix_web::main]
async fn main() -> ExitCode {
    pingyi::telemetry::init();
    let cli = pingyi::cli::Cli::parse();
    cli.run().await
}

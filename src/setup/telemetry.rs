//! Logging set-up. Logs never carry secrets, captcha answers, raw addresses
//! or answers: handlers log codes and outcomes only.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = EnvFilter::try_from_env("PINGYI_LOG").unwrap_or_else(|_| {
        EnvFilter::new("info,sqlx=warn,sea_orm=warn,actix_server=warn,tracing_actix_web=warn")
    });
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false)
        .try_init();
}

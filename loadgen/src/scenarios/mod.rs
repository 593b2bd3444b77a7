//! The scenarios, and the server settings each one runs under.

pub mod captcha;
pub mod citizen;
pub mod hostile;
pub mod mixed;
pub mod submit;
pub mod views;

use crate::options::Options;
use crate::servers::Servers;

/// Every scenario `--scenario` takes, besides `all`.
pub const NAMES: [&str; 7] = [
    "views", "submit", "captcha", "flood", "botfarm", "mixed", "citizen",
];

/// The captcha mode the servers run in, and whether every quota is raised
/// out of the way.
pub fn settings(scenario: &str, o: &Options) -> (&'static str, bool) {
    match scenario {
        "captcha" => ("always", true),
        "flood" | "botfarm" => ("off", false),
        "views" | "submit" if o.default_quotas => ("adaptive", false),
        // The citizen path as it is served: default quotas and captcha mode.
        "citizen" => ("adaptive", false),
        _ => ("off", true),
    }
}

/// Runs one of the scenarios that print rows into [`crate::tally::header`]'s
/// table (every one but `citizen`).
pub async fn run_classic(scenario: &str, o: &Options, servers: &Servers) {
    match scenario {
        "views" => views::run(o, servers).await,
        "submit" => submit::run(o, servers).await,
        "captcha" => captcha::run(o, servers).await,
        "flood" => hostile::flood(o, servers).await,
        "botfarm" => hostile::run(o, servers, "botfarm").await,
        "mixed" => mixed::run(o, servers).await,
        _ => {}
    }
}

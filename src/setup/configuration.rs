//! One typed settings tree, layered: defaults → optional `pingyi.toml` →
//! `PINGYI_*` environment variables (nested keys with `__`, for example
//! `PINGYI_RATE_LIMIT__SUBMISSIONS_PER_HOUR=30`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize};

use crate::domain::period::Granularity;

/// Everything the service reads at start-up.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address and port to listen on; port 0 picks a free one.
    pub listen: SocketAddr,
    /// Directory for the SQLite file and the generated secret.
    pub data_dir: PathBuf,
    /// `sqlite://…` or `postgres://…`; defaults to `sqlite://<data_dir>/pingyi.db`.
    pub database_url: Option<String>,
    /// `redis://…`; when set, guards share their state through Redis.
    pub redis_url: Option<String>,
    /// Prefix of every Redis key, so several deployments can share a server.
    pub redis_prefix: String,
    /// Server secret for keyed hashes and signed cookies; generated once and
    /// kept in `<data_dir>/secret` (mode 0600) when not given.
    pub secret: Option<String>,
    /// `always`, `adaptive` (ask once an address passes the threshold) or `off`.
    pub captcha: CaptchaMode,
    /// Submissions per address in the last hour after which `adaptive` asks.
    pub captcha_threshold: u32,
    /// Seconds a captcha answer stays valid.
    pub captcha_ttl_secs: u64,
    /// Addresses or CIDR ranges whose `X-Forwarded-For` is believed
    /// (comma-separated in the environment).
    #[serde(deserialize_with = "comma_separated")]
    pub trusted_proxies: Vec<IpNet>,
    /// Seed the demo data set into an empty database. Unset: only on the
    /// embedded default (no `database_url`), never on a real deployment's
    /// database, which would get an `admin` account and an assessor contracted
    /// for everything, with their secrets in the log (see [`Settings::seeds_demo`]).
    pub demo: Option<bool>,
    /// With `demo`: also seed responses for the previous period and publish
    /// it, so the results, dashboard and rectification pages have content.
    pub demo_history: bool,
    /// Granularity of collection periods: `month`, `quarter` or `year`.
    pub period: Granularity,
    /// Offset of local time from UTC in hours; decides which period a
    /// submission falls in (the default is China Standard Time).
    pub utc_offset_hours: i8,
    /// Public base URL, printed in QR codes.
    pub public_url: String,
    /// Longest accepted comment, in characters.
    pub comment_max_chars: usize,
    /// Seconds between two reads of the catalog by every instance: how long
    /// the other instances of a cluster take to show an office edit (the
    /// instance that made it shows it at once).
    pub catalog_refresh_secs: u64,
    /// Memory for questionnaire pages kept rendered (one per institution,
    /// language and variant, a few kilobytes each), in bytes; the least
    /// useful are dropped beyond it. `0` renders every view from scratch.
    pub form_cache_bytes: u64,
    /// Mark cookies `Secure`; turn on when served over TLS.
    pub secure_cookies: bool,
    /// Largest assessor upload accepted, in bytes (413 beyond it).
    pub upload_limit_bytes: u64,
    /// Seconds the office dashboard shows a period's preview before asking
    /// whether its data changed (and computing it again only if so).
    pub preview_recheck_secs: u64,
    /// Rate-limit quotas.
    pub rate_limit: RateLimitSettings,
    /// Working days an institution has to answer a rectification task
    /// (its plan, then its completion report).
    pub rectification_working_days: u32,
    /// Public holidays skipped when counting working days, `YYYY-MM-DD`
    /// (comma-separated in the environment).
    #[serde(deserialize_with = "crate::app::rectification::calendar::comma_separated_dates")]
    pub holidays: Vec<chrono::NaiveDate>,
    /// Failed office logins in a row after which the account is locked.
    pub login_max_failures: u32,
    /// Minutes a locked office account stays locked.
    pub login_lockout_minutes: u32,
}

/// Quotas per client address (IPv4 address, IPv6 /64) and per subnet (IPv4
/// /24, IPv6 /48).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitSettings {
    /// Page views per minute per address.
    pub page_views_per_minute: u32,
    /// Page views allowed in a burst.
    pub page_view_burst: u32,
    /// Submissions per hour per address.
    pub submissions_per_hour: u32,
    /// Submissions allowed in a burst.
    pub submission_burst: u32,
    /// Submissions per hour per subnet (/24 IPv4, /48 IPv6).
    pub subnet_submissions_per_hour: u32,
    /// Subnet burst.
    pub subnet_submission_burst: u32,
    /// Office sign-in attempts per hour per address.
    pub logins_per_hour: u32,
    /// Sign-in attempts allowed in a burst.
    pub login_burst: u32,
}

/// When the questionnaire asks for a captcha.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CaptchaMode {
    Always,
    Adaptive,
    Off,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            database_url: None,
            redis_url: None,
            redis_prefix: "pingyi:".into(),
            secret: None,
            captcha: CaptchaMode::Adaptive,
            captcha_threshold: 3,
            captcha_ttl_secs: 600,
            trusted_proxies: Vec::new(),
            demo: None,
            demo_history: true,
            period: Granularity::Month,
            utc_offset_hours: 8,
            public_url: "http://127.0.0.1:8080".into(),
            comment_max_chars: 500,
            catalog_refresh_secs: 30,
            form_cache_bytes: 32 * 1024 * 1024,
            secure_cookies: false,
            upload_limit_bytes: 50 * 1024 * 1024,
            preview_recheck_secs: 30,
            rate_limit: RateLimitSettings {
                page_views_per_minute: 120,
                page_view_burst: 60,
                submissions_per_hour: 20,
                submission_burst: 10,
                subnet_submissions_per_hour: 200,
                subnet_submission_burst: 50,
                logins_per_hour: 30,
                login_burst: 10,
            },
            rectification_working_days: 15,
            holidays: Vec::new(),
            login_max_failures: 5,
            login_lockout_minutes: 15,
        }
    }
}

/// `PINGYI_*` variables that are not settings: read elsewhere for their own
/// purpose, so the settings loader, which refuses unknown keys (a typo of a
/// real setting must not pass silently), passes over them.
pub const NOT_SETTINGS: &[&str] = &[
    // Read before the settings: the file they come from, and the log filter.
    "config",
    "log",
    // `pingyi user add` reads the new account's password from it.
    "password",
    // The analysis pipeline's timing report (analysis/src/pipeline.rs).
    "analysis_timing",
    // Test and benchmark switches (tests/, src/bin/bench_*.rs).
    "test_database_url",
    "test_redis_url",
    "bench_database_url",
    "crash_cycles",
    // The browser tests' switches (tests/browser/driver.rs).
    "require_browser",
    "chromedriver",
    // Read at build time (src/publish.rs); harmless when also set at run time.
    "git_sha",
];

impl Settings {
    /// The office's time zone: `utc_offset_hours` east of UTC (checked to be
    /// within -12..=14, so always a valid offset).
    pub fn local_offset(&self) -> chrono::FixedOffset {
        chrono::FixedOffset::east_opt(i32::from(self.utc_offset_hours) * 3600)
            .unwrap_or_else(|| chrono::Offset::fix(&chrono::Utc))
    }

    /// Today in the office's time zone.
    pub fn today(&self) -> chrono::NaiveDate {
        chrono::Utc::now()
            .with_timezone(&self.local_offset())
            .date_naive()
    }

    /// The collection period that holds the instant `at`.
    pub fn period_at(&self, at: chrono::DateTime<chrono::Utc>) -> crate::domain::period::Period {
        crate::domain::period::Period::containing(at, self.period, self.utc_offset_hours)
    }

    /// The current collection period.
    pub fn current_period(&self) -> crate::domain::period::Period {
        self.period_at(chrono::Utc::now())
    }

    /// Defaults, then `pingyi.toml` in the working directory (or the file named
    /// by `PINGYI_CONFIG`), then `PINGYI_*` variables.
    pub fn load() -> anyhow::Result<Settings> {
        let file = std::env::var_os("PINGYI_CONFIG")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("pingyi.toml"));
        Self::load_from(
            &file,
            Env::prefixed("PINGYI_").split("__").ignore(NOT_SETTINGS),
        )
    }

    fn load_from(file: &Path, env: Env) -> anyhow::Result<Settings> {
        let settings: Settings = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(file))
            .merge(env)
            .extract()
            .map_err(|e| anyhow::anyhow!("Invalid configuration: {e}"))?;
        settings.check()?;
        Ok(settings)
    }

    fn check(&self) -> anyhow::Result<()> {
        let rl = &self.rate_limit;
        for (key, value) in [
            ("rate_limit.page_views_per_minute", rl.page_views_per_minute),
            ("rate_limit.page_view_burst", rl.page_view_burst),
            ("rate_limit.submissions_per_hour", rl.submissions_per_hour),
            ("rate_limit.submission_burst", rl.submission_burst),
            (
                "rate_limit.subnet_submissions_per_hour",
                rl.subnet_submissions_per_hour,
            ),
            (
                "rate_limit.subnet_submission_burst",
                rl.subnet_submission_burst,
            ),
            ("rate_limit.logins_per_hour", rl.logins_per_hour),
            ("rate_limit.login_burst", rl.login_burst),
            ("login_max_failures", self.login_max_failures),
            ("login_lockout_minutes", self.login_lockout_minutes),
        ] {
            anyhow::ensure!(value > 0, "Invalid configuration: {key} must be > 0");
        }
        anyhow::ensure!(
            (-12..=14).contains(&self.utc_offset_hours),
            "Invalid configuration: utc_offset_hours must be within -12..=14"
        );
        anyhow::ensure!(
            self.captcha_ttl_secs > 0,
            "Invalid configuration: captcha_ttl_secs must be > 0"
        );
        if let Some(secret) = &self.secret {
            anyhow::ensure!(
                secret.len() >= 32,
                "Invalid configuration: secret must be at least 32 characters"
            );
        }
        Ok(())
    }

    /// Whether an empty database gets the demo data: as configured, else only
    /// the embedded default (SQLite under `data_dir`, no `database_url`).
    pub fn seeds_demo(&self) -> bool {
        self.demo.unwrap_or(self.database_url.is_none())
    }

    /// The database URL, defaulting to a SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("pingyi.db").display()
            )
        })
    }

    /// The configured secret, or the one kept in the data directory
    /// (generated on first use with mode 0600).
    pub fn resolve_secret(&self) -> anyhow::Result<Vec<u8>> {
        if let Some(secret) = &self.secret {
            return Ok(secret.as_bytes().to_vec());
        }
        let path = self.data_dir.join("secret");
        if let Ok(existing) = std::fs::read_to_string(&path) {
            let existing = existing.trim();
            anyhow::ensure!(
                existing.len() >= 32,
                "Secret file {} is too short",
                path.display()
            );
            return Ok(existing.as_bytes().to_vec());
        }
        std::fs::create_dir_all(&self.data_dir)
            .with_context(|| format!("Failed to create {}", self.data_dir.display()))?;
        let secret = crate::domain::keys::random_token(48);
        write_private(&path, &secret)
            .with_context(|| format!("Failed to write the secret to {}", path.display()))?;
        Ok(secret.into_bytes())
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(contents.as_bytes())?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

/// Accepts a list or a comma-separated string (as environment variables give).
fn comma_separated<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<IpNet>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        List(Vec<String>),
        Text(String),
    }
    let items = match Raw::deserialize(d)? {
        Raw::List(items) => items,
        Raw::Text(text) => text.split(',').map(str::to_owned).collect(),
    };
    items
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| {
                    serde::de::Error::custom(format!("'{s}' is not an address or CIDR range"))
                })
        })
        .collect()
}

#[cfg(test)]
// figment's Jail closures return its (large) error type by design.
#[allow(clippy::result_large_err)]
mod tests {
    use super::*;

    #[test]
    fn bad_values_name_their_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PINGYI_CAPTCHA", "sometimes");
            let err = Settings::load()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.to_lowercase().contains("captcha"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn variables_read_for_other_purposes_are_not_settings_but_typos_are_refused() {
        figment::Jail::expect_with(|jail| {
            for name in NOT_SETTINGS {
                jail.set_env(format!("PINGYI_{}", name.to_uppercase()), "1");
            }
            Settings::load().map_err(|e| e.to_string())?;
            jail.set_env("PINGYI_LOGIN_MAX_FAILURE", "3");
            let err = Settings::load()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains("login_max_failure"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn trusted_proxies_parse_from_a_comma_separated_variable() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PINGYI_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8");
            let settings = Settings::load().map_err(|e| e.to_string())?;
            assert_eq!(settings.trusted_proxies.len(), 2);
            Ok(())
        });
    }

    #[test]
    fn a_bad_proxy_is_refused_by_name() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("PINGYI_TRUSTED_PROXIES", "10.0.0.0/8,nonsense");
            let err = Settings::load()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                err.contains("nonsense") && err.to_lowercase().contains("trusted_proxies"),
                "{err}"
            );
            Ok(())
        });
    }
}

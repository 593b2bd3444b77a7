//! The command line: `--flag value` pairs, each with a default.

pub struct Options {
    pub scenario: String,
    pub backend: String,
    pub instances: usize,
    pub concurrency: usize,
    pub seconds: u64,
    pub server_bin: String,
    pub database_url: String,
    pub redis_url: String,
    /// `views` and `submit` at the default quotas and captcha mode.
    pub default_quotas: bool,
    /// How many times `citizen` runs its whole set of phases.
    pub repeat: usize,
    /// Set when this process is the bare ceiling server that the `citizen`
    /// scenario re-executes the harness as (hidden flags).
    pub bare_server: Option<BareServerArgs>,
}

/// `--bare-server <port> --page <file>`.
pub struct BareServerArgs {
    pub port: u16,
    pub page: String,
}

pub fn parse() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let given = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let value = |flag: &str, default: &str| given(flag).unwrap_or_else(|| default.to_owned());
    let bare_server = given("--bare-server").map(|port| BareServerArgs {
        // Port 0 fails to be reached, which the harness reports.
        port: port.parse().unwrap_or(0),
        page: value("--page", ""),
    });
    Options {
        scenario: value("--scenario", "all"),
        backend: value("--backend", "embedded"),
        instances: value("--instances", "1").parse().unwrap_or(1),
        concurrency: value("--concurrency", "64").parse().unwrap_or(64),
        seconds: value("--seconds", "10").parse().unwrap_or(10),
        server_bin: value("--server-bin", "target/release/pingyi"),
        database_url: value("--database-url", "postgres://postgres@127.0.0.1:5432"),
        redis_url: value("--redis-url", "redis://127.0.0.1:6379"),
        default_quotas: args.iter().any(|a| a == "--default-quotas"),
        repeat: value("--repeat", "1").parse().unwrap_or(1).max(1),
        bare_server,
    }
}

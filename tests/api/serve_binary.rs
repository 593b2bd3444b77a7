//! `pingyi serve` as an operator starts it: what it writes to its log, and
//! when it seeds the demo data.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

const SECRET: &str = "serve-test-secret-serve-test-secret-0123456";

/// The binary serving on a free port, its output (stdout and stderr) in a file.
struct Served {
    child: Child,
    url: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Served {
    fn start(env: &[(&str, &str)]) -> Served {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("output.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_pingyi"));
        cmd.arg("serve")
            .current_dir(dir.path())
            .env("PINGYI_LISTEN", "127.0.0.1:0")
            .env("PINGYI_DATA_DIR", dir.path().join("data"))
            .env("PINGYI_SECRET", SECRET)
            .env("PINGYI_DEMO_HISTORY", "false")
            .env("PINGYI_TRUSTED_PROXIES", "127.0.0.1")
            .env_remove("PINGYI_DATABASE_URL")
            .env_remove("PINGYI_REDIS_URL")
            .env_remove("PINGYI_DEMO")
            .env_remove("PINGYI_LOG")
            .stdout(out.try_clone().unwrap())
            .stderr(out);
        for (key, value) in env {
            cmd.env(key, value.replace("{dir}", dir.path().to_str().unwrap()));
        }
        let child = cmd.spawn().expect("the binary starts");
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(rest) = text.split("Pingyi is serving on ").nth(1) {
                break rest
                    .lines()
                    .next()
                    .unwrap()
                    .trim_end_matches('/')
                    .to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "the server did not start:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        Served {
            child,
            url,
            log,
            _dir: dir,
        }
    }

    /// Stops the server and returns everything it wrote.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::fs::read_to_string(&self.log).unwrap()
    }
}

#[actix_web::test]
async fn logs_carry_neither_the_client_address_nor_ticket_codes_at_info_or_debug() {
    for level in ["info", "debug"] {
        let served = Served::start(&[("PINGYI_LOG", level)]);
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let ip = "198.51.100.77";
        let ticket = "TKTSECRETCODE7734";
        // Failing requests are the ones the default root span logged.
        for (method, path) in [
            ("GET", format!("/s/no-such-place?t={ticket}")),
            ("GET", format!("/s/water-01?t={ticket}")),
            ("POST", format!("/s/water-01?t={ticket}")),
            ("GET", format!("/nowhere?t={ticket}")),
            ("GET", format!("/api/v1/indicators?t={ticket}")),
        ] {
            let request = match method {
                "GET" => client.get(format!("{}{path}", served.url)),
                _ => client
                    .post(format!("{}{path}", served.url))
                    .form(&[("rating_att1", "5")]),
            };
            let response = request
                .header("X-Forwarded-For", ip)
                .header("User-Agent", format!("agent {ip}"))
                .send()
                .await
                .unwrap();
            assert!(response.status().as_u16() < 500, "{method} {path}");
        }
        let output = served.stop();
        assert!(
            !output.contains(ip),
            "{level}: the address is logged:\n{output}"
        );
        assert!(
            !output.contains(ticket),
            "{level}: the ticket is logged:\n{output}"
        );
        if level == "debug" {
            assert!(
                output.contains("/s/{code}"),
                "routes are logged by pattern:\n{output}"
            );
        }
    }
}

#[actix_web::test]
async fn demo_data_is_seeded_by_default_only_into_the_embedded_database() {
    let check = |env: &'static [(&'static str, &'static str)], seeded: bool| async move {
        let served = Served::start(env);
        let status = reqwest::get(format!("{}/s/water-01", served.url))
            .await
            .unwrap()
            .status();
        let output = served.stop();
        assert_eq!(
            status.is_success(),
            seeded,
            "{env:?}: GET /s/water-01 {status}"
        );
        assert_eq!(
            output.contains("Demo office login"),
            seeded,
            "{env:?}:\n{output}"
        );
        assert_eq!(output.contains("Demo assessor token"), seeded, "{env:?}");
    };
    // The embedded default: the demo, as `cargo run --release` promises.
    check(&[], true).await;
    // A database named explicitly (here a SQLite file, standing for a real
    // deployment's PostgreSQL): no admin account or assessor appears by itself.
    check(
        &[("PINGYI_DATABASE_URL", "sqlite://{dir}/explicit.db?mode=rwc")],
        false,
    )
    .await;
    // Unless asked for.
    check(
        &[
            ("PINGYI_DATABASE_URL", "sqlite://{dir}/explicit.db?mode=rwc"),
            ("PINGYI_DEMO", "true"),
        ],
        true,
    )
    .await;
}

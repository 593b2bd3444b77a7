//! Starting and stopping the `pingyi serve` processes under test.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::BoxError;
use crate::options::Options;

const SECRET: &str = "loadgen-secret-loadgen-secret-loadgen-0123";

/// Running server processes.
pub struct Servers {
    children: Vec<Child>,
    pub urls: Vec<String>,
    _dirs: Vec<tempfile::TempDir>,
    pg_db: Option<String>,
}

impl Servers {
    /// Starts `--instances` servers with a fresh data directory each and the
    /// demo data; `generous` raises every quota out of the way. Prints the
    /// settings changed from the service's defaults.
    pub async fn start(o: &Options, captcha: &str, generous: bool) -> Result<Servers, BoxError> {
        // Filled as the servers start, so a failed start kills those started.
        let mut servers = Servers {
            children: Vec::new(),
            urls: Vec::new(),
            _dirs: Vec::new(),
            pg_db: None,
        };
        let mut database_url = None;
        let prefix = format!("loadgen-{}:", uuid::Uuid::new_v4().simple());
        if o.backend == "cluster" {
            let name = format!("pingyi_load_{}", uuid::Uuid::new_v4().simple());
            let status = Command::new("psql")
                .args([
                    &format!("{}/postgres", o.database_url),
                    "-qc",
                    &format!("CREATE DATABASE {name}"),
                ])
                .status()?;
            if !status.success() {
                return Err("could not create the benchmark database".into());
            }
            database_url = Some(format!("{}/{name}", o.database_url));
            servers.pg_db = Some(name);
        }
        for i in 0..o.instances {
            let dir = tempfile::tempdir()?;
            let port = free_port()?;
            let mut changed: Vec<(&str, String)> = vec![
                ("PINGYI_TRUSTED_PROXIES", "127.0.0.1".into()),
                ("PINGYI_LOG", "warn".into()),
            ];
            if captcha != "adaptive" {
                changed.push(("PINGYI_CAPTCHA", captcha.into()));
            }
            if generous {
                for key in [
                    "PINGYI_RATE_LIMIT__PAGE_VIEWS_PER_MINUTE",
                    "PINGYI_RATE_LIMIT__PAGE_VIEW_BURST",
                    "PINGYI_RATE_LIMIT__SUBMISSIONS_PER_HOUR",
                    "PINGYI_RATE_LIMIT__SUBMISSION_BURST",
                    "PINGYI_RATE_LIMIT__SUBNET_SUBMISSIONS_PER_HOUR",
                    "PINGYI_RATE_LIMIT__SUBNET_SUBMISSION_BURST",
                ] {
                    changed.push((key, "1000000".into()));
                }
            }
            if let Some(url) = &database_url {
                changed.extend([
                    ("PINGYI_DATABASE_URL", url.clone()),
                    ("PINGYI_REDIS_URL", o.redis_url.clone()),
                    ("PINGYI_REDIS_PREFIX", prefix.clone()),
                    // A named database gets the demo data only when asked.
                    ("PINGYI_DEMO", "true".into()),
                ]);
            }
            if i == 0 {
                let list: Vec<String> = changed.iter().map(|(k, v)| format!("{k}={v}")).collect();
                println!("settings changed from the defaults: {}", list.join(" "));
            }
            let mut cmd = Command::new(&o.server_bin);
            cmd.env_clear()
                .env("PATH", std::env::var("PATH").unwrap_or_default())
                .env("PINGYI_LISTEN", format!("127.0.0.1:{port}"))
                .env("PINGYI_DATA_DIR", dir.path())
                .env("PINGYI_SECRET", SECRET)
                .envs(changed.iter().map(|(k, v)| (*k, v.as_str())))
                .stdout(Stdio::null())
                .stderr(Stdio::inherit());
            let child = cmd
                .spawn()
                .map_err(|e| format!("could not start {}: {e}", o.server_bin))?;
            servers.children.push(child);
            servers._dirs.push(dir);
            let url = format!("http://127.0.0.1:{port}");
            wait_ready(&format!("{url}/healthz")).await?;
            servers.urls.push(url);
        }
        Ok(servers)
    }

    pub fn peak_rss_mb(&self) -> Vec<f64> {
        self.children.iter().map(|c| peak_rss_mb(c.id())).collect()
    }

    /// The process ids of the servers.
    pub fn pids(&self) -> Vec<u32> {
        self.children.iter().map(Child::id).collect()
    }

    /// Kills the servers and drops the benchmark database, if any.
    pub fn stop(mut self, o: &Options) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(name) = self.pg_db.take() {
            let _ = Command::new("psql")
                .args([
                    &format!("{}/postgres", o.database_url),
                    "-qc",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ])
                .status();
        }
    }
}

/// A server left running by an early return (a start-up that failed
/// half-way, a scenario that failed) is killed all the same.
impl Drop for Servers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A loopback port free right now (the server binds it a moment later).
pub fn free_port() -> Result<u16, BoxError> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// Waits up to a minute for `url` to answer with a success status.
pub async fn wait_ready(url: &str) -> Result<(), BoxError> {
    for _ in 0..600 {
        if let Ok(r) = reqwest::get(url).await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{url} did not become ready").into())
}

/// Clock ticks per second of `/proc/<pid>/stat`'s CPU times (`USER_HZ`,
/// 100 on every Linux the harness runs on).
const USER_HZ: f64 = 100.0;

/// CPU seconds (user + system, all threads) the processes have used so far;
/// 0 for a process that cannot be read. Unlike a rate, CPU per request hardly
/// moves when another tenant of the machine takes some of its cores.
pub fn cpu_seconds(pids: &[u32]) -> f64 {
    pids.iter()
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // Fields after the command name, which is in parentheses and may
            // hold spaces: state is the first, utime the 12th, stime the 13th.
            let rest = stat.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let ticks = |i: usize| fields.get(i)?.parse::<f64>().ok();
            Some((ticks(11)? + ticks(12)?) / USER_HZ)
        })
        .sum()
}

/// A process's peak resident set (`VmHWM`) in MB; 0 when unreadable.
pub fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .map(str::to_owned)
        })
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|k| k.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_seconds_counts_this_process_and_nothing_for_a_missing_one() {
        let before = cpu_seconds(&[std::process::id()]);
        // Burn a measurable amount of CPU (the counter ticks every 10 ms).
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(300) {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
        }
        let used = cpu_seconds(&[std::process::id()]) - before;
        assert!(used >= 0.1, "counted {used} s of CPU for 0.3 s of spinning");
        assert_eq!(cpu_seconds(&[u32::MAX]), 0.0);
    }
}

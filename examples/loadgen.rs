//! Load harness: drives real `pingyi serve` processes over loopback and
//! prints accepted/s, refusals by reason, latency percentiles and errors.
//!
//! ```sh
//! cargo build --release && cargo run --release --example loadgen -- --scenario all
//! cargo run --release --example loadgen -- --scenario submit --backend cluster --instances 2
//! ```
//!
//! The harness starts the servers itself (fresh data directory, demo data,
//! generous quotas unless the scenario is about quotas, `127.0.0.1` as the
//! trusted proxy so each simulated client brings its own address in
//! `X-Forwarded-For`), waits for them, runs the scenario at the requested
//! concurrency and reads each server's peak RSS (VmHWM) at the end.
//!
//! Scenarios: `views` (questionnaire page views), `submit` (fetch the forms of
//! many devices, then submit them all), `captcha` (captcha images), `flood`
//! (one address flooding among normal traffic), `botfarm` (rotating devices
//! and addresses inside one /24), `mixed` (a day's mix of views and
//! submissions), `all` (views, submit, captcha on the chosen backend).
//!
//! `--default-quotas` runs `views` and `submit` at the service's default
//! quotas and captcha mode (`adaptive`), with every citizen from an address of
//! its own spread over tens of thousands of /24s, as a city's phones arrive.
//! Every scenario prints the settings it changes from the defaults.

use std::collections::BTreeMap;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

struct Options {
    scenario: String,
    backend: String,
    instances: usize,
    concurrency: usize,
    seconds: u64,
    server_bin: String,
    database_url: String,
    redis_url: String,
    /// `views` and `submit` at the default quotas and captcha mode.
    default_quotas: bool,
}

fn options() -> Options {
    let args: Vec<String> = std::env::args().collect();
    let value = |flag: &str, default: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_else(|| default.to_owned())
    };
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
    }
}

const SECRET: &str = "loadgen-secret-loadgen-secret-loadgen-0123";

/// Running server processes.
struct Servers {
    children: Vec<Child>,
    urls: Vec<String>,
    _dirs: Vec<tempfile::TempDir>,
    pg_db: Option<String>,
}

impl Servers {
    async fn start(o: &Options, captcha: &str, generous: bool) -> Result<Servers, BoxError> {
        let mut children = Vec::new();
        let mut urls = Vec::new();
        let mut dirs = Vec::new();
        let mut pg_db = None;
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
            pg_db = Some(name);
        }
        for i in 0..o.instances {
            let dir = tempfile::tempdir()?;
            let port = std::net::TcpListener::bind("127.0.0.1:0")?
                .local_addr()?
                .port();
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
            children.push(cmd.spawn()?);
            let url = format!("http://127.0.0.1:{port}");
            wait_ready(&url).await?;
            urls.push(url);
            dirs.push(dir);
        }
        Ok(Servers {
            children,
            urls,
            _dirs: dirs,
            pg_db,
        })
    }

    fn peak_rss_mb(&self) -> Vec<f64> {
        self.children
            .iter()
            .map(|c| {
                std::fs::read_to_string(format!("/proc/{}/status", c.id()))
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
            })
            .collect()
    }

    fn stop(mut self, o: &Options) {
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

async fn wait_ready(url: &str) -> Result<(), BoxError> {
    for _ in 0..600 {
        if let Ok(r) = reqwest::get(format!("{url}/healthz")).await
            && r.status().is_success()
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(format!("{url} did not become ready").into())
}

/// Latencies and outcomes of one phase.
#[derive(Default)]
struct Tally {
    latencies_us: Vec<u64>,
    outcomes: BTreeMap<String, usize>,
}

impl Tally {
    fn record(&mut self, started: Instant, outcome: &str) {
        self.latencies_us.push(started.elapsed().as_micros() as u64);
        *self.outcomes.entry(outcome.to_owned()).or_default() += 1;
    }

    fn report(&mut self, name: &str, wall: Duration, accepted_key: &str) {
        self.latencies_us.sort_unstable();
        let pct = |p: f64| {
            if self.latencies_us.is_empty() {
                return 0.0;
            }
            let i = ((self.latencies_us.len() as f64 - 1.0) * p).round() as usize;
            self.latencies_us[i] as f64 / 1000.0
        };
        let secs = wall.as_secs_f64();
        let accepted = self.outcomes.get(accepted_key).copied().unwrap_or(0);
        let others: Vec<String> = self
            .outcomes
            .iter()
            .filter(|(k, _)| k.as_str() != accepted_key)
            .map(|(k, v)| format!("{k}: {v} ({:.0}/s)", *v as f64 / secs))
            .collect();
        println!(
            "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} |",
            accepted,
            accepted as f64 / secs,
            pct(0.5),
            pct(0.99),
            secs,
            if others.is_empty() {
                "—".to_owned()
            } else {
                others.join(", ")
            }
        );
    }
}

fn outcome(status: reqwest::StatusCode) -> String {
    match status.as_u16() {
        200 => "ok".into(),
        303 => "accepted".into(),
        409 => "duplicate".into(),
        422 => "invalid".into(),
        429 => "rate_limited".into(),
        403 => "forbidden".into(),
        503 => "unavailable".into(),
        s => format!("http_{s}"),
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// A served form: the device cookie and hidden fields.
struct Form {
    code: String,
    ip: String,
    cookie: String,
    csrf: String,
    clock: String,
}

fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Demo institution codes and their item codes.
fn institutions() -> Vec<(String, Vec<&'static str>)> {
    let common = ["att1", "att2", "eff1", "eff2", "env1", "tra1", "out1"];
    let sectors = [
        ("water", 8, true),
        ("power", 8, true),
        ("gas", 7, false),
        ("heating", 7, true),
        ("transit", 8, true),
        ("hospital", 8, true),
        ("telecom", 7, false),
        ("postal", 7, false),
    ];
    let mut out = Vec::new();
    for (sector, n, extra) in sectors {
        for i in 1..=n {
            let mut items = common.to_vec();
            if extra {
                items.push("out2");
            }
            out.push((format!("{sector}-{i:02}"), items));
        }
    }
    out
}

fn ip_for(n: usize) -> String {
    // Spread clients over 10.0.0.0/8 so that consecutive clients fall in
    // different /24s, as real visitors do: distinct addresses and subnets.
    format!(
        "10.{}.{}.{}",
        n % 250 + 1,
        (n / 250) % 250 + 1,
        (n / 62_500) % 250 + 1
    )
}

async fn fetch_form(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    ip: &str,
    cookie: Option<&str>,
) -> Result<Form, String> {
    let mut req = client
        .get(format!("{base}/s/{code}"))
        .header("x-forwarded-for", ip);
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    let response = req.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pingyi_device="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
        .or_else(|| cookie.map(str::to_owned))
        .unwrap_or_default();
    if !status.is_success() {
        return Err(outcome(status));
    }
    let html = response.text().await.map_err(|e| e.to_string())?;
    Ok(Form {
        code: code.to_owned(),
        ip: ip.to_owned(),
        cookie,
        csrf: hidden(&html, "csrf").ok_or("no csrf")?,
        clock: hidden(&html, "clock").ok_or("no clock")?,
    })
}

async fn submit(
    client: &reqwest::Client,
    base: &str,
    form: &Form,
    items: &[&str],
    n: usize,
) -> String {
    let mut body = vec![
        ("csrf".to_owned(), form.csrf.clone()),
        ("clock".to_owned(), form.clock.clone()),
    ];
    for (i, item) in items.iter().enumerate() {
        let rating = ["5", "4", "3", "4", "5", "2", "na"][(n + i) % 7];
        body.push((format!("q_{item}"), rating.to_owned()));
    }
    let response = client
        .post(format!("{base}/s/{}", form.code))
        .header("x-forwarded-for", &form.ip)
        .header("cookie", &form.cookie)
        .form(&body)
        .send()
        .await;
    match response {
        Ok(r) => outcome(r.status()),
        Err(_) => "error".into(),
    }
}

/// Runs `work(n)` on `concurrency` workers until `deadline` or `limit` jobs.
async fn drive<F, Fut>(
    concurrency: usize,
    duration: Duration,
    limit: usize,
    work: F,
) -> (Tally, Duration)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = String> + Send,
{
    let work = Arc::new(work);
    let next = Arc::new(AtomicUsize::new(0));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let started = Instant::now();
    let deadline = started + duration;
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (work, next, tally) = (work.clone(), next.clone(), tally.clone());
        workers.push(tokio::spawn(async move {
            let mut local = Tally::default();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= limit || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                let result = work(n).await;
                local.record(t, &result);
            }
            let mut all = tally.lock();
            all.latencies_us.extend(local.latencies_us);
            for (k, v) in local.outcomes {
                *all.outcomes.entry(k).or_default() += v;
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let wall = started.elapsed();
    let tally = std::mem::take(&mut *tally.lock());
    (tally, wall)
}

fn header(title: &str) {
    println!("\n### {title}\n");
    println!("| phase | accepted | accepted/s | p50 ms | p99 ms | wall s | other outcomes |");
    println!("|---|---:|---:|---:|---:|---:|---|");
}

async fn scenario_views(o: &Options, servers: &Servers) {
    let urls = Arc::new(servers.urls.clone());
    let inst = Arc::new(institutions());
    let c = client();
    let (mut tally, wall) = drive(
        o.concurrency,
        Duration::from_secs(o.seconds),
        usize::MAX,
        move |n| {
            let (urls, inst, c) = (urls.clone(), inst.clone(), c.clone());
            async move {
                let base = &urls[n % urls.len()];
                let code = &inst[n % inst.len()].0;
                match c
                    .get(format!("{base}/s/{code}"))
                    .header("x-forwarded-for", ip_for(n % 50_000))
                    .send()
                    .await
                {
                    Ok(r) => {
                        let status = r.status();
                        let _ = r.bytes().await;
                        outcome(status)
                    }
                    Err(_) => "error".into(),
                }
            }
        },
    )
    .await;
    tally.report("questionnaire page views", wall, "ok");
}

async fn scenario_submit(o: &Options, servers: &Servers) {
    let inst = Arc::new(institutions());
    let c = client();
    // Phase 1: each simulated device fetches a form (with its own address).
    let target = (o.seconds as usize) * 8_000;
    let forms = Arc::new(Mutex::new(Vec::with_capacity(target)));
    {
        let (urls, inst, c, forms) = (
            Arc::new(servers.urls.clone()),
            inst.clone(),
            c.clone(),
            forms.clone(),
        );
        let (mut tally, wall) = drive(
            o.concurrency,
            Duration::from_secs(o.seconds * 3),
            target,
            move |n| {
                let (urls, inst, c, forms) = (urls.clone(), inst.clone(), c.clone(), forms.clone());
                async move {
                    let base = &urls[n % urls.len()];
                    let (code, _) = &inst[n % inst.len()];
                    match fetch_form(&c, base, code, &ip_for(n), None).await {
                        Ok(form) => {
                            forms.lock().push((n, form));
                            "ok".into()
                        }
                        Err(e) => e,
                    }
                }
            },
        )
        .await;
        tally.report("form fetch (page views)", wall, "ok");
    }
    // Phase 2: every device submits its form (round-robin over the instances).
    let forms: Arc<Vec<(usize, Form)>> = Arc::new(std::mem::take(&mut *forms.lock()));
    let total = forms.len();
    let urls = Arc::new(servers.urls.clone());
    let (mut tally, wall) = drive(
        o.concurrency,
        Duration::from_secs(o.seconds * 3),
        total,
        move |n| {
            let (urls, inst, c, forms) = (urls.clone(), inst.clone(), c.clone(), forms.clone());
            async move {
                let (k, form) = &forms[n];
                let base = &urls[(n + 1) % urls.len()];
                let items = &inst[k % inst.len()].1;
                submit(&c, base, form, items, *k).await
            }
        },
    )
    .await;
    tally.report("submissions (committed)", wall, "accepted");
}

async fn scenario_captcha(o: &Options, servers: &Servers) {
    let c = client();
    let mut ids = Vec::new();
    for n in 0..200 {
        if let Ok(r) = c
            .get(format!("{}/s/water-01", servers.urls[0]))
            .header("x-forwarded-for", ip_for(n))
            .send()
            .await
            && let Ok(html) = r.text().await
            && let Some(id) = hidden(&html, "captcha_id")
        {
            ids.push(id);
        }
    }
    if ids.is_empty() {
        println!("(no captcha ids: is the server asking for captchas?)");
        return;
    }
    let ids = Arc::new(ids);
    let url = servers.urls[0].clone();
    let (mut tally, wall) = drive(
        o.concurrency,
        Duration::from_secs(o.seconds),
        usize::MAX,
        move |n| {
            let (ids, c, url) = (ids.clone(), c.clone(), url.clone());
            async move {
                match c
                    .get(format!("{url}/captcha/{}.png", ids[n % ids.len()]))
                    .header("x-forwarded-for", ip_for(n % 50_000))
                    .send()
                    .await
                {
                    Ok(r) => {
                        let s = r.status();
                        let _ = r.bytes().await;
                        outcome(s)
                    }
                    Err(_) => "error".into(),
                }
            }
        },
    )
    .await;
    tally.report("captcha images", wall, "ok");
}

/// Normal clients plus one hostile pattern, reported separately.
async fn scenario_hostile(o: &Options, servers: &Servers, hostile: &'static str) {
    let inst = Arc::new(institutions());
    let c = client();
    let urls = Arc::new(servers.urls.clone());
    let normal = Arc::new(Mutex::new(Tally::default()));
    let bad = Arc::new(Mutex::new(Tally::default()));
    let (normal2, bad2) = (normal.clone(), bad.clone());
    let (_, wall) = drive(
        o.concurrency,
        Duration::from_secs(o.seconds),
        usize::MAX,
        move |n| {
            let (urls, inst, c, normal, bad) = (
                urls.clone(),
                inst.clone(),
                c.clone(),
                normal2.clone(),
                bad2.clone(),
            );
            async move {
                let is_bad = n % 2 == 0;
                let ip = match (is_bad, hostile) {
                    (true, "flood") => "203.0.113.66".to_owned(),
                    (true, _) => format!("198.51.100.{}", n % 250 + 1), // one /24, rotating addresses
                    (false, _) => ip_for(n + 1_000_000),
                };
                let base = &urls[n % urls.len()];
                let (code, items) = &inst[n % inst.len()];
                let t = Instant::now();
                let result = match fetch_form(&c, base, code, &ip, None).await {
                    Ok(form) => submit(&c, base, &form, items, n).await,
                    Err(e) => format!("form_{e}"),
                };
                if is_bad {
                    bad.lock().record(t, &result)
                } else {
                    normal.lock().record(t, &result)
                }
                result
            }
        },
    )
    .await;
    normal
        .lock()
        .report("normal clients (form + submit)", wall, "accepted");
    bad.lock().report(
        if hostile == "flood" {
            "one flooding address"
        } else {
            "bot farm in one /24"
        },
        wall,
        "accepted",
    );
}

/// One address floods (form views and submissions, as fast as `--concurrency`
/// connections go) while 16 normal citizens, each from an address of its
/// own, fetch a form and submit: the figures are the flood's request rate and
/// what it got, and the normal citizens' success and latency.
async fn scenario_flood(o: &Options, servers: &Servers) {
    let inst = Arc::new(institutions());
    let c = client();
    let urls = Arc::new(servers.urls.clone());
    let seconds = Duration::from_secs(o.seconds);
    let flood = {
        let (urls, inst, c) = (urls.clone(), inst.clone(), c.clone());
        drive(o.concurrency, seconds, usize::MAX, move |n| {
            let (urls, inst, c) = (urls.clone(), inst.clone(), c.clone());
            async move {
                let base = &urls[n % urls.len()];
                let (code, items) = &inst[n % inst.len()];
                let ip = "203.0.113.66";
                if n % 4 == 0 {
                    // Now and then a submission with a made-up form.
                    let form = Form {
                        code: code.clone(),
                        ip: ip.to_owned(),
                        cookie: String::new(),
                        csrf: "forged".into(),
                        clock: "0".into(),
                    };
                    submit(&c, base, &form, items, n).await
                } else {
                    match c
                        .get(format!("{base}/s/{code}"))
                        .header("x-forwarded-for", ip)
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let s = r.status();
                            let _ = r.bytes().await;
                            format!("view_{}", outcome(s))
                        }
                        Err(_) => "error".into(),
                    }
                }
            }
        })
    };
    let normal = {
        let (urls, inst, c) = (urls.clone(), inst.clone(), c.clone());
        drive(16, seconds, usize::MAX, move |n| {
            let (urls, inst, c) = (urls.clone(), inst.clone(), c.clone());
            async move {
                let base = &urls[n % urls.len()];
                let (code, items) = &inst[n % inst.len()];
                let ip = ip_for(n + 1_000_000);
                match fetch_form(&c, base, code, &ip, None).await {
                    Ok(form) => submit(&c, base, &form, items, n).await,
                    Err(e) => format!("form_{e}"),
                }
            }
        })
    };
    let ((mut flood, flood_wall), (mut normal, normal_wall)) = tokio::join!(flood, normal);
    let requests: usize = flood.outcomes.values().sum();
    println!(
        "\nflood: {requests} requests from one address in {:.1} s = {:.0} requests/s",
        flood_wall.as_secs_f64(),
        requests as f64 / flood_wall.as_secs_f64()
    );
    normal.report("normal citizens (form + submit)", normal_wall, "accepted");
    flood.report("the flooding address", flood_wall, "accepted");
}

async fn scenario_mixed(o: &Options, servers: &Servers) {
    let inst = Arc::new(institutions());
    let c = client();
    let urls = Arc::new(servers.urls.clone());
    let (mut tally, wall) = drive(
        o.concurrency,
        Duration::from_secs(o.seconds),
        usize::MAX,
        move |n| {
            let (urls, inst, c) = (urls.clone(), inst.clone(), c.clone());
            async move {
                let base = &urls[n % urls.len()];
                let (code, items) = &inst[n % inst.len()];
                let ip = ip_for(n % 200_000);
                match n % 10 {
                    // Most visitors browse; some open a form and leave; some submit.
                    0..=4 => match c
                        .get(format!("{base}/?category=water&page=1"))
                        .header("x-forwarded-for", &ip)
                        .send()
                        .await
                    {
                        Ok(r) => {
                            let s = r.status();
                            let _ = r.bytes().await;
                            format!("browse_{}", outcome(s))
                        }
                        Err(_) => "error".into(),
                    },
                    5..=7 => match fetch_form(&c, base, code, &ip, None).await {
                        Ok(_) => "form_ok".into(),
                        Err(e) => format!("form_{e}"),
                    },
                    _ => match fetch_form(&c, base, code, &ip, None).await {
                        Ok(form) => submit(&c, base, &form, items, n).await,
                        Err(e) => format!("form_{e}"),
                    },
                }
            }
        },
    )
    .await;
    tally.report("mixed day (all requests)", wall, "accepted");
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    let o = options();
    println!(
        "\nbackend: {} · instances: {} · concurrency: {} · {} s per phase · {} cores",
        o.backend,
        o.instances,
        o.concurrency,
        o.seconds,
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let scenarios: Vec<&str> = if o.scenario == "all" {
        vec!["views", "submit", "captcha"]
    } else {
        vec![o.scenario.as_str()]
    };
    for scenario in scenarios {
        let (captcha, generous) = match scenario {
            "captcha" => ("always", true),
            "flood" | "botfarm" => ("off", false),
            "views" | "submit" if o.default_quotas => ("adaptive", false),
            _ => ("off", true),
        };
        let servers = Servers::start(&o, captcha, generous).await?;
        header(&format!(
            "{scenario} ({} backend, {} instance(s))",
            o.backend, o.instances
        ));
        match scenario {
            "views" => scenario_views(&o, &servers).await,
            "submit" => scenario_submit(&o, &servers).await,
            "captcha" => scenario_captcha(&o, &servers).await,
            "flood" => scenario_flood(&o, &servers).await,
            "botfarm" => scenario_hostile(&o, &servers, "botfarm").await,
            "mixed" => scenario_mixed(&o, &servers).await,
            other => return Err(format!("unknown scenario {other}").into()),
        }
        let rss: Vec<String> = servers
            .peak_rss_mb()
            .iter()
            .map(|m| format!("{m:.0} MB"))
            .collect();
        println!("\nserver peak RSS: {}", rss.join(", "));
        servers.stop(&o);
    }
    Ok(())
}

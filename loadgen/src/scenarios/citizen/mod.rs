//! `citizen`: the citizen path the way citizens arrive (each a new device,
//! no cookie, from an address of its own, the addresses spread over many
//! /24s, the institutions over the demo ones), against Pingyi at its default
//! quotas and captcha mode, each figure beside a bare actix-web ceiling
//! measured in the same run with the same client and concurrency.
//!
//! Two works: **views** (`GET /s/{code}`, success 200) and **cycle** (`GET`
//! the form, read the device cookie, `csrf` and `clock`, `POST` the ratings;
//! success 303; the two requests are one cycle with one latency). Order: a
//! warm-up, then Pingyi views, bare views, Pingyi cycles, bare cycles;
//! `--repeat N` runs that set N times and reports medians. A phase in which
//! fewer than 99 % succeed stops the run with an error, so a broken form or a
//! quota refusal cannot pass for a fast run.

mod report;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::BoxError;
use crate::bare::{BareServer, Page};
use crate::options::Options;
use crate::servers::{Servers, cpu_seconds};
use crate::survey::{Form, client, device_cookie, hidden, institutions, ip_for, outcome, submit};
use crate::tally::drive;

/// The institution whose form page the bare server serves.
const CAPTURE_CODE: &str = "water-01";
/// The address the capture comes from (TEST-NET-1: never a citizen's).
const CAPTURE_IP: &str = "192.0.2.1";
/// Least share of a phase's requests that must succeed.
const MIN_SUCCESS: f64 = 0.99;
/// Warm-up per server, not counted.
const WARM_UP: Duration = Duration::from_secs(1);

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Work {
    Views,
    Cycle,
}

impl Work {
    pub fn name(self) -> &'static str {
        match self {
            Work::Views => "views",
            Work::Cycle => "cycle",
        }
    }

    /// The outcome that counts as a success.
    fn success(self) -> &'static str {
        match self {
            Work::Views => "ok",
            Work::Cycle => "accepted",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Pingyi,
    Bare,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Pingyi => "Pingyi",
            Target::Bare => "bare actix ceiling",
        }
    }
}

/// The figures of one phase.
pub struct Phase {
    pub work: Work,
    pub target: Target,
    pub successes: usize,
    pub per_s: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub wall: Duration,
    /// CPU the server process used in the phase per success, in µs.
    pub server_cpu_us: f64,
    /// Every outcome but success, by name.
    pub failures: BTreeMap<String, usize>,
}

impl Phase {
    fn total(&self) -> usize {
        self.successes + self.failures.values().sum::<usize>()
    }

    /// An error when fewer than [`MIN_SUCCESS`] of the phase's requests
    /// succeeded (or there were none), with the outcome counts.
    fn check(&self) -> Result<(), BoxError> {
        let total = self.total();
        let rate = if total == 0 {
            0.0
        } else {
            self.successes as f64 / total as f64
        };
        if rate >= MIN_SUCCESS {
            return Ok(());
        }
        let counts: Vec<String> =
            std::iter::once(format!("{}: {}", self.work.success(), self.successes))
                .chain(self.failures.iter().map(|(k, v)| format!("{k}: {v}")))
                .collect();
        let message = format!(
            "{} {}: only {:.2} % of {total} succeeded (at least {:.0} % required); outcomes: {}",
            self.target.name(),
            self.work.name(),
            rate * 100.0,
            MIN_SUCCESS * 100.0,
            counts.join(", ")
        );
        println!("\nFAILED: {message}");
        Err(message.into())
    }
}

/// What every simulated citizen shares: the client, the institutions, and
/// the counter that makes each citizen a new one (a new address, a new
/// device) across all phases and runs.
#[derive(Clone)]
struct Citizens {
    client: reqwest::Client,
    institutions: Arc<Vec<(String, Vec<&'static str>)>>,
    next: Arc<AtomicUsize>,
}

pub async fn run(o: &Options, servers: &Servers) -> Result<(), BoxError> {
    let citizens = Citizens {
        client: client(),
        institutions: Arc::new(institutions()),
        next: Arc::new(AtomicUsize::new(0)),
    };
    let pingyi = Arc::new(servers.urls.clone());
    let pingyi_pids = servers.pids();
    let dir = tempfile::tempdir()?;
    let page = dir.path().join("form.html");
    let page_bytes = capture(&citizens.client, &servers.urls[0], &page).await?;
    let bare = BareServer::start(&page, CAPTURE_CODE).await?;
    let bare_urls = Arc::new(vec![bare.url.clone()]);
    let bare_pids = vec![bare.pid()];
    println!(
        "bare actix ceiling: actix-web HttpServer, default workers ({} cores), serving the {page_bytes}-byte form page of {CAPTURE_CODE} captured from Pingyi with its headers, POST answered 303",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!(
        "citizen: each a new device (no cookie) from its own address over many /24s; {} connections, {} s per phase, {} run(s)",
        o.concurrency, o.seconds, o.repeat
    );

    let servers_of = |target| match target {
        Target::Pingyi => (&pingyi, &pingyi_pids),
        Target::Bare => (&bare_urls, &bare_pids),
    };
    for target in [Target::Pingyi, Target::Bare] {
        let (urls, pids) = servers_of(target);
        let p = phase(
            Work::Cycle,
            target,
            (urls, pids),
            &citizens,
            o.concurrency,
            WARM_UP,
        )
        .await;
        println!(
            "warm-up (not counted): {} {} cycles, {} succeeded",
            target.name(),
            p.total(),
            p.successes
        );
    }

    let duration = Duration::from_secs(o.seconds);
    let mut runs = Vec::new();
    for i in 1..=o.repeat {
        let mut phases = Vec::new();
        for (work, target) in [
            (Work::Views, Target::Pingyi),
            (Work::Views, Target::Bare),
            (Work::Cycle, Target::Pingyi),
            (Work::Cycle, Target::Bare),
        ] {
            let p = phase(
                work,
                target,
                servers_of(target),
                &citizens,
                o.concurrency,
                duration,
            )
            .await;
            if let Err(e) = p.check() {
                report::run_table(i, o.repeat, &phases);
                return Err(e);
            }
            phases.push(p);
        }
        report::run_table(i, o.repeat, &phases);
        runs.push(phases);
    }
    report::summary(&runs);
    let rss: Vec<String> = servers
        .peak_rss_mb()
        .iter()
        .map(|m| format!("{m:.0} MB"))
        .collect();
    println!(
        "\nPingyi peak RSS: {} · bare actix ceiling peak RSS: {:.0} MB",
        rss.join(", "),
        bare.peak_rss_mb()
    );
    Ok(())
}

/// Fetches one form page from Pingyi as a new device and writes it (body
/// and headers) to `file` for the bare server; its size in bytes.
async fn capture(
    client: &reqwest::Client,
    base: &str,
    file: &std::path::Path,
) -> Result<usize, BoxError> {
    let response = client
        .get(format!("{base}/s/{CAPTURE_CODE}"))
        .header("x-forwarded-for", CAPTURE_IP)
        .send()
        .await
        .map_err(|e| format!("could not fetch the form page to capture: {e}"))?;
    let status = response.status();
    if status != reqwest::StatusCode::OK {
        return Err(format!("the form page to capture answered {status}").into());
    }
    if device_cookie(response.headers()).is_none() {
        return Err("the captured form page sets no device cookie".into());
    }
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .filter(|(name, _)| Page::replayable(name.as_str()))
        .map(|(name, value)| {
            value
                .to_str()
                .map(|v| (name.as_str().to_owned(), v.to_owned()))
                .map_err(|_| format!("header {name} of the form page is not text"))
        })
        .collect::<Result<_, _>>()?;
    let body = response
        .bytes()
        .await
        .map_err(|e| format!("could not read the form page to capture: {e}"))?;
    let html = String::from_utf8_lossy(&body);
    if hidden(&html, "csrf").is_none() || hidden(&html, "clock").is_none() {
        return Err("the captured form page has no csrf or clock field".into());
    }
    Page::write(file, &body, &headers)?;
    Ok(body.len())
}

/// Runs one work against one server (its addresses and process ids) for
/// `duration`, each job a new citizen.
async fn phase(
    work: Work,
    target: Target,
    (urls, pids): (&Arc<Vec<String>>, &Vec<u32>),
    citizens: &Citizens,
    concurrency: usize,
    duration: Duration,
) -> Phase {
    let cpu_before = cpu_seconds(pids);
    let (urls, citizens) = (urls.clone(), citizens.clone());
    let (mut tally, wall) = drive(concurrency, duration, usize::MAX, move |_| {
        let id = citizens.next.fetch_add(1, Ordering::Relaxed);
        let (urls, citizens) = (urls.clone(), citizens.clone());
        async move {
            let base = &urls[id % urls.len()];
            let (code, items) = &citizens.institutions[id % citizens.institutions.len()];
            let ip = ip_for(id);
            match work {
                Work::Views => view(&citizens.client, base, code, &ip).await,
                Work::Cycle => cycle(&citizens.client, base, code, items, &ip, id).await,
            }
        }
    })
    .await;
    let server_cpu = cpu_seconds(pids) - cpu_before;
    let successes = tally.count(work.success());
    let failures = tally
        .outcomes
        .iter()
        .filter(|(k, _)| k.as_str() != work.success())
        .map(|(k, v)| (k.clone(), *v))
        .collect();
    Phase {
        work,
        target,
        successes,
        per_s: successes as f64 / wall.as_secs_f64(),
        p50_ms: tally.percentile_ms(0.5),
        p99_ms: tally.percentile_ms(0.99),
        wall,
        server_cpu_us: server_cpu * 1e6 / successes.max(1) as f64,
        failures,
    }
}

/// A new device views a form page.
async fn view(client: &reqwest::Client, base: &str, code: &str, ip: &str) -> String {
    match client
        .get(format!("{base}/s/{code}"))
        .header("x-forwarded-for", ip)
        .send()
        .await
    {
        Ok(r) => {
            let status = r.status();
            match r.bytes().await {
                Ok(_) => outcome(status),
                Err(_) => "error".into(),
            }
        }
        Err(_) => "error".into(),
    }
}

/// A new device fetches a form and posts its ratings at once.
async fn cycle(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    items: &[&str],
    ip: &str,
    n: usize,
) -> String {
    match new_device_form(client, base, code, ip).await {
        Ok(form) => submit(client, base, &form, items, n).await,
        Err(e) => e,
    }
}

/// The form as served to a new device: its cookie and hidden fields, or the
/// outcome that stopped the cycle (`form_…`, or `error` without an answer).
async fn new_device_form(
    client: &reqwest::Client,
    base: &str,
    code: &str,
    ip: &str,
) -> Result<Form, String> {
    let response = client
        .get(format!("{base}/s/{code}"))
        .header("x-forwarded-for", ip)
        .send()
        .await
        .map_err(|_| "error".to_owned())?;
    let status = response.status();
    let cookie = device_cookie(response.headers());
    let html = response.text().await.map_err(|_| "error".to_owned())?;
    if !status.is_success() {
        return Err(format!("form_{}", outcome(status)));
    }
    let field = |name: &str| hidden(&html, name).ok_or_else(|| format!("form_no_{name}"));
    Ok(Form {
        code: code.to_owned(),
        ip: ip.to_owned(),
        cookie: cookie.ok_or("form_no_cookie")?,
        csrf: field("csrf")?,
        clock: field("clock")?,
    })
}

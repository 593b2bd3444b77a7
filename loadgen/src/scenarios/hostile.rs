//! `flood` (one address flooding among normal citizens) and `botfarm`
//! (rotating devices and addresses inside one /24).

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::options::Options;
use crate::servers::Servers;
use crate::survey::{Form, client, fetch_form, institutions, ip_for, outcome, submit};
use crate::tally::{Tally, drive};

/// Normal clients plus one hostile pattern, reported separately.
pub async fn run(o: &Options, servers: &Servers, hostile: &'static str) {
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
pub async fn flood(o: &Options, servers: &Servers) {
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

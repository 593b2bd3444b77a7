//! `mixed`: a day's mix of browsing, forms opened and left, and submissions.

use std::sync::Arc;
use std::time::Duration;

use crate::options::Options;
use crate::servers::Servers;
use crate::survey::{client, fetch_form, institutions, ip_for, outcome, submit};
use crate::tally::drive;

pub async fn run(o: &Options, servers: &Servers) {
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

//! `views`: questionnaire page views as fast as the connections go.

use std::sync::Arc;
use std::time::Duration;

use crate::options::Options;
use crate::servers::Servers;
use crate::survey::{client, institutions, ip_for, outcome};
use crate::tally::drive;

pub async fn run(o: &Options, servers: &Servers) {
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

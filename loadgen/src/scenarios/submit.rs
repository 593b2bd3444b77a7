//! `submit`: many devices fetch their forms, then all of them submit.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use crate::options::Options;
use crate::servers::Servers;
use crate::survey::{Form, client, fetch_form, institutions, ip_for, submit};
use crate::tally::drive;

pub async fn run(o: &Options, servers: &Servers) {
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

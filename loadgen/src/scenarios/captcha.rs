//! `captcha`: captcha images, drawn per request.

use std::sync::Arc;
use std::time::Duration;

use crate::options::Options;
use crate::servers::Servers;
use crate::survey::{client, hidden, ip_for, outcome};
use crate::tally::drive;

pub async fn run(o: &Options, servers: &Servers) {
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

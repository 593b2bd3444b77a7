//! Talking to the survey pages as a citizen's browser does: the demo
//! institutions, client addresses, fetching a form and posting it.

use std::time::Duration;

/// The outcome name of a status, as the tables print it.
pub fn outcome(status: reqwest::StatusCode) -> String {
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

/// The one client of a run: no redirects followed (a 303 is the answer), a
/// pool as large as any concurrency used.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(512)
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap_or_default()
}

/// A served form: the device cookie and hidden fields.
pub struct Form {
    pub code: String,
    pub ip: String,
    pub cookie: String,
    pub csrf: String,
    pub clock: String,
}

/// The value of a hidden input of a served page.
pub fn hidden(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = html[start..].find('"')? + start;
    Some(html[start..end].to_owned())
}

/// Demo institution codes and their item codes.
pub fn institutions() -> Vec<(String, Vec<&'static str>)> {
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

pub fn ip_for(n: usize) -> String {
    // Spread clients over 10.0.0.0/8 so that consecutive clients fall in
    // different /24s, as real visitors do: distinct addresses and subnets.
    format!(
        "10.{}.{}.{}",
        n % 250 + 1,
        (n / 250) % 250 + 1,
        (n / 62_500) % 250 + 1
    )
}

/// The device cookie (`name=value`) a response sets, if any.
pub fn device_cookie(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("pingyi_device="))
        .and_then(|v| v.split(';').next())
        .map(str::to_owned)
}

pub async fn fetch_form(
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
    let cookie = device_cookie(response.headers())
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

/// Posts a form with every item rated (some "not applicable"); the outcome
/// of the answer, or "error" when there was none.
pub async fn submit(
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

//! A citizen's browser: its own cookie jar (so its own device), the survey
//! form's hidden fields, and complete answer sets.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;

use super::{TestApp, hidden_field};

/// A browser: its own cookie jar (so its own device), no redirects followed,
/// and the client address a trusted proxy reports for it.
pub struct Browser {
    pub client: reqwest::Client,
    pub ip: String,
    pub jar: std::sync::Arc<reqwest::cookie::Jar>,
}

/// The hidden fields of a served form.
#[derive(Debug, Clone)]
pub struct Form {
    pub csrf: String,
    pub clock: String,
    pub captcha_id: Option<String>,
    pub html: String,
}

impl TestApp {
    pub fn browser(&self, ip: &str) -> Browser {
        let jar = std::sync::Arc::new(reqwest::cookie::Jar::default());
        let client = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Browser {
            client,
            ip: ip.to_owned(),
            jar,
        }
    }

    /// Submits a complete water form for `code` from a new device at `ip`.
    pub async fn submit_new_device(&self, ip: &str, code: &str) -> StatusCode {
        self.browser(ip).rate(self, code).await
    }
}

impl Browser {
    pub async fn get(&self, app: &TestApp, path: &str) -> reqwest::Response {
        self.client
            .get(app.url(path))
            .header("x-forwarded-for", &self.ip)
            .send()
            .await
            .unwrap()
    }

    pub async fn form(&self, app: &TestApp, code: &str) -> Form {
        let response = self.get(app, &format!("/s/{code}")).await;
        assert_eq!(response.status(), StatusCode::OK);
        let html = response.text().await.unwrap();
        Form {
            csrf: hidden_field(&html, "csrf").expect("a csrf field"),
            clock: hidden_field(&html, "clock").expect("a clock field"),
            captcha_id: hidden_field(&html, "captcha_id"),
            html,
        }
    }

    pub async fn post(
        &self,
        app: &TestApp,
        code: &str,
        fields: &[(String, String)],
    ) -> reqwest::Response {
        self.client
            .post(app.url(&format!("/s/{code}")))
            .header("x-forwarded-for", &self.ip)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Fetches the form of `code` and submits it with a complete water answer set.
    pub async fn rate(&self, app: &TestApp, code: &str) -> StatusCode {
        let form = self.form(app, code).await;
        self.post(app, code, &with_form(&form, water_answers()))
            .await
            .status()
    }

    /// The device id held in this browser's signed cookie.
    pub fn device_id(&self, app: &TestApp) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = app.url("/").parse().unwrap();
        let header = self.jar.cookies(&url)?;
        let cookies = header.to_str().ok()?.to_owned();
        cookies
            .split("; ")
            .find_map(|c| c.strip_prefix("pingyi_device="))
            .and_then(|v| v.rsplit_once('.').map(|(id, _)| id.to_owned()))
    }
}

/// A complete, valid answer set for a water institution (8 items).
pub fn water_answers() -> Vec<(String, String)> {
    [
        ("q_att1", "5"),
        ("q_att2", "4"),
        ("q_eff1", "3"),
        ("q_eff2", "na"),
        ("q_env1", "5"),
        ("q_tra1", "4"),
        ("q_out1", "5"),
        ("q_out2", "2"),
    ]
    .iter()
    .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
    .collect()
}

/// The form's hidden fields plus the given answers.
pub fn with_form(form: &Form, answers: Vec<(String, String)>) -> Vec<(String, String)> {
    let mut fields = vec![
        ("csrf".to_owned(), form.csrf.clone()),
        ("clock".to_owned(), form.clock.clone()),
    ];
    fields.extend(answers);
    fields
}

pub fn set(fields: &mut Vec<(String, String)>, name: &str, value: &str) {
    fields.retain(|(n, _)| n != name);
    fields.push((name.to_owned(), value.to_owned()));
}

pub fn remove(fields: &mut Vec<(String, String)>, name: &str) {
    fields.retain(|(n, _)| n != name);
}

#[allow(dead_code)]
pub fn to_map(fields: &[(String, String)]) -> HashMap<String, String> {
    fields.iter().cloned().collect()
}

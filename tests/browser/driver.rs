//! A headless Chromium driven over WebDriver (chromedriver), with the
//! accessibility audit (axe-core) and screenshots the browser tests use.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// A phone (390×844 CSS pixels, touch) or a desktop window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Viewport {
    Phone,
    Desktop,
}

impl Viewport {
    pub fn name(self) -> &'static str {
        match self {
            Viewport::Phone => "phone",
            Viewport::Desktop => "desktop",
        }
    }
}

/// How a session's browser is set up.
#[derive(Clone, Debug)]
pub struct Setup {
    pub viewport: Viewport,
    /// The browser's `Accept-Language`.
    pub accept_language: &'static str,
}

impl Setup {
    pub fn new(viewport: Viewport, accept_language: &'static str) -> Setup {
        Setup {
            viewport,
            accept_language,
        }
    }
}

/// What the tests need from the machine: chromedriver (with its Chromium)
/// and axe-core. `None` when absent and not required, so `cargo test` works
/// on a machine without a browser; `.ci/run` installs both and sets
/// `PINGYI_REQUIRE_BROWSER=1`, which turns their absence into a failure.
pub struct Tools {
    chromedriver: PathBuf,
    axe: String,
}

pub fn tools() -> Option<Tools> {
    let required = std::env::var("PINGYI_REQUIRE_BROWSER").is_ok_and(|v| v == "1");
    let chromedriver = std::env::var_os("PINGYI_CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find_on_path("chromedriver"));
    let axe_path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/browser/node_modules/axe-core/axe.min.js");
    let axe = std::fs::read_to_string(&axe_path).ok();
    match (chromedriver, axe) {
        (Some(chromedriver), Some(axe)) => Some(Tools { chromedriver, axe }),
        (driver, axe) => {
            let missing = format!(
                "browser tests need chromedriver ({}) and axe-core at {} ({}): \
                 `apt-get install chromium chromium-driver` and \
                 `npm ci --prefix tests/browser`, or run .ci/run",
                if driver.is_some() { "found" } else { "missing" },
                axe_path.display(),
                if axe.is_some() { "found" } else { "missing" },
            );
            assert!(!required, "{missing}");
            eprintln!("SKIPPED: {missing}");
            None
        }
    }
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// One chromedriver process and one browser session; both end on drop.
pub struct Browser {
    pub client: Client,
    driver: Child,
    axe: String,
    base: String,
    artifacts: PathBuf,
    prefix: String,
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Killing chromedriver takes its Chromium with it.
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    /// Starts chromedriver on a free port and opens a session against the
    /// app at `base`; screenshots go to `target/tmp/browser/<test>/`.
    pub async fn open(tools: &Tools, base: &str, test: &str, setup: Setup) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new(&tools.chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut args = vec![
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-extensions".to_owned(),
            "--hide-scrollbars".to_owned(),
            format!("--lang={}", setup.accept_language),
        ];
        if setup.viewport == Viewport::Desktop {
            args.push("--window-size=1280,900".to_owned());
        }
        let prefs = json!({ "intl.accept_languages": setup.accept_language });
        let mut chrome = json!({ "args": args, "prefs": prefs });
        if setup.viewport == Viewport::Phone {
            chrome["mobileEmulation"] = json!({
                "deviceMetrics": { "width": 390, "height": 844, "pixelRatio": 2.0, "touch": true },
                "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36"
            });
        }
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome);
        let url = format!("http://127.0.0.1:{port}");
        let mut last_error = None;
        let mut client = None;
        // chromedriver needs a moment to listen.
        for _ in 0..50 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(e) => {
                    last_error = Some(e);
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
        let client = client.unwrap_or_else(|| panic!("no WebDriver session: {last_error:?}"));
        let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join("browser")
            .join(test);
        std::fs::create_dir_all(&artifacts).unwrap();
        Browser {
            client,
            driver,
            axe: tools.axe.clone(),
            base: base.to_owned(),
            artifacts,
            prefix: setup.viewport.name().to_owned(),
        }
    }

    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("cannot open {path}: {e}"));
    }

    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    pub async fn css(&self, selector: &str) -> fantoccini::elements::Element {
        self.client
            .wait()
            .at_most(Duration::from_secs(10))
            .for_element(Locator::Css(selector))
            .await
            .unwrap_or_else(|e| panic!("no element {selector} on this page: {e}"))
    }

    pub async fn all(&self, selector: &str) -> Vec<fantoccini::elements::Element> {
        self.client.find_all(Locator::Css(selector)).await.unwrap()
    }

    /// Clicks an element and waits until the next page has replaced this one.
    pub async fn click_and_load(&self, selector: &str) {
        let old = self.css("html").await;
        self.css(selector).await.click().await.unwrap();
        self.wait_until_gone(old, selector).await;
    }

    /// Presses a key where the focus is and waits for the next page.
    pub async fn press_and_load(&self, key: Key) {
        let old = self.css("html").await;
        self.press(key).await;
        self.wait_until_gone(old, "a key press").await;
    }

    /// Waits until `old` (this page's root) is stale: a new document loaded.
    /// Element commands, not page scripts, so it works without JavaScript.
    async fn wait_until_gone(&self, old: fantoccini::elements::Element, cause: &str) {
        for _ in 0..200 {
            match old.tag_name().await {
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(_) => {
                    self.css("body").await;
                    return;
                }
            }
        }
        panic!("no new page after {cause}");
    }

    pub async fn text(&self, selector: &str) -> String {
        self.css(selector).await.text().await.unwrap()
    }

    pub async fn html_lang(&self) -> String {
        self.css("html")
            .await
            .attr("lang")
            .await
            .unwrap()
            .unwrap_or_default()
    }

    /// Presses a key where the focus is.
    pub async fn press(&self, key: Key) {
        let active = self.client.active_element().await.unwrap();
        active
            .send_keys(&char::from(key).to_string())
            .await
            .unwrap();
    }

    /// The focused element's tag, type, name and id.
    pub async fn focused(&self) -> Value {
        self.client
            .execute(
                "const e = document.activeElement; return { tag: e.tagName.toLowerCase(), \
                 type: e.type || '', name: e.name || '', id: e.id || '' };",
                vec![],
            )
            .await
            .unwrap()
    }

    /// Saves a PNG of the viewport as `<viewport>-<name>.png`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "a PNG screenshot");
        let path = self.artifacts.join(format!("{}-{name}.png", self.prefix));
        std::fs::write(&path, png).unwrap();
    }

    /// Runs axe-core on the page and fails on any serious or critical
    /// violation, naming the rule and the offending elements.
    pub async fn audit(&self, page: &str) {
        self.screenshot(page).await;
        self.client.execute(&self.axe, vec![]).await.unwrap();
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, { resultTypes: ['violations'] })
                    .then(r => done(r.violations.map(v => ({
                        id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ')).slice(0, 5)
                    }))))
                    .catch(e => done([{ id: 'axe-error', impact: 'critical', help: String(e), nodes: [] }]));",
                vec![],
            )
            .await
            .unwrap();
        let bad: Vec<&Value> = violations
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .collect();
        assert!(
            bad.is_empty(),
            "{page} ({}): accessibility violations: {}",
            self.prefix,
            serde_json::to_string_pretty(&bad).unwrap()
        );
    }

    /// Blocks requests to URLs matching `patterns` (`*` wildcards) through
    /// the Chrome DevTools protocol, e.g. to load pages without a script.
    pub async fn block_urls(&self, patterns: &[&str]) {
        self.cdp("Network.enable", json!({})).await;
        self.cdp("Network.setBlockedURLs", json!({ "urls": patterns }))
            .await;
    }

    async fn cdp(&self, cmd: &'static str, params: Value) {
        self.cdp_value(cmd, params).await;
    }

    /// A Chrome DevTools protocol command and its result.
    pub async fn cdp_value(&self, cmd: &'static str, params: Value) -> Value {
        self.client
            .issue_cmd(Cdp { cmd, params })
            .await
            .unwrap_or_else(|e| panic!("CDP {cmd} failed: {e}"))
    }

    /// Prints the page to a PDF on A4 (the page's own `@page` size wins)
    /// with Chromium's `Page.printToPDF`; saved beside the screenshots.
    pub async fn print_pdf(&self, name: &str) -> Vec<u8> {
        use base64::Engine as _;
        let result = self
            .cdp_value(
                "Page.printToPDF",
                json!({ "paperWidth": 8.27, "paperHeight": 11.69, "printBackground": true, "preferCSSPageSize": true }),
            )
            .await;
        let pdf = base64::engine::general_purpose::STANDARD
            .decode(result["data"].as_str().expect("PDF data"))
            .unwrap();
        assert!(pdf.starts_with(b"%PDF"), "a PDF");
        let path = self.artifacts.join(format!("{}-{name}.pdf", self.prefix));
        std::fs::write(&path, &pdf).unwrap();
        pdf
    }

    pub async fn close(self) {
        let client = self.client.clone();
        let _ = client.close().await;
    }
}

/// chromedriver's `goog/cdp/execute` extension command.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl fantoccini::wd::WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        let body = json!({ "cmd": self.cmd, "params": self.params });
        (http::Method::POST, Some(body.to_string()))
    }
}

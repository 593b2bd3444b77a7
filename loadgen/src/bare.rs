//! The bare actix-web ceiling of the `citizen` scenario: a plain
//! `HttpServer` (default worker count) that answers the citizen path with no
//! work at all, so the two figures side by side say how much of the
//! machine's capacity Pingyi's own work takes.
//!
//! The harness re-executes its own binary as this server
//! (`--bare-server <port> --page <file>`), so the server runs in a process
//! of its own, as Pingyi does, and its CPU and memory are its own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use actix_web::http::header::{HeaderName, HeaderValue, LOCATION};
use actix_web::web::{self, Bytes};
use actix_web::{App, HttpResponse, HttpServer};

use crate::BoxError;
use crate::options::BareServerArgs;
use crate::servers::{free_port, peak_rss_mb, wait_ready};

/// A form page captured from Pingyi: its body and the response headers to
/// send with it (Content-Type, Set-Cookie, the security headers…).
pub struct Page {
    pub body: Bytes,
    pub headers: Vec<(HeaderName, HeaderValue)>,
}

/// Headers the server writes itself for each response.
const OWN_HEADERS: [&str; 4] = ["content-length", "date", "transfer-encoding", "connection"];

impl Page {
    /// The headers worth replaying from a captured response.
    pub fn replayable(name: &str) -> bool {
        !OWN_HEADERS.contains(&name.to_ascii_lowercase().as_str())
    }

    /// Writes a page as `<file>` (the body) and `<file>.headers` (one
    /// `name: value` a line) for the server process to read.
    pub fn write(file: &Path, body: &[u8], headers: &[(String, String)]) -> Result<(), BoxError> {
        std::fs::write(file, body)
            .map_err(|e| format!("could not write {}: {e}", file.display()))?;
        let lines: String = headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect();
        let headers = headers_file(file);
        std::fs::write(&headers, lines)
            .map_err(|e| format!("could not write {}: {e}", headers.display()))?;
        Ok(())
    }

    fn read(file: &Path) -> Result<Page, BoxError> {
        let body = std::fs::read(file)
            .map_err(|e| format!("could not read the page {}: {e}", file.display()))?;
        let headers_path = headers_file(file);
        let text = std::fs::read_to_string(&headers_path)
            .map_err(|e| format!("could not read {}: {e}", headers_path.display()))?;
        let mut headers = Vec::new();
        for line in text.lines().filter(|l| !l.is_empty()) {
            let (name, value) = line
                .split_once(": ")
                .ok_or_else(|| format!("bad header line {line:?}"))?;
            headers.push((
                HeaderName::try_from(name).map_err(|e| format!("header {name:?}: {e}"))?,
                HeaderValue::try_from(value).map_err(|e| format!("header {name:?}: {e}"))?,
            ));
        }
        Ok(Page {
            body: Bytes::from(body),
            headers,
        })
    }
}

fn headers_file(page: &Path) -> PathBuf {
    let mut name = page.as_os_str().to_owned();
    name.push(".headers");
    PathBuf::from(name)
}

/// Runs the bare server until killed (the process's whole life).
pub fn serve(args: &BareServerArgs) -> Result<(), BoxError> {
    let page = web::Data::new(Page::read(Path::new(&args.page))?);
    let port = args.port;
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .app_data(page.clone())
                // Routed as Pingyi routes it (one resource, regex matching).
                .service(
                    web::resource("/s/{code}")
                        .route(web::get().to(form))
                        .route(web::post().to(submitted)),
                )
        })
        .bind(("127.0.0.1", port))?
        .run()
        .await
    })?;
    Ok(())
}

/// The captured form page, byte for byte, with its headers.
async fn form(page: web::Data<Page>) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for header in &page.headers {
        response.append_header(header.clone());
    }
    response.body(page.body.clone())
}

/// Reads the urlencoded ratings (as Pingyi does before its own checks) and
/// answers as Pingyi does once a submission is stored.
async fn submitted(
    code: web::Path<String>,
    _form: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((LOCATION, format!("/s/{code}/thanks")))
        .finish()
}

/// The bare server process; killed when dropped.
pub struct BareServer {
    child: Child,
    pub url: String,
}

impl BareServer {
    /// Starts the server on `page` and waits until it answers `GET
    /// /s/{ready_code}`.
    pub async fn start(page: &Path, ready_code: &str) -> Result<BareServer, BoxError> {
        let port = free_port()?;
        let exe = std::env::current_exe()
            .map_err(|e| format!("cannot find the harness binary to re-run: {e}"))?;
        let child = Command::new(&exe)
            .arg("--bare-server")
            .arg(port.to_string())
            .arg("--page")
            .arg(page)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("could not start the bare server {}: {e}", exe.display()))?;
        let server = BareServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        wait_ready(&format!("{}/s/{ready_code}", server.url)).await?;
        Ok(server)
    }

    pub fn peak_rss_mb(&self) -> f64 {
        peak_rss_mb(self.child.id())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for BareServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

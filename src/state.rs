//! What every handler shares.

use std::sync::Arc;

use actix_web::HttpRequest;
use sea_orm::DatabaseConnection;

use crate::configuration::Settings;
use crate::db::catalog::CatalogCache;
use crate::db::writer::SubmissionWriter;
use crate::guard::Guards;
use crate::guard::client_ip::{client_ip, subnet_of};
use crate::keys::{Keys, Purpose};
use crate::templates::{Lang, Templates};
use actix_web::http::header::{AcceptLanguage, Header as _};

pub struct AppState {
    pub settings: Settings,
    pub db: DatabaseConnection,
    pub catalog: CatalogCache,
    pub frozen: crate::db::period_cache::FrozenCache,
    /// Previews of unpublished periods for the office dashboard.
    pub previews: crate::preview::PreviewCache,
    pub writer: SubmissionWriter,
    pub guards: Guards,
    pub keys: Keys,
    pub templates: Arc<Templates>,
}

/// The cookie that carries the chosen language.
pub const LANG_COOKIE: &str = "pingyi_lang";

/// Opaque keys for the client's address and subnet: keyed hashes, so no raw
/// address is kept by the limiter, in Redis or anywhere else.
pub struct ClientKeys {
    pub address: String,
    pub subnet: String,
}

impl AppState {
    pub fn client_keys(&self, req: &HttpRequest) -> ClientKeys {
        match client_ip(req, &self.settings.trusted_proxies) {
            Some(ip) => ClientKeys {
                address: self.keys.digest(Purpose::ClientAddress, &ip.to_string()),
                subnet: self
                    .keys
                    .digest(Purpose::ClientAddress, &subnet_of(ip).to_string()),
            },
            // No peer address (a unix socket or a test harness): one shared bucket.
            None => ClientKeys {
                address: "unknown".into(),
                subnet: "unknown".into(),
            },
        }
    }

    /// The reader's language: the one they switched to (a cookie), else the
    /// first their browser asks for that is offered, else Chinese.
    pub fn lang(&self, req: &HttpRequest) -> Lang {
        req.cookie(LANG_COOKIE)
            .and_then(|c| Lang::parse(c.value()))
            .or_else(|| {
                AcceptLanguage::parse(req)
                    .ok()
                    .and_then(|accept| Lang::negotiate(&accept))
            })
            .unwrap_or(Lang::Zh)
    }
}

//! What every handler shares.

use std::sync::Arc;

use actix_web::{HttpMessage, HttpRequest};
use sea_orm::DatabaseConnection;

use crate::db::catalog::CatalogCache;
use crate::db::writer::SubmissionWriter;
use crate::domain::keys::Keys;
pub use crate::guard::ClientKeys;
use crate::guard::Guards;
use crate::guard::rate_limit::{RetryAfter, Scope};
use crate::setup::configuration::Settings;
use crate::web::client_addr::client_addr;
use crate::web::i18n::{Lang, Templates};
use actix_web::http::header::{AcceptLanguage, Header as _};

pub struct AppState {
    pub settings: Settings,
    pub db: DatabaseConnection,
    pub catalog: CatalogCache,
    pub frozen: crate::db::period_cache::FrozenCache,
    /// Previews of unpublished periods for the office dashboard.
    pub previews: crate::app::preview::PreviewCache,
    pub writer: SubmissionWriter,
    pub guards: Guards,
    pub keys: Keys,
    pub templates: Arc<Templates>,
    /// Questionnaire pages kept rendered.
    pub forms: crate::web::form_cache::FormCache,
}

/// The cookie that carries the chosen language.
pub const LANG_COOKIE: &str = "pingyi_lang";

impl AppState {
    /// The quota keys of the request's client (see [`ClientKeys`]): keyed
    /// hashes, so computed once per request and kept in its extensions (the
    /// view quota and the adaptive captcha both need them).
    pub fn client_keys(&self, req: &HttpRequest) -> ClientKeys {
        if let Some(keys) = req.extensions().get::<ClientKeys>() {
            return keys.clone();
        }
        let client = client_addr(req, &self.settings.trusted_proxies);
        let keys = ClientKeys::of(client, &self.keys);
        req.extensions_mut().insert(keys.clone());
        keys
    }

    /// Counts one request of `scope` against the quota of the request's
    /// client (its address or its network, as the scope says); a refusal
    /// carries the wait for `Retry-After`. The one call a handler needs to
    /// put itself under a quota.
    pub async fn charge(&self, req: &HttpRequest, scope: Scope) -> Result<(), RetryAfter> {
        self.guards.charge(scope, &self.client_keys(req)).await
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

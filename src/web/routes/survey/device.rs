//! The device a form is served to: the long-lived device cookie, the CSRF
//! token bound to it, and the signed form clock, also bound to it.

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures_util::future::LocalBoxFuture;

use crate::domain::keys::{Purpose, random_token};
use crate::guard::rate_limit::Scope;
use crate::web::error::PageError;
use crate::web::state::AppState;

/// The long-lived device cookie: a random id, signed. Only keyed hashes of
/// the id are ever stored.
pub const DEVICE_COOKIE: &str = "pingyi_device";

/// Put in a request's extensions once it has been counted against the
/// page-view quota, so minting a device for it does not count it twice.
#[derive(Clone, Copy, Debug)]
pub struct PageViewCharged;

/// The device id of a request, if it carries a valid device cookie.
pub fn device_id(state: &AppState, req: &HttpRequest) -> Option<String> {
    let cookie = req.cookie(DEVICE_COOKIE)?;
    state
        .keys
        .verify(Purpose::CookieSignature, cookie.value())
        .map(str::to_owned)
}

fn device_cookie(state: &AppState, id: &str) -> Cookie<'static> {
    Cookie::build(DEVICE_COOKIE, state.keys.sign(Purpose::CookieSignature, id))
        .path("/")
        .max_age(CookieDuration::days(400))
        .same_site(SameSite::Lax)
        .http_only(true)
        .secure(state.settings.secure_cookies)
        .finish()
}

/// The device of a request that serves a form: the one its cookie names, or
/// a new one with the cookie to set. A new device comes with a valid CSRF
/// token and form clock, so minting one is never free: it draws on the
/// client's page-view quota (once per response: a request the citizen
/// pages' middleware already counted is not counted again), and an
/// exhausted quota answers 429 with `Retry-After` and no cookie. This
/// extractor is the only way to a new device id.
pub struct Device {
    pub id: String,
    /// The cookie of a new device, for the handler to set on its response.
    pub new_cookie: Option<Cookie<'static>>,
}

impl FromRequest for Device {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Device, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| PageError::Internal(anyhow::anyhow!("No application state")))?;
            if let Some(id) = device_id(&state, &req) {
                return Ok(Device {
                    id,
                    new_cookie: None,
                });
            }
            let counted = req.extensions().get::<PageViewCharged>().is_some();
            if !counted {
                state.charge(&req, Scope::PageView).await.map_err(|retry| {
                    metrics::counter!("pingyi_rate_limited_total", "scope" => "view").increment(1);
                    PageError::TooManyRequests(retry)
                })?;
                req.extensions_mut().insert(PageViewCharged);
            }
            let id = random_token(16);
            let new_cookie = Some(device_cookie(&state, &id));
            Ok(Device { id, new_cookie })
        })
    }
}

/// The CSRF token is bound to the device: a form can only be posted back by
/// the browser it was served to.
pub fn csrf_token(state: &AppState, device: &str) -> String {
    state.keys.digest(Purpose::Csrf, device)
}

/// A signed clock reading, to measure how long the form was open: the
/// institution and the time are in the token; the signature also covers the
/// device, so a clock is good only with the device cookie it was served to
/// (a clock harvested once cannot be handed to a stream of fresh devices).
pub fn form_clock(state: &AppState, code: &str, device: &str) -> String {
    let now = chrono::Utc::now().timestamp_millis();
    state
        .keys
        .sign_bound(Purpose::FormClock, device, &format!("{code}:{now}"))
}

/// When (milliseconds since the epoch) a form clock was served, if it is
/// genuine, of this institution and served to this device.
pub fn form_clock_served(state: &AppState, clock: &str, code: &str, device: &str) -> Option<i64> {
    let value = state.keys.verify_bound(Purpose::FormClock, device, clock)?;
    let (clock_code, ms) = value.split_once(':')?;
    if clock_code != code {
        return None;
    }
    ms.parse().ok()
}

//! The HTTP face: actix-web wiring, the routes, the shared state, the
//! responses and their errors, i18n, client addresses and metrics. Nothing
//! depends on this layer; it maps the application's typed errors to pages and
//! JSON with `From`.

pub mod auth;
pub mod client_addr;
pub mod error;
pub mod form_cache;
pub mod i18n;
pub mod messages;
pub mod metrics;
pub mod names;
pub mod request_span;
pub mod respond;
pub mod routes;
pub mod startup;
pub mod state;

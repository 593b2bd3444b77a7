//! Pingyi (评议): public evaluation of public-service institutions.
//!
//! The folders are the layers (see `CONTRIBUTING.md`):
//!
//! | layer | where | depends on |
//! |---|---|---|
//! | faces | [`cli`], [`web`] | everything below; nothing depends on them |
//! | application | [`app`]: the use cases | store, guards, domain, method |
//! | guards | [`guard`]: rate limits, captcha, dedup | domain |
//! | store | [`db`]: every query | entities, domain |
//! | domain | [`domain`] (crate `pingyi-domain`) | nothing of ours |
//! | method | the `analysis` crate | domain |
//! | setup | [`setup`]: settings, logging, the polars thread | domain |

pub mod app;
pub mod cli;
pub mod db;
pub mod guard;
pub mod setup;
pub mod web;

pub use pingyi_domain as domain;

//! Pingyi (评议): public evaluation of public-service institutions.

pub mod auth;
pub mod cli;
pub mod cli_analysis;
pub mod cli_assessor;
pub mod cli_office;
pub mod configuration;
pub mod db;
pub use pingyi_parse::domain;
pub mod error;
pub mod frames;
pub mod guard;
pub mod integrity;
pub mod keys;
pub mod offload;
pub mod preview;
pub mod publish;
pub mod rectification;
pub mod routes;
pub mod scores;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod telemetry_metrics;
pub mod templates;
pub mod uploads;

//! Pingyi (评议): public evaluation of public-service institutions.

pub mod cli;
pub mod configuration;
pub mod db;
pub mod domain;
pub mod error;
pub mod guard;
pub mod keys;
pub mod routes;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod telemetry_metrics;
pub mod templates;

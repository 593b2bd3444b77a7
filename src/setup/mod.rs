//! Process set-up shared by both faces: the settings tree, logging, and the
//! thread that runs polars outside the async runtime.

pub mod configuration;
pub mod offload;
pub mod telemetry;

//! The satisfaction-indicator pipeline (the indicator method (`spec/indicators.md` of the shared contracts)): model and
//! input tables in, four indicator tables out.
//!
//! Stages are `LazyFrame -> LazyFrame` functions in [`stages`]; the indicators
//! themselves are named functions returning an `Expr` in [`indicators`].

mod answers;
pub mod columns;
mod error;
mod indicators;
mod input;
mod institution_stats;
mod integrity;
mod model;
mod output;
mod pipeline;
mod stages;
pub mod synth;
mod validate;

pub use error::{AnalysisError, InputError};
pub use input::Inputs;
pub use model::{GradeBand, IntegrityParams, Model, SourceWeights};
pub use output::{Format, Outputs, write_outputs, write_table};
pub use pipeline::run;

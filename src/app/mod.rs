//! The use cases, over `&impl ConnectionTrait`: publishing a period, the
//! office's preview, rectification and appeals, assessor uploads, demo
//! history, and reading published figures back out of a snapshot. No actix
//! types here: each returns a typed error that the faces map.

pub mod bulletin;
pub mod demo;
pub mod demo_history;
pub mod demo_integrity;
pub mod figures;
pub mod frames;
pub mod integrity;
pub mod preview;
pub mod publish;
pub mod rectification;
pub mod uploads;

//! Domain types: each one's constructor is the only way in, so a value that
//! exists is valid.

pub mod comment;
pub mod local_path;
pub mod period;
pub mod rating;
pub mod submission;

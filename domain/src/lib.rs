//! The domain: the types every layer shares, each built only through a
//! constructor that validates (a value that exists is valid), and the readers
//! of untrusted input (a citizen's form, uploaded files).
//!
//! No database, no web framework, no polars: the fuzz targets (`fuzz/`) build
//! this crate alone in a minute, and the analysis crate may depend on it.

pub mod code;
pub mod comment;
pub mod keys;
pub mod local_path;
pub mod office;
pub mod password;
pub mod period;
pub mod rating;
pub mod rectification;
pub mod submission;
pub mod upload;

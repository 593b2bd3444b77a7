//! The parsers that take untrusted input and nothing else: periods, ratings,
//! a citizen's form, and uploaded files. Kept out of the service crate (no
//! database, no polars) so the fuzz targets (`fuzz/`) build in a minute.

pub mod domain;
pub mod upload;

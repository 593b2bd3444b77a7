//! Synthetic input data (placeholder, filled in below).

//! Rating integrity in the service (`integrity.md`): what a submission keeps
//! for the checks ([`collect`]), the office's review of a period
//! ([`review`]), which responses stand behind a flag ([`evidence`]) and
//! voiding a selection of them ([`void`]). The measures themselves are computed by the
//! `analysis` crate, with the indicators.

pub mod collect;
pub mod evidence;
pub mod review;
pub mod void;

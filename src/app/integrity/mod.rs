//! Rating integrity in the service (`integrity.md`): what a submission keeps
//! for the checks ([`collect`]), which responses stand behind a flag
//! ([`evidence`]) and voiding a selection of them ([`void`]). The measures
//! themselves are computed by the `analysis` crate, with the indicators.

pub mod collect;

//! sea-orm entities, one module per table. Relations are left out on purpose:
//! queries join explicitly where they need to, which keeps each query's SQL
//! obvious at its call site.

pub mod answer;
pub mod category;
pub mod district;
pub mod institution;
pub mod questionnaire;
pub mod questionnaire_item;
pub mod response;
pub mod ticket;

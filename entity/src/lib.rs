//! sea-orm entities, one module per table. Relations are left out on purpose:
//! queries join explicitly where they need to, which keeps each query's SQL
//! obvious at its call site.

pub mod answer;
pub mod api_token;
pub mod appeal;
pub mod assessor_contract;
pub mod assessor_org;
pub mod assessor_token;
pub mod audit_log;
pub mod category;
pub mod dimension;
pub mod district;
pub mod institution;
pub mod model_version;
pub mod office_session;
pub mod office_user;
pub mod period_state;
pub mod questionnaire;
pub mod questionnaire_item;
pub mod rectification_task;
pub mod response;
pub mod snapshot;
pub mod snapshot_table;
pub mod ticket;
pub mod upload;

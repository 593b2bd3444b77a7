//! sea-orm entities, one module per table. Relations are left out on purpose:
//! queries join explicitly where they need to, which keeps each query's SQL
//! obvious at its call site.

pub mod answer;
pub mod assessor_contract;
pub mod assessor_org;
pub mod assessor_token;
pub mod period_state;
pub mod upload;
pub mod api_token;
pub mod appeal;
pub mod audit_log;
pub mod office_session;
pub mod office_user;
pub mod rectification_task;
pub mod snapshot;
pub mod snapshot_table;
pub mod category;
pub mod district;
pub mod institution;
pub mod model_version;
pub mod questionnaire;
pub mod questionnaire_item;
pub mod response;
pub mod ticket;

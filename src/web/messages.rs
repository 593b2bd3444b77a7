//! What the pages say when the application or the store refuses something:
//! each typed refusal becomes a message key (and its arguments) of the
//! Fluent catalogues, in the reader's language. The layers below never see a
//! message key.

use crate::app::integrity::void::VoidRefusal;
use crate::app::publish::PublishError;
use crate::app::rectification::Refusal;
use crate::db::users::NewUserError;
use crate::domain::password;
use crate::web::i18n::Message;
use crate::web::routes::office::error::OfficeError;

impl From<&Refusal> for Message {
    fn from(r: &Refusal) -> Message {
        match r {
            Refusal::TextTooLong { max } => Message::new("msg_text_too_long").arg("max", *max),
            Refusal::TextEmpty => Message::new("msg_text_empty"),
            Refusal::WrongStatus { status, expected } => Message::new("msg_task_wrong_status")
                .arg("status", status.as_str())
                .arg("expected", expected.as_str()),
            Refusal::AppealKind => Message::new("msg_appeal_kind"),
            Refusal::AppealReason { max } => Message::new("msg_appeal_reason").arg("max", *max),
            Refusal::AppealVoided => Message::new("msg_appeal_voided"),
            Refusal::AppealNoComment => Message::new("msg_appeal_no_comment"),
            Refusal::AppealNotPoor => Message::new("msg_appeal_not_poor"),
            Refusal::AppealTwice => Message::new("msg_appeal_twice"),
            Refusal::AppealDecided { status } => {
                Message::new("msg_appeal_decided").arg("status", status.as_str())
            }
        }
    }
}

impl From<PublishError> for OfficeError {
    fn from(e: PublishError) -> OfficeError {
        match e {
            PublishError::NothingToPublish(p) => OfficeError::Invalid(
                Message::new("msg_nothing_to_publish").arg("period", p.to_string()),
            ),
            PublishError::Invalid(m) => {
                OfficeError::Invalid(Message::new("msg_publish_invalid").arg("detail", m))
            }
            PublishError::Internal(e) => OfficeError::Internal(e),
        }
    }
}

impl From<&NewUserError> for Message {
    fn from(e: &NewUserError) -> Message {
        match e {
            NewUserError::BadName => Message::new("msg_user_name"),
            NewUserError::WeakPassword => {
                Message::new("msg_user_password").arg("min", password::MIN_LENGTH)
            }
            NewUserError::NeedsInstitution => Message::new("msg_user_needs_institution"),
            NewUserError::NotAnInstitutionRole => Message::new("msg_user_not_institution"),
            NewUserError::Taken(name) => Message::new("msg_user_taken").arg("name", name.as_str()),
            NewUserError::Internal(_) => Message::new("error_internal_text"),
        }
    }
}

impl From<VoidRefusal> for OfficeError {
    fn from(r: VoidRefusal) -> OfficeError {
        match r {
            VoidRefusal::NotAdmin => OfficeError::Forbidden,
            VoidRefusal::NothingSelected => OfficeError::invalid("msg_void_nothing_selected"),
            VoidRefusal::TooMany { max } => {
                OfficeError::Invalid(Message::new("msg_void_too_many").arg("max", max))
            }
            VoidRefusal::Reason { max } => {
                OfficeError::Invalid(Message::new("msg_void_reason").arg("max", max))
            }
            VoidRefusal::Published(period) => {
                OfficeError::Conflict(Message::new("msg_void_published").arg("period", period))
            }
            VoidRefusal::NotInPool => OfficeError::Conflict(Message::new("msg_void_not_in_pool")),
            VoidRefusal::Internal(e) => OfficeError::Internal(e),
        }
    }
}

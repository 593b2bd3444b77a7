//! Rectification tasks and appeals. Institution users see and answer their
//! own; administrators review; analysts read.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::json;

use super::error::OfficeError;
use super::{check_csrf, page, require_admin, see_other, today};
use crate::app::rectification::{self, Deadlines, Step, StepError};
use crate::domain::office::Session;
use crate::web::auth::Office;
use crate::web::i18n::Message;
use crate::web::state::AppState;

fn step_error(e: StepError) -> OfficeError {
    match e {
        StepError::Forbidden => OfficeError::Forbidden,
        StepError::Invalid(r) => OfficeError::Invalid(Message::from(&r)),
        StepError::Internal(e) => OfficeError::Internal(e),
    }
}

/// Whose tasks and appeals a user sees: all for the office, its own for an
/// institution user.
fn scope(session: &Session) -> Result<Option<i32>, OfficeError> {
    if session.user.is_staff() {
        Ok(None)
    } else {
        session
            .user
            .institution_id
            .map(Some)
            .ok_or(OfficeError::Forbidden)
    }
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    let tasks = rectification::tasks(&state.db, scope(&session)?, today(&state)).await?;
    let overdue = tasks.iter().filter(|t| t.overdue).count();
    page(
        &state,
        &req,
        &session,
        "office/rectification.html.tera",
        json!({ "tasks": tasks, "overdue": overdue }),
    )
}

pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    id: web::Path<i32>,
) -> Result<HttpResponse, OfficeError> {
    let task = rectification::task_for(&state.db, *id, &session.user, today(&state))
        .await?
        .ok_or(OfficeError::NotFound)?;
    let own = session.user.institution_id == Some(task.task.institution_id);
    page(
        &state,
        &req,
        &session,
        "office/task.html.tera",
        json!({ "task": task, "own": own }),
    )
}

#[derive(Deserialize)]
pub struct StepForm {
    csrf: String,
    step: Step,
    #[serde(default)]
    text: String,
}

pub async fn step(
    state: web::Data<AppState>,
    Office(session): Office,
    id: web::Path<i32>,
    form: web::Form<StepForm>,
) -> Result<HttpResponse, OfficeError> {
    check_csrf(&session, &form.csrf)?;
    let deadlines = Deadlines::from_settings(&state.settings);
    rectification::apply(
        &state.db,
        *id,
        &session.user,
        form.step,
        &form.text,
        &deadlines,
    )
    .await
    .map_err(step_error)?;
    Ok(see_other(&format!("/office/rectification/{id}")))
}

pub async fn appeals(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    let appeals = rectification::appeals(&state.db, scope(&session)?).await?;
    page(
        &state,
        &req,
        &session,
        "office/appeals.html.tera",
        json!({ "appeals": appeals }),
    )
}

#[derive(Deserialize)]
pub struct AppealForm {
    csrf: String,
    response_id: i64,
    kind: String,
    reason: String,
}

/// An institution user appeals one of its institution's poor ratings.
pub async fn file_appeal(
    state: web::Data<AppState>,
    Office(session): Office,
    form: web::Form<AppealForm>,
) -> Result<HttpResponse, OfficeError> {
    check_csrf(&session, &form.csrf)?;
    rectification::file_appeal(
        &state.db,
        &session.user,
        form.response_id,
        &form.kind,
        &form.reason,
    )
    .await
    .map_err(step_error)?;
    Ok(see_other("/office/appeals"))
}

#[derive(Deserialize)]
pub struct DecideForm {
    csrf: String,
    /// `uphold` or `reject`.
    decision: String,
    #[serde(default)]
    note: String,
}

pub async fn decide(
    state: web::Data<AppState>,
    Office(session): Office,
    id: web::Path<i32>,
    form: web::Form<DecideForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let uphold = match form.decision.as_str() {
        "uphold" => true,
        "reject" => false,
        _ => {
            return Err(OfficeError::invalid("msg_appeal_decision"));
        }
    };
    rectification::decide_appeal(&state.db, *id, &session.user, uphold, &form.note)
        .await
        .map_err(step_error)?;
    Ok(see_other("/office/appeals"))
}

//! Feedback → rectification → re-feedback → improvement.
//!
//! Publishing a period opens a task for each institution the pipeline flags
//! (with the reasons: the score, the dimensions below threshold). The
//! institution answers with a plan, then a completion report, each within a
//! number of working days; the office accepts or returns each. The next
//! published period closes the loop: the task records the change in score
//! and whether the institution is still flagged.
//!
//! Appeals: an institution may contest a poor rating that carries a comment
//! as mistaken or malicious; an upheld appeal voids the response (kept,
//! marked, left out of the next computation, counted as voided).

pub mod calendar;

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use entity::{appeal, rectification_task as task};
use sea_orm::{ConnectionTrait, TransactionTrait};
use serde::{Deserialize, Serialize};

use crate::app::figures::{DimensionRow, InstitutionRow};
use crate::db::audit;
use crate::db::rectification as store;
use crate::domain::office::User;
use crate::domain::period::Period;
pub use crate::domain::rectification::{AppealKind, AppealStatus, Step, TaskStatus};

/// Why an institution was flagged.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Reasons {
    /// The score is below `rectify_below`.
    pub score_below: bool,
    pub threshold: f64,
    /// Dimensions whose index is below `rectify_dimension_below`.
    pub dimensions: Vec<DimensionReason>,
    pub dimension_threshold: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DimensionReason {
    pub code: String,
    pub index: f64,
}

/// Rounds to 6 decimals, halves away from zero, as the spec compares.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// The reasons behind a flagged row.
pub fn reasons(row: &InstitutionRow, dims: &[DimensionRow], model: &analysis::Model) -> Reasons {
    Reasons {
        score_below: row
            .score
            .is_some_and(|s| round6(s) < round6(model.rectify_below)),
        threshold: model.rectify_below,
        dimensions: dims
            .iter()
            .filter(|d| d.institution_code == row.institution_code)
            .filter_map(|d| d.index.map(|i| (d, i)))
            .filter(|(_, i)| round6(*i) < round6(model.rectify_dimension_below))
            .map(|(d, i)| DimensionReason {
                code: d.dimension_code.clone(),
                index: i,
            })
            .collect(),
        dimension_threshold: model.rectify_dimension_below,
    }
}

/// How long institutions have to answer.
#[derive(Clone, Debug)]
pub struct Deadlines {
    pub working_days: u32,
    pub holidays: Vec<NaiveDate>,
    /// Today in local time.
    pub today: NaiveDate,
}

impl Deadlines {
    pub fn from_settings(settings: &crate::setup::configuration::Settings) -> Deadlines {
        Deadlines {
            working_days: settings.rectification_working_days,
            holidays: settings.holidays.clone(),
            today: settings.today(),
        }
    }

    pub fn next(&self) -> NaiveDate {
        calendar::add_working_days(self.today, self.working_days, &self.holidays)
    }
}

/// What publishing did to the tasks.
#[derive(Clone, Copy, Debug, Default, Serialize)]
pub struct PublishEffect {
    pub opened: usize,
    pub confirmed: usize,
    pub withdrawn: usize,
    pub followed_up: usize,
}

/// Opens, confirms or withdraws the tasks of `period` from its published
/// rows, and follows up the tasks of earlier periods. Run it inside the
/// publishing transaction.
pub async fn on_publish(
    db: &impl ConnectionTrait,
    period: Period,
    run_id: &str,
    rows: &[InstitutionRow],
    dims: &[DimensionRow],
    model: &analysis::Model,
    deadlines: &Deadlines,
) -> anyhow::Result<PublishEffect> {
    let ids = store::institution_ids(db).await?;
    let period_text = period.to_string();
    let existing = store::tasks_of_period(db, &period_text).await?;
    let mut effect = PublishEffect::default();
    let mut flagged = HashSet::new();
    for row in rows.iter().filter(|r| r.rectification) {
        let Some(&inst) = ids.get(&row.institution_code) else {
            continue;
        };
        flagged.insert(inst);
        let reasons = serde_json::to_string(&reasons(row, dims, model))
            .context("Failed to encode reasons")?;
        match existing.get(&inst) {
            Some(t) => {
                store::confirm_task(db, t, run_id, row.score, reasons, deadlines.next()).await?;
                effect.confirmed += 1;
            }
            None => {
                let new = store::NewTask {
                    period: &period_text,
                    institution_id: inst,
                    run_id,
                    score: row.score,
                    reasons,
                    deadline: deadlines.next(),
                };
                store::open_task(db, new).await?;
                effect.opened += 1;
            }
        }
    }
    // A republication that no longer flags an institution withdraws its task,
    // unless the institution has already answered it.
    for t in existing.values() {
        if !flagged.contains(&t.institution_id) && t.status == TaskStatus::Open.as_str() {
            store::set_task_status(db, t, TaskStatus::Withdrawn).await?;
            effect.withdrawn += 1;
        }
    }
    // Re-feedback: the first later published period closes the loop.
    let by_code: HashMap<i32, &InstitutionRow> = rows
        .iter()
        .filter_map(|r| ids.get(&r.institution_code).map(|&id| (id, r)))
        .collect();
    for t in store::tasks_to_follow_up(db, &period_text).await? {
        let Ok(task_period) = t.period.parse::<Period>() else {
            continue;
        };
        if task_period.granularity() != period.granularity() || task_period >= period {
            continue;
        }
        let row = by_code.get(&t.institution_id);
        let followup = store::FollowUp {
            period: &period_text,
            score: row.and_then(|r| r.score),
            still_flagged: row.map(|r| r.rectification),
        };
        store::follow_up(db, &t, followup).await?;
        effect.followed_up += 1;
    }
    Ok(effect)
}

/// A task with what the pages show beside it.
#[derive(Clone, Debug, Serialize)]
pub struct TaskView {
    #[serde(flatten)]
    pub task: task::Model,
    pub institution_code: String,
    pub institution_name: String,
    pub reasons_parsed: Reasons,
    pub overdue: bool,
    /// Whether the institution is the one to act now.
    pub awaiting_institution: bool,
}

/// Tasks, newest first; of one institution when given.
pub async fn tasks(
    db: &impl ConnectionTrait,
    institution_id: Option<i32>,
    today: NaiveDate,
) -> anyhow::Result<Vec<TaskView>> {
    let rows = store::tasks(db, institution_id).await?;
    let names = store::institution_names(db, institution_id).await?;
    Ok(rows.into_iter().map(|t| view(t, &names, today)).collect())
}

fn view(t: task::Model, names: &HashMap<i32, (String, String)>, today: NaiveDate) -> TaskView {
    let (code, name) = names.get(&t.institution_id).cloned().unwrap_or_default();
    let awaiting = t
        .status
        .parse::<TaskStatus>()
        .is_ok_and(TaskStatus::awaits_institution);
    TaskView {
        reasons_parsed: serde_json::from_str(&t.reasons).unwrap_or_default(),
        overdue: awaiting && today > t.deadline,
        awaiting_institution: awaiting,
        institution_code: code,
        institution_name: name,
        task: t,
    }
}

/// One task, if `user` may see it.
pub async fn task_for(
    db: &impl ConnectionTrait,
    id: i32,
    user: &User,
    today: NaiveDate,
) -> anyhow::Result<Option<TaskView>> {
    let Some(t) = store::task(db, id).await? else {
        return Ok(None);
    };
    if !user.may_see_institution(t.institution_id) {
        return Ok(None);
    }
    let names = store::institution_names(db, Some(t.institution_id)).await?;
    Ok(Some(view(t, &names, today)))
}

/// Why a step or an appeal was refused: each names what the user can fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    TextTooLong {
        max: usize,
    },
    TextEmpty,
    WrongStatus {
        status: String,
        expected: TaskStatus,
    },
    AppealKind,
    AppealReason {
        max: usize,
    },
    AppealVoided,
    AppealNoComment,
    AppealNotPoor,
    AppealTwice,
    AppealDecided {
        status: String,
    },
}

/// Why a step was refused.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("not allowed")]
    Forbidden,
    #[error("invalid: {0:?}")]
    Invalid(Refusal),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

/// Longest plan, report or note, in characters.
pub const MAX_TEXT: usize = 10_000;

/// Applies a step: institution users submit (their own institution's tasks),
/// administrators review. The review is audited.
pub async fn apply(
    db: &sea_orm::DatabaseConnection,
    id: i32,
    user: &User,
    step: Step,
    text: &str,
    deadlines: &Deadlines,
) -> Result<(), StepError> {
    let text = text.trim();
    if text.chars().count() > MAX_TEXT {
        return Err(StepError::Invalid(Refusal::TextTooLong { max: MAX_TEXT }));
    }
    let txn = db.begin().await.context("Failed to begin a transaction")?;
    let t = store::task(&txn, id).await?.ok_or(StepError::Forbidden)?;
    let submitting = step.is_submission();
    let allowed = if submitting {
        user.institution_id == Some(t.institution_id)
    } else {
        user.is_admin()
    };
    if !allowed {
        return Err(StepError::Forbidden);
    }
    let (from, to) = step.transition();
    if t.status != from.as_str() {
        return Err(StepError::Invalid(Refusal::WrongStatus {
            status: t.status.clone(),
            expected: from,
        }));
    }
    if submitting && text.is_empty() {
        return Err(StepError::Invalid(Refusal::TextEmpty));
    }
    let write = match step {
        Step::SubmitPlan => store::StepWrite::Plan(text),
        Step::SubmitReport => store::StepWrite::Report(text),
        _ => store::StepWrite::Review {
            note: (!text.is_empty()).then_some(text),
            by: &user.username,
        },
    };
    // An accepted plan starts the clock for the completion report.
    let deadline = (step == Step::AcceptPlan).then(|| deadlines.next());
    store::record_step(&txn, &t, to, write, deadline).await?;
    if !submitting {
        audit::record(
            &txn,
            &user.username,
            &format!("rectification.{step}"),
            &format!("task {id}"),
            text,
        )
        .await?;
    }
    txn.commit().await.context("Failed to commit a task step")?;
    Ok(())
}

/// A rating an institution may appeal: one of its own, not voided, with a
/// comment, and at least one item rated 1 or 2.
#[derive(Clone, Debug, Serialize)]
pub struct PoorRating {
    pub response_id: i64,
    pub period: String,
    pub source: String,
    pub submitted_at: chrono::DateTime<Utc>,
    pub comment: String,
    pub ratings: Vec<(String, Option<i16>)>,
    pub voided: bool,
    pub appeal_status: Option<String>,
}

/// Highest rating that counts as poor.
pub const POOR_AT_MOST: i16 = 2;

/// The latest commented responses of an institution (newest first), marked
/// with whether each is poor and any appeal.
pub async fn commented(
    db: &impl ConnectionTrait,
    institution_id: i32,
    limit: u64,
) -> anyhow::Result<Vec<PoorRating>> {
    Ok(store::commented(db, institution_id, limit)
        .await?
        .into_iter()
        .filter(|c| {
            c.response
                .comment
                .as_deref()
                .is_some_and(|c| !c.trim().is_empty())
        })
        .map(|c| PoorRating {
            ratings: c.ratings,
            appeal_status: c.appeal_status,
            response_id: c.response.id,
            period: c.response.period,
            source: c.response.source,
            submitted_at: c.response.submitted_at,
            comment: c.response.comment.unwrap_or_default(),
            voided: c.response.voided,
        })
        .collect())
}

impl PoorRating {
    pub fn is_poor(&self) -> bool {
        self.ratings
            .iter()
            .any(|(_, r)| r.is_some_and(|r| r <= POOR_AT_MOST))
    }
}

/// Files an appeal for the user's institution; returns its id.
pub async fn file_appeal(
    db: &impl ConnectionTrait,
    user: &User,
    response_id: i64,
    kind: &str,
    reason: &str,
) -> Result<i32, StepError> {
    let institution_id = user.institution_id.ok_or(StepError::Forbidden)?;
    let kind: AppealKind = kind
        .parse()
        .map_err(|_| StepError::Invalid(Refusal::AppealKind))?;
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_TEXT {
        return Err(StepError::Invalid(Refusal::AppealReason { max: MAX_TEXT }));
    }
    let r = store::response(db, response_id)
        .await?
        .filter(|r| r.institution_id == institution_id)
        .ok_or(StepError::Forbidden)?;
    if r.voided {
        return Err(StepError::Invalid(Refusal::AppealVoided));
    }
    if r.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(StepError::Invalid(Refusal::AppealNoComment));
    }
    if !store::has_rating_at_most(db, response_id, POOR_AT_MOST).await? {
        return Err(StepError::Invalid(Refusal::AppealNotPoor));
    }
    let new = store::NewAppeal {
        response_id,
        institution_id,
        kind,
        reason,
        filed_by: &user.username,
        at: Utc::now(),
    };
    store::file_appeal(db, new)
        .await?
        .ok_or(StepError::Invalid(Refusal::AppealTwice))
}

/// An appeal with its institution, for the office's list.
#[derive(Clone, Debug, Serialize)]
pub struct AppealView {
    #[serde(flatten)]
    pub appeal: appeal::Model,
    pub institution_code: String,
    pub comment: String,
    pub period: String,
}

/// Appeals, pending first then newest; of one institution when given.
pub async fn appeals(
    db: &impl ConnectionTrait,
    institution_id: Option<i32>,
) -> anyhow::Result<Vec<AppealView>> {
    let rows = store::appeals(db, institution_id).await?;
    let codes = store::institution_names(db, institution_id).await?;
    let ids: Vec<i64> = rows.iter().map(|a| a.response_id).collect();
    let responses = store::responses(db, ids).await?;
    let mut views: Vec<AppealView> = rows
        .into_iter()
        .map(|a| {
            let r = responses.get(&a.response_id);
            AppealView {
                institution_code: codes
                    .get(&a.institution_id)
                    .map(|(code, _)| code.clone())
                    .unwrap_or_default(),
                comment: r.and_then(|r| r.comment.clone()).unwrap_or_default(),
                period: r.map(|r| r.period.clone()).unwrap_or_default(),
                appeal: a,
            }
        })
        .collect();
    views.sort_by_key(|v| v.appeal.status != AppealStatus::Pending.as_str());
    Ok(views)
}

/// An administrator's decision on a pending appeal. Upholding voids the
/// response in the same transaction; both are audited.
pub async fn decide_appeal(
    db: &sea_orm::DatabaseConnection,
    id: i32,
    admin: &User,
    uphold: bool,
    note: &str,
) -> Result<(), StepError> {
    if !admin.is_admin() {
        return Err(StepError::Forbidden);
    }
    let txn = db.begin().await.context("Failed to begin a transaction")?;
    let a = store::appeal(&txn, id).await?.ok_or(StepError::Forbidden)?;
    if a.status != AppealStatus::Pending.as_str() {
        return Err(StepError::Invalid(Refusal::AppealDecided {
            status: a.status.clone(),
        }));
    }
    let note = note.trim();
    let (status, action) = if uphold {
        (AppealStatus::Upheld, "appeal.uphold")
    } else {
        (AppealStatus::Rejected, "appeal.reject")
    };
    store::decide_appeal(
        &txn,
        &a,
        status,
        &admin.username,
        (!note.is_empty()).then_some(note),
    )
    .await?;
    if uphold {
        // The reason shown beside the voided response, as for the voids of
        // the integrity review: which appeal, and the administrator's note.
        let reason = if note.is_empty() {
            format!("appeal {id} upheld")
        } else {
            format!("appeal {id} upheld: {note}")
        };
        store::void_response(&txn, a.response_id, &reason).await?;
    }
    audit::record(
        &txn,
        &admin.username,
        action,
        &format!("appeal {id} (response {})", a.response_id),
        note,
    )
    .await?;
    txn.commit()
        .await
        .context("Failed to commit an appeal decision")?;
    Ok(())
}

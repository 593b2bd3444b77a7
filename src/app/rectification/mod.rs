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

use std::collections::HashMap;

use anyhow::Context;
use chrono::{NaiveDate, Utc};
use entity::{answer, appeal, institution, rectification_task as task, response};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, SqlErr, TransactionTrait,
};
use serde::{Deserialize, Serialize};

use crate::app::figures::{DimensionRow, InstitutionRow};
use crate::db::audit;
use crate::domain::office::User;
use crate::domain::period::Period;
use crate::web::i18n::Message;

/// Task states.
pub mod status {
    pub const OPEN: &str = "open";
    pub const PLAN_SUBMITTED: &str = "plan_submitted";
    pub const PLAN_ACCEPTED: &str = "plan_accepted";
    pub const REPORT_SUBMITTED: &str = "report_submitted";
    pub const COMPLETED: &str = "completed";
    pub const WITHDRAWN: &str = "withdrawn";
}

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
        let offset = chrono::FixedOffset::east_opt(i32::from(settings.utc_offset_hours) * 3600)
            .unwrap_or_else(|| chrono::Offset::fix(&Utc));
        Deadlines {
            working_days: settings.rectification_working_days,
            holidays: settings.holidays.clone(),
            today: Utc::now().with_timezone(&offset).date_naive(),
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
    let ids: HashMap<String, i32> = institution::Entity::find()
        .all(db)
        .await
        .context("Failed to read institutions")?
        .into_iter()
        .map(|i| (i.code, i.id))
        .collect();
    let period_text = period.to_string();
    let existing: HashMap<i32, task::Model> = task::Entity::find()
        .filter(task::Column::Period.eq(&period_text))
        .all(db)
        .await
        .context("Failed to read the period's tasks")?
        .into_iter()
        .map(|t| (t.institution_id, t))
        .collect();
    let mut effect = PublishEffect::default();
    let mut flagged = std::collections::HashSet::new();
    for row in rows.iter().filter(|r| r.rectification) {
        let Some(&inst) = ids.get(&row.institution_code) else {
            continue;
        };
        flagged.insert(inst);
        let reasons = serde_json::to_string(&reasons(row, dims, model))
            .context("Failed to encode reasons")?;
        match existing.get(&inst) {
            Some(t) => {
                let mut active = t.clone().into_active_model();
                active.run_id = Set(run_id.to_owned());
                active.score = Set(row.score);
                active.reasons = Set(reasons);
                if t.status == status::WITHDRAWN {
                    active.status = Set(status::OPEN.into());
                    active.deadline = Set(deadlines.next());
                }
                active.update(db).await.context("Failed to update a task")?;
                effect.confirmed += 1;
            }
            None => {
                let new = task::ActiveModel {
                    period: Set(period_text.clone()),
                    institution_id: Set(inst),
                    run_id: Set(run_id.to_owned()),
                    score: Set(row.score),
                    reasons: Set(reasons),
                    status: Set(status::OPEN.into()),
                    deadline: Set(deadlines.next()),
                    created_at: Set(Utc::now()),
                    ..Default::default()
                };
                task::Entity::insert(new)
                    .exec_without_returning(db)
                    .await
                    .context("Failed to open a task")?;
                effect.opened += 1;
            }
        }
    }
    // A republication that no longer flags an institution withdraws its task,
    // unless the institution has already answered it.
    for t in existing.values() {
        if !flagged.contains(&t.institution_id) && t.status == status::OPEN {
            let mut active = t.clone().into_active_model();
            active.status = Set(status::WITHDRAWN.into());
            active
                .update(db)
                .await
                .context("Failed to withdraw a task")?;
            effect.withdrawn += 1;
        }
    }
    // Re-feedback: the first later published period closes the loop.
    let by_code: HashMap<i32, &InstitutionRow> = rows
        .iter()
        .filter_map(|r| ids.get(&r.institution_code).map(|&id| (id, r)))
        .collect();
    let earlier = task::Entity::find()
        .filter(task::Column::Status.ne(status::WITHDRAWN))
        .filter(
            task::Column::FollowupPeriod
                .is_null()
                .or(task::Column::FollowupPeriod.eq(&period_text)),
        )
        .all(db)
        .await
        .context("Failed to read the tasks to follow up")?;
    for t in earlier {
        let Ok(task_period) = t.period.parse::<Period>() else {
            continue;
        };
        if task_period.granularity() != period.granularity() || task_period >= period {
            continue;
        }
        let row = by_code.get(&t.institution_id);
        let score = row.and_then(|r| r.score);
        let mut active = t.clone().into_active_model();
        active.followup_period = Set(Some(period_text.clone()));
        active.followup_score = Set(score);
        active.score_change = Set(score.zip(t.score).map(|(now, before)| now - before));
        active.still_flagged = Set(row.map(|r| r.rectification));
        active
            .update(db)
            .await
            .context("Failed to follow up a task")?;
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

pub fn is_awaiting_institution(status_text: &str) -> bool {
    matches!(status_text, status::OPEN | status::PLAN_ACCEPTED)
}

/// Tasks, newest first; of one institution when given.
pub async fn tasks(
    db: &impl ConnectionTrait,
    institution_id: Option<i32>,
    today: NaiveDate,
) -> anyhow::Result<Vec<TaskView>> {
    let mut query = task::Entity::find()
        .order_by_desc(task::Column::Period)
        .order_by_asc(task::Column::Id);
    if let Some(id) = institution_id {
        query = query.filter(task::Column::InstitutionId.eq(id));
    }
    let rows = query.all(db).await.context("Failed to read tasks")?;
    let names: HashMap<i32, (String, String)> = institution::Entity::find()
        .all(db)
        .await
        .context("Failed to read institutions")?
        .into_iter()
        .map(|i| (i.id, (i.code, i.name_zh)))
        .collect();
    Ok(rows.into_iter().map(|t| view(t, &names, today)).collect())
}

fn view(t: task::Model, names: &HashMap<i32, (String, String)>, today: NaiveDate) -> TaskView {
    let (code, name) = names.get(&t.institution_id).cloned().unwrap_or_default();
    let awaiting = is_awaiting_institution(&t.status);
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
    let Some(t) = task::Entity::find_by_id(id)
        .one(db)
        .await
        .context("Failed to read a task")?
    else {
        return Ok(None);
    };
    if !user.may_see_institution(t.institution_id) {
        return Ok(None);
    }
    let names: HashMap<i32, (String, String)> = institution::Entity::find_by_id(t.institution_id)
        .one(db)
        .await
        .context("Failed to read an institution")?
        .into_iter()
        .map(|i| (i.id, (i.code, i.name_zh)))
        .collect();
    Ok(Some(view(t, &names, today)))
}

/// A step of a task's life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    SubmitPlan,
    AcceptPlan,
    ReturnPlan,
    SubmitReport,
    AcceptReport,
    ReturnReport,
}

/// Why a step was refused.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("not allowed")]
    Forbidden,
    #[error("invalid: {}", .0.key)]
    Invalid(Message),
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
        return Err(StepError::Invalid(
            Message::new("msg_text_too_long").arg("max", MAX_TEXT),
        ));
    }
    let txn = db.begin().await.context("Failed to begin a transaction")?;
    let t = task::Entity::find_by_id(id)
        .one(&txn)
        .await
        .context("Failed to read a task")?
        .ok_or(StepError::Forbidden)?;
    let submitting = matches!(step, Step::SubmitPlan | Step::SubmitReport);
    let allowed = if submitting {
        user.institution_id == Some(t.institution_id)
    } else {
        user.is_admin()
    };
    if !allowed {
        return Err(StepError::Forbidden);
    }
    let (from, to) = match step {
        Step::SubmitPlan => (status::OPEN, status::PLAN_SUBMITTED),
        Step::AcceptPlan => (status::PLAN_SUBMITTED, status::PLAN_ACCEPTED),
        Step::ReturnPlan => (status::PLAN_SUBMITTED, status::OPEN),
        Step::SubmitReport => (status::PLAN_ACCEPTED, status::REPORT_SUBMITTED),
        Step::AcceptReport => (status::REPORT_SUBMITTED, status::COMPLETED),
        Step::ReturnReport => (status::REPORT_SUBMITTED, status::PLAN_ACCEPTED),
    };
    if t.status != from {
        return Err(StepError::Invalid(
            Message::new("msg_task_wrong_status")
                .arg("status", t.status.as_str())
                .arg("expected", from),
        ));
    }
    if submitting && text.is_empty() {
        return Err(StepError::Invalid(Message::new("msg_text_empty")));
    }
    let now = Utc::now();
    let mut active = t.clone().into_active_model();
    active.status = Set(to.into());
    match step {
        Step::SubmitPlan => {
            active.plan = Set(Some(text.to_owned()));
            active.plan_at = Set(Some(now));
        }
        Step::SubmitReport => {
            active.report = Set(Some(text.to_owned()));
            active.report_at = Set(Some(now));
        }
        _ => {
            active.review_note = Set((!text.is_empty()).then(|| text.to_owned()));
            active.reviewed_by = Set(Some(user.username.clone()));
            active.reviewed_at = Set(Some(now));
        }
    }
    // An accepted plan starts the clock for the completion report.
    if step == Step::AcceptPlan {
        active.deadline = Set(deadlines.next());
    }
    active
        .update(&txn)
        .await
        .context("Failed to update a task")?;
    if !submitting {
        audit::record(
            &txn,
            &user.username,
            &format!("rectification.{}", step_name(step)),
            &format!("task {id}"),
            text,
        )
        .await?;
    }
    txn.commit().await.context("Failed to commit a task step")?;
    Ok(())
}

fn step_name(step: Step) -> &'static str {
    match step {
        Step::SubmitPlan => "submit_plan",
        Step::AcceptPlan => "accept_plan",
        Step::ReturnPlan => "return_plan",
        Step::SubmitReport => "submit_report",
        Step::AcceptReport => "accept_report",
        Step::ReturnReport => "return_report",
    }
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
    use sea_orm::QuerySelect;
    let responses = response::Entity::find()
        .filter(response::Column::InstitutionId.eq(institution_id))
        .filter(response::Column::Comment.is_not_null())
        .order_by_desc(response::Column::Id)
        .limit(limit)
        .all(db)
        .await
        .context("Failed to read comments")?;
    let ids: Vec<i64> = responses.iter().map(|r| r.id).collect();
    let mut answers: HashMap<i64, Vec<(String, Option<i16>)>> = HashMap::new();
    for a in answer::Entity::find()
        .filter(answer::Column::ResponseId.is_in(ids.clone()))
        .order_by_asc(answer::Column::ItemCode)
        .all(db)
        .await
        .context("Failed to read answers")?
    {
        answers
            .entry(a.response_id)
            .or_default()
            .push((a.item_code, a.rating));
    }
    let appeals: HashMap<i64, String> = appeal::Entity::find()
        .filter(appeal::Column::ResponseId.is_in(ids))
        .all(db)
        .await
        .context("Failed to read appeals")?
        .into_iter()
        .map(|a| (a.response_id, a.status))
        .collect();
    Ok(responses
        .into_iter()
        .filter(|r| r.comment.as_deref().is_some_and(|c| !c.trim().is_empty()))
        .map(|r| PoorRating {
            ratings: answers.remove(&r.id).unwrap_or_default(),
            appeal_status: appeals.get(&r.id).cloned(),
            response_id: r.id,
            period: r.period,
            source: r.source,
            submitted_at: r.submitted_at,
            comment: r.comment.unwrap_or_default(),
            voided: r.voided,
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
    if !matches!(kind, "mistaken" | "malicious") {
        return Err(StepError::Invalid(Message::new("msg_appeal_kind")));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > MAX_TEXT {
        return Err(StepError::Invalid(
            Message::new("msg_appeal_reason").arg("max", MAX_TEXT),
        ));
    }
    let r = response::Entity::find_by_id(response_id)
        .one(db)
        .await
        .context("Failed to read a response")?
        .filter(|r| r.institution_id == institution_id)
        .ok_or(StepError::Forbidden)?;
    if r.voided {
        return Err(StepError::Invalid(Message::new("msg_appeal_voided")));
    }
    if r.comment.as_deref().is_none_or(|c| c.trim().is_empty()) {
        return Err(StepError::Invalid(Message::new("msg_appeal_no_comment")));
    }
    let poor = answer::Entity::find()
        .filter(answer::Column::ResponseId.eq(response_id))
        .filter(answer::Column::Rating.lte(POOR_AT_MOST))
        .one(db)
        .await
        .context("Failed to read answers")?
        .is_some();
    if !poor {
        return Err(StepError::Invalid(Message::new("msg_appeal_not_poor")));
    }
    let row = appeal::ActiveModel {
        response_id: Set(response_id),
        institution_id: Set(institution_id),
        kind: Set(kind.to_owned()),
        reason: Set(reason.to_owned()),
        status: Set("pending".into()),
        filed_by: Set(user.username.clone()),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    match appeal::Entity::insert(row).exec(db).await {
        Ok(r) => Ok(r.last_insert_id),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(StepError::Invalid(Message::new("msg_appeal_twice")))
        }
        Err(e) => Err(StepError::Internal(
            anyhow::Error::new(e).context("Failed to store an appeal"),
        )),
    }
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
    let mut query = appeal::Entity::find().order_by_desc(appeal::Column::Id);
    if let Some(id) = institution_id {
        query = query.filter(appeal::Column::InstitutionId.eq(id));
    }
    let rows = query.all(db).await.context("Failed to read appeals")?;
    let codes: HashMap<i32, String> = institution::Entity::find()
        .all(db)
        .await
        .context("Failed to read institutions")?
        .into_iter()
        .map(|i| (i.id, i.code))
        .collect();
    let ids: Vec<i64> = rows.iter().map(|a| a.response_id).collect();
    let responses: HashMap<i64, response::Model> = response::Entity::find()
        .filter(response::Column::Id.is_in(ids))
        .all(db)
        .await
        .context("Failed to read responses")?
        .into_iter()
        .map(|r| (r.id, r))
        .collect();
    let mut views: Vec<AppealView> = rows
        .into_iter()
        .map(|a| {
            let r = responses.get(&a.response_id);
            AppealView {
                institution_code: codes.get(&a.institution_id).cloned().unwrap_or_default(),
                comment: r.and_then(|r| r.comment.clone()).unwrap_or_default(),
                period: r.map(|r| r.period.clone()).unwrap_or_default(),
                appeal: a,
            }
        })
        .collect();
    views.sort_by_key(|v| v.appeal.status != "pending");
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
    let a = appeal::Entity::find_by_id(id)
        .one(&txn)
        .await
        .context("Failed to read an appeal")?
        .ok_or(StepError::Forbidden)?;
    if a.status != "pending" {
        return Err(StepError::Invalid(
            Message::new("msg_appeal_decided").arg("status", a.status.as_str()),
        ));
    }
    let mut active = a.clone().into_active_model();
    active.status = Set(if uphold { "upheld" } else { "rejected" }.into());
    active.decided_by = Set(Some(admin.username.clone()));
    active.decided_at = Set(Some(Utc::now()));
    active.decision_note = Set((!note.trim().is_empty()).then(|| note.trim().to_owned()));
    active
        .update(&txn)
        .await
        .context("Failed to decide an appeal")?;
    if uphold {
        response::Entity::update_many()
            .col_expr(response::Column::Voided, Expr::value(true))
            .filter(response::Column::Id.eq(a.response_id))
            .exec(&txn)
            .await
            .context("Failed to void a response")?;
    }
    audit::record(
        &txn,
        &admin.username,
        if uphold {
            "appeal.uphold"
        } else {
            "appeal.reject"
        },
        &format!("appeal {id} (response {})", a.response_id),
        note.trim(),
    )
    .await?;
    txn.commit()
        .await
        .context("Failed to commit an appeal decision")?;
    Ok(())
}

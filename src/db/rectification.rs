//! The store of rectification tasks and appeals. The rules (which step is
//! allowed, what an appeal needs) live in `app::rectification`; this module
//! only reads and writes rows.

use std::collections::HashMap;

use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};
use entity::{answer, appeal, institution, rectification_task as task, response};
use sea_orm::sea_query::{Expr, ExprTrait};
use sea_orm::{
    ActiveModelTrait, ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, SqlErr,
};

use crate::domain::rectification::{AppealKind, AppealStatus, TaskStatus};

/// Institution ids by code.
pub async fn institution_ids(db: &impl ConnectionTrait) -> anyhow::Result<HashMap<String, i32>> {
    Ok(institution::Entity::find()
        .all(db)
        .await
        .context("Failed to read institutions")?
        .into_iter()
        .map(|i| (i.code, i.id))
        .collect())
}

/// (code, Chinese name) by institution id; of one institution when given.
pub async fn institution_names(
    db: &impl ConnectionTrait,
    only: Option<i32>,
) -> anyhow::Result<HashMap<i32, (String, String)>> {
    let mut query = institution::Entity::find();
    if let Some(id) = only {
        query = query.filter(institution::Column::Id.eq(id));
    }
    Ok(query
        .all(db)
        .await
        .context("Failed to read institutions")?
        .into_iter()
        .map(|i| (i.id, (i.code, i.name_zh)))
        .collect())
}

/// The tasks of one period, by institution id.
pub async fn tasks_of_period(
    db: &impl ConnectionTrait,
    period: &str,
) -> anyhow::Result<HashMap<i32, task::Model>> {
    Ok(task::Entity::find()
        .filter(task::Column::Period.eq(period))
        .all(db)
        .await
        .context("Failed to read the period's tasks")?
        .into_iter()
        .map(|t| (t.institution_id, t))
        .collect())
}

/// A task to open.
pub struct NewTask<'a> {
    pub period: &'a str,
    pub institution_id: i32,
    pub run_id: &'a str,
    pub score: Option<f64>,
    pub reasons: String,
    pub deadline: NaiveDate,
}

pub async fn open_task(db: &impl ConnectionTrait, new: NewTask<'_>) -> anyhow::Result<()> {
    let row = task::ActiveModel {
        period: Set(new.period.to_owned()),
        institution_id: Set(new.institution_id),
        run_id: Set(new.run_id.to_owned()),
        score: Set(new.score),
        reasons: Set(new.reasons),
        status: Set(TaskStatus::Open.as_str().into()),
        deadline: Set(new.deadline),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    task::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .context("Failed to open a task")?;
    Ok(())
}

/// A republication's new figures for an existing task; a withdrawn task
/// reopens with a new deadline.
pub async fn confirm_task(
    db: &impl ConnectionTrait,
    t: &task::Model,
    run_id: &str,
    score: Option<f64>,
    reasons: String,
    reopen_deadline: NaiveDate,
) -> anyhow::Result<()> {
    let mut active = t.clone().into_active_model();
    active.run_id = Set(run_id.to_owned());
    active.score = Set(score);
    active.reasons = Set(reasons);
    if t.status == TaskStatus::Withdrawn.as_str() {
        active.status = Set(TaskStatus::Open.as_str().into());
        active.deadline = Set(reopen_deadline);
    }
    active.update(db).await.context("Failed to update a task")?;
    Ok(())
}

pub async fn set_task_status(
    db: &impl ConnectionTrait,
    t: &task::Model,
    status: TaskStatus,
) -> anyhow::Result<()> {
    let mut active = t.clone().into_active_model();
    active.status = Set(status.as_str().into());
    active
        .update(db)
        .await
        .context("Failed to change a task's status")?;
    Ok(())
}

/// Tasks not withdrawn whose loop is open or was closed by `period`.
pub async fn tasks_to_follow_up(
    db: &impl ConnectionTrait,
    period: &str,
) -> anyhow::Result<Vec<task::Model>> {
    task::Entity::find()
        .filter(task::Column::Status.ne(TaskStatus::Withdrawn.as_str()))
        .filter(
            task::Column::FollowupPeriod
                .is_null()
                .or(task::Column::FollowupPeriod.eq(period)),
        )
        .all(db)
        .await
        .context("Failed to read the tasks to follow up")
}

/// What a later period says of a task's institution.
pub struct FollowUp<'a> {
    pub period: &'a str,
    pub score: Option<f64>,
    pub still_flagged: Option<bool>,
}

pub async fn follow_up(
    db: &impl ConnectionTrait,
    t: &task::Model,
    f: FollowUp<'_>,
) -> anyhow::Result<()> {
    let mut active = t.clone().into_active_model();
    active.followup_period = Set(Some(f.period.to_owned()));
    active.followup_score = Set(f.score);
    active.score_change = Set(f.score.zip(t.score).map(|(now, before)| now - before));
    active.still_flagged = Set(f.still_flagged);
    active
        .update(db)
        .await
        .context("Failed to follow up a task")?;
    Ok(())
}

/// Tasks, newest period first; of one institution when given.
pub async fn tasks(
    db: &impl ConnectionTrait,
    institution_id: Option<i32>,
) -> anyhow::Result<Vec<task::Model>> {
    let mut query = task::Entity::find()
        .order_by_desc(task::Column::Period)
        .order_by_asc(task::Column::Id);
    if let Some(id) = institution_id {
        query = query.filter(task::Column::InstitutionId.eq(id));
    }
    query.all(db).await.context("Failed to read tasks")
}

pub async fn task(db: &impl ConnectionTrait, id: i32) -> anyhow::Result<Option<task::Model>> {
    task::Entity::find_by_id(id)
        .one(db)
        .await
        .context("Failed to read a task")
}

/// What a step writes.
pub enum StepWrite<'a> {
    Plan(&'a str),
    Report(&'a str),
    Review { note: Option<&'a str>, by: &'a str },
}

pub async fn record_step(
    db: &impl ConnectionTrait,
    t: &task::Model,
    to: TaskStatus,
    write: StepWrite<'_>,
    new_deadline: Option<NaiveDate>,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let mut active = t.clone().into_active_model();
    active.status = Set(to.as_str().into());
    match write {
        StepWrite::Plan(text) => {
            active.plan = Set(Some(text.to_owned()));
            active.plan_at = Set(Some(now));
        }
        StepWrite::Report(text) => {
            active.report = Set(Some(text.to_owned()));
            active.report_at = Set(Some(now));
        }
        StepWrite::Review { note, by } => {
            active.review_note = Set(note.map(str::to_owned));
            active.reviewed_by = Set(Some(by.to_owned()));
            active.reviewed_at = Set(Some(now));
        }
    }
    if let Some(deadline) = new_deadline {
        active.deadline = Set(deadline);
    }
    active.update(db).await.context("Failed to update a task")?;
    Ok(())
}

/// A commented response with its ratings (by item code) and any appeal.
pub struct Commented {
    pub response: response::Model,
    pub ratings: Vec<(String, Option<i16>)>,
    pub appeal_status: Option<String>,
}

/// The latest responses of an institution that carry a comment, newest first.
pub async fn commented(
    db: &impl ConnectionTrait,
    institution_id: i32,
    limit: u64,
) -> anyhow::Result<Vec<Commented>> {
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
        .map(|r| Commented {
            ratings: answers.remove(&r.id).unwrap_or_default(),
            appeal_status: appeals.get(&r.id).cloned(),
            response: r,
        })
        .collect())
}

pub async fn response(
    db: &impl ConnectionTrait,
    id: i64,
) -> anyhow::Result<Option<response::Model>> {
    response::Entity::find_by_id(id)
        .one(db)
        .await
        .context("Failed to read a response")
}

/// Whether any item of the response is rated `at_most` or lower.
pub async fn has_rating_at_most(
    db: &impl ConnectionTrait,
    response_id: i64,
    at_most: i16,
) -> anyhow::Result<bool> {
    Ok(answer::Entity::find()
        .filter(answer::Column::ResponseId.eq(response_id))
        .filter(answer::Column::Rating.lte(at_most))
        .one(db)
        .await
        .context("Failed to read answers")?
        .is_some())
}

/// An appeal to file.
pub struct NewAppeal<'a> {
    pub response_id: i64,
    pub institution_id: i32,
    pub kind: AppealKind,
    pub reason: &'a str,
    pub filed_by: &'a str,
    pub at: DateTime<Utc>,
}

/// Stores an appeal; `Ok(None)` when the response already has one.
pub async fn file_appeal(
    db: &impl ConnectionTrait,
    new: NewAppeal<'_>,
) -> anyhow::Result<Option<i32>> {
    let row = appeal::ActiveModel {
        response_id: Set(new.response_id),
        institution_id: Set(new.institution_id),
        kind: Set(new.kind.as_str().to_owned()),
        reason: Set(new.reason.to_owned()),
        status: Set(AppealStatus::Pending.as_str().into()),
        filed_by: Set(new.filed_by.to_owned()),
        created_at: Set(new.at),
        ..Default::default()
    };
    match appeal::Entity::insert(row).exec(db).await {
        Ok(r) => Ok(Some(r.last_insert_id)),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => Ok(None),
        Err(e) => Err(anyhow::Error::new(e).context("Failed to store an appeal")),
    }
}

/// Appeals, newest first; of one institution when given.
pub async fn appeals(
    db: &impl ConnectionTrait,
    institution_id: Option<i32>,
) -> anyhow::Result<Vec<appeal::Model>> {
    let mut query = appeal::Entity::find().order_by_desc(appeal::Column::Id);
    if let Some(id) = institution_id {
        query = query.filter(appeal::Column::InstitutionId.eq(id));
    }
    query.all(db).await.context("Failed to read appeals")
}

/// Responses by id.
pub async fn responses(
    db: &impl ConnectionTrait,
    ids: Vec<i64>,
) -> anyhow::Result<HashMap<i64, response::Model>> {
    Ok(response::Entity::find()
        .filter(response::Column::Id.is_in(ids))
        .all(db)
        .await
        .context("Failed to read responses")?
        .into_iter()
        .map(|r| (r.id, r))
        .collect())
}

pub async fn appeal(db: &impl ConnectionTrait, id: i32) -> anyhow::Result<Option<appeal::Model>> {
    appeal::Entity::find_by_id(id)
        .one(db)
        .await
        .context("Failed to read an appeal")
}

pub async fn decide_appeal(
    db: &impl ConnectionTrait,
    a: &appeal::Model,
    status: AppealStatus,
    by: &str,
    note: Option<&str>,
) -> anyhow::Result<()> {
    let mut active = a.clone().into_active_model();
    active.status = Set(status.as_str().into());
    active.decided_by = Set(Some(by.to_owned()));
    active.decided_at = Set(Some(Utc::now()));
    active.decision_note = Set(note.map(str::to_owned));
    active
        .update(db)
        .await
        .context("Failed to decide an appeal")?;
    Ok(())
}

/// Marks a response voided, with the reason the office reads beside it:
/// kept, but left out of every computation.
pub async fn void_response(db: &impl ConnectionTrait, id: i64, reason: &str) -> anyhow::Result<()> {
    response::Entity::update_many()
        .col_expr(response::Column::Voided, Expr::value(true))
        .col_expr(response::Column::VoidReason, Expr::value(reason))
        .filter(response::Column::Id.eq(id))
        .exec(db)
        .await
        .context("Failed to void a response")?;
    Ok(())
}

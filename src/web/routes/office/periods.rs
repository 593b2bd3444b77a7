//! Periods: their state, their snapshots, publishing and reopening.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::OfficeError;
use super::{check_csrf, current_period, page, require_admin, require_staff, see_other};
use crate::app::publish;
use crate::db::{periods, snapshots};
use crate::domain::period::Period;
use crate::web::auth::Office;
use crate::web::state::AppState;

#[derive(Serialize)]
struct PeriodRow {
    period: String,
    frozen: bool,
    snapshots: Vec<entity::snapshot::Model>,
}

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let all = snapshots::list(&state.db).await?;
    let frozen = periods::frozen_periods(&state.db).await?;
    let mut names: Vec<String> = all
        .iter()
        .map(|s| s.period.clone())
        .chain(frozen.iter().cloned())
        .collect();
    let current = current_period(&state);
    names.push(current.to_string());
    names.push(current.previous().to_string());
    names.sort();
    names.dedup();
    names.reverse();
    let rows: Vec<PeriodRow> = names
        .into_iter()
        .map(|p| PeriodRow {
            frozen: frozen.contains(&p),
            snapshots: all.iter().filter(|s| s.period == p).cloned().collect(),
            period: p,
        })
        .collect();
    page(
        &state,
        &req,
        &session,
        "office/periods.html.tera",
        json!({ "periods": rows }),
    )
}

#[derive(Deserialize)]
pub struct PublishForm {
    csrf: String,
}

pub async fn publish(
    state: web::Data<AppState>,
    Office(session): Office,
    period: web::Path<String>,
    form: web::Form<PublishForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let period: Period = period.parse().map_err(OfficeError::from)?;
    let published =
        publish::publish(&state.db, &state.settings, period, &session.user.username).await;
    state.frozen.invalidate();
    published?;
    Ok(see_other(&format!("/office/dashboard?period={period}")))
}

#[derive(Deserialize)]
pub struct ReopenForm {
    csrf: String,
    reason: String,
}

pub async fn reopen(
    state: web::Data<AppState>,
    Office(session): Office,
    period: web::Path<String>,
    form: web::Form<ReopenForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let period: Period = period.parse().map_err(OfficeError::from)?;
    if form.reason.trim().is_empty() {
        return Err(OfficeError::invalid("msg_reopen_reason"));
    }
    publish::reopen(&state.db, period, &session.user.username, &form.reason).await?;
    state.frozen.invalidate();
    Ok(see_other("/office/periods"))
}

//! Institutions: the list with management (add or change one, import a
//! CSV, add districts and categories), and each institution's page: its
//! score with the confidence interval across periods, the dimension
//! profile, the latest comments and the rectification history.

use actix_multipart::Multipart;
use actix_web::{HttpRequest, HttpResponse, web};
use analysis::columns::*;
use anyhow::Context;
use entity::{category, dimension, district, institution};
use futures_util::StreamExt as _;
use sea_orm::{ActiveValue::Set, ConnectionTrait, EntityTrait, TransactionTrait};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::error::OfficeError;
use super::{charts, check_csrf, fmt1, page, require_admin, require_staff, see_other, today};
use crate::app::figures;
use crate::app::rectification;
use crate::db::{audit, catalog, snapshots};
use crate::domain::code::Code;
use crate::web::auth::Office;
use crate::web::i18n::Message;
use crate::web::names::Names;
use crate::web::state::AppState;

/// Periods shown on an institution's page.
const PERIODS_SHOWN: usize = 12;

pub async fn list(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let catalog = state.catalog.get();
    let names = Names::new(&catalog, state.lang(&req));
    let rows: Vec<serde_json::Value> = catalog
        .institutions
        .iter()
        .map(|i| {
            json!({
                "code": i.code, "name_zh": i.name_zh, "name_en": i.name_en, "address": i.address,
                "category": catalog.categories[i.category].code, "category_name": names.category(&catalog.categories[i.category].code),
                "district": catalog.districts[i.district].code, "district_name": names.district(&catalog.districts[i.district].code),
            })
        })
        .collect();
    page(
        &state,
        &req,
        &session,
        "office/institutions.html.tera",
        json!({ "institutions": rows, "categories": catalog.categories, "districts": catalog.districts, "dimensions": catalog.dimensions }),
    )
}

/// One institution, as a form or a CSV row gives it.
#[derive(Clone, Debug, Deserialize)]
pub struct InstitutionInput {
    code: String,
    name_zh: String,
    name_en: String,
    category: String,
    district: String,
    #[serde(default)]
    address: String,
}

/// Checks one row against the catalog; the message names the field.
fn resolve(state: &AppState, row: &InstitutionInput) -> Result<institution::ActiveModel, String> {
    let catalog = state.catalog.get();
    let code = Code::parse(row.code.trim()).map_err(|e| format!("institution code {e}"))?;
    if row.name_zh.trim().is_empty() {
        return Err(format!("{code}: name_zh is empty"));
    }
    let c = catalog
        .category_index(row.category.trim())
        .ok_or_else(|| format!("{code}: no category '{}'", row.category))?;
    let d = catalog
        .district_index(row.district.trim())
        .ok_or_else(|| format!("{code}: no district '{}'", row.district))?;
    Ok(institution::ActiveModel {
        code: Set(code.into_string()),
        name_zh: Set(row.name_zh.trim().to_owned()),
        name_en: Set(row.name_en.trim().to_owned()),
        category_id: Set(catalog.categories[c].id),
        district_id: Set(catalog.districts[d].id),
        address: Set(row.address.trim().to_owned()),
        active: Set(true),
        ..Default::default()
    })
}

/// Inserts or updates institutions by code, all or none.
async fn upsert(
    state: &AppState,
    rows: Vec<institution::ActiveModel>,
    actor: &str,
    what: &str,
) -> Result<(), OfficeError> {
    let txn = state.db.begin().await.context("Failed to begin")?;
    let n = rows.len();
    catalog::upsert_institutions(&txn, rows).await?;
    audit::record(&txn, actor, what, "institutions", &format!("{n} row(s)")).await?;
    txn.commit().await.context("Failed to commit")?;
    state.catalog.reload(&state.db).await?;
    Ok(())
}

#[derive(Deserialize)]
pub struct SaveForm {
    csrf: String,
    #[serde(flatten)]
    row: InstitutionInput,
}

pub async fn save(
    state: web::Data<AppState>,
    Office(session): Office,
    form: web::Form<SaveForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let row = resolve(&state, &form.row).map_err(|detail| {
        OfficeError::Invalid(Message::new("msg_institution_invalid").arg("detail", detail))
    })?;
    upsert(
        &state,
        vec![row],
        &session.user.username,
        "institution.save",
    )
    .await?;
    Ok(see_other("/office/institutions"))
}

/// Largest institution list accepted, file or pasted (60,000 rows of 100 bytes).
const IMPORT_MAX: usize = 6 << 20;

/// The import form: a CSV file, or CSV text pasted instead.
#[derive(Default)]
struct ImportForm {
    csrf: String,
    pasted: String,
    file: Vec<u8>,
}

/// Reads the multipart import form, refusing any field over [`IMPORT_MAX`].
async fn read_import(mut multipart: Multipart) -> Result<ImportForm, OfficeError> {
    let mut form = ImportForm::default();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| OfficeError::invalid("msg_import_interrupted"))?;
        let name = field.name().unwrap_or_default().to_owned();
        let mut value = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| OfficeError::invalid("msg_import_interrupted"))?;
            if value.len() + chunk.len() > IMPORT_MAX {
                return Err(OfficeError::Invalid(
                    Message::new("msg_import_too_large").arg("max", IMPORT_MAX >> 20),
                ));
            }
            value.extend_from_slice(&chunk);
        }
        match name.as_str() {
            "csrf" => form.csrf = String::from_utf8_lossy(&value).into_owned(),
            "csv" => form.pasted = String::from_utf8_lossy(&value).into_owned(),
            "file" => form.file = value,
            _ => {}
        }
    }
    Ok(form)
}

/// Parses an import: a header `code,name_zh,name_en,category,district[,address]`
/// and one row per institution. Every row is checked before any is stored.
pub fn parse_import(state: &AppState, text: &str) -> Result<Vec<institution::ActiveModel>, String> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, record) in reader.deserialize::<InstitutionInput>().enumerate() {
        let line = i + 2;
        match record {
            Ok(r) => match resolve(state, &r) {
                Ok(row) => rows.push(row),
                Err(m) => problems.push(format!("line {line}: {m}")),
            },
            Err(e) => problems.push(format!("line {line}: {e}")),
        }
    }
    if rows.is_empty() && problems.is_empty() {
        problems.push("the file has no rows".into());
    }
    if problems.is_empty() {
        Ok(rows)
    } else {
        Err(problems.join("; "))
    }
}

/// `POST /office/institutions/import`: a CSV file (or pasted text) of
/// institutions, all stored or none.
pub async fn import(
    state: web::Data<AppState>,
    Office(session): Office,
    multipart: Multipart,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    let form = read_import(multipart).await?;
    check_csrf(&session, &form.csrf)?;
    let text = if form.file.is_empty() {
        form.pasted
    } else {
        pingyi_domain::upload::read::decode_text(&form.file)
            .map_err(|_| OfficeError::invalid("msg_import_encoding"))?
    };
    let rows = parse_import(&state, &text).map_err(|detail| {
        OfficeError::Invalid(Message::new("msg_import_invalid").arg("detail", detail))
    })?;
    upsert(&state, rows, &session.user.username, "institution.import").await?;
    Ok(see_other("/office/institutions"))
}

#[derive(Deserialize)]
pub struct GroupForm {
    csrf: String,
    /// `district`, `category` or `dimension`.
    kind: String,
    code: String,
    name_zh: String,
    name_en: String,
}

/// Adds or renames a district, a category or a dimension.
pub async fn save_group(
    state: web::Data<AppState>,
    Office(session): Office,
    form: web::Form<GroupForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let Ok(code) = Code::parse(form.code.trim()) else {
        return Err(OfficeError::invalid("msg_group_fields"));
    };
    if form.name_zh.trim().is_empty() {
        return Err(OfficeError::invalid("msg_group_fields"));
    }
    let (name_zh, name_en) = (
        form.name_zh.trim().to_owned(),
        form.name_en.trim().to_owned(),
    );
    let txn = state.db.begin().await.context("Failed to begin")?;
    match form.kind.as_str() {
        "district" => {
            upsert_named::<district::Entity, _>(
                &txn,
                district::ActiveModel {
                    code: Set(code.to_string()),
                    name_zh: Set(name_zh),
                    name_en: Set(name_en),
                    ..Default::default()
                },
                district::Column::Code,
                [district::Column::NameZh, district::Column::NameEn],
            )
            .await?
        }
        "category" => {
            upsert_named::<category::Entity, _>(
                &txn,
                category::ActiveModel {
                    code: Set(code.to_string()),
                    name_zh: Set(name_zh),
                    name_en: Set(name_en),
                    ..Default::default()
                },
                category::Column::Code,
                [category::Column::NameZh, category::Column::NameEn],
            )
            .await?
        }
        "dimension" => {
            upsert_named::<dimension::Entity, _>(
                &txn,
                dimension::ActiveModel {
                    code: Set(code.to_string()),
                    name_zh: Set(name_zh),
                    name_en: Set(name_en),
                    ..Default::default()
                },
                dimension::Column::Code,
                [dimension::Column::NameZh, dimension::Column::NameEn],
            )
            .await?
        }
        _ => return Err(OfficeError::invalid("msg_group_kind")),
    }
    audit::record(
        &txn,
        &session.user.username,
        &format!("{}.save", form.kind),
        &code,
        &form.name_zh,
    )
    .await?;
    txn.commit().await.context("Failed to commit")?;
    state.catalog.reload(&state.db).await?;
    Ok(see_other("/office/institutions"))
}

async fn upsert_named<E, A>(
    db: &impl ConnectionTrait,
    row: A,
    key: E::Column,
    update: [E::Column; 2],
) -> anyhow::Result<()>
where
    E: EntityTrait,
    A: sea_orm::ActiveModelTrait<Entity = E> + Send,
{
    E::insert(row)
        .on_conflict(
            sea_orm::sea_query::OnConflict::column(key)
                .update_columns(update)
                .to_owned(),
        )
        .exec_without_returning(db)
        .await
        .context("Failed to store a district or category")?;
    Ok(())
}

#[derive(Serialize)]
struct PeriodPoint {
    period: String,
    index: String,
    score: String,
    ci: String,
    grade: String,
    rank: String,
    n: i64,
    rectification: bool,
}

/// An institution's page: staff, or the institution's own users.
pub async fn show(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    code: web::Path<String>,
) -> Result<HttpResponse, OfficeError> {
    let catalog = state.catalog.get();
    let names = Names::new(&catalog, state.lang(&req));
    let inst = catalog
        .institution(&code)
        .ok_or(OfficeError::NotFound)?
        .clone();
    if !session.user.may_see_institution(inst.id) {
        return Err(OfficeError::Forbidden);
    }
    // The latest snapshot of each period, newest periods first.
    let mut latest: Vec<entity::snapshot::Model> = Vec::new();
    for s in snapshots::list(&state.db).await? {
        if !latest.iter().any(|l| l.period == s.period) {
            latest.push(s);
        }
    }
    latest.sort_by(|a, b| b.period.cmp(&a.period));
    latest.truncate(PERIODS_SHOWN);
    let mut points = Vec::new();
    let mut chart_points = Vec::new();
    let mut dimensions = Vec::new();
    for (i, s) in latest.iter().enumerate() {
        let df = figures::snapshot_table(&state.db, s.id, INSTITUTION_INDICATORS).await?;
        let rows = figures::institution_rows(&crate::app::frames::filter_eq(
            &df,
            INSTITUTION_CODE,
            &inst.code,
        )?)?;
        if let Some(r) = rows.first() {
            chart_points.push(charts::IntervalPoint {
                label: s.period.clone(),
                index: r.index,
                low: r.ci_low,
                high: r.ci_high,
                score: r.score,
            });
            points.push(PeriodPoint {
                period: s.period.clone(),
                index: fmt1(r.index),
                score: fmt1(r.score),
                ci: match (r.ci_low, r.ci_high) {
                    (Some(a), Some(b)) => format!("{a:.1}–{b:.1}"),
                    _ => "—".into(),
                },
                grade: r.grade.clone().unwrap_or_else(|| "—".into()),
                rank: r
                    .rank_in_category
                    .map_or_else(|| "—".into(), |r| r.to_string()),
                n: r.n_citizen + r.n_assessor,
                rectification: r.rectification,
            });
        }
        if i == 0 {
            let dims = figures::snapshot_table(&state.db, s.id, DIMENSION_INDICATORS).await?;
            dimensions = figures::dimension_rows(&crate::app::frames::filter_eq(
                &dims,
                INSTITUTION_CODE,
                &inst.code,
            )?)?
            .into_iter()
            .map(|d| (names.dimension(&d.dimension_code), d.index.unwrap_or(0.0)))
            .collect();
        }
    }
    chart_points.reverse();
    let comments = rectification::commented(&state.db, inst.id, 20).await?;
    // Institution users see the day a comment was left, never the minute:
    // at a quiet counter the minute identifies the citizen who wrote it.
    // The office keeps the minute (to match complaints and appeals).
    let when_format = if session.user.is_staff() {
        "%Y-%m-%d %H:%M"
    } else {
        "%Y-%m-%d"
    };
    let offset = state.settings.local_offset();
    // Ratings are shown by the item's wording, not its code.
    let questionnaire = catalog.questionnaire_for(&inst);
    let lang = state.lang(&req);
    let item_text = |code: &str| {
        questionnaire
            .as_ref()
            .and_then(|q| q.items.iter().find(|i| i.code == code))
            .map_or_else(
                || code.to_owned(),
                |i| crate::web::names::pick(lang, &i.text_zh, &i.text_en).to_owned(),
            )
    };
    let comment_views: Vec<serde_json::Value> = comments
        .iter()
        .map(|c| {
            json!({
                "response_id": c.response_id, "period": c.period, "source": c.source, "comment": c.comment,
                "submitted_at": c.submitted_at.with_timezone(&offset).format(when_format).to_string(),
                "ratings": c.ratings.iter().map(|(i, r)| format!("{}: {}", item_text(i), r.map_or("–".into(), |r| r.to_string()))).collect::<Vec<_>>().join(" · "),
                "poor": c.is_poor(), "voided": c.voided, "appeal_status": c.appeal_status,
            })
        })
        .collect();
    let tasks = rectification::tasks(&state.db, Some(inst.id), today(&state)).await?;
    let text = |key: &str| state.templates.text(state.lang(&req), key);
    page(
        &state,
        &req,
        &session,
        "office/institution.html.tera",
        json!({
            "inst": inst,
            "name": names.institution(&inst.code),
            "category": names.category(&catalog.categories[inst.category].code),
            "district": names.district(&catalog.districts[inst.district].code),
            "points": points,
            "trend": charts::intervals(&text("office_chart_trend"), &charts::IntervalLegend { index: &text("office_index"), score: &text("office_score") }, &chart_points),
            "profile": charts::bars(&state.templates.text(state.lang(&req), "office_chart_profile"), &dimensions, Some(100.0)),
            "has_profile": !dimensions.is_empty(),
            "comments": comment_views,
            "tasks": tasks,
            "may_appeal": session.user.institution_id == Some(inst.id),
        }),
    )
}

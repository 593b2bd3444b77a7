//! Administration: the model (each change a new version), questionnaires,
//! accounts, API tokens and the audit log.

use actix_web::{HttpRequest, HttpResponse, web};
use anyhow::Context;
use entity::questionnaire_item;
use sea_orm::TransactionTrait;
use serde::Deserialize;
use serde_json::json;

use super::error::OfficeError;
use super::{check_csrf, page, require_admin, require_staff, see_other};
use crate::db::{audit, model, questionnaires, users};
use crate::domain::office::{Role, Session};
use crate::web::auth::Office;
use crate::web::i18n::Message;
use crate::web::state::AppState;

/// Audit entries shown.
const AUDIT_SHOWN: u64 = 500;

pub async fn model(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let current = model::current(&state.db).await?;
    let versions = model::versions(&state.db).await?;
    page(
        &state,
        &req,
        &session,
        "office/model.html.tera",
        json!({
            "current": current.toml,
            "version": current.version,
            "model": current.model,
            "versions": versions,
            "editor": super::model_form::editor(&current.model, &state.catalog.get()),
        }),
    )
}

#[derive(Deserialize)]
pub struct ModelForm {
    csrf: String,
    toml: String,
    note: String,
}

/// Stores the edited model as a new version (the old ones stay, and every
/// snapshot names the version it used).
pub async fn save_model(
    state: web::Data<AppState>,
    Office(session): Office,
    form: web::Form<ModelForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    store_model(&state, &session, &form.toml, &form.note).await
}

/// Validates a model's TOML and stores it as a new, audited version.
pub async fn store_model(
    state: &AppState,
    session: &Session,
    toml: &str,
    note: &str,
) -> Result<HttpResponse, OfficeError> {
    if let Err(e) = analysis::Model::from_toml_str(toml) {
        return Err(OfficeError::Invalid(
            Message::new("msg_model_invalid").arg("detail", e.to_string()),
        ));
    }
    let saved = model::save(&state.db, toml, note.trim(), Some(&session.user.username)).await?;
    audit::record(
        &state.db,
        &session.user.username,
        "model.save",
        &format!("version {}", saved.version),
        note.trim(),
    )
    .await?;
    Ok(see_other("/office/model"))
}

pub async fn questionnaires(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    require_staff(&session)?;
    let catalog = state.catalog.get();
    let (qs, items) = questionnaires::all_versions(&state.db).await?;
    let mut live_seen = std::collections::HashSet::new();
    let views: Vec<serde_json::Value> = qs
        .iter()
        .map(|q| {
            let its: Vec<&questionnaire_item::Model> =
                items.iter().filter(|i| i.questionnaire_id == q.id).collect();
            // The first (highest) version of each category is the live one.
            let live = live_seen.insert(q.category_id);
            let category = catalog.categories.iter().find(|c| c.id == q.category_id);
            let draft = live.then(|| items_as_csv(&its));
            json!({ "q": q, "items": its, "live": live, "draft": draft,
                    "category": category.map(|c| c.code.clone()), "category_name": category.map(|c| c.name_zh.clone()) })
        })
        .collect();
    page(
        &state,
        &req,
        &session,
        "office/questionnaires.html.tera",
        json!({ "questionnaires": views }),
    )
}

/// The items in the editable one-line-per-item form.
fn items_as_csv(items: &[&questionnaire_item::Model]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    for i in items {
        let required = if i.required { "yes" } else { "no" };
        let _ = writer.write_record([
            i.code.as_str(),
            &i.dimension_code,
            required,
            &i.text_zh,
            &i.text_en,
        ]);
    }
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

#[derive(Deserialize)]
pub struct QuestionnaireForm {
    csrf: String,
    items: String,
    note: String,
}

/// Saves the edited items as a new version of the category's questionnaire
/// (the live one is never changed in place) and reloads the catalog.
pub async fn save_questionnaire(
    state: web::Data<AppState>,
    Office(session): Office,
    category: web::Path<String>,
    form: web::Form<QuestionnaireForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let catalog = state.catalog.get();
    let category_id = catalog
        .category_index(&category)
        .map(|i| catalog.categories[i].id)
        .ok_or_else(|| {
            OfficeError::Invalid(Message::new("msg_no_category").arg("code", category.as_str()))
        })?;
    let items = crate::db::questionnaires::parse_items(&form.items).map_err(|problems| {
        OfficeError::Invalid(Message::new("msg_items_invalid").arg("detail", problems.join("; ")))
    })?;
    // Every dimension needs a weight: the category's own, or `default`'s
    // (the spec's rule), or the pipeline would refuse the period later.
    let current = model::current(&state.db).await?;
    let weights = &current.model.dimension_weights;
    let has_weight = |dimension: &str| {
        [category.as_str(), "default"].iter().any(|table| {
            weights
                .get(*table)
                .is_some_and(|w| w.contains_key(dimension))
        })
    };
    if let Some(unknown) = items.iter().find(|i| !has_weight(&i.dimension_code)) {
        return Err(OfficeError::Invalid(
            Message::new("msg_dimension_unweighted")
                .arg("dimension", unknown.dimension_code.as_str()),
        ));
    }
    let version = crate::db::questionnaires::new_version(&state.db, category_id, &items).await?;
    audit::record(
        &state.db,
        &session.user.username,
        "questionnaire.version",
        &format!("{category} v{version}"),
        form.note.trim(),
    )
    .await?;
    state.catalog.reload(&state.db).await?;
    Ok(see_other("/office/questionnaires"))
}

pub async fn audit(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    let entries = audit::latest(&state.db, AUDIT_SHOWN).await?;
    page(
        &state,
        &req,
        &session,
        "office/audit.html.tera",
        json!({ "entries": entries }),
    )
}

pub async fn users(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    let catalog = state.catalog.get();
    let now = chrono::Utc::now();
    let all: Vec<serde_json::Value> = users::list(&state.db)
        .await?
        .into_iter()
        .map(|u| {
            let inst = u.institution_id.and_then(|id| catalog.institutions.iter().find(|i| i.id == id)).map(|i| i.code.clone());
            let locked = u.locked_until.is_some_and(|t| t > now);
            json!({ "id": u.id, "username": u.username, "role": u.role, "institution": inst,
                    "locked_until": u.locked_until.filter(|_| locked).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()),
                    "failed_logins": u.failed_logins, "unlockable": locked || u.failed_logins > 0, "active": u.active })
        })
        .collect();
    page(
        &state,
        &req,
        &session,
        "office/users.html.tera",
        json!({ "users": all }),
    )
}

#[derive(Deserialize)]
pub struct UserForm {
    csrf: String,
    username: String,
    password: String,
    role: String,
    #[serde(default)]
    institution: String,
}

pub async fn add_user(
    state: web::Data<AppState>,
    Office(session): Office,
    form: web::Form<UserForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let role = Role::parse(&form.role).ok_or_else(|| OfficeError::invalid("msg_role"))?;
    let institution_id = match form.institution.trim() {
        "" => None,
        code => Some(
            state
                .catalog
                .get()
                .institution(code)
                .ok_or_else(|| {
                    OfficeError::Invalid(Message::new("msg_no_institution").arg("code", code))
                })?
                .id,
        ),
    };
    users::create(
        &state.db,
        &form.username,
        &form.password,
        role,
        institution_id,
    )
    .await
    .map_err(|e| match e {
        users::NewUserError::Internal(e) => OfficeError::Internal(e),
        other => OfficeError::Invalid(Message::from(&other)),
    })?;
    audit::record(
        &state.db,
        &session.user.username,
        "user.add",
        form.username.trim(),
        role.as_str(),
    )
    .await?;
    Ok(see_other("/office/users"))
}

#[derive(Deserialize)]
pub struct UnlockForm {
    csrf: String,
}

/// Lifts an account's lock-out and clears its failure count (audited).
pub async fn unlock_user(
    state: web::Data<AppState>,
    Office(session): Office,
    id: web::Path<i32>,
    form: web::Form<UnlockForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let id = id.into_inner();
    let account = users::by_id(&state.db, id)
        .await?
        .ok_or(OfficeError::NotFound)?;
    // The change and its audit entry commit together.
    let txn = state
        .db
        .begin()
        .await
        .context("Failed to start a transaction")?;
    users::unlock(&txn, &account.username).await?;
    audit::record(
        &txn,
        &session.user.username,
        "user.unlock",
        &account.username,
        "",
    )
    .await?;
    txn.commit().await.context("Failed to commit the unlock")?;
    Ok(see_other("/office/users"))
}

pub async fn tokens(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    let all = users::api_tokens(&state.db).await?;
    let views: Vec<serde_json::Value> = all
        .iter()
        .map(|t| json!({ "id": t.id, "name": t.name, "prefix": t.prefix, "scope": t.scope, "created_at": t.created_at, "expires_at": t.expires_at, "revoked": t.revoked_at.is_some() }))
        .collect();
    page(
        &state,
        &req,
        &session,
        "office/tokens.html.tera",
        json!({ "tokens": views, "issued": null }),
    )
}

#[derive(Deserialize)]
pub struct TokenForm {
    csrf: String,
    name: String,
    #[serde(default)]
    days: String,
}

/// Issues a token and shows it once.
pub async fn add_token(
    state: web::Data<AppState>,
    req: HttpRequest,
    Office(session): Office,
    form: web::Form<TokenForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    let days = match form.days.trim() {
        "" => None,
        d => Some(
            d.parse::<i64>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| OfficeError::invalid("msg_token_days"))?,
        ),
    };
    if form.name.trim().is_empty() {
        return Err(OfficeError::invalid("msg_token_name"));
    }
    let issued = users::issue_api_token(
        &state.db,
        &state.keys,
        &form.name,
        days,
        Some(&session.user.username),
    )
    .await?;
    audit::record(
        &state.db,
        &session.user.username,
        "api_token.add",
        &issued.prefix,
        form.name.trim(),
    )
    .await?;
    let all = users::api_tokens(&state.db).await?;
    let views: Vec<serde_json::Value> = all
        .iter()
        .map(|t| json!({ "id": t.id, "name": t.name, "prefix": t.prefix, "scope": t.scope, "created_at": t.created_at, "expires_at": t.expires_at, "revoked": t.revoked_at.is_some() }))
        .collect();
    page(
        &state,
        &req,
        &session,
        "office/tokens.html.tera",
        json!({ "tokens": views, "issued": issued.token }),
    )
}

#[derive(Deserialize)]
pub struct RevokeForm {
    csrf: String,
}

pub async fn revoke_token(
    state: web::Data<AppState>,
    Office(session): Office,
    id: web::Path<i32>,
    form: web::Form<RevokeForm>,
) -> Result<HttpResponse, OfficeError> {
    require_admin(&session)?;
    check_csrf(&session, &form.csrf)?;
    users::revoke_api_token(&state.db, &id.to_string()).await?;
    audit::record(
        &state.db,
        &session.user.username,
        "api_token.revoke",
        &format!("token {id}"),
        "",
    )
    .await?;
    Ok(see_other("/office/tokens"))
}

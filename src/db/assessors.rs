//! Assessor organisations, their API tokens and their contracts.
//!
//! Tokens are 256-bit random strings shown once. Only their keyed hash
//! HMAC(secret, token) is stored: for a high-entropy token that is as strong
//! as a slow password hash, and a lookup is one indexed equality. Argon2 is
//! for passwords, which are guessable and need the slowness.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use entity::{assessor_contract, assessor_org, assessor_token, category};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryOrder,
};

use crate::db::catalog::{Catalog, Institution};
use crate::domain::code::Code;
use crate::domain::keys::{Keys, Purpose, random_token};
use crate::domain::period::Period;

/// What every assessor token starts with, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "pya_";
/// Characters of a token kept in clear to tell tokens apart.
const SHOWN_PREFIX_LEN: usize = 12;

/// The organisation a valid token or session belongs to.
#[derive(Clone, Debug)]
pub struct AssessorOrg {
    pub id: i32,
    pub code: String,
    pub name: String,
    /// When the token used expires.
    pub token_expires_at: DateTime<Utc>,
    pub token_hash: String,
}

/// Why a token was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenProblem {
    Unknown,
    Revoked,
    Expired,
}

/// A freshly issued token: the only time its clear text exists.
pub struct IssuedToken {
    pub token: String,
    pub prefix: String,
    pub expires_at: DateTime<Utc>,
}

pub async fn create_org(db: &impl ConnectionTrait, code: &str, name: &str) -> anyhow::Result<i32> {
    let code = Code::parse(code).context("Invalid assessor organisation code")?;
    let row = assessor_org::ActiveModel {
        code: Set(code.to_string()),
        name: Set(name.to_owned()),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    let id = assessor_org::Entity::insert(row)
        .exec(db)
        .await
        .with_context(|| format!("Failed to add the assessor organisation '{code}'"))?
        .last_insert_id;
    Ok(id)
}

pub async fn org_by_code(
    db: &impl ConnectionTrait,
    code: &str,
) -> anyhow::Result<Option<assessor_org::Model>> {
    assessor_org::Entity::find()
        .filter(assessor_org::Column::Code.eq(code))
        .one(db)
        .await
        .context("Failed to look up an assessor organisation")
}

/// Issues a token for an organisation, valid for `valid_days`.
pub async fn issue_token(
    db: &impl ConnectionTrait,
    keys: &Keys,
    org_id: i32,
    valid_days: i64,
) -> anyhow::Result<IssuedToken> {
    anyhow::ensure!(valid_days > 0, "A token must be valid for at least a day");
    let token = format!("{TOKEN_PREFIX}{}", random_token(32));
    let prefix: String = token.chars().take(SHOWN_PREFIX_LEN).collect();
    let now = Utc::now();
    let expires_at = now + Duration::days(valid_days);
    let row = assessor_token::ActiveModel {
        org_id: Set(org_id),
        token_hash: Set(keys.digest(Purpose::Token, &token)),
        prefix: Set(prefix.clone()),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        ..Default::default()
    };
    assessor_token::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .context("Failed to store the token")?;
    Ok(IssuedToken {
        token,
        prefix,
        expires_at,
    })
}

/// The organisation of a presented token.
pub async fn authenticate(
    db: &impl ConnectionTrait,
    keys: &Keys,
    token: &str,
) -> anyhow::Result<Result<AssessorOrg, TokenProblem>> {
    authenticate_hash(db, &keys.digest(Purpose::Token, token)).await
}

/// The organisation of a token given by its keyed hash (as a session holds it).
pub async fn authenticate_hash(
    db: &impl ConnectionTrait,
    token_hash: &str,
) -> anyhow::Result<Result<AssessorOrg, TokenProblem>> {
    let Some(token) = assessor_token::Entity::find()
        .filter(assessor_token::Column::TokenHash.eq(token_hash))
        .one(db)
        .await
        .context("Failed to look up a token")?
    else {
        return Ok(Err(TokenProblem::Unknown));
    };
    if token.revoked_at.is_some() {
        return Ok(Err(TokenProblem::Revoked));
    }
    if token.expires_at <= Utc::now() {
        return Ok(Err(TokenProblem::Expired));
    }
    let org = assessor_org::Entity::find_by_id(token.org_id)
        .one(db)
        .await
        .context("Failed to look up the token's organisation")?
        .ok_or_else(|| anyhow::anyhow!("Token {} has no organisation", token.id))?;
    Ok(Ok(AssessorOrg {
        id: org.id,
        code: org.code,
        name: org.name,
        token_expires_at: token.expires_at,
        token_hash: token.token_hash,
    }))
}

/// Revokes the one live token whose shown prefix starts with `prefix`.
pub async fn revoke_by_prefix(db: &impl ConnectionTrait, prefix: &str) -> anyhow::Result<String> {
    anyhow::ensure!(prefix.len() >= 6, "Give at least 6 characters of the token");
    let candidates: Vec<assessor_token::Model> = assessor_token::Entity::find()
        .filter(assessor_token::Column::RevokedAt.is_null())
        .all(db)
        .await
        .context("Failed to list tokens")?
        .into_iter()
        .filter(|t| t.prefix.starts_with(prefix) || prefix.starts_with(&t.prefix))
        .collect();
    let token = match candidates.as_slice() {
        [one] => one,
        [] => anyhow::bail!("No live token starts with '{prefix}'"),
        _ => anyhow::bail!(
            "{} live tokens start with '{prefix}'; give more characters",
            candidates.len()
        ),
    };
    assessor_token::Entity::update_many()
        .col_expr(
            assessor_token::Column::RevokedAt,
            sea_orm::sea_query::Expr::value(Utc::now()),
        )
        .filter(assessor_token::Column::Id.eq(token.id))
        .exec(db)
        .await
        .context("Failed to revoke the token")?;
    Ok(token.prefix.clone())
}

/// A contract row: for one period, one institution, or every institution
/// matching the category and/or district given.
#[derive(Clone, Debug, Default)]
pub struct NewContract {
    pub institution_id: Option<i32>,
    pub category_id: Option<i32>,
    pub district_id: Option<i32>,
}

pub async fn add_contract(
    db: &impl ConnectionTrait,
    org_id: i32,
    period: &Period,
    what: NewContract,
) -> anyhow::Result<()> {
    anyhow::ensure!(
        what.institution_id.is_some() || what.category_id.is_some() || what.district_id.is_some(),
        "A contract names an institution, a category or a district"
    );
    let row = assessor_contract::ActiveModel {
        org_id: Set(org_id),
        period: Set(period.to_string()),
        institution_id: Set(what.institution_id),
        category_id: Set(what.category_id),
        district_id: Set(what.district_id),
        ..Default::default()
    };
    assessor_contract::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .context("Failed to store the contract")?;
    Ok(())
}

/// Every contract row of an organisation (a handful per period).
pub async fn contracts(
    db: &impl ConnectionTrait,
    org_id: i32,
) -> anyhow::Result<Vec<assessor_contract::Model>> {
    assessor_contract::Entity::find()
        .filter(assessor_contract::Column::OrgId.eq(org_id))
        .order_by_asc(assessor_contract::Column::Id)
        .all(db)
        .await
        .context("Failed to load the organisation's contracts")
}

/// Whether a contract row covers an institution of the catalog.
pub fn covers(c: &assessor_contract::Model, catalog: &Catalog, inst: &Institution) -> bool {
    if let Some(id) = c.institution_id {
        return id == inst.id;
    }
    let category_ok = c
        .category_id
        .is_none_or(|id| catalog.categories[inst.category].id == id);
    let district_ok = c
        .district_id
        .is_none_or(|id| catalog.districts[inst.district].id == id);
    (c.category_id.is_some() || c.district_id.is_some()) && category_ok && district_ok
}

/// Whether the organisation has any contract in `period`.
pub async fn has_contract_in(
    db: &impl ConnectionTrait,
    org_id: i32,
    period: &Period,
) -> anyhow::Result<bool> {
    Ok(assessor_contract::Entity::find()
        .filter(assessor_contract::Column::OrgId.eq(org_id))
        .filter(assessor_contract::Column::Period.eq(period.to_string()))
        .one(db)
        .await
        .context("Failed to read the contracts")?
        .is_some())
}

/// The demo firm: `demo-survey`, contracted for every category in `period`,
/// with a fresh token (returned, to print once at start-up).
pub async fn seed_demo_org(
    db: &impl ConnectionTrait,
    keys: &Keys,
    period: &Period,
) -> anyhow::Result<String> {
    let org_id = match org_by_code(db, "demo-survey").await? {
        Some(org) => org.id,
        None => create_org(db, "demo-survey", "示例第三方调查公司 Demo Survey Co.").await?,
    };
    for c in category::Entity::find()
        .all(db)
        .await
        .context("Failed to list categories")?
    {
        add_contract(
            db,
            org_id,
            period,
            NewContract {
                category_id: Some(c.id),
                ..Default::default()
            },
        )
        .await?;
    }
    Ok(issue_token(db, keys, org_id, 365).await?.token)
}

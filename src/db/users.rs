//! Office accounts, sign-in with lock-out, server-side sessions and the API
//! tokens of machine clients.
//!
//! Session ids and API tokens are random 256-bit strings; only their keyed
//! hash is stored (as for assessor tokens, a keyed hash is as strong as a
//! slow hash for high-entropy secrets, and a lookup is one indexed equality).
//! Passwords are guessable, so they get argon2.

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use entity::{api_token, office_session, office_user};
use sea_orm::sea_query::{Expr, ExprTrait, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait,
    QueryFilter, QueryOrder, SqlErr,
};

use crate::domain::keys::{Keys, Purpose, random_token};
use crate::domain::office::{Role, SESSION_HOURS, Session, User};
use crate::domain::password;

/// What every office API token starts with, so a leaked one is recognisable.
pub const API_TOKEN_PREFIX: &str = "pyo_";
/// Characters of a token kept in clear to tell tokens apart.
const SHOWN_PREFIX_LEN: usize = 12;

/// Why an account could not be created.
#[derive(Debug, thiserror::Error)]
pub enum NewUserError {
    #[error("a user name is 1 to 64 letters, digits or . _ - @")]
    BadName,
    #[error("a password has at least {} characters", password::MIN_LENGTH)]
    WeakPassword,
    #[error("an institution user needs an institution")]
    NeedsInstitution,
    #[error("only institution users belong to an institution")]
    NotAnInstitutionRole,
    #[error("the user name '{0}' is taken")]
    Taken(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

fn to_user(row: &office_user::Model) -> anyhow::Result<User> {
    Ok(User {
        id: row.id,
        username: row.username.clone(),
        role: Role::parse(&row.role).with_context(|| {
            format!("User {} has the unknown role '{}'", row.username, row.role)
        })?,
        institution_id: row.institution_id,
    })
}

/// Creates an account. An institution user needs its institution; the
/// others must not have one.
pub async fn create(
    db: &impl ConnectionTrait,
    username: &str,
    password_text: &str,
    role: Role,
    institution_id: Option<i32>,
) -> Result<i32, NewUserError> {
    let username = username.trim();
    if username.is_empty()
        || username.len() > 64
        || !username
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@".contains(c))
    {
        return Err(NewUserError::BadName);
    }
    if password::weakness(password_text).is_some() {
        return Err(NewUserError::WeakPassword);
    }
    match (role, institution_id) {
        (Role::Institution, None) => {
            return Err(NewUserError::NeedsInstitution);
        }
        (Role::Admin | Role::Analyst, Some(_)) => {
            return Err(NewUserError::NotAnInstitutionRole);
        }
        _ => {}
    }
    let text = password_text.to_owned();
    let hash = tokio::task::spawn_blocking(move || password::hash(&text))
        .await
        .context("Password hashing was cancelled")??;
    let row = office_user::ActiveModel {
        username: Set(username.to_owned()),
        password_hash: Set(hash),
        role: Set(role.as_str().to_owned()),
        institution_id: Set(institution_id),
        failed_logins: Set(0),
        locked_until: Set(None),
        active: Set(true),
        created_at: Set(Utc::now()),
        ..Default::default()
    };
    match office_user::Entity::insert(row).exec(db).await {
        Ok(r) => Ok(r.last_insert_id),
        Err(e) if matches!(e.sql_err(), Some(SqlErr::UniqueConstraintViolation(_))) => {
            Err(NewUserError::Taken(username.to_owned()))
        }
        Err(e) => Err(NewUserError::Internal(
            anyhow::Error::new(e).context("Failed to store the user"),
        )),
    }
}

/// Every account, by user name.
pub async fn list(db: &impl ConnectionTrait) -> anyhow::Result<Vec<office_user::Model>> {
    office_user::Entity::find()
        .order_by_asc(office_user::Column::Username)
        .all(db)
        .await
        .context("Failed to list users")
}

/// The outcome of a sign-in attempt.
#[derive(Debug)]
pub enum Login {
    Ok(User),
    /// Unknown user, disabled account or wrong password.
    Invalid,
    /// The account is locked (or this attempt locked it), whatever the
    /// password. Answered exactly as [`Login::Invalid`]: only logs tell them
    /// apart, so a sign-in page does not reveal which accounts exist.
    Locked,
}

/// Lock-out policy.
#[derive(Clone, Copy, Debug)]
pub struct Lockout {
    pub max_failures: u32,
    pub minutes: u32,
}

/// Checks a user name and password, counting failures per account: after
/// `max_failures` failures in a row the account is locked for `minutes`,
/// and while it is locked every attempt is refused, the right password too.
///
/// Each attempt is counted *before* its password is verified, by one
/// conditional UPDATE that also refuses it when the account is locked (see
/// [`count_attempt`]): so concurrent guesses cannot all pass a lock check
/// that is only written after argon2 has run, and at most `max_failures`
/// passwords are ever verified between two lock-outs. A success resets the
/// count, unless a concurrent attempt has locked the account meanwhile.
///
/// Unknown, disabled and locked accounts still verify a password (against a
/// dummy hash), so every refusal takes about as long as a wrong password.
pub async fn login(
    db: &impl ConnectionTrait,
    username: &str,
    password_text: &str,
    lockout: Lockout,
) -> anyhow::Result<Login> {
    let row = office_user::Entity::find()
        .filter(office_user::Column::Username.eq(username.trim()))
        .one(db)
        .await
        .context("Failed to look up a user")?;
    let Some(row) = row.filter(|r| r.active) else {
        verify(password_text, None).await?;
        return Ok(Login::Invalid);
    };
    let Some(attempt) = count_attempt(db, row.id, lockout, Utc::now()).await? else {
        verify(password_text, None).await?;
        return Ok(Login::Locked);
    };
    let locks = attempt >= i64::from(lockout.max_failures);
    if !verify(password_text, Some(row.password_hash.clone())).await? {
        if locks {
            tracing::warn!(user = %row.username, "Office account locked after repeated failed logins");
            return Ok(Login::Locked);
        }
        return Ok(Login::Invalid);
    }
    // Reset, unless the account was locked meanwhile by another attempt.
    // The lock this attempt set itself (it was the last one allowed) is
    // recognised by the count it left: nothing is counted while a lock holds.
    let cleared = office_user::Entity::update_many()
        .col_expr(office_user::Column::FailedLogins, Expr::value(0))
        .col_expr(
            office_user::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(office_user::Column::Id.eq(row.id))
        .filter(
            Condition::any()
                .add(office_user::Column::LockedUntil.is_null())
                .add(office_user::Column::FailedLogins.eq(attempt)),
        )
        .exec(db)
        .await
        .context("Failed to reset the failure count")?
        .rows_affected;
    if cleared == 0 {
        return Ok(Login::Locked);
    }
    Ok(Login::Ok(to_user(&row)?))
}

/// Passwords verified at once. Each argon2 verification holds 19 MiB and a
/// blocking thread for tens of milliseconds; unbounded, a flood of sign-ins
/// from many addresses would take as many threads and as much memory as it
/// liked. Attempts beyond it wait their turn.
static VERIFY_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Verifies a password against `hash`, or against the dummy hash for the
/// same work without an account (`None`), off the async executor: argon2 is
/// slow on purpose.
async fn verify(password_text: &str, hash: Option<String>) -> anyhow::Result<bool> {
    let _slot = VERIFY_SLOTS
        .acquire()
        .await
        .context("The password verification queue is closed")?;
    let text = password_text.to_owned();
    tokio::task::spawn_blocking(move || match hash {
        Some(hash) => password::verify(&text, &hash),
        None => password::verify(&text, password::dummy_hash()),
    })
    .await
    .context("Password verification was cancelled")
}

/// Counts one sign-in attempt of account `id`, atomically with the lock
/// check; returns the attempt's number in the current run of failures, or
/// `None` when the account is locked (and nothing was counted).
///
/// One statement, so concurrent attempts (and instances) are serialised by
/// the database:
///
/// ```sql
/// UPDATE office_user
/// SET failed_logins = n,
///     locked_until = CASE WHEN n >= max THEN now + minutes ELSE NULL END
/// WHERE id = ? AND (locked_until IS NULL OR locked_until <= now)
/// RETURNING failed_logins
/// -- n: 1 after an expired lock, else failed_logins + 1
/// ```
async fn count_attempt(
    db: &impl ConnectionTrait,
    id: i32,
    lockout: Lockout,
    now: DateTime<Utc>,
) -> anyhow::Result<Option<i64>> {
    use office_user::Column as C;
    let until = now + Duration::minutes(i64::from(lockout.minutes));
    // Where no lock holds, a lock time left over is an expired one: the
    // run of failures starts again.
    let attempt = || {
        Expr::case(Expr::col(C::LockedUntil).is_not_null(), Expr::val(1))
            .finally(Expr::col(C::FailedLogins).add(1))
    };
    let statement = Query::update()
        .table(office_user::Entity)
        .value(C::FailedLogins, attempt())
        .value(
            C::LockedUntil,
            Expr::case(
                Expr::expr(attempt()).gte(i64::from(lockout.max_failures)),
                Expr::val(Some(until)),
            )
            .finally(Expr::val(Option::<DateTime<Utc>>::None)),
        )
        .and_where(Expr::col(C::Id).eq(id))
        .and_where(
            Expr::col(C::LockedUntil)
                .is_null()
                .or(Expr::col(C::LockedUntil).lte(now)),
        )
        .returning_col(C::FailedLogins)
        .to_owned();
    let Some(row) = db
        .query_one(&statement)
        .await
        .context("Failed to count a sign-in attempt")?
    else {
        return Ok(None);
    };
    let n = row
        .try_get_by_index::<i32>(0)
        .map(i64::from)
        .or_else(|_| row.try_get_by_index::<i64>(0))
        .context("Failed to read the failure count")?;
    Ok(Some(n))
}

/// Lifts the lock of an account and clears its failure count (by an
/// administrator or the `pingyi user unlock` command); false when there is
/// no such account.
pub async fn unlock(db: &impl ConnectionTrait, username: &str) -> anyhow::Result<bool> {
    Ok(office_user::Entity::update_many()
        .col_expr(office_user::Column::FailedLogins, Expr::value(0))
        .col_expr(
            office_user::Column::LockedUntil,
            Expr::value(Option::<DateTime<Utc>>::None),
        )
        .filter(office_user::Column::Username.eq(username.trim()))
        .exec(db)
        .await
        .context("Failed to unlock an account")?
        .rows_affected
        > 0)
}

fn session_hash(keys: &Keys, id: &str) -> String {
    keys.digest(Purpose::Token, &format!("session\0{id}"))
}

/// Opens a session; returns the cookie value (the only copy of the id).
pub async fn open_session(
    db: &impl ConnectionTrait,
    keys: &Keys,
    user_id: i32,
) -> anyhow::Result<String> {
    let id = random_token(32);
    let now = Utc::now();
    let row = office_session::ActiveModel {
        id_hash: Set(session_hash(keys, &id)),
        user_id: Set(user_id),
        csrf: Set(random_token(32)),
        created_at: Set(now),
        expires_at: Set(now + Duration::hours(SESSION_HOURS)),
    };
    office_session::Entity::insert(row)
        .exec_without_returning(db)
        .await
        .context("Failed to store a session")?;
    // Expired sessions of anyone are swept on sign-in: cheap, and bounded.
    office_session::Entity::delete_many()
        .filter(office_session::Column::ExpiresAt.lt(now))
        .exec(db)
        .await
        .context("Failed to remove expired sessions")?;
    Ok(id)
}

/// The live session of a cookie value, if any.
pub async fn session(
    db: &impl ConnectionTrait,
    keys: &Keys,
    id: &str,
) -> anyhow::Result<Option<Session>> {
    let Some(s) = office_session::Entity::find_by_id(session_hash(keys, id))
        .one(db)
        .await
        .context("Failed to read a session")?
        .filter(|s| s.expires_at > Utc::now())
    else {
        return Ok(None);
    };
    let user = office_user::Entity::find_by_id(s.user_id)
        .one(db)
        .await
        .context("Failed to read a session's user")?
        .filter(|u| u.active);
    match user {
        Some(u) => Ok(Some(Session {
            user: to_user(&u)?,
            csrf: s.csrf,
        })),
        None => Ok(None),
    }
}

/// Ends a session.
pub async fn close_session(db: &impl ConnectionTrait, keys: &Keys, id: &str) -> anyhow::Result<()> {
    office_session::Entity::delete_by_id(session_hash(keys, id))
        .exec(db)
        .await
        .context("Failed to remove a session")?;
    Ok(())
}

/// Creates the demo administrator `admin` when there is no office account
/// yet; returns its random password, to be printed once.
pub async fn ensure_demo_admin(db: &impl ConnectionTrait) -> anyhow::Result<Option<String>> {
    if office_user::Entity::find()
        .count(db)
        .await
        .context("Failed to count users")?
        > 0
    {
        return Ok(None);
    }
    let password_text = random_token(12);
    match create(db, "admin", &password_text, Role::Admin, None).await {
        Ok(_) => Ok(Some(password_text)),
        // Another instance created it first.
        Err(NewUserError::Taken(_)) => Ok(None),
        Err(e) => Err(anyhow::anyhow!(
            "Failed to create the demo administrator: {e}"
        )),
    }
}

/// A freshly issued API token: the only time its clear text exists.
pub struct IssuedApiToken {
    pub id: i32,
    pub token: String,
    pub prefix: String,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Issues a read-only API token, valid for `days` (forever when `None`).
pub async fn issue_api_token(
    db: &impl ConnectionTrait,
    keys: &Keys,
    name: &str,
    days: Option<i64>,
    created_by: Option<&str>,
) -> anyhow::Result<IssuedApiToken> {
    let name = name.trim();
    anyhow::ensure!(
        !name.is_empty() && name.len() <= 128,
        "A token name is 1 to 128 characters"
    );
    let token = format!("{API_TOKEN_PREFIX}{}", random_token(32));
    let prefix: String = token.chars().take(SHOWN_PREFIX_LEN).collect();
    let now = Utc::now();
    let expires_at = days.map(|d| now + Duration::days(d));
    let row = api_token::ActiveModel {
        name: Set(name.to_owned()),
        token_hash: Set(keys.digest(Purpose::Token, &token)),
        prefix: Set(prefix.clone()),
        scope: Set("read".into()),
        created_by: Set(created_by.map(str::to_owned)),
        created_at: Set(now),
        expires_at: Set(expires_at),
        revoked_at: Set(None),
        ..Default::default()
    };
    let id = api_token::Entity::insert(row)
        .exec(db)
        .await
        .context("Failed to store the API token")?
        .last_insert_id;
    Ok(IssuedApiToken {
        id,
        token,
        prefix,
        expires_at,
    })
}

/// Revokes a token by id or by its shown prefix; returns how many were revoked.
pub async fn revoke_api_token(
    db: &impl ConnectionTrait,
    id_or_prefix: &str,
) -> anyhow::Result<u64> {
    let mut query = api_token::Entity::update_many()
        .col_expr(api_token::Column::RevokedAt, Expr::value(Some(Utc::now())))
        .filter(api_token::Column::RevokedAt.is_null());
    query = match id_or_prefix.parse::<i32>() {
        Ok(id) => query.filter(api_token::Column::Id.eq(id)),
        Err(_) => query.filter(api_token::Column::Prefix.eq(id_or_prefix)),
    };
    Ok(query
        .exec(db)
        .await
        .context("Failed to revoke the API token")?
        .rows_affected)
}

/// Every API token, newest first.
pub async fn api_tokens(db: &impl ConnectionTrait) -> anyhow::Result<Vec<api_token::Model>> {
    api_token::Entity::find()
        .order_by_desc(api_token::Column::Id)
        .all(db)
        .await
        .context("Failed to list API tokens")
}

/// The live (not revoked, not expired) API token with this clear text.
pub async fn api_token_for(
    db: &impl ConnectionTrait,
    keys: &Keys,
    token: &str,
) -> anyhow::Result<Option<api_token::Model>> {
    if !token.starts_with(API_TOKEN_PREFIX) {
        return Ok(None);
    }
    let now = Utc::now();
    Ok(api_token::Entity::find()
        .filter(api_token::Column::TokenHash.eq(keys.digest(Purpose::Token, token)))
        .one(db)
        .await
        .context("Failed to look up an API token")?
        .filter(|t| t.revoked_at.is_none() && t.expires_at.is_none_or(|e| e > now)))
}

/// One account by id.
pub async fn by_id(
    db: &impl ConnectionTrait,
    id: i32,
) -> anyhow::Result<Option<office_user::Model>> {
    office_user::Entity::find_by_id(id)
        .one(db)
        .await
        .context("Failed to look up a user")
}

//! Who is signed in to the office, and what they may do. The session itself
//! (cookie, CSRF token, lock-out) lives in the store and the web layer; these
//! are the types they share.
//!
//! Roles: administrators change things; analysts read everything; an
//! institution user sees only its own institution. API tokens are read-only.

use serde::Serialize;

/// What an office account may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Analyst,
    Institution,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "analyst" => Some(Role::Analyst),
            "institution" => Some(Role::Institution),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Analyst => "analyst",
            Role::Institution => "institution",
        }
    }
}

impl std::str::FromStr for Role {
    type Err = String;

    fn from_str(s: &str) -> Result<Role, String> {
        Role::parse(s).ok_or_else(|| {
            let shown: String = s.chars().take(32).collect();
            format!("'{shown}' is not a role (admin, analyst or institution)")
        })
    }
}

/// A signed-in office user.
#[derive(Clone, Debug, Serialize)]
pub struct User {
    pub id: i32,
    pub username: String,
    pub role: Role,
    /// The institution of an institution user.
    pub institution_id: Option<i32>,
}

impl User {
    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    /// Administrators and analysts: the office itself.
    pub fn is_staff(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Analyst)
    }

    /// Whether this user may see the institution with id `id`.
    pub fn may_see_institution(&self, id: i32) -> bool {
        self.is_staff() || self.institution_id == Some(id)
    }
}

/// A session: the user and the CSRF token every form of it carries.
#[derive(Clone, Debug)]
pub struct Session {
    pub user: User,
    pub csrf: String,
}

impl Session {
    /// Compares a submitted CSRF token with the session's, in constant time.
    pub fn csrf_matches(&self, given: Option<&str>) -> bool {
        given.is_some_and(|g| crate::keys::same_secret(g, &self.csrf))
    }
}

/// The cookie that carries the office session id.
pub const SESSION_COOKIE: &str = "pingyi_office";
/// Hours a session lasts from sign-in.
pub const SESSION_HOURS: i64 = 12;

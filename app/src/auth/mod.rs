//! Who is asking and what they may do: roles, token scopes, the signed-in person. The rules
//! live here, next to the pages that apply them; the server's middleware finds the principal
//! (from the session cookie or an API token) and hands it to every handler.

#[cfg(feature = "ssr")]
pub mod passwords;
#[cfg(feature = "ssr")]
pub mod store;
#[cfg(feature = "ssr")]
pub mod throttle;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Manages users, tokens and models; sees everything.
    Admin,
    /// Uploads; sees and manages their own and shared jobs.
    Staff,
    /// Reads the gallery and downloads.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 3] = [Role::Admin, Role::Staff, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// What an API token may be used for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scope {
    Submit,
    Read,
    Admin,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Submit, Scope::Read, Scope::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Submit => "submit",
            Scope::Read => "read",
            Scope::Admin => "admin",
        }
    }

    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text.trim())
    }
}

/// The person (or their token) behind a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Principal {
    pub user_id: i64,
    pub name: String,
    pub role: Role,
    /// `None` for a browser session (all the role allows); a token's scopes otherwise.
    pub scopes: Option<Vec<Scope>>,
    /// The id of the API token the request came with (never the token itself).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

impl Principal {
    fn scoped(&self, scope: Scope) -> bool {
        self.scopes.as_ref().is_none_or(|s| s.contains(&scope))
    }

    pub fn can_read(&self) -> bool {
        self.scoped(Scope::Read) || self.scoped(Scope::Submit)
    }

    pub fn can_submit(&self) -> bool {
        matches!(self.role, Role::Admin | Role::Staff) && self.scoped(Scope::Submit)
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin && self.scoped(Scope::Admin)
    }

    /// Whether this principal may see a job with this owner (the rule `visible_jobs` writes
    /// in SQL).
    pub fn can_see(&self, owner_id: Option<i64>, private: bool) -> bool {
        self.role == Role::Admin || !private || owner_id == Some(self.user_id)
    }

    /// Whether this principal may cancel, retry, re-run or delete a job with this owner.
    pub fn may_manage(&self, owner_id: Option<i64>, private: bool) -> bool {
        self.is_admin() || (self.can_submit() && (owner_id == Some(self.user_id) || !private))
    }

    /// A SQL condition on the `jobs` table: the jobs this principal may see (shared ones, their
    /// own, or all for an admin). Only integers from the database are written into it.
    pub fn visible_jobs(&self) -> String {
        format!(
            "(jobs.private = 0 OR jobs.owner_id = {} OR {} = 1)",
            self.user_id,
            i64::from(self.role == Role::Admin)
        )
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum AccessError {
    #[error("please sign in first")]
    SignedOut,
    #[error("your role does not allow this")]
    Forbidden,
}

/// The principal of the request being served, or why there is none.
#[cfg(feature = "ssr")]
pub fn principal() -> Result<Principal, crate::error::AppError> {
    use leptos::prelude::*;
    use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<Principal>().cloned())
        .ok_or_else(|| AccessError::SignedOut.into())
}

/// The principal, if `allowed` says yes; a sentence otherwise.
#[cfg(feature = "ssr")]
pub fn require(
    allowed: impl FnOnce(&Principal) -> bool,
) -> Result<Principal, crate::error::AppError> {
    let principal = principal()?;
    if allowed(&principal) {
        Ok(principal)
    } else {
        Err(AccessError::Forbidden.into())
    }
}

/// A user as the admin page lists them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Flag"))]
    pub disabled: bool,
    pub created_at: String,
}

/// An API token as its owner sees it (never the token itself, which is shown once).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub scopes: String,
    pub expires_at: Option<String>,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
    pub created_at: String,
}

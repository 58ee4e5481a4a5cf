//! Users and API tokens in the database.

use sha2::{Digest, Sha256};

use super::passwords::{self, PasswordError};
use super::{Principal, Role, Scope, TokenRow, UserRow};
use crate::db::{begin_write, now, now_plus, Db, Flag};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("a user name has 1 to 64 letters, digits, '.', '_', '-' or '@'")]
    InvalidName,
    #[error("there is already a user called {0:?}")]
    NameTaken(String),
    #[error("no such user")]
    NoSuchUser,
    #[error("the last active admin cannot be removed, disabled or demoted")]
    LastAdmin,
    #[error("a token needs a name and at least one scope")]
    InvalidToken,
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error("the account database failed: {0}")]
    Database(#[from] sqlx::Error),
}

impl AccountError {
    /// Whether this is the person's mistake (shown to them) rather than the server's.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            AccountError::Database(_) | AccountError::Password(PasswordError::Hash(_))
        )
    }
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}

pub async fn count_users(db: &Db) -> Result<i64, AccountError> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(db)
        .await?)
}

pub async fn add_user(
    db: &Db,
    name: &str,
    role: Role,
    password: &str,
) -> Result<i64, AccountError> {
    if !valid_name(name) {
        return Err(AccountError::InvalidName);
    }
    let hash = hash_off_thread(password).await?;
    // The next id above every id ever given (see the `user_id_high_water` migration), and a
    // fresh session epoch: nothing of an earlier account carries over to this one.
    let id = sqlx::query_scalar(
        "INSERT INTO users (id, name, password_hash, role, session_epoch)
         VALUES ((SELECT last_id + 1 FROM user_id_high_water), $1, $2, $3, $4) RETURNING id",
    )
    .bind(name)
    .bind(hash)
    .bind(role.as_str())
    .bind(new_epoch())
    .fetch_one(db)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => {
            AccountError::NameTaken(name.to_string())
        }
        other => other.into(),
    })?;
    Ok(id)
}

/// A random value that sessions of an account are bound to.
fn new_epoch() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// Argon2 is slow on purpose: keep it off the async threads.
async fn hash_off_thread(password: &str) -> Result<String, AccountError> {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || passwords::hash(&password))
        .await
        .map_err(|e| PasswordError::Hash(e.to_string()))?
        .map_err(Into::into)
}

/// The active user with this name and password, if any. Takes as long for a wrong name as for
/// a wrong password.
pub async fn authenticate(
    db: &Db,
    name: &str,
    password: &str,
) -> Result<Option<Principal>, AccountError> {
    let row: Option<(i64, String, String, String, Flag)> = sqlx::query_as(
        "SELECT id, name, password_hash, role, disabled FROM users WHERE lower(name) = lower($1)",
    )
    .bind(name)
    .fetch_optional(db)
    .await?;
    let stored = row
        .as_ref()
        .map_or_else(|| passwords::decoy().to_string(), |r| r.2.clone());
    let password = password.to_string();
    let matches = tokio::task::spawn_blocking(move || passwords::verify(&password, &stored))
        .await
        .unwrap_or(false);
    Ok(row
        .filter(|r| matches && !r.4 .0)
        .and_then(|(id, name, _, role, _)| {
            Some(Principal {
                user_id: id,
                name,
                role: Role::parse(&role)?,
                scopes: None,
                token_id: None,
            })
        }))
}

/// The value a new session of this account is bound to (see [`session_principal`]).
pub async fn session_epoch(db: &Db, user_id: i64) -> Result<String, AccountError> {
    sqlx::query_scalar("SELECT session_epoch FROM users WHERE id = $1")
        .bind(user_id)
        .fetch_optional(db)
        .await?
        .ok_or(AccountError::NoSuchUser)
}

/// The principal of a signed-in user, unless the account was disabled or deleted meanwhile or
/// its password was reset since the session began (the session's epoch no longer matches).
pub async fn session_principal(
    db: &Db,
    user_id: i64,
    epoch: &str,
) -> Result<Option<Principal>, AccountError> {
    if epoch.is_empty() {
        return Ok(None);
    }
    let row: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT id, name, role FROM users WHERE id = $1 AND session_epoch = $2 AND disabled = 0",
    )
    .bind(user_id)
    .bind(epoch)
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|(id, name, role)| {
        Some(Principal {
            user_id: id,
            name,
            role: Role::parse(&role)?,
            scopes: None,
            token_id: None,
        })
    }))
}

pub async fn list_users(db: &Db) -> Result<Vec<UserRow>, AccountError> {
    Ok(sqlx::query_as::<_, UserRow>(
        "SELECT id, name, role, disabled, created_at FROM users ORDER BY lower(name)",
    )
    .fetch_all(db)
    .await?)
}

/// Refuses a change that would leave no active admin.
async fn keep_an_admin(db: &Db, user_id: i64) -> Result<(), AccountError> {
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id != $1",
    )
    .bind(user_id)
    .fetch_one(db)
    .await?;
    if others == 0 {
        return Err(AccountError::LastAdmin);
    }
    Ok(())
}

fn changed(result: sqlx::any::AnyQueryResult) -> Result<(), AccountError> {
    if result.rows_affected() == 1 {
        Ok(())
    } else {
        Err(AccountError::NoSuchUser)
    }
}

pub async fn set_role(db: &Db, user_id: i64, role: Role) -> Result<(), AccountError> {
    if role != Role::Admin {
        keep_an_admin(db, user_id).await?;
    }
    changed(
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user_id)
            .execute(db)
            .await?,
    )
}

/// A disabled user's sessions and tokens stop working at their next request.
pub async fn set_disabled(db: &Db, user_id: i64, disabled: bool) -> Result<(), AccountError> {
    if disabled {
        keep_an_admin(db, user_id).await?;
    }
    changed(
        sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2")
            .bind(i64::from(disabled))
            .bind(user_id)
            .execute(db)
            .await?,
    )
}

/// Removes a user with their tokens. Their sessions die with the row (a session is bound to the
/// account's id and epoch, and ids are never given again).
pub async fn delete_user(db: &Db, user_id: i64) -> Result<(), AccountError> {
    keep_an_admin(db, user_id).await?;
    let mut tx = begin_write(db).await?;
    sqlx::query("DELETE FROM api_tokens WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *tx)
        .await?;
    changed(
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user_id)
            .execute(&mut *tx)
            .await?,
    )?;
    tx.commit().await?;
    Ok(())
}

/// Sets a new password and ends every session and token of the user, except the token
/// `keep_token` (the one making the change, if it is theirs). Answers the new session epoch, for
/// the session making the change to carry on with.
pub async fn set_password(
    db: &Db,
    user_id: i64,
    password: &str,
    keep_token: Option<&str>,
) -> Result<String, AccountError> {
    let hash = hash_off_thread(password).await?;
    let epoch = new_epoch();
    let mut tx = begin_write(db).await?;
    changed(
        sqlx::query("UPDATE users SET password_hash = $1, session_epoch = $2 WHERE id = $3")
            .bind(hash)
            .bind(&epoch)
            .bind(user_id)
            .execute(&mut *tx)
            .await?,
    )?;
    sqlx::query(
        "UPDATE api_tokens SET revoked_at = $3
         WHERE user_id = $1 AND revoked_at IS NULL AND id IS DISTINCT FROM $2",
    )
    .bind(user_id)
    .bind(keep_token)
    .bind(now())
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(epoch)
}

/// Whether `password` is `user_id`'s current password.
pub async fn check_password(db: &Db, user_id: i64, password: &str) -> Result<bool, AccountError> {
    let stored: Option<String> =
        sqlx::query_scalar("SELECT password_hash FROM users WHERE id = $1")
            .bind(user_id)
            .fetch_optional(db)
            .await?;
    let Some(stored) = stored else {
        return Err(AccountError::NoSuchUser);
    };
    let password = password.to_string();
    Ok(
        tokio::task::spawn_blocking(move || passwords::verify(&password, &stored))
            .await
            .unwrap_or(false),
    )
}

fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Creates a token for `user_id`; the answer holds the token itself, which is not kept.
/// Tokens carry 256 random bits, so a plain SHA-256 suffices to store them.
pub async fn create_token(
    db: &Db,
    user_id: i64,
    name: &str,
    scopes: &[Scope],
    expires_in_days: Option<u32>,
) -> Result<(String, TokenRow), AccountError> {
    let name = name.trim();
    if name.is_empty() || name.len() > 100 || scopes.is_empty() {
        return Err(AccountError::InvalidToken);
    }
    let secret: [u8; 32] = rand::random();
    let token = format!("tinct_{}", hex::encode(secret));
    let scopes = scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(",");
    let row = sqlx::query_as::<_, TokenRow>(
        "INSERT INTO api_tokens (id, user_id, name, token_sha256, scopes, expires_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, name, scopes, expires_at, last_used_at, revoked_at, created_at",
    )
    .bind(uuid_like())
    .bind(user_id)
    .bind(name)
    .bind(token_hash(&token))
    .bind(&scopes)
    .bind(expires_in_days.map(|days| now_plus(i64::from(days) * 24 * 3600)))
    .fetch_one(db)
    .await?;
    Ok((token, row))
}

/// A random id for a token row (not secret).
fn uuid_like() -> String {
    let bytes: [u8; 16] = rand::random();
    hex::encode(bytes)
}

/// The principal a token stands for: its owner's role narrowed to its scopes. `None` for an
/// unknown, revoked or expired token or a disabled owner.
pub async fn token_principal(db: &Db, token: &str) -> Result<Option<Principal>, AccountError> {
    let row: Option<(String, i64, String, String, String)> = sqlx::query_as(
        "UPDATE api_tokens SET last_used_at = $2
         WHERE token_sha256 = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
               AND user_id IN (SELECT id FROM users WHERE disabled = 0)
         RETURNING id, user_id, scopes,
                   (SELECT name FROM users WHERE users.id = api_tokens.user_id),
                   (SELECT role FROM users WHERE users.id = api_tokens.user_id)",
    )
    .bind(token_hash(token))
    .bind(now())
    .fetch_optional(db)
    .await?;
    Ok(row.and_then(|(id, user_id, scopes, name, role)| {
        Some(Principal {
            user_id,
            name,
            role: Role::parse(&role)?,
            scopes: Some(scopes.split(',').filter_map(Scope::parse).collect()),
            token_id: Some(id),
        })
    }))
}

pub async fn list_tokens(db: &Db, user_id: i64) -> Result<Vec<TokenRow>, AccountError> {
    Ok(sqlx::query_as::<_, TokenRow>(
        "SELECT id, name, scopes, expires_at, last_used_at, revoked_at, created_at
         FROM api_tokens WHERE user_id = $1 ORDER BY created_at DESC",
    )
    .bind(user_id)
    .fetch_all(db)
    .await?)
}

/// Revokes one of `user_id`'s tokens; false when they have no such live token.
pub async fn revoke_token(db: &Db, user_id: i64, token_id: &str) -> Result<bool, AccountError> {
    let result = sqlx::query(
        "UPDATE api_tokens SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
    )
    .bind(token_id)
    .bind(user_id)
    .bind(now())
    .execute(db)
    .await?;
    Ok(result.rows_affected() == 1)
}

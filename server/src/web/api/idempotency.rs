//! `Idempotency-Key` on submissions: the first request with a key is processed and its answer
//! kept; a repeat (a client retrying after a lost connection) gets that answer again, marked
//! `Idempotent-Replayed: true`, and nothing is queued twice. Keys belong to one person.

use app::db::Db;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};

use crate::web::error::ApiError;

pub const HEADER: &str = "idempotency-key";

/// The key of a request, if it sent a usable one.
pub fn key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = headers.get(HEADER) else {
        return Ok(None);
    };
    let key = value.to_str().unwrap_or("").trim();
    if key.is_empty() || key.len() > 200 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(
            "an Idempotency-Key is 1 to 200 printable ASCII characters",
        ));
    }
    Ok(Some(key.to_string()))
}

/// What to do with a keyed request.
pub enum Claim {
    /// First time: process it, then `finish`.
    Process,
    /// Seen before: answer this.
    Replay(Response),
}

/// At start-up: a key whose request was cut off by a stop stays "in progress" forever unless it
/// is released here, and a client resuming (`tinct submit`) would get 409 for ever.
pub async fn release_interrupted(db: &Db) -> Result<u64, sqlx::Error> {
    let released = sqlx::query("DELETE FROM idempotency_keys WHERE response IS NULL")
        .execute(db)
        .await?
        .rows_affected();
    if released > 0 {
        tracing::info!(
            keys = released,
            "Idempotency-Keys of interrupted submissions were released"
        );
    }
    Ok(released)
}

/// Keys are kept for a day; a key older than that is forgotten and may be used again.
const KEPT_SECONDS: i64 = 24 * 3600;

pub async fn claim(db: &Db, owner: i64, key: &str) -> Result<Claim, ApiError> {
    sqlx::query("DELETE FROM idempotency_keys WHERE created_at < $1")
        .bind(app::db::now_plus(-KEPT_SECONDS))
        .execute(db)
        .await
        .map_err(ApiError::internal)?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (owner_id, key, created_at) VALUES ($1, $2, $3)
         ON CONFLICT DO NOTHING",
    )
    .bind(owner)
    .bind(key)
    .bind(app::db::now())
    .execute(db)
    .await
    .map_err(ApiError::internal)?
    .rows_affected()
        == 1;
    if inserted {
        return Ok(Claim::Process);
    }
    let stored: Option<String> = sqlx::query_scalar(
        "SELECT response FROM idempotency_keys WHERE owner_id = $1 AND key = $2",
    )
    .bind(owner)
    .bind(key)
    .fetch_one(db)
    .await
    .map_err(ApiError::internal)?;
    match stored {
        Some(body) => {
            let mut response = (
                [(axum::http::header::CONTENT_TYPE, "application/json")],
                body,
            )
                .into_response();
            response
                .headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(Claim::Replay(response))
        }
        None => Err(ApiError::conflict(
            "a submission with this Idempotency-Key is still being processed",
        )),
    }
}

/// Keeps the answer of a processed request, or forgets the key when it failed (so that the
/// client may try again).
pub async fn finish(db: &Db, owner: i64, key: &str, answer: Option<&str>) {
    let result = match answer {
        Some(body) => {
            sqlx::query(
                "UPDATE idempotency_keys SET response = $1 WHERE owner_id = $2 AND key = $3",
            )
            .bind(body)
            .bind(owner)
            .bind(key)
            .execute(db)
            .await
        }
        None => {
            sqlx::query("DELETE FROM idempotency_keys WHERE owner_id = $1 AND key = $2")
                .bind(owner)
                .bind(key)
                .execute(db)
                .await
        }
    };
    if let Err(error) = result {
        tracing::error!(%error, "an Idempotency-Key could not be recorded");
    }
}

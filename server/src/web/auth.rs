//! Every request is either public (the sign-in page, static files, health) or carries a
//! principal: from the session cookie or from `Authorization: Bearer <token>`. Requests a
//! browser could be tricked into sending from another site (a session and an unsafe method)
//! must come from this site's own origin.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use tower_sessions::Session;

use app::auth::{store, Principal};
use app::pages::{SESSION_EPOCH, SESSION_USER};

use crate::web::error::ApiError;
use crate::web::AppState;

/// Paths anyone may fetch: signing in needs them.
fn is_public(path: &str) -> bool {
    matches!(
        path,
        "/login" | "/healthz" | "/favicon.ico" | "/api/login" | "/api/current_user"
    ) || path.starts_with("/pkg/")
}

/// What a request proved who it is with, kept so that long-lived answers (event streams) can
/// check again later that it still holds.
#[derive(Clone)]
pub enum Credential {
    Session { user_id: i64, epoch: String },
    Token(String),
}

/// Never the token or the epoch: a credential must not end up in a log.
impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credential::Session { user_id, .. } => write!(f, "Session(user {user_id})"),
            Credential::Token(_) => f.write_str("Token(..)"),
        }
    }
}

impl Credential {
    /// The principal this credential stands for now: `None` once the account was disabled or
    /// deleted, its password reset, or the token revoked or expired.
    pub async fn principal(
        &self,
        db: &app::db::Db,
    ) -> Result<Option<Principal>, store::AccountError> {
        match self {
            Credential::Session { user_id, epoch } => {
                store::session_principal(db, *user_id, epoch).await
            }
            Credential::Token(token) => store::token_principal(db, token).await,
        }
    }
}

/// A token from the `Authorization` header, or from `?token=` on the event streams (browsers'
/// `EventSource` and `WebSocket` cannot set headers).
fn bearer_token(request: &Request) -> Option<String> {
    let header = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(|t| t.trim().to_string());
    header.or_else(|| {
        let path = request.uri().path();
        if !matches!(path, "/api/v1/events" | "/ws" | "/api/ws") {
            return None;
        }
        request
            .uri()
            .query()?
            .split('&')
            .find_map(|pair| pair.strip_prefix("token=").map(str::to_string))
    })
}

/// Whether a request's `Origin` (or, lacking it, `Referer`) is this server as the browser
/// addressed it (`Host`).
fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|v| v.to_str().ok());
    source.is_some_and(|source| {
        let rest = source
            .strip_prefix("https://")
            .or_else(|| source.strip_prefix("http://"));
        rest.is_some_and(|rest| rest.split('/').next() == Some(host))
    })
}

fn signed_out(request: &Request) -> Response {
    let path = request.uri().path();
    // Browsers asking for a page go to the sign-in page; programs get 401.
    let accepts_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let wants_page = request.method() == Method::GET && accepts_html && !path.starts_with("/api/");
    if wants_page {
        let next = request
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        let next: String = form_urlencoded_component(next);
        Redirect::to(&format!("/login?next={next}")).into_response()
    } else {
        ApiError::unauthorized("sign in, or send an API token as 'Authorization: Bearer <token>'")
            .into_response()
    }
}

/// Percent-encodes everything but unreserved characters.
fn form_urlencoded_component(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Resolves when `credential` stops holding: checked every `limits.access_recheck` and whenever
/// an account or token changes. Event streams end with it, so a disabled or deleted account, a
/// reset password or a revoked token stops receiving within that time.
pub async fn access_ends(state: AppState, credential: Option<Credential>) {
    let Some(credential) = credential else {
        return std::future::pending().await;
    };
    let changed = state.context.account_changed.clone();
    loop {
        tokio::select! {
            _ = tokio::time::sleep(state.limits.access_recheck) => {}
            _ = changed.notified() => {}
        }
        match credential.principal(&state.context.db).await {
            Ok(Some(_)) => continue,
            Ok(None) => return,
            // A database hiccup is no reason to cut a person off; check again next time.
            Err(error) => tracing::warn!(%error, "an event stream's access could not be checked"),
        }
    }
}

pub async fn authenticate(
    State(state): State<AppState>,
    session: Session,
    mut request: Request,
    next: Next,
) -> Response {
    // Static files and the health check need no one, nor the database.
    let path = request.uri().path();
    if path == "/healthz" || path.starts_with("/pkg/") {
        return next.run(request).await;
    }
    let db = &state.context.db;
    let (principal, by_session, credential) = if let Some(token) = bearer_token(&request) {
        match store::token_principal(db, &token).await {
            Ok(Some(p)) => (Some(p), false, Some(Credential::Token(token))),
            Ok(None) => {
                return ApiError::unauthorized("this API token is unknown, revoked or expired")
                    .into_response()
            }
            Err(e) => return ApiError::internal(e).into_response(),
        }
    } else {
        let user_id = session.get::<i64>(SESSION_USER).await.ok().flatten();
        let epoch = session.get::<String>(SESSION_EPOCH).await.ok().flatten();
        match (user_id, epoch) {
            (Some(user_id), Some(epoch)) => {
                match store::session_principal(db, user_id, &epoch).await {
                    Ok(p) => (p, true, Some(Credential::Session { user_id, epoch })),
                    Err(e) => return ApiError::internal(e).into_response(),
                }
            }
            _ => (None, true, None),
        }
    };

    let unsafe_method = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    // A websocket opened by another site's page would carry the session cookie too.
    let websocket = request
        .headers()
        .get(header::UPGRADE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
    if by_session && (unsafe_method || websocket) && !same_origin(request.headers()) {
        return (
            StatusCode::FORBIDDEN,
            axum::Json(serde_json::json!({
                "error": "this request did not come from Tinct's own pages, so it was refused"
            })),
        )
            .into_response();
    }

    let path = request.uri().path().to_string();
    match principal {
        Some(principal) => {
            request.extensions_mut().insert::<Principal>(principal);
            if let Some(credential) = credential {
                request.extensions_mut().insert(credential);
            }
            next.run(request).await
        }
        None if is_public(&path) => next.run(request).await,
        None => signed_out(&request),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn only_this_sites_origin_counts_as_same_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, HeaderValue::from_static("tinct.local:8080"));
        assert!(!same_origin(&headers), "no Origin and no Referer");
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://tinct.local:8080"),
        );
        assert!(same_origin(&headers));
        headers.insert(
            header::ORIGIN,
            HeaderValue::from_static("http://tinct.local:8080.evil.example"),
        );
        assert!(!same_origin(&headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin(&headers));
        headers.remove(header::ORIGIN);
        headers.insert(
            header::REFERER,
            HeaderValue::from_static("https://tinct.local:8080/upload"),
        );
        assert!(same_origin(&headers));
    }
}

//! `POST /api/v1/jobs/bulk`: the gallery's bulk actions on ticked photos — cancel, retry,
//! re-run with another preset or model, delete. Each job goes through the job service on its
//! own; the answer says how many were changed and why the others were not.

use app::auth::Principal;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use serde::Serialize;

use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// Most jobs in one bulk action.
pub const MAX_BULK: usize = 500;

/// What a bulk action did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkOutcome {
    /// Jobs changed (for a re-run: new versions queued).
    pub changed: usize,
    /// Jobs left as they were, each with the reason.
    pub refused: Vec<BulkRefusal>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BulkRefusal {
    pub job_id: String,
    pub error: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Action {
    Cancel,
    Retry,
    Rerun,
    Delete,
}

impl Action {
    fn parse(text: &str) -> Option<Action> {
        match text {
            "cancel" => Some(Action::Cancel),
            "retry" => Some(Action::Retry),
            "rerun" => Some(Action::Rerun),
            "delete" => Some(Action::Delete),
            _ => None,
        }
    }
    fn done(self) -> &'static str {
        match self {
            Action::Cancel => "cancelled",
            Action::Retry => "queued again",
            Action::Rerun => "re-run as new versions",
            Action::Delete => "deleted",
        }
    }
}

/// A form: `id` (repeated), `action` (`cancel`, `retry`, `rerun`, `delete`), for a re-run
/// `preset` and optionally `model`; `back` is the gallery address to return to.
#[utoipa::path(post, path = "/api/v1/jobs/bulk", tag = "jobs",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`id` (repeated), `action` (`cancel`, `retry`, `rerun`, `delete`), `preset` and `model` for a re-run"),
    responses((status = 200, description = "How many were changed, and why the others were not", body = BulkOutcome), (status = 303, description = "A page asking for HTML goes back to the gallery, with the outcome in words"), (status = 400, description = "No action, no photo, or too many", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn bulk(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let from_page = super::from_page(&headers);
    let form: Vec<(String, String)> = form_urlencoded::parse(&body).into_owned().collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    };
    // Only a gallery address of this site: never a redirect elsewhere.
    let back = field("back")
        .filter(|b| b.starts_with("/gallery") && !b.starts_with("//"))
        .unwrap_or("/gallery")
        .to_string();
    let outcome = act(
        &state,
        &who,
        &form,
        field("action"),
        field("preset"),
        field("model"),
    )
    .await;
    match (outcome, from_page) {
        (Ok((action, outcome)), true) => {
            let mut sentence = format!("{} photo(s) {}.", outcome.changed, action.done());
            if let Some(first) = outcome.refused.first() {
                sentence.push_str(&format!(" {} not: {}.", outcome.refused.len(), first.error));
            }
            Ok(Redirect::to(&with_param(&back, "bulk", &sentence)).into_response())
        }
        (Ok((_, outcome)), false) => Ok(Json(outcome).into_response()),
        (Err(refusal), true) => {
            Ok(Redirect::to(&with_param(&back, "refused", &refusal.message)).into_response())
        }
        (Err(refusal), false) => Err(refusal),
    }
}

fn with_param(address: &str, name: &str, value: &str) -> String {
    let words: String = form_urlencoded::byte_serialize(value.as_bytes()).collect();
    let separator = if address.contains('?') { '&' } else { '?' };
    format!("{address}{separator}{name}={words}")
}

async fn act(
    state: &AppState,
    who: &Principal,
    form: &[(String, String)],
    action: Option<&str>,
    preset: Option<&str>,
    model: Option<&str>,
) -> Result<(Action, BulkOutcome), ApiError> {
    let action = action
        .and_then(Action::parse)
        .ok_or_else(|| ApiError::bad_request("action must be cancel, retry, rerun or delete"))?;
    let ids: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::bad_request("tick at least one photo first"));
    }
    if ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_BULK} photos in one action"
        )));
    }
    let service = &state.context.jobs;
    let mut outcome = BulkOutcome {
        changed: 0,
        refused: Vec::new(),
    };
    for id in ids {
        let result = match action {
            Action::Cancel => service.cancel(who, id).await,
            Action::Retry => service.retry(who, id).await,
            Action::Delete => service.delete(who, id).await,
            Action::Rerun => service
                .rerun(who, id, preset.unwrap_or("portrait"), model, None)
                .await
                .map(|_| ()),
        };
        match result {
            Ok(()) => outcome.changed += 1,
            Err(error) if error.is_user_error() => outcome.refused.push(BulkRefusal {
                job_id: id.to_string(),
                error: error.to_string(),
            }),
            Err(error) => return Err(error.into()),
        }
    }
    Ok((action, outcome))
}

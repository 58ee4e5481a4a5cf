//! Review and correct: a photo's versions, corrected versions (strength and colour hints), the
//! live preview of a correction, and review decisions. The work is the job service's; these
//! handlers read the request and say the outcome.

use app::auth::Principal;
use app::jobs::read;
use app::jobs::{JobRow, ReviewState};
use app::storage::{ObjectKey, COMPARE_SIDE};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Extension, Json};
use engine::correct::{Correction, ModelColours};
use serde::{Deserialize, Serialize};

use super::files::{preview_bytes, preview_response, visible_files};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// What a new version answers.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NewVersion {
    pub job_id: String,
}

/// A correction as the API takes it: `strength` (0–1.5, 1 = as the model predicted) and
/// `hints`, each `{x, y, radius, lab: [a, b] | srgb: "#rrggbb"}` with x, y and radius as
/// fractions of the image.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct CorrectionBody {
    #[serde(default = "full_strength")]
    pub strength: f32,
    #[serde(default)]
    #[schema(value_type = Vec<Object>)]
    pub hints: Vec<engine::correct::Hint>,
}

fn full_strength() -> f32 {
    1.0
}

/// A JSON request body; a body that is not one is refused in words, as JSON like every error.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the body is not the JSON expected: {e}")))
}

/// `POST /api/v1/jobs/{id}/versions`: queues a corrected version of a finished job's photo.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/versions", tag = "review", params(("id" = String, Path, description = "The version to correct")),
    request_body = CorrectionBody,
    responses((status = 202, description = "The corrected version is queued", body = NewVersion), (status = 400, description = "The correction cannot be applied (the reason says why)", body = ErrorBody), (status = 403, description = "Viewers cannot correct", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 409, description = "The job has not finished", body = ErrorBody),))]
pub async fn create_version(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<(StatusCode, Json<NewVersion>), ApiError> {
    let body: CorrectionBody = json_body(&body)?;
    let correction = Correction {
        strength: body.strength,
        hints: body.hints,
    };
    let job_id = state.context.jobs.correct(&who, &id, &correction).await?;
    Ok((StatusCode::ACCEPTED, Json(NewVersion { job_id })))
}

/// `GET /api/v1/jobs/{id}/versions`: every version of the job's photo, oldest first, each with
/// the photo's review and whether it is the chosen one.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/versions", tag = "review", params(("id" = String, Path, description = "Any version of the photo")),
    responses((status = 200, description = "The photo's versions", body = [JobRow]), (status = 404, description = "No such job", body = ErrorBody),))]
pub async fn list_versions(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<Vec<JobRow>>, ApiError> {
    super::jobs::readable(&who)?;
    let versions = read::versions(&state.context.db, &who, &id)
        .await
        .map_err(ApiError::internal)?;
    if versions.is_empty() {
        return Err(ApiError::not_found("no such job"));
    }
    Ok(Json(versions))
}

/// A review decision.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ReviewBody {
    pub state: ReviewState,
    /// The reason, or the source of a colour.
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /api/v1/jobs/{id}/review`: approves or rejects the job's photo, with a note.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/review", tag = "review", params(("id" = String, Path, description = "Any version of the photo")),
    request_body = ReviewBody,
    responses((status = 204, description = "Recorded, with who decided and when"), (status = 400, description = "The note is too long", body = ErrorBody), (status = 403, description = "Viewers cannot review", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody),))]
pub async fn review(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let body: ReviewBody = json_body(&body)?;
    state
        .context
        .jobs
        .review(&who, &id, body.state, body.note.as_deref())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/jobs/{id}/choose`: makes this version its photo's chosen one.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/choose", tag = "review", params(("id" = String, Path, description = "The version to choose")),
    responses((status = 204, description = "Chosen"), (status = 403, description = "Viewers cannot choose", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 409, description = "The version has not finished", body = ErrorBody),))]
pub async fn choose(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.context.jobs.choose(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Photos reviewed in one bulk decision, at most.
const MAX_BULK: usize = 500;

/// `POST /api/v1/reviews` (a form: `id` repeated, `state`, `note`): the gallery's bulk approve
/// or reject. Answers with a redirect back to the gallery, saying how many were decided.
#[utoipa::path(post, path = "/api/v1/reviews", tag = "review",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "`id` (repeated), `state` (`approved`, `rejected`, `to_review`) and an optional `note`"),
    responses((status = 303, description = "Back to the gallery, saying how many photos were decided"), (status = 400, description = "No state, no photo, or too many photos (a page asking for HTML is sent back to the gallery with the reason instead)", body = ErrorBody), (status = 403, description = "Viewers cannot review", body = ErrorBody), (status = 404, description = "A photo that does not exist (or is not yours to see)", body = ErrorBody),))]
pub async fn review_many(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    // The gallery's form expects a page back: a refusal goes back to the gallery in words.
    let from_page = super::from_page(&headers);
    match decide_many(&state, &who, &body).await {
        Ok(location) => Ok(Redirect::to(&location).into_response()),
        Err(refusal) if from_page => {
            let words: String =
                form_urlencoded::byte_serialize(refusal.message.as_bytes()).collect();
            Ok(Redirect::to(&format!("/gallery?refused={words}")).into_response())
        }
        Err(refusal) => Err(refusal),
    }
}

/// The bulk decision of a form body; answers where the gallery shows its outcome.
async fn decide_many(state: &AppState, who: &Principal, body: &[u8]) -> Result<String, ApiError> {
    let form: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    let ids: Vec<&str> = form
        .iter()
        .filter(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .collect();
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let decision = field("state")
        .and_then(ReviewState::parse)
        .ok_or_else(|| ApiError::bad_request("state must be to_review, approved or rejected"))?;
    if ids.is_empty() {
        return Err(ApiError::bad_request(
            "tick at least one photo, then approve or reject",
        ));
    }
    if ids.len() > MAX_BULK {
        return Err(ApiError::bad_request(format!(
            "at most {MAX_BULK} photos in one decision"
        )));
    }
    let decided = state
        .context
        .jobs
        .review_many(who, &ids, decision, field("note"))
        .await?;
    Ok(format!(
        "/gallery?review={}&decided={decided}",
        decision.as_str()
    ))
}

#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PreviewQuery {
    /// The correction as JSON: `{"strength": 0.8, "hints": [...]}`.
    pub c: String,
}

/// Corrections previewed at once: each takes a core for a fraction of a second.
static PREVIEW_TURNS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

/// `GET /api/v1/jobs/{id}/correction-preview?c=…`: the comparison preview recoloured with a
/// correction, from the kept model colours (no model run), as a JPEG.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/correction-preview", tag = "review", params(("id" = String, Path, description = "The version being corrected"), PreviewQuery),
    responses((status = 200, description = "A 1600 px JPEG", content_type = "image/jpeg"), (status = 400, description = "The correction cannot be applied", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 409, description = "No model colours were kept for this version", body = ErrorBody),))]
pub async fn correction_preview(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let query = PreviewQuery {
        c: form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .find(|(key, _)| key == "c")
            .map(|(_, value)| value.into_owned())
            .ok_or_else(|| ApiError::bad_request("give the correction as ?c={...}"))?,
    };
    let correction: Correction = serde_json::from_str(&query.c)
        .map_err(|e| ApiError::bad_request(format!("the correction is not valid JSON: {e}")))?;
    correction
        .validate()
        .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let files = visible_files(&state, &who, &id).await?;
    let colours_key = files.colours_key.clone().ok_or_else(|| {
        ApiError::conflict(
            "this version was made before Tinct kept model colours; re-run it to correct it",
        )
    })?;
    let store = &state.jobs.store;
    let colours = store
        .get_bytes(&ObjectKey::new(colours_key).map_err(ApiError::internal)?)
        .await
        .map_err(|_| ApiError::conflict("the model colours of this version are gone; re-run it"))?;
    let original = preview_bytes(&state, &files, "original", COMPARE_SIDE).await?;
    let _turn = PREVIEW_TURNS.acquire().await.map_err(ApiError::internal)?;
    let jpeg = tokio::task::spawn_blocking(move || {
        let colours = ModelColours::from_bytes(&colours)?;
        let source = engine::decode::decode(&original, u64::MAX)?;
        let image = engine::correct::recolor(&source, &colours, &correction)?;
        engine::encode::encode(&image, engine::encode::OutputFormat::from_name("jpeg"))
    })
    .await
    .map_err(ApiError::internal)?
    .map_err(|e| match e.is_bad_input() {
        true => ApiError::bad_request(e.to_string()),
        false => ApiError::internal(e),
    })?;
    let mut response = preview_response(jpeg);
    // A preview is of a correction being made; nothing to keep.
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    Ok(response)
}

//! Reading and cancelling jobs.

use app::auth::Principal;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::{Deserialize, Serialize};

use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobView {
    pub id: String,
    pub batch_id: Option<String>,
    pub original_name: String,
    pub preset: String,
    pub input_size: i64,
    pub model: String,
    pub status: String,
    pub error: Option<String>,
    /// How many times a worker started it (more than one after a crash or a retry).
    pub attempts: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// The visible label drawn on the result (`en`, `zh`), if any.
    pub visible_label: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

const JOB_COLUMNS: &str = "id, batch_id, original_name, preset, input_size, model, status, error, attempts, width, height, visible_label,
                           created_at, started_at, finished_at";

/// `GET /api/v1/jobs/{id}`
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = JobView), (status = 404, description = "No such job (or not yours to see)", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn get_job(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    readable(&who)?;
    sqlx::query_as::<_, JobView>(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE id = ? AND {}",
        who.visible_jobs()
    ))
    .bind(&id)
    .fetch_optional(&state.context.db)
    .await
    .map_err(ApiError::internal)?
    .map(Json)
    .ok_or_else(|| ApiError::not_found("no such job"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    pub status: Option<String>,
    pub batch: Option<String>,
}

/// `GET /api/v1/jobs?status=&batch=`: newest first, at most 1000.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(JobFilter),
    responses((status = 200, description = "Jobs, newest first, at most 1000", body = [JobView]), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn list_jobs(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(filter): Query<JobFilter>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    readable(&who)?;
    let jobs = sqlx::query_as::<_, JobView>(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR batch_id = ?2)
               AND {}
         ORDER BY created_at DESC, id DESC LIMIT 1000",
        who.visible_jobs()
    ))
    .bind(&filter.status)
    .bind(&filter.batch)
    .fetch_all(&state.context.db)
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(jobs))
}

/// `DELETE /api/v1/jobs/{id}`: cancels a job that has not started.
#[utoipa::path(delete, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 204, description = "Cancelled"), (status = 409, description = "It is no longer waiting", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn cancel_job(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.context.jobs.cancel(&who, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/jobs/{id}/retry`: queues a failed or cancelled job again.
#[utoipa::path(post, path = "/api/v1/jobs/{id}/retry", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 202, description = "Queued again"), (status = 409, description = "It has not failed or been cancelled", body = ErrorBody), (status = 404, description = "No such job", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn retry_job(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.context.jobs.retry(&who, &id).await?;
    Ok(StatusCode::ACCEPTED)
}

/// Reading needs the `read` scope (or `submit`, which implies following one's submissions).
pub(crate) fn readable(who: &Principal) -> Result<(), ApiError> {
    if who.can_read() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "this token does not have the read scope",
        ))
    }
}

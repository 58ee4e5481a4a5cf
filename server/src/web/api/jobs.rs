//! Reading and cancelling jobs.

use app::auth::Principal;
use app::jobs::read::{self, JobQuery, Order};
use app::jobs::{JobRow, JobStatus, ReviewState};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Extension;
use axum::Json;
use serde::Deserialize;

use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// `GET /api/v1/jobs/{id}`
#[utoipa::path(get, path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "The job", body = JobRow), (status = 404, description = "No such job (or not yours to see)", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn get_job(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Json<JobRow>, ApiError> {
    readable(&who)?;
    read::one(&state.context.db, &who, &id)
        .await
        .map_err(ApiError::internal)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such job"))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobFilter {
    pub status: Option<JobStatus>,
    pub batch: Option<String>,
    /// Photos in this review state.
    pub review: Option<ReviewState>,
}

/// `GET /api/v1/jobs?status=&batch=&review=`: newest first, at most 1000.
#[utoipa::path(get, path = "/api/v1/jobs", tag = "jobs", params(JobFilter),
    responses((status = 200, description = "Jobs, newest first, at most 1000", body = [JobRow]), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn list_jobs(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(filter): Query<JobFilter>,
) -> Result<Json<Vec<JobRow>>, ApiError> {
    readable(&who)?;
    let query = JobQuery {
        status: filter.status,
        batch: filter.batch,
        review: filter.review,
        order: Order::NewestByCreated,
        limit: 1000,
        ..JobQuery::default()
    };
    let jobs = read::list(&state.context.db, &who, &query)
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

//! The native REST API under `/api/v1`: submit images, read and cancel jobs, fetch their files,
//! follow their events.

mod bulk;
mod events;
mod files;
mod idempotency;
mod jobs;
mod models;
mod openapi;
mod submit;
mod versions;

pub use bulk::bulk;
pub use events::{events, EventFilter};
pub(crate) use files::{file_response, mime_of};
pub use files::{job_original, job_preview, job_result, job_thumbnail};
pub use idempotency::release_interrupted as release_interrupted_idempotency_keys;
pub(crate) use jobs::readable;
pub use jobs::{cancel_job, get_job, list_jobs, retry_job, JobFilter};
pub use models::list_models;
pub use openapi::{document as openapi_document, ApiDoc};
pub use submit::{sanitize_name, submit, FileOutcome, SubmitResponse};
pub use versions::{
    choose, correction_preview, create_version, list_versions, review, review_many,
};

/// Whether a form was sent by a page (which expects a page back: a redirect with the outcome in
/// words) rather than by a program (which gets JSON).
pub(crate) fn from_page(headers: &axum::http::HeaderMap) -> bool {
    headers
        .get(axum::http::header::ACCEPT)
        .and_then(|accept| accept.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

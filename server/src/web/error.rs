//! API errors: a status code and one sentence, sent as `{"error": "..."}`.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::jobs::JobError;

/// The body of every API error.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// One sentence saying what went wrong.
    pub error: String,
}

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
    /// Sent as `Retry-After` (seconds).
    pub retry_after_s: Option<u64>,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        let retry_after_s = (status == StatusCode::SERVICE_UNAVAILABLE).then_some(60);
        ApiError {
            status,
            message: message.into(),
            retry_after_s,
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, message)
    }
    pub fn too_many(message: impl Into<String>, retry_after_s: u64) -> Self {
        Self {
            status: StatusCode::TOO_MANY_REQUESTS,
            message: message.into(),
            retry_after_s: Some(retry_after_s),
        }
    }
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, message)
    }
    pub fn bad_form(error: axum::extract::multipart::MultipartError) -> Self {
        Self::new(
            error.status(),
            format!("the upload could not be read: {}", error.body_text()),
        )
    }
    /// Logged in full; the client hears only that it was the server's fault.
    pub fn internal(error: impl std::fmt::Display) -> Self {
        tracing::error!(%error, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the server failed; the details are in its log",
        )
    }
}

impl From<JobError> for ApiError {
    fn from(error: JobError) -> Self {
        match error {
            JobError::QueueFull(_) => Self::new(StatusCode::SERVICE_UNAVAILABLE, error.to_string()),
            JobError::NotFound => Self::not_found(error.to_string()),
            JobError::Running | JobError::PromptIdTaken(_) | JobError::NotNow(_) => {
                Self::conflict(error.to_string())
            }
            JobError::Forbidden => Self::forbidden(error.to_string()),
            JobError::TooMany(seconds) => Self::too_many(error.to_string(), seconds),
            JobError::BatchOfAnother => Self::forbidden(error.to_string()),
            JobError::Refused(reason) => Self::bad_request(reason),
            JobError::Upload(e) => Self::bad_form(e),
            JobError::Storage(app::storage::StorageError::Remote { .. }) => {
                tracing::error!(%error, "the object store failed");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the image store cannot be reached right now, so nothing was queued; please try again in a few minutes",
                )
            }
            other => Self::internal(other),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (
            self.status,
            Json(serde_json::json!({ "error": self.message })),
        )
            .into_response();
        if let Some(seconds) = self.retry_after_s {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}

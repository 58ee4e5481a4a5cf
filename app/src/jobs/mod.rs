//! Page-neutral job types, the same on the server and in the browser: a job's status and row,
//! what an event says, what a submission answers. The server sends them as JSON and the browser
//! reads them back as these types, not by string keys. `read` (server only) is the one place
//! that lists and shows jobs.

pub mod batches;
#[cfg(feature = "ssr")]
pub mod events;
#[cfg(feature = "ssr")]
pub mod queue;
#[cfg(feature = "ssr")]
pub mod read;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// Where a job stands. Stored as lowercase text in the `jobs` table and sent as such.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "lowercase"))]
pub enum JobStatus {
    Queued,
    Running,
    Done,
    Failed,
    Cancelled,
    /// Only in events: the job and its files were removed.
    Deleted,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Queued => "queued",
            JobStatus::Running => "running",
            JobStatus::Done => "done",
            JobStatus::Failed => "failed",
            JobStatus::Cancelled => "cancelled",
            JobStatus::Deleted => "deleted",
        }
    }

    /// Done, failed or cancelled: nothing more will happen to it by itself.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            JobStatus::Done | JobStatus::Failed | JobStatus::Cancelled
        )
    }

    /// Waiting or being colorized.
    pub fn is_pending(self) -> bool {
        matches!(self, JobStatus::Queued | JobStatus::Running)
    }

    /// The status a filter names (`done`, …); `None` for anything else.
    pub fn parse(text: &str) -> Option<JobStatus> {
        [
            JobStatus::Queued,
            JobStatus::Running,
            JobStatus::Done,
            JobStatus::Failed,
            JobStatus::Cancelled,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for JobStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a photo's review stands. Stored as text in `photo_reviews` and sent as such.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ssr", derive(sqlx::Type, utoipa::ToSchema))]
#[cfg_attr(feature = "ssr", sqlx(type_name = "TEXT", rename_all = "snake_case"))]
pub enum ReviewState {
    #[default]
    ToReview,
    Approved,
    Rejected,
}

impl ReviewState {
    pub const ALL: [ReviewState; 3] = [
        ReviewState::ToReview,
        ReviewState::Approved,
        ReviewState::Rejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReviewState::ToReview => "to_review",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }

    /// In words, for pages: "to review", "approved", "rejected".
    pub fn label(self) -> &'static str {
        match self {
            ReviewState::ToReview => "to review",
            ReviewState::Approved => "approved",
            ReviewState::Rejected => "rejected",
        }
    }

    /// The state a filter or a form names; `None` for anything else.
    pub fn parse(text: &str) -> Option<ReviewState> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A job as every list and detail view shows it (pages and REST alike). A job is one version
/// of a photo (one original in one batch); the photo's review comes with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow, utoipa::ToSchema))]
pub struct JobRow {
    pub id: String,
    pub batch_id: Option<String>,
    pub original_name: String,
    /// The original's content hash (SHA-256, hex).
    pub original_sha256: String,
    pub preset: String,
    pub input_size: i64,
    pub model: String,
    /// The model file's SHA-256, once the job has run.
    pub model_sha256: Option<String>,
    /// `png` or `jpeg`.
    pub output_format: String,
    /// The visible label drawn on the result (`en`, `zh`), if any.
    pub visible_label: Option<String>,
    pub status: JobStatus,
    pub submitted_by: Option<String>,
    pub error: Option<String>,
    /// How many times a worker started it (more than one after a crash or a retry).
    pub attempts: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    /// Milliseconds per stage, as JSON.
    pub timings: Option<String>,
    /// Who signed the result's Content Credentials; `None` when it is not signed.
    pub content_credentials: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    /// The version this one corrects.
    pub parent_id: Option<String>,
    /// A person's correction (JSON: `strength`, `hints`); `None` for a model run.
    pub correction: Option<String>,
    /// The photo's review.
    pub review_state: ReviewState,
    /// Why, or the source of a colour ("door colour from the 1931 building permit").
    pub review_note: Option<String>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<String>,
    /// Whether this is the photo's chosen version (picked, or else the newest finished one).
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Flag"))]
    pub chosen: bool,
}

/// A process that runs jobs (`tinct serve` with workers, `tinct worker`), as it registered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct WorkerRow {
    pub id: String,
    pub host: String,
    pub pid: i64,
    /// Where it runs inference, in words.
    pub device: String,
    /// Its default model.
    pub model: String,
    pub job_workers: i64,
    pub started_at: String,
    /// Its last sign of life.
    pub heartbeat_at: String,
    /// When it stopped on purpose.
    pub stopped_at: Option<String>,
    pub jobs_done: i64,
    pub jobs_failed: i64,
    /// Heard from within its lease and not stopped.
    #[cfg_attr(feature = "ssr", sqlx(try_from = "crate::db::Flag"))]
    pub alive: bool,
}

/// Jobs waiting and running for one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct ModelQueue {
    pub model: String,
    pub queued: i64,
    pub running: i64,
}

/// Why the job service refused or failed, in words for the person who asked (or, for the
/// server's own failures, for the log).
#[cfg(feature = "ssr")]
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the queue is full ({0} jobs waiting); please try again in a few minutes")]
    QueueFull(i64),
    #[error("no such job")]
    NotFound,
    #[error("your role does not allow this")]
    Forbidden,
    #[error("the job is running; wait until it has finished")]
    Running,
    #[error("too many submissions; wait {0} s and try again")]
    TooMany(u64),
    #[error("this batch belongs to someone else; start a new batch instead")]
    BatchOfAnother,
    #[error("the prompt id {0:?} is already taken")]
    PromptIdTaken(String),
    /// The job is not in a state that allows this (cancel a running job, retry a done one).
    #[error("{0}")]
    NotNow(String),
    /// The person's request or file, refused with the reason (shown next to it).
    #[error("{0}")]
    Refused(String),
    #[error("the upload could not be read: {0}")]
    Upload(#[from] axum::extract::multipart::MultipartError),
    #[error("the upload could not be stored: {0}")]
    Io(#[from] std::io::Error),
    #[error("the job database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

#[cfg(feature = "ssr")]
impl JobError {
    /// Whether this is about the person's request (said to them) rather than the server.
    pub fn is_user_error(&self) -> bool {
        !matches!(
            self,
            JobError::Io(_) | JobError::Database(_) | JobError::Storage(_)
        )
    }
}

/// A change of a job's state, as the event streams send it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEvent {
    pub job_id: String,
    pub batch_id: Option<String>,
    pub status: JobStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Who may see it: its owner, and everyone when it is not private (never sent).
    #[serde(skip)]
    pub owner_id: Option<i64>,
    #[serde(skip)]
    pub private: bool,
}

/// One submitted file's fate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct FileOutcome {
    pub name: String,
    pub accepted: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    /// Why it was refused, in words for the person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The same content was colorized before: how often, and the newest result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duplicate: Option<Duplicate>,
    /// Not queued, because its content was already colorized (the upload asked to skip such).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub skipped: bool,
}

/// Content colorized before, as an upload's answer says it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct Duplicate {
    /// Finished colorizations of the same content the submitter may see.
    pub times: i64,
    /// The newest of them.
    pub job_id: String,
}

/// What a submission answers: its batch and each file's fate, in the order sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct SubmitResponse {
    pub batch_id: String,
    pub files: Vec<FileOutcome>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_events_travel_as_lowercase_json() {
        let event = JobEvent {
            job_id: "j".into(),
            batch_id: None,
            status: JobStatus::Cancelled,
            error: None,
            owner_id: Some(3),
            private: true,
        };
        let text = serde_json::to_string(&event).unwrap();
        assert_eq!(
            text,
            r#"{"job_id":"j","batch_id":null,"status":"cancelled"}"#
        );
        let back: JobEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(back.status, JobStatus::Cancelled);
        assert_eq!((back.owner_id, back.private), (None, false));
        for status in [JobStatus::Queued, JobStatus::Done, JobStatus::Deleted] {
            assert_eq!(serde_json::to_value(status).unwrap(), status.as_str());
        }
    }
}

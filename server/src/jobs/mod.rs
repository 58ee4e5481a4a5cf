//! Colorization jobs. The queue is the `jobs` table: a job accepted before a crash is found
//! again after it, and a job completes only from `running`, so none completes twice.

pub mod events;
pub mod provenance;
pub mod queue;
pub mod service;
pub mod worker;

pub use events::{JobEvent, JobEvents, JobStatus};
pub use queue::{ClaimedJob, ComfyOutput, ComfyPrompt, JobQueue, NewJob};
pub use service::{JobService, Original};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the queue is full ({0} jobs waiting); please try again in a few minutes")]
    QueueFull(i64),
    #[error("no such job")]
    NotFound,
    #[error("the job is running; wait until it has finished")]
    Running,
    #[error("too many submissions; wait {0} s and try again")]
    TooMany(u64),
    #[error("this batch belongs to someone else; start a new batch instead")]
    BatchOfAnother,
    #[error("the prompt id {0:?} is already taken")]
    PromptIdTaken(String),
    /// The person's file, refused with the reason (shown next to its name).
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

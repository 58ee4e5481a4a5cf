//! Colorization jobs. The queue is the `jobs` table: a job accepted before a crash is found
//! again after it, and a job completes only from `running`, so none completes twice.

pub mod actions;
pub mod events;
pub mod provenance;
pub mod queue;
pub mod settings;
pub mod worker;

pub use actions::JobActions;
pub use events::{JobEvent, JobEvents};
pub use queue::{ClaimedJob, JobQueue, NewJob};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("the queue is full ({0} jobs waiting); please try again in a few minutes")]
    QueueFull(i64),
    #[error("no such job")]
    NotFound,
    #[error("the job is running; wait until it has finished")]
    Running,
    #[error("the job database failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

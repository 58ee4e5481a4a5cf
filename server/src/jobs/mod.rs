//! Colorization jobs. The queue is the `jobs` table: a job accepted before a crash is found
//! again after it, and a job completes only from `running`, so none completes twice.

// The queue, the events and the job service (the front door) live in `app::jobs`, where the
// pages' server functions reach them too; the workers that run jobs live here.
pub mod provenance;
pub mod worker;

pub use app::jobs::events::JobEvents;
pub use app::jobs::queue::{ClaimedJob, ComfyOutput, ComfyPrompt, JobQueue, NewJob};
pub use app::jobs::service::{JobService, Original};
pub use app::jobs::{JobError, JobEvent, JobStatus};

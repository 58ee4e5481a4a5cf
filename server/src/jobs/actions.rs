//! What staff do to jobs from the pages and the API: cancel, retry, re-run with another preset,
//! delete. Every change is published on the event stream, so open pages follow it.

use std::path::PathBuf;

use app::context::{JobActionError, JobControl};

use super::settings::{self, SettingsError};
use super::worker::Workers;
use super::{JobError, JobEvent, NewJob};
use crate::storage::ObjectKey;

#[derive(Clone)]
pub struct JobActions {
    pub workers: Workers,
    pub workflows_dir: PathBuf,
}

impl From<JobError> for JobActionError {
    fn from(error: JobError) -> Self {
        match error {
            JobError::NotFound => JobActionError::NotFound,
            JobError::QueueFull(_) | JobError::Running => {
                JobActionError::Refused(error.to_string())
            }
            other => JobActionError::Internal(other.to_string()),
        }
    }
}

impl JobActions {
    fn publish(&self, job_id: &str, batch_id: Option<String>, status: &str) {
        self.workers.events.publish(JobEvent {
            job_id: job_id.to_string(),
            batch_id,
            status: status.into(),
            error: None,
        });
    }
}

#[async_trait::async_trait]
impl JobControl for JobActions {
    async fn cancel(&self, id: &str) -> Result<(), JobActionError> {
        match self.workers.queue.cancel(id).await? {
            Some(batch_id) => {
                self.publish(id, batch_id, "cancelled");
                Ok(())
            }
            None => Err(JobActionError::Refused(
                "only a job that is still waiting can be cancelled".into(),
            )),
        }
    }

    async fn retry(&self, id: &str) -> Result<(), JobActionError> {
        match self.workers.queue.retry(id).await? {
            Some(batch_id) => {
                self.publish(id, batch_id, "queued");
                self.workers.wake.notify_waiters();
                Ok(())
            }
            None => Err(JobActionError::Refused(
                "only a failed or cancelled job can be retried".into(),
            )),
        }
    }

    async fn rerun(&self, id: &str, preset: &str) -> Result<String, JobActionError> {
        let old = self.workers.queue.get(id).await?;
        let (preset, input_size, model) = settings::resolve(
            &self.workers.engine,
            &self.workflows_dir,
            Some(preset),
            None,
        )
        .map_err(|e| match e {
            SettingsError::Invalid(message) => JobActionError::Refused(message),
            other => JobActionError::Internal(other.to_string()),
        })?;
        let new_id = self
            .workers
            .queue
            .submit(NewJob {
                batch_id: old.batch_id.clone(),
                submitted_by: old.submitted_by,
                original_name: old.original_name,
                original_sha256: old.original_sha256,
                preset,
                input_size,
                model,
                output_format: old.output_format,
            })
            .await?;
        self.publish(&new_id, old.batch_id, "queued");
        self.workers.wake.notify_waiters();
        Ok(new_id)
    }

    async fn delete(&self, id: &str) -> Result<(), JobActionError> {
        let deleted = self.workers.queue.delete(id).await?;
        // The rows are gone; now the files. A file that cannot be removed is only wasted space.
        let store = &self.workers.store;
        let mut keys: Vec<ObjectKey> = ObjectKey::previews_of(id);
        keys.extend(deleted.result_key.and_then(|k| ObjectKey::new(k).ok()));
        if let Some(sha256) = deleted.orphaned_original {
            keys.extend(ObjectKey::original(&sha256).ok());
        }
        for key in keys {
            if let Err(error) = store.delete(&key).await {
                tracing::warn!(%error, key = key.as_str(), "a deleted job's file stayed behind");
            }
        }
        self.publish(id, deleted.batch_id, "deleted");
        Ok(())
    }
}

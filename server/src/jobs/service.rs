//! What staff do to jobs from the pages and the API: cancel, retry, re-run with another preset,
//! delete. Each checks that the person may manage the job; every change is published on the
//! event stream, so open pages follow it.

use std::path::PathBuf;

use app::auth::Principal;
use app::context::{JobActionError, JobControl};

use super::queue::StoredJob;
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
    fn publish(&self, job_id: &str, job: &StoredJob, status: &str) {
        self.workers.events.publish(JobEvent {
            job_id: job_id.to_string(),
            batch_id: job.batch_id.clone(),
            status: status.into(),
            error: None,
            owner_id: job.owner_id,
            private: job.private,
        });
    }

    /// The job, if `who` may manage it. One they cannot see is "no such job", so that ids of
    /// other people's private jobs cannot be probed.
    async fn managed(&self, who: &Principal, id: &str) -> Result<StoredJob, JobActionError> {
        let job = self.workers.queue.get(id).await?;
        if !who.can_see(job.owner_id, job.private) {
            return Err(JobActionError::NotFound);
        }
        if !who.may_manage(job.owner_id, job.private) {
            return Err(JobActionError::Forbidden);
        }
        Ok(job)
    }
}

#[async_trait::async_trait]
impl JobControl for JobActions {
    async fn cancel(&self, who: &Principal, id: &str) -> Result<(), JobActionError> {
        let job = self.managed(who, id).await?;
        match self.workers.queue.cancel(id).await? {
            Some(_) => {
                self.publish(id, &job, "cancelled");
                Ok(())
            }
            None => Err(JobActionError::Refused(
                "only a job that is still waiting can be cancelled".into(),
            )),
        }
    }

    async fn retry(&self, who: &Principal, id: &str) -> Result<(), JobActionError> {
        let job = self.managed(who, id).await?;
        match self.workers.queue.retry(id).await? {
            Some(_) => {
                self.publish(id, &job, "queued");
                self.workers.wake.notify_waiters();
                Ok(())
            }
            None => Err(JobActionError::Refused(
                "only a failed or cancelled job can be retried".into(),
            )),
        }
    }

    async fn rerun(
        &self,
        who: &Principal,
        id: &str,
        preset: &str,
    ) -> Result<String, JobActionError> {
        let old = self.managed(who, id).await?;
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
                submitted_by: Some(who.name.clone()),
                owner_id: Some(who.user_id),
                private: old.private,
                original_name: old.original_name.clone(),
                original_sha256: old.original_sha256.clone(),
                preset,
                input_size,
                model,
                output_format: old.output_format.clone(),
                visible_label: old.visible_label.clone(),
            })
            .await?;
        let new = StoredJob {
            owner_id: Some(who.user_id),
            ..old
        };
        self.publish(&new_id, &new, "queued");
        self.workers.wake.notify_waiters();
        Ok(new_id)
    }

    async fn delete(&self, who: &Principal, id: &str) -> Result<(), JobActionError> {
        let job = self.managed(who, id).await?;
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
        self.publish(id, &job, "deleted");
        Ok(())
    }
}

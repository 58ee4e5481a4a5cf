//! The one front door for jobs. The pages' server functions, the REST API and the ComfyUI API
//! all come through here: taking in an original (temporary file, hash, content check, object
//! store, `originals` row), queueing one or many jobs in one transaction, announcing them and
//! waking the workers, and cancel / retry / re-run / delete. The limits apply here, whoever
//! calls. Its SQL is in `queue` (writes) and `read` (reads); only this service and the workers
//! (claim, complete, fail) call the queue.

use std::path::PathBuf;
use std::sync::Arc;

use engine::correct::Correction;
use engine::presets::{Presets, Resolved};
use engine::Engine;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio::sync::Notify;

use super::batches;
use super::events::JobEvents;
use super::queue::{ComfyPrompt, CorrectionOf, JobQueue, NewJob, StoredJob};
use super::{JobError, JobEvent, JobStatus, ReviewState};
use crate::auth::Principal;
use crate::storage::{ObjectKey, ObjectStore};

/// What an intake limits and decides, whoever submits.
#[derive(Debug, Clone)]
pub struct IntakeLimits {
    pub max_file_bytes: u64,
    /// Content already colorized: again, or skipped, when the upload does not say.
    pub duplicates: super::batches::Duplicates,
}

#[derive(Clone)]
pub struct JobService {
    pub queue: JobQueue,
    pub store: Arc<dyn ObjectStore>,
    pub engine: Arc<Engine>,
    pub events: JobEvents,
    /// Woken on every submission, so an idle worker starts at once.
    pub wake: Arc<Notify>,
    /// The presets, read once at start.
    pub presets: Arc<Presets>,
    /// Uploads are written to `DATA_DIR/tmp` before they are checked and stored.
    pub temp_dir: PathBuf,
    pub limits: IntakeLimits,
    /// Submissions per person in a minute (each may hold many files).
    pub throttle: Arc<governor::DefaultKeyedRateLimiter<i64>>,
}

/// An original taken in: its content hash, the key of the object store and the file's facts.
#[derive(Debug, Clone)]
pub struct Original {
    pub sha256: String,
    pub bytes: u64,
    pub width: u32,
    pub height: u32,
}

impl JobService {
    /// At start-up: temporary uploads left by a crash are removed.
    pub async fn remove_stale_uploads(&self) {
        if let Ok(mut entries) = tokio::fs::read_dir(&self.temp_dir).await {
            while let Ok(Some(entry)) = entries.next_entry().await {
                if let Err(error) = tokio::fs::remove_file(entry.path()).await {
                    tracing::warn!(%error, path = %entry.path().display(), "a stale upload stayed behind");
                }
            }
        }
    }

    /// Refuses `who` for a while after too many submissions in a minute.
    pub fn check_rate(&self, who: &Principal) -> Result<(), JobError> {
        self.throttle.check_key(&who.user_id).map_err(|not_until| {
            let wait = not_until.wait_time_from(governor::clock::Clock::now(
                &governor::clock::DefaultClock::default(),
            ));
            JobError::TooMany(wait.as_secs().max(1))
        })
    }

    /// The preset, input size and model a submission runs with; a refusal says why.
    pub fn resolve(
        &self,
        preset: Option<&str>,
        size: Option<u32>,
        model: Option<&str>,
    ) -> Result<Resolved, JobError> {
        self.presets
            .resolve(&self.engine, preset, size, model)
            .map_err(|e| JobError::Refused(e.to_string()))
    }

    /// Takes in one uploaded file: streamed to a temporary file (hashing as it goes) within the
    /// size limit, checked by content (an image, within the pixel limit, not cut short), stored
    /// once per content hash and recorded. A refusal is `JobError::Refused` with the reason.
    pub async fn intake(
        &self,
        mut field: axum::extract::multipart::Field<'_>,
    ) -> Result<Original, JobError> {
        tokio::fs::create_dir_all(&self.temp_dir).await?;
        let temp = self.temp_dir.join(uuid::Uuid::now_v7().to_string());
        // Removed on every exit; after a move into the store there is nothing left to remove.
        let _cleanup = TempFile(temp.clone());
        let mut file = tokio::fs::File::create(&temp).await?;
        let mut hasher = Sha256::new();
        let mut length: u64 = 0;
        while let Some(chunk) = field.chunk().await? {
            length += chunk.len() as u64;
            if length > self.limits.max_file_bytes {
                return Err(JobError::Refused(format!(
                    "the file is larger than the {} MB limit",
                    self.limits.max_file_bytes >> 20
                )));
            }
            hasher.update(&chunk);
            file.write_all(&chunk).await?;
        }
        file.flush().await?;
        drop(file);
        let max_pixels = self.engine.settings().max_pixels;
        let probe_path = temp.clone();
        let (format, width, height) = tokio::task::spawn_blocking(move || {
            engine::decode::probe_file(&probe_path, max_pixels).and_then(|probe| {
                engine::decode::check_complete(&probe_path, probe.0).map(|()| probe)
            })
        })
        .await
        .map_err(|e| JobError::Io(std::io::Error::other(e)))?
        .map_err(|e| JobError::Refused(e.to_string()))?;
        let sha256 = hex::encode(hasher.finalize());
        let key = ObjectKey::original(&sha256)?;
        // The same scan uploaded again is stored once: the new copy is simply dropped.
        let store = &self.store;
        if !store.exists(&key).await? {
            store.put_file(&key, &temp).await?;
        }
        let format = format!("{format:?}").to_lowercase();
        self.queue
            .record_original(&sha256, length, &format, width, height)
            .await?;
        Ok(Original {
            sha256,
            bytes: length,
            width,
            height,
        })
    }

    /// Refuses adding to a batch that someone else started.
    pub async fn check_batch(&self, who: &Principal, batch_id: &str) -> Result<(), JobError> {
        if super::batches::of_another(&self.queue.db, batch_id, who.user_id).await? {
            return Err(JobError::BatchOfAnother);
        }
        Ok(())
    }

    /// Queues `jobs` (one submission, or one ComfyUI prompt) in one transaction, announces them
    /// and wakes the workers. All or none: a full queue refuses the whole submission.
    pub async fn submit(
        &self,
        jobs: &[NewJob],
        prompt: Option<&ComfyPrompt>,
    ) -> Result<(Vec<String>, Option<i64>), JobError> {
        let (ids, number) = self.queue.enqueue(jobs, prompt).await?;
        for (id, job) in ids.iter().zip(jobs) {
            self.events.publish(JobEvent {
                job_id: id.clone(),
                batch_id: job.batch_id.clone(),
                status: JobStatus::Queued,
                error: None,
                owner_id: job.owner_id,
                private: job.private,
            });
        }
        self.wake.notify_waiters();
        Ok((ids, number))
    }
}

/// Removes a temporary upload unless it was moved into the store.
struct TempFile(PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

impl JobService {
    fn publish(&self, job_id: &str, job: &StoredJob, status: JobStatus) {
        self.events.publish(JobEvent {
            job_id: job_id.to_string(),
            batch_id: job.batch_id.clone(),
            status,
            error: None,
            owner_id: job.owner_id,
            private: job.private,
        });
    }

    /// The job, if `who` may manage it. One they cannot see is "no such job", so that ids of
    /// other people's private jobs cannot be probed.
    async fn managed(&self, who: &Principal, id: &str) -> Result<StoredJob, JobError> {
        let job = self.queue.get(id).await?;
        if !who.can_see(job.owner_id, job.private) {
            return Err(JobError::NotFound);
        }
        if !who.may_manage(job.owner_id, job.private) {
            return Err(JobError::Forbidden);
        }
        Ok(job)
    }
}

/// What staff do to jobs from the pages and the API. Each checks that the person may manage the
/// job (a job they may not even see is "no such job"); every change is published on the event
/// stream, so open pages follow it.
impl JobService {
    pub async fn cancel(&self, who: &Principal, id: &str) -> Result<(), JobError> {
        let job = self.managed(who, id).await?;
        match self.queue.cancel(id).await? {
            Some(_) => {
                self.publish(id, &job, JobStatus::Cancelled);
                Ok(())
            }
            None => Err(JobError::NotNow(
                "only a job that is still waiting can be cancelled".into(),
            )),
        }
    }

    pub async fn retry(&self, who: &Principal, id: &str) -> Result<(), JobError> {
        let job = self.managed(who, id).await?;
        match self.queue.retry(id).await? {
            Some(_) => {
                self.publish(id, &job, JobStatus::Queued);
                self.wake.notify_waiters();
                Ok(())
            }
            None => Err(JobError::NotNow(
                "only a failed or cancelled job can be retried".into(),
            )),
        }
    }

    /// Colorizes job `id`'s original again as a new version of the photo: with `preset`, and
    /// with another installed model and size when given ("try another model").
    pub async fn rerun(
        &self,
        who: &Principal,
        id: &str,
        preset: &str,
        model: Option<&str>,
        size: Option<u32>,
    ) -> Result<String, JobError> {
        let old = self.managed(who, id).await?;
        let Resolved {
            preset,
            input_size,
            model,
        } = self.resolve(Some(preset), size, model)?;
        let (ids, _) = self
            .submit(
                &[NewJob {
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
                    comfy_output: None,
                    correction: None,
                }],
                None,
            )
            .await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| JobError::Refused("the re-run was not queued; try again".into()))
    }

    pub async fn delete(&self, who: &Principal, id: &str) -> Result<(), JobError> {
        let job = self.managed(who, id).await?;
        let deleted = self.queue.delete(id).await?;
        // The rows are gone; now the files. A file that cannot be removed is only wasted space.
        let store = &self.store;
        let mut keys: Vec<ObjectKey> = ObjectKey::previews_of(id);
        keys.extend(deleted.result_key.and_then(|k| ObjectKey::new(k).ok()));
        keys.extend(
            deleted
                .orphaned_colours
                .and_then(|k| ObjectKey::new(k).ok()),
        );
        if let Some(sha256) = deleted.orphaned_original {
            keys.extend(ObjectKey::original(&sha256).ok());
        }
        for key in keys {
            if let Err(error) = store.delete(&key).await {
                tracing::warn!(%error, key = key.as_str(), "a deleted job's file stayed behind");
            }
        }
        self.publish(id, &job, JobStatus::Deleted);
        Ok(())
    }
}

/// A review note is a sentence or a paragraph, not a document.
pub const MAX_NOTE_CHARS: usize = 2000;

/// Review and correct: a person's corrected versions and decisions on a photo (one original in
/// one batch). The same permission as the other actions: staff on shared photos and their own,
/// admins on all; viewers read only.
impl JobService {
    /// Queues a corrected version of job `id`'s photo: the model's colours of that version with
    /// `correction` applied, rendered at full resolution. Answers the new version's id.
    pub async fn correct(
        &self,
        who: &Principal,
        id: &str,
        correction: &Correction,
    ) -> Result<String, JobError> {
        let source = self.managed(who, id).await?;
        if source.status != JobStatus::Done {
            return Err(JobError::NotNow(
                "only a finished version can be corrected".into(),
            ));
        }
        correction
            .validate()
            .map_err(|e| JobError::Refused(e.to_string()))?;
        let json = serde_json::to_string(correction)
            .map_err(|e| JobError::Refused(format!("the correction could not be read: {e}")))?;
        let (ids, _) = self
            .submit(
                &[NewJob {
                    batch_id: source.batch_id.clone(),
                    submitted_by: Some(who.name.clone()),
                    owner_id: source.owner_id,
                    private: source.private,
                    original_name: source.original_name.clone(),
                    original_sha256: source.original_sha256.clone(),
                    preset: source.preset.clone(),
                    input_size: u32::try_from(source.input_size).unwrap_or_default(),
                    model: source.model.clone(),
                    output_format: source.output_format.clone(),
                    visible_label: source.visible_label.clone(),
                    comfy_output: None,
                    correction: Some(CorrectionOf {
                        parent_id: id.to_string(),
                        correction: json,
                        colours_key: source.colours_key.clone(),
                    }),
                }],
                None,
            )
            .await?;
        ids.into_iter()
            .next()
            .ok_or_else(|| JobError::Refused("the correction was not queued; try again".into()))
    }

    /// Approves or rejects the photo of job `id` (or puts it back to review), with a note.
    pub async fn review(
        &self,
        who: &Principal,
        id: &str,
        state: ReviewState,
        note: Option<&str>,
    ) -> Result<(), JobError> {
        let job = self.managed(who, id).await?;
        let note = note.map(str::trim).filter(|n| !n.is_empty());
        if note.is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            return Err(JobError::Refused(format!(
                "the note is longer than {MAX_NOTE_CHARS} characters"
            )));
        }
        self.queue.review(&job, state, note, &who.name).await?;
        self.publish(id, &job, job.status);
        Ok(())
    }

    /// The gallery's bulk decision: the photos of all `ids` approved or rejected with one note,
    /// or none of them when `who` may not decide one of them (nothing half done).
    pub async fn review_many(
        &self,
        who: &Principal,
        ids: &[&str],
        state: ReviewState,
        note: Option<&str>,
    ) -> Result<usize, JobError> {
        for id in ids {
            self.managed(who, id).await?;
        }
        for id in ids {
            self.review(who, id, state, note).await?;
        }
        Ok(ids.len())
    }

    /// Marks job `id` as its photo's chosen version.
    pub async fn choose(&self, who: &Principal, id: &str) -> Result<(), JobError> {
        let job = self.managed(who, id).await?;
        if job.status != JobStatus::Done {
            return Err(JobError::NotNow(
                "only a finished version can be chosen".into(),
            ));
        }
        self.queue.choose(id, &job).await?;
        self.publish(id, &job, job.status);
        Ok(())
    }
}

/// Batches: a name and description given by their owner, and the files of a batch that are not
/// jobs (listed before the upload, refused, skipped as already colorized), kept with the batch.
impl JobService {
    /// Names batch `id` (a new batch is made) and describes it; only its owner may.
    pub async fn name_batch(
        &self,
        who: &Principal,
        id: &str,
        name: &str,
        description: Option<&str>,
    ) -> Result<(), JobError> {
        if !who.can_submit() {
            return Err(JobError::Forbidden);
        }
        if uuid::Uuid::parse_str(id).is_err() {
            return Err(JobError::Refused("that is not a batch id".into()));
        }
        self.check_batch(who, id).await?;
        let name = batches::clean_text(name, batches::MAX_NAME_CHARS)
            .ok_or_else(|| JobError::Refused("give the batch a name".into()))?;
        let description =
            description.and_then(|d| batches::clean_text(d, batches::MAX_DESCRIPTION_CHARS));
        batches::name(&self.queue.db, id, &name, description.as_deref(), who).await?;
        Ok(())
    }

    /// Records the files chosen for batch `id` before their upload starts — `(name, bytes, the
    /// page's reason to refuse it)` — so that a reload during the upload shows which never
    /// arrived, and the refused ones stay with their reason.
    pub async fn list_batch_files(
        &self,
        who: &Principal,
        id: &str,
        files: &[(String, i64, Option<String>)],
    ) -> Result<(), JobError> {
        if !who.can_submit() {
            return Err(JobError::Forbidden);
        }
        self.check_batch(who, id).await?;
        if files.len() > super::read::BATCH_LIMIT as usize {
            return Err(JobError::Refused(format!(
                "at most {} files in one batch",
                super::read::BATCH_LIMIT
            )));
        }
        let mut listed = Vec::new();
        for (name, bytes, refusal) in files {
            let name = batches::sanitize_name(name);
            // The page's own reason, kept with the batch: a sentence, not a document.
            match refusal.as_deref().and_then(|r| batches::clean_text(r, 300)) {
                Some(reason) => self.keep_refusal(who, id, &name, &reason).await?,
                None => listed.push((name, *bytes)),
            }
        }
        batches::list_files(&self.queue.db, id, &listed).await?;
        Ok(())
    }

    /// Keeps a refused upload in its batch, with the reason.
    pub async fn keep_refusal(
        &self,
        who: &Principal,
        batch_id: &str,
        name: &str,
        reason: &str,
    ) -> Result<(), JobError> {
        let file = batches::KeptFile {
            owner_id: Some(who.user_id),
            created_by: Some(&who.name),
            name,
            state: batches::FileState::Refused,
            message: reason,
            original_sha256: None,
            duplicate_of: None,
            settings: None,
        };
        batches::keep_file(&self.queue.db, batch_id, file).await?;
        Ok(())
    }

    /// How often `who` has seen this content colorized, and the newest result.
    pub async fn colorized_before(
        &self,
        who: &Principal,
        sha256: &str,
    ) -> Result<(i64, Option<String>), JobError> {
        Ok(batches::colorized_before(&self.queue.db, who, sha256).await?)
    }

    /// Keeps an upload that was not queued because its content was already colorized; the
    /// settings it came with are kept to colorize it after all.
    pub async fn keep_skipped(
        &self,
        job: &NewJob,
        times: i64,
        newest: Option<&str>,
    ) -> Result<(), JobError> {
        let Some(batch_id) = &job.batch_id else {
            return Ok(());
        };
        let settings = batches::SkippedSettings {
            preset: job.preset.clone(),
            input_size: job.input_size,
            model: job.model.clone(),
            output_format: job.output_format.clone(),
            visible_label: job.visible_label.clone(),
            private: job.private,
        };
        let file = batches::KeptFile {
            owner_id: job.owner_id,
            created_by: job.submitted_by.as_deref(),
            name: &job.original_name,
            state: batches::FileState::Skipped,
            message: &batches::already_colorized(times),
            original_sha256: Some(&job.original_sha256),
            duplicate_of: newest,
            settings: serde_json::to_string(&settings).ok(),
        };
        batches::keep_file(&self.queue.db, batch_id, file).await?;
        Ok(())
    }

    /// Colorizes a file of batch `id` that was skipped as already colorized, with the settings it
    /// came with. Answers the new job's id.
    pub async fn colorize_skipped(
        &self,
        who: &Principal,
        id: &str,
        name: &str,
    ) -> Result<String, JobError> {
        if !who.can_submit() {
            return Err(JobError::Forbidden);
        }
        self.check_batch(who, id).await?;
        let (sha256, settings) = batches::skipped(&self.queue.db, id, name)
            .await?
            .ok_or(JobError::NotFound)?;
        let settings: batches::SkippedSettings =
            serde_json::from_str(&settings).map_err(|e| JobError::Io(std::io::Error::other(e)))?;
        if !self.store.exists(&ObjectKey::original(&sha256)?).await? {
            return Err(JobError::NotNow(
                "its original was deleted with its other versions; upload the file again".into(),
            ));
        }
        let job = NewJob {
            batch_id: Some(id.to_string()),
            submitted_by: Some(who.name.clone()),
            owner_id: Some(who.user_id),
            private: settings.private,
            original_name: name.to_string(),
            original_sha256: sha256,
            preset: settings.preset,
            input_size: settings.input_size,
            model: settings.model,
            output_format: settings.output_format,
            visible_label: settings.visible_label,
            comfy_output: None,
            correction: None,
        };
        let (mut ids, _) = self.submit(&[job], None).await?;
        ids.pop().ok_or(JobError::NotFound)
    }
}

//! The job table as a queue.

use crate::db::Db;

use super::events::announce_within;
use super::{JobError, JobEvent, JobStatus, ReviewState};
use crate::db::{begin_write, now, now_plus, Backend, Flag};

/// What a submission asks for.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub batch_id: Option<String>,
    pub submitted_by: Option<String>,
    pub owner_id: Option<i64>,
    /// Seen only by its owner and admins.
    pub private: bool,
    pub original_name: String,
    pub original_sha256: String,
    pub preset: String,
    pub input_size: u32,
    pub model: String,
    pub output_format: String,
    /// A visible label to draw (`en`, `zh`), if any.
    pub visible_label: Option<String>,
    /// The ComfyUI output node this job stands for, when it came as part of a prompt.
    pub comfy_output: Option<ComfyOutput>,
    /// For a corrected version: the version it corrects, the correction (JSON) and where the
    /// model's colours it starts from are kept.
    pub correction: Option<CorrectionOf>,
}

/// What a corrected version is made from.
#[derive(Debug, Clone)]
pub struct CorrectionOf {
    pub parent_id: String,
    /// `engine::correct::Correction` as JSON.
    pub correction: String,
    pub colours_key: Option<String>,
}

/// Which nodes of a ComfyUI prompt a job stands for.
#[derive(Debug, Clone)]
pub struct ComfyOutput {
    pub colorize_node: String,
    pub output_node: String,
    pub output_class: String,
}

/// A ComfyUI prompt, stored with its jobs (its id is their batch id).
#[derive(Debug, Clone)]
pub struct ComfyPrompt {
    pub prompt_id: String,
    pub client_id: Option<String>,
    pub owner_id: i64,
    /// The workflow and `extra_data` as posted (JSON), for `/history` and `/queue`.
    pub prompt: String,
    pub extra_data: String,
}

/// A job a worker has taken.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ClaimedJob {
    pub id: String,
    /// How often it was taken (1 on the first run): each run stores its result under its own
    /// key, so a run that lost its lease never overwrites the result of the run that took over.
    pub attempts: i64,
    pub batch_id: Option<String>,
    pub submitted_by: Option<String>,
    pub owner_id: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub private: bool,
    pub original_name: String,
    pub preset: String,
    pub original_sha256: String,
    pub input_size: i64,
    pub model: String,
    pub output_format: String,
    pub visible_label: Option<String>,
    pub parent_id: Option<String>,
    /// A person's correction (JSON), for a corrected version.
    pub correction: Option<String>,
    /// The model's colours to start from, when an earlier run kept them.
    pub colours_key: Option<String>,
}

impl ClaimedJob {
    /// The event that says this job is now `status`.
    pub fn event(&self, status: JobStatus, error: Option<String>) -> JobEvent {
        JobEvent {
            job_id: self.id.clone(),
            batch_id: self.batch_id.clone(),
            status,
            error,
            owner_id: self.owner_id,
            private: self.private,
        }
    }
}

/// A job as submitted, for re-running it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredJob {
    pub batch_id: Option<String>,
    pub submitted_by: Option<String>,
    pub owner_id: Option<i64>,
    #[sqlx(try_from = "Flag")]
    pub private: bool,
    pub original_name: String,
    pub original_sha256: String,
    pub output_format: String,
    pub visible_label: Option<String>,
    pub status: JobStatus,
    pub preset: String,
    pub input_size: i64,
    pub model: String,
    pub correction: Option<String>,
    pub colours_key: Option<String>,
}

/// What a deletion left for the caller to remove from the object store.
#[derive(Debug, Clone)]
pub struct DeletedJob {
    pub result_key: Option<String>,
    /// The model's colours when no other version starts from them.
    pub orphaned_colours: Option<String>,
    /// The original's content hash when no job refers to it any more.
    pub orphaned_original: Option<String>,
}

/// What a finished job records about its result.
#[derive(Debug, Clone)]
pub struct Completion {
    pub result_key: String,
    pub model_sha256: String,
    pub width: u32,
    pub height: u32,
    pub timings_json: String,
    /// Who signed the result's Content Credentials; `None` when it is not signed.
    pub content_credentials: Option<String>,
    /// Where the model's colours of this version are kept.
    pub colours_key: Option<String>,
}

/// A worker process as it registers itself (its row in `workers`).
#[derive(Debug, Clone)]
pub struct WorkerInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    /// Where it runs inference, in words (`CPU`, `CUDA GPU 0`).
    pub device: String,
    /// Its default model.
    pub model: String,
    /// Jobs it colorizes at the same time.
    pub job_workers: usize,
    pub lease_seconds: u32,
}

#[derive(Clone)]
pub struct JobQueue {
    pub(crate) db: Db,
    /// Most jobs waiting at once; more are refused, not buffered.
    limit: i64,
}

/// A worker process's claim on the jobs it runs: who holds them and for how long a claim lasts
/// without being renewed.
#[derive(Debug, Clone)]
pub struct Lease {
    /// The worker process (its row in `workers`).
    pub owner: String,
    pub seconds: u32,
}

impl Lease {
    /// When a lease taken or renewed now runs out.
    fn end(&self) -> String {
        now_plus(i64::from(self.seconds))
    }
}

impl JobQueue {
    pub fn new(db: Db, limit: i64) -> Self {
        JobQueue { db, limit }
    }

    /// Queues `jobs` (and the ComfyUI prompt they belong to) in one transaction: all of them or,
    /// when the queue has no room for all, none. Answers the new ids in order, and the prompt's
    /// number.
    pub async fn enqueue(
        &self,
        jobs: &[NewJob],
        prompt: Option<&ComfyPrompt>,
    ) -> Result<(Vec<String>, Option<i64>), JobError> {
        let mut tx = begin_write(&self.db).await?;
        let number = match prompt {
            Some(prompt) => {
                let Flag(taken) = sqlx::query_scalar(
                    "SELECT EXISTS (SELECT 1 FROM comfy_prompts WHERE prompt_id = $1)
                         OR EXISTS (SELECT 1 FROM jobs WHERE batch_id = $1)",
                )
                .bind(&prompt.prompt_id)
                .fetch_one(&mut *tx)
                .await?;
                if taken {
                    return Err(JobError::PromptIdTaken(prompt.prompt_id.clone()));
                }
                Some(
                    sqlx::query_scalar(
                        "INSERT INTO comfy_prompts (prompt_id, number, client_id, owner_id, prompt, extra_data)
                         VALUES ($1, (SELECT COALESCE(MAX(number), -1) + 1 FROM comfy_prompts), $2, $3, $4, $5)
                         RETURNING number",
                    )
                    .bind(&prompt.prompt_id)
                    .bind(&prompt.client_id)
                    .bind(prompt.owner_id)
                    .bind(&prompt.prompt)
                    .bind(&prompt.extra_data)
                    .fetch_one(&mut *tx)
                    .await?,
                )
            }
            None => None,
        };
        let waiting: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'queued'")
            .fetch_one(&mut *tx)
            .await?;
        if waiting + jobs.len() as i64 > self.limit {
            return Err(JobError::QueueFull(waiting));
        }
        let mut ids = Vec::with_capacity(jobs.len());
        for job in jobs {
            let id = uuid::Uuid::now_v7().to_string();
            if let Some(batch_id) = &job.batch_id {
                // Every batch has a name: a ComfyUI prompt is named after its id, other batches
                // after the time they were started (the page names its batches before this).
                let name = prompt.map(|p| format!("ComfyUI prompt {}", p.prompt_id));
                super::batches::ensure(
                    &mut tx,
                    batch_id,
                    name.as_deref(),
                    job.owner_id,
                    job.submitted_by.as_deref(),
                )
                .await?;
                // A file listed, refused or skipped before is now a job.
                sqlx::query("DELETE FROM batch_files WHERE batch_id = $1 AND name = $2")
                    .bind(batch_id)
                    .bind(&job.original_name)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query(
                "INSERT INTO jobs (id, batch_id, submitted_by, owner_id, private, original_name, original_sha256,
                                   preset, input_size, model, output_format, visible_label, parent_id,
                                   correction, colours_key, status)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'queued')",
            )
            .bind(&id)
            .bind(&job.batch_id)
            .bind(&job.submitted_by)
            .bind(job.owner_id)
            .bind(i64::from(job.private))
            .bind(&job.original_name)
            .bind(&job.original_sha256)
            .bind(&job.preset)
            .bind(i64::from(job.input_size))
            .bind(&job.model)
            .bind(&job.output_format)
            .bind(&job.visible_label)
            .bind(job.correction.as_ref().map(|c| &c.parent_id))
            .bind(job.correction.as_ref().map(|c| &c.correction))
            .bind(job.correction.as_ref().and_then(|c| c.colours_key.as_ref()))
            .execute(&mut *tx)
            .await?;
            if let (Some(output), Some(prompt)) = (&job.comfy_output, prompt) {
                sqlx::query(
                    "INSERT INTO comfy_outputs (job_id, prompt_id, colorize_node, output_node, output_class)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&id)
                .bind(&prompt.prompt_id)
                .bind(&output.colorize_node)
                .bind(&output.output_node)
                .bind(&output.output_class)
                .execute(&mut *tx)
                .await?;
            }
            ids.push(id);
        }
        tx.commit().await?;
        Ok((ids, number))
    }

    /// Records an uploaded original (stored once per content hash).
    pub async fn record_original(
        &self,
        sha256: &str,
        bytes: u64,
        format: &str,
        width: u32,
        height: u32,
    ) -> Result<(), JobError> {
        sqlx::query(
            "INSERT INTO originals (sha256, bytes, format, width, height) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (sha256) DO NOTHING",
        )
        .bind(sha256)
        .bind(bytes as i64)
        .bind(format)
        .bind(i64::from(width))
        .bind(i64::from(height))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Takes the oldest job that waits, or whose worker stopped renewing its lease (it died),
    /// atomically (one statement), or `None` when there is none.
    pub async fn claim(&self, lease: &Lease) -> Result<Option<ClaimedJob>, JobError> {
        // A running job without a lease was left by a version without leases (or moved by
        // `tinct migrate`): nobody renews it, so it is taken as well.
        const TAKEABLE: &str = "(status = 'queued'
             OR (status = 'running' AND (lease_until IS NULL OR lease_until < $2)))";
        // PostgreSQL: workers skip the rows another is claiming instead of waiting for them.
        let lock = match Backend::of(&self.db) {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            Backend::Sqlite => "",
        };
        let job = sqlx::query_as::<_, ClaimedJob>(&format!(
            "UPDATE jobs SET status = 'running', started_at = $2, attempts = attempts + 1,
                             lease_owner = $1, lease_until = $3
             WHERE id = (SELECT id FROM jobs WHERE {TAKEABLE} ORDER BY created_at, id LIMIT 1 {lock})
               AND {TAKEABLE}
             RETURNING id, attempts, batch_id, submitted_by, owner_id, private, original_name, preset,
                       original_sha256, input_size, model, output_format, visible_label, parent_id,
                       correction, colours_key"
        ))
        .bind(&lease.owner)
        .bind(now())
        .bind(lease.end())
        .fetch_optional(&self.db)
        .await?;
        Ok(job)
    }

    /// Extends the leases of every job `lease.owner` runs, and records that it is alive.
    /// Answers how many jobs it still holds.
    pub async fn renew(&self, lease: &Lease) -> Result<u64, JobError> {
        let renewed = sqlx::query(
            "UPDATE jobs SET lease_until = $2 WHERE lease_owner = $1 AND status = 'running'",
        )
        .bind(&lease.owner)
        .bind(lease.end())
        .execute(&self.db)
        .await?
        .rows_affected();
        sqlx::query("UPDATE workers SET heartbeat_at = $2, alive_until = $3 WHERE id = $1")
            .bind(&lease.owner)
            .bind(now())
            .bind(lease.end())
            .execute(&self.db)
            .await?;
        Ok(renewed)
    }

    /// Width × height of a stored original (0 when unknown).
    pub async fn original_pixels(&self, sha256: &str) -> Result<u64, JobError> {
        let pixels: Option<i64> =
            sqlx::query_scalar("SELECT width * height FROM originals WHERE sha256 = $1")
                .bind(sha256)
                .fetch_optional(&self.db)
                .await?;
        Ok(pixels.unwrap_or(0).max(0) as u64)
    }

    /// Marks a running job done and announces it. False when it is no longer this worker's to
    /// finish: cancelled meanwhile, or its lease ran out and another worker took it (each job
    /// finishes once).
    pub async fn complete(
        &self,
        job: &ClaimedJob,
        lease: &Lease,
        done: &Completion,
    ) -> Result<bool, JobError> {
        // The job, the worker's count and the announcement change together: a worker killed in
        // between must not leave a finished job uncounted or unannounced.
        let mut tx = self.db.begin().await?;
        let result = sqlx::query(
            "UPDATE jobs SET status = 'done', finished_at = $10, error = NULL, result_key = $1,
                             model_sha256 = $2, width = $3, height = $4, timings = $5,
                             content_credentials = $6, colours_key = $7, lease_until = NULL
             WHERE id = $8 AND status = 'running' AND lease_owner = $9",
        )
        .bind(&done.result_key)
        .bind(&done.model_sha256)
        .bind(i64::from(done.width))
        .bind(i64::from(done.height))
        .bind(&done.timings_json)
        .bind(&done.content_credentials)
        .bind(&done.colours_key)
        .bind(&job.id)
        .bind(&lease.owner)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        let event = job.event(JobStatus::Done, None);
        self.recorded(tx, result.rows_affected() == 1, lease, "jobs_done", event)
            .await
    }

    /// Marks a running job failed and announces it; false as for `complete`.
    pub async fn fail(
        &self,
        job: &ClaimedJob,
        lease: &Lease,
        error: &str,
    ) -> Result<bool, JobError> {
        let mut tx = self.db.begin().await?;
        let result = sqlx::query(
            "UPDATE jobs SET status = 'failed', finished_at = $4, error = $1, lease_until = NULL
             WHERE id = $2 AND status = 'running' AND lease_owner = $3",
        )
        .bind(error)
        .bind(&job.id)
        .bind(&lease.owner)
        .bind(now())
        .execute(&mut *tx)
        .await?;
        let event = job.event(JobStatus::Failed, Some(error.to_string()));
        self.recorded(tx, result.rows_affected() == 1, lease, "jobs_failed", event)
            .await
    }

    /// Records a worker process that starts taking jobs (and forgets those not heard from for a
    /// week).
    pub async fn register_worker(&self, worker: &WorkerInfo) -> Result<(), JobError> {
        sqlx::query("DELETE FROM workers WHERE heartbeat_at < $1")
            .bind(now_plus(-7 * 24 * 3600))
            .execute(&self.db)
            .await?;
        sqlx::query(
            "INSERT INTO workers (id, host, pid, device, model, job_workers, lease_seconds,
                                  started_at, heartbeat_at, alive_until)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9)",
        )
        .bind(&worker.id)
        .bind(&worker.host)
        .bind(i64::from(worker.pid))
        .bind(&worker.device)
        .bind(&worker.model)
        .bind(worker.job_workers as i64)
        .bind(i64::from(worker.lease_seconds))
        .bind(now())
        .bind(now_plus(i64::from(worker.lease_seconds)))
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Records that a worker process stopped on purpose (its jobs went back to the queue).
    pub async fn worker_stopped(&self, lease: &Lease) -> Result<(), JobError> {
        sqlx::query("UPDATE workers SET stopped_at = $2 WHERE id = $1")
            .bind(&lease.owner)
            .bind(now())
            .execute(&self.db)
            .await?;
        sqlx::query(
            "UPDATE jobs SET status = 'queued', started_at = NULL, lease_owner = NULL, lease_until = NULL
             WHERE status = 'running' AND lease_owner = $1",
        )
        .bind(&lease.owner)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Where a job stands now (`None` once it is deleted).
    pub async fn status(&self, id: &str) -> Result<Option<JobStatus>, JobError> {
        Ok(sqlx::query_scalar("SELECT status FROM jobs WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.db)
            .await?)
    }

    /// Cancels a job that has not started: `Some(its batch)`, or `None` when it is not waiting.
    pub async fn cancel(&self, id: &str) -> Result<Option<Option<String>>, JobError> {
        let batch: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE jobs SET status = 'cancelled', finished_at = $2 WHERE id = $1 AND status = 'queued'
             RETURNING batch_id",
        )
        .bind(id)
        .bind(now())
        .fetch_optional(&self.db)
        .await?;
        Ok(batch)
    }

    /// Puts a failed or cancelled job back in the queue: `Some(its batch)`, or `None` when it
    /// is neither.
    pub async fn retry(&self, id: &str) -> Result<Option<Option<String>>, JobError> {
        let batch: Option<Option<String>> = sqlx::query_scalar(
            "UPDATE jobs SET status = 'queued', error = NULL, started_at = NULL, finished_at = NULL
             WHERE id = $1 AND status IN ('failed', 'cancelled') RETURNING batch_id",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await?;
        Ok(batch)
    }

    /// Where a finished job's result is stored.
    pub async fn result_key(&self, id: &str) -> Result<Option<String>, JobError> {
        Ok(sqlx::query_scalar::<_, Option<String>>(
            "SELECT result_key FROM jobs WHERE id = $1 AND status = 'done'",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await?
        .flatten())
    }

    /// What a job was asked to do.
    pub async fn get(&self, id: &str) -> Result<StoredJob, JobError> {
        sqlx::query_as::<_, StoredJob>(
            "SELECT batch_id, submitted_by, owner_id, private, original_name, original_sha256,
                    output_format, visible_label, status, preset, input_size, model, correction,
                    colours_key
             FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&self.db)
        .await?
        .ok_or(JobError::NotFound)
    }

    /// Removes a job that is not running, and its original's row once no job refers to it
    /// (one transaction, so a concurrent delete cannot orphan or double-free an original).
    /// The caller removes the files named in the answer.
    pub async fn delete(&self, id: &str) -> Result<DeletedJob, JobError> {
        let mut tx = begin_write(&self.db).await?;
        type Deleting = (
            JobStatus,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
        );
        let job = sqlx::query_as::<_, Deleting>(
            "SELECT status, result_key, original_sha256, colours_key, batch_id FROM jobs WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(JobError::NotFound)?;
        let (status, result_key, sha256, colours_key, batch_id) = job;
        if status == JobStatus::Running {
            return Err(JobError::Running);
        }
        sqlx::query("DELETE FROM jobs WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        // An original goes only when nothing refers to it: no job and no ComfyUI input name.
        let orphaned = sqlx::query(
            "DELETE FROM originals WHERE sha256 = $1
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE original_sha256 = $1)
             AND NOT EXISTS (SELECT 1 FROM comfy_uploads WHERE sha256 = $1)",
        )
        .bind(&sha256)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        // A photo's review goes with its last version.
        sqlx::query(
            "DELETE FROM photo_reviews WHERE batch_id = $1 AND original_sha256 = $2
             AND NOT EXISTS (SELECT 1 FROM jobs WHERE batch_id = $1 AND original_sha256 = $2)",
        )
        .bind(&batch_id)
        .bind(&sha256)
        .execute(&mut *tx)
        .await?;
        // The model's colours stay while another version (a correction) starts from them.
        let Flag(colours_shared) =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM jobs WHERE colours_key = $1)")
                .bind(&colours_key)
                .fetch_one(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(DeletedJob {
            result_key,
            orphaned_colours: colours_key.filter(|_| !colours_shared),
            orphaned_original: orphaned.then_some(sha256),
        })
    }

    /// Records a decision on the photo that `job` belongs to: its review state and note, who
    /// decided and when.
    pub async fn review(
        &self,
        job: &StoredJob,
        state: ReviewState,
        note: Option<&str>,
        decided_by: &str,
    ) -> Result<(), JobError> {
        sqlx::query(
            "INSERT INTO photo_reviews (batch_id, original_sha256, state, note, decided_by, decided_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (batch_id, original_sha256) DO UPDATE
             SET state = $3, note = $4, decided_by = $5, decided_at = $6",
        )
        .bind(job.batch_id.as_deref().unwrap_or_default())
        .bind(&job.original_sha256)
        .bind(state)
        .bind(note)
        .bind(decided_by)
        .bind(now())
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// Marks job `id` as the chosen version of its photo.
    pub async fn choose(&self, id: &str, job: &StoredJob) -> Result<(), JobError> {
        sqlx::query(
            "INSERT INTO photo_reviews (batch_id, original_sha256, chosen_job_id) VALUES ($1, $2, $3)
             ON CONFLICT (batch_id, original_sha256) DO UPDATE SET chosen_job_id = $3",
        )
        .bind(job.batch_id.as_deref().unwrap_or_default())
        .bind(&job.original_sha256)
        .bind(id)
        .execute(&self.db)
        .await?;
        Ok(())
    }

    /// At start-up of the only process that runs jobs (SQLite): jobs left `running` by a crash
    /// or a kill go back to the queue at once instead of waiting for their leases to run out.
    pub async fn requeue_interrupted(&self) -> Result<u64, JobError> {
        let result = sqlx::query(
            "UPDATE jobs SET status = 'queued', started_at = NULL, lease_owner = NULL, lease_until = NULL
             WHERE status = 'running'",
        )
        .execute(&self.db)
        .await?;
        Ok(result.rows_affected())
    }

    /// Counts a recorded outcome for the worker holding `lease` (`jobs_done` or `jobs_failed`)
    /// and announces it in the transaction that recorded it, and commits; answers whether it was
    /// recorded.
    async fn recorded(
        &self,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        recorded: bool,
        lease: &Lease,
        column: &str,
        event: JobEvent,
    ) -> Result<bool, JobError> {
        if recorded {
            sqlx::query(&format!(
                "UPDATE workers SET {column} = {column} + 1 WHERE id = $1"
            ))
            .bind(&lease.owner)
            .execute(&mut *tx)
            .await?;
            announce_within(&mut tx, Backend::of(&self.db), event).await?;
        }
        tx.commit().await?;
        Ok(recorded)
    }
}

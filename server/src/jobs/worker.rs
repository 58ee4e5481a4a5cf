//! Workers take jobs from the queue and run them on the engine. Inference runs on blocking
//! threads, so the web server stays responsive while the CPU or GPU is busy.

use std::sync::Arc;
use std::time::Duration;

use engine::content_credentials::ContentCredentials;
use engine::encode::OutputFormat;
use engine::{ColorizeRequest, Engine};
use tokio::sync::Notify;

use super::provenance::{label_result, ResultSource};
use super::{ClaimedJob, JobEvents, JobQueue, JobStatus};
use app::jobs::queue::{Completion, Lease, WorkerInfo};
use app::storage::{ObjectKey, ObjectStore};
use engine::correct::{Correction, ModelColours};
use engine::provenance::CorrectionRecord;

/// Everything a worker needs; cheap to clone.
#[derive(Clone)]
pub struct Workers {
    pub queue: JobQueue,
    pub store: Arc<dyn ObjectStore>,
    pub engine: Arc<Engine>,
    /// Signs results with Content Credentials when the operator configured a certificate.
    pub credentials: Option<Arc<ContentCredentials>>,
    pub events: JobEvents,
    /// Woken on every submission, so an idle worker starts at once.
    pub wake: Arc<Notify>,
    /// This process's claim on the jobs it runs, renewed while it lives.
    pub lease: Lease,
    /// Megapixels of originals being colorized at once: a job's memory grows with its pixels
    /// (about 15 MB per megapixel, see docs/benchmarks.md), so jobs wait here rather than
    /// together exceed the memory the operator gave (`--job-memory-mb`).
    pub pixel_budget: PixelBudget,
}

/// Megapixels that may be in work at once, shared by all workers.
#[derive(Clone)]
pub struct PixelBudget {
    megapixels: Arc<tokio::sync::Semaphore>,
    total: u32,
}

impl PixelBudget {
    /// Memory per megapixel of a job and the fixed part, as measured (docs/benchmarks.md).
    const MB_PER_MEGAPIXEL: u64 = 15;
    const BASE_MB: u64 = 150;

    pub fn megapixels(total: u32) -> Self {
        let total = total.max(1);
        PixelBudget {
            megapixels: Arc::new(tokio::sync::Semaphore::new(total as usize)),
            total,
        }
    }

    /// The megapixels that `memory_mb` of memory allows.
    pub fn megapixels_for(memory_mb: u64) -> u32 {
        let megapixels = memory_mb.saturating_sub(Self::BASE_MB) / Self::MB_PER_MEGAPIXEL;
        u32::try_from(megapixels).unwrap_or(u32::MAX).max(1)
    }

    /// Waits until `pixels` fit; a job larger than the whole budget waits to run alone.
    async fn reserve(&self, pixels: u64) -> Option<tokio::sync::SemaphorePermit<'_>> {
        let needed = pixels.div_ceil(1_000_000).clamp(1, u64::from(self.total)) as u32;
        self.megapixels.acquire_many(needed).await.ok()
    }
}

/// How this process registers itself as a worker (host, device, default model).
pub fn describe(lease: &Lease, engine: &Engine, job_workers: usize) -> WorkerInfo {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|name| name.trim().to_string())
        .ok()
        .filter(|name| !name.is_empty())
        .unwrap_or_else(|| "unknown host".into());
    WorkerInfo {
        id: lease.owner.clone(),
        host,
        pid: std::process::id(),
        device: engine.runtime().planned_execution().device,
        model: engine.registry().default_name(),
        job_workers,
        lease_seconds: lease.seconds,
    }
}

impl Workers {
    /// Starts `count` workers; they run until the process ends. With none, jobs are accepted
    /// and wait for another process to run them.
    pub fn start(&self, count: usize) {
        if count == 0 {
            return;
        }
        for _ in 0..count {
            let workers = self.clone();
            tokio::spawn(async move { workers.run().await });
        }
        let workers = self.clone();
        tokio::spawn(async move { workers.keep_leases().await });
        // Jobs queued by another process (a web front end) are announced as events: an idle
        // worker starts at once instead of at its next look at the queue.
        let (mut events, wake) = (self.events.subscribe(), self.wake.clone());
        tokio::spawn(async move {
            loop {
                match events.recv().await {
                    Ok(event) if event.status == JobStatus::Queued => wake.notify_waiters(),
                    Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
                }
            }
        });
    }

    /// Renews this process's leases (and its heartbeat) three times per lease, so one late
    /// renewal does not lose them.
    async fn keep_leases(&self) {
        let every = Duration::from_millis(u64::from(self.lease.seconds.max(1)) * 1000 / 3);
        loop {
            tokio::time::sleep(every).await;
            if let Err(error) = self.queue.renew(&self.lease).await {
                tracing::error!(%error, "could not renew the job leases");
            }
        }
    }

    async fn run(&self) {
        loop {
            match self.queue.claim(&self.lease).await {
                Ok(Some(job)) => self.process(job).await,
                Ok(None) => {
                    // The timeout also picks up jobs submitted by another process.
                    let _ =
                        tokio::time::timeout(Duration::from_secs(2), self.wake.notified()).await;
                }
                Err(error) => {
                    tracing::error!(%error, "could not take a job from the queue");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
    }

    async fn process(&self, job: ClaimedJob) {
        // Held until the job is finished: its pixels count against the memory budget.
        let pixels = self
            .queue
            .original_pixels(&job.original_sha256)
            .await
            .unwrap_or(0);
        let _memory = self.pixel_budget.reserve(pixels).await;
        self.events.publish(job.event(JobStatus::Running, None));
        let outcome = self.colorize(&job).await;
        let recorded = match &outcome {
            Ok(done) => self.queue.complete(&job, &self.lease, done).await,
            Err(message) => self.queue.fail(&job, &self.lease, message).await,
        };
        // The queue announced the outcome with the transaction that recorded it.
        match (recorded, outcome) {
            (Ok(true), Ok(_)) => self
                .events
                .publish_recorded(job.event(JobStatus::Done, None)),
            (Ok(true), Err(message)) => {
                tracing::warn!(job = %job.id, %message, "job failed");
                self.events
                    .publish_recorded(job.event(JobStatus::Failed, Some(message)));
            }
            (Ok(false), Ok(done)) => {
                // Not ours to finish: cancelled while it ran, or its lease ran out and another
                // worker took it. This run's result (stored under this run's own key) must not
                // linger; the model colours only go when the job was cancelled or deleted, since
                // the run that took over may keep them under the same key.
                if let Ok(key) = ObjectKey::new(done.result_key) {
                    let _ = self.store.delete(&key).await;
                }
                let taken_over = matches!(
                    self.queue.status(&job.id).await,
                    Ok(Some(
                        JobStatus::Running | JobStatus::Done | JobStatus::Failed
                    ))
                );
                tracing::warn!(job = %job.id, taken_over, "a finished run was discarded");
                if let (false, Ok(own)) = (taken_over, ObjectKey::colours(&job.id)) {
                    if done.colours_key.as_deref() == Some(own.as_str()) {
                        let _ = self.store.delete(&own).await;
                    }
                }
            }
            (Ok(false), Err(_)) => {}
            (Err(error), _) => {
                tracing::error!(job = %job.id, %error, "could not record a job's outcome")
            }
        }
    }

    /// Runs one job; the error is the sentence shown to staff.
    async fn colorize(&self, job: &ClaimedJob) -> Result<Completion, String> {
        let original = ObjectKey::original(&job.original_sha256).map_err(|e| e.to_string())?;
        let bytes = self
            .store
            .get_bytes(&original)
            .await
            .map_err(|e| format!("the original could not be read: {e}"))?;
        let correction = match &job.correction {
            Some(json) => Some(
                serde_json::from_str::<Correction>(json)
                    .map_err(|e| format!("the correction could not be read: {e}"))?,
            ),
            None => None,
        };
        // A correction starts from the model's colours kept by an earlier run; when they are
        // gone (or were never kept), the model runs again and keeps them now.
        let colours = self.kept_colours(job.colours_key.as_deref()).await;
        let kept_size = colours.as_ref().map(ModelColours::size);
        let earlier = match (&job.correction, &self.credentials, &job.parent_id) {
            (Some(_), Some(_), Some(parent)) => self.stored_result(parent).await,
            _ => None,
        };
        let format = OutputFormat::from_name(&job.output_format);
        let request = ColorizeRequest {
            model: Some(job.model.clone()),
            size: u32::try_from(job.input_size).ok(),
            format,
            label: job
                .visible_label
                .as_deref()
                .and_then(engine::label::Label::parse),
            correction,
            colours,
        };
        let engine = self.engine.clone();
        let credentials = self.credentials.clone();
        let claimed = job.clone();
        let (result, content_credentials) = tokio::task::spawn_blocking(move || {
            let mut result = engine
                .colorize(&bytes, &request)
                .map_err(|e| e.to_string())?;
            let source = ResultSource {
                original: &bytes,
                original_sha256: claimed.original_sha256.clone(),
                original_name: claimed.original_name.clone(),
                preset: claimed.preset.clone(),
                correction: request.correction.as_ref().map(|c| CorrectionRecord {
                    summary: c.describe(),
                    json: claimed.correction.clone().unwrap_or_default(),
                    corrected_by: claimed
                        .submitted_by
                        .clone()
                        .unwrap_or_else(|| "a person".into()),
                    corrects: claimed.parent_id.clone().unwrap_or_default(),
                }),
                earlier: earlier.as_deref(),
            };
            let signed = label_result(&mut result, source, credentials.as_deref())
                .map_err(|e| e.to_string())?;
            Ok::<_, String>((result, signed))
        })
        .await
        .map_err(|e| format!("the colorization crashed: {e}"))??;
        // Kept colours of another size (the model's sizes changed) were not used: keep these.
        let colours_key = match kept_size {
            Some(size) if size == result.input_size => job.colours_key.clone(),
            _ => self.keep_colours(&job.id, &result.colours).await,
        };
        let key = ObjectKey::result_of_run(&job.id, job.attempts, format.extension())
            .map_err(|e| e.to_string())?;
        let timings = serde_json::json!({
            "decode_ms": result.timings.decode.as_secs_f64() * 1000.0,
            "preprocess_ms": result.timings.preprocess.as_secs_f64() * 1000.0,
            "inference_ms": result.timings.inference.as_secs_f64() * 1000.0,
            "postprocess_ms": result.timings.postprocess.as_secs_f64() * 1000.0,
            "encode_ms": result.timings.encode.as_secs_f64() * 1000.0,
        });
        self.store
            .put_bytes(&key, result.bytes)
            .await
            .map_err(|e| format!("the result could not be stored: {e}"))?;
        Ok(Completion {
            result_key: key.as_str().to_string(),
            model_sha256: result.model_sha256,
            width: result.width,
            height: result.height,
            timings_json: timings.to_string(),
            content_credentials,
            colours_key,
        })
    }

    /// The model's colours an earlier run kept under `key`, if they are there and readable.
    async fn kept_colours(&self, key: Option<&str>) -> Option<ModelColours> {
        let key = ObjectKey::new(key?).ok()?;
        let bytes = self.store.get_bytes(&key).await.ok()?;
        ModelColours::from_bytes(&bytes)
            .inspect_err(|error| tracing::warn!(%error, key = key.as_str(), "kept model colours are unreadable"))
            .ok()
    }

    /// Keeps a run's model colours for later corrections; answers their key. Failing to keep
    /// them only costs a model run later, so it does not fail the job.
    async fn keep_colours(&self, job_id: &str, colours: &ModelColours) -> Option<String> {
        let key = ObjectKey::colours(job_id).ok()?;
        match self.store.put_bytes(&key, colours.to_bytes()).await {
            Ok(()) => Some(key.as_str().to_string()),
            Err(error) => {
                tracing::warn!(%error, job = job_id, "the model colours could not be kept");
                None
            }
        }
    }

    /// A finished job's stored result, for the Content Credentials of a correction of it.
    async fn stored_result(&self, job_id: &str) -> Option<Vec<u8>> {
        let key = self.queue.result_key(job_id).await.ok()??;
        self.store.get_bytes(&ObjectKey::new(key).ok()?).await.ok()
    }
}

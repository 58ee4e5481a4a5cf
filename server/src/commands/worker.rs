//! `tinct worker`: the job workers without the web server, for other machines (a GPU host) that
//! share the PostgreSQL database and the object store with the web front ends.

use std::process::ExitCode;
use std::sync::Arc;

use app::db::Backend;
use app::jobs::queue::{JobQueue, Lease};

use crate::config::{Common, WorkerArgs};
use crate::error::CommandError;
use crate::jobs::worker::{describe, PixelBudget, Workers};
use crate::jobs::JobEvents;

pub fn run(common: &Common, args: &WorkerArgs) -> Result<ExitCode, CommandError> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CommandError::io("cannot start the async runtime", e))?;
    runtime.block_on(work(common, args))?;
    Ok(ExitCode::SUCCESS)
}

async fn work(common: &Common, args: &WorkerArgs) -> Result<(), CommandError> {
    let db = crate::db::connect(Some(&args.database_url), &common.data_dir).await?;
    if Backend::of(&db) != Backend::Postgres {
        return Err(CommandError::Invalid(
            "tinct worker needs the PostgreSQL database the web front ends use (--database-url postgres://…); with SQLite, tinct serve runs the workers itself".into(),
        ));
    }
    let engine = super::engine(common)?;
    // Load the default model now: a broken install fails here, not on the first job.
    let loading = engine.clone();
    let default = tokio::task::spawn_blocking(move || loading.model(None))
        .await
        .map_err(|e| CommandError::Invalid(format!("loading the default model crashed: {e}")))??;
    let lease = Lease {
        owner: uuid::Uuid::now_v7().to_string(),
        seconds: args.lease_seconds,
    };
    let queue = JobQueue::new(db.clone(), i64::MAX);
    queue
        .register_worker(&describe(&lease, &engine, args.job_workers))
        .await?;
    let workers = Workers {
        queue,
        store: args.storage.location(&common.data_dir)?.open()?,
        engine: engine.clone(),
        credentials: common.content_credentials()?,
        events: JobEvents::for_database(&db).await?,
        wake: Arc::new(tokio::sync::Notify::new()),
        lease: lease.clone(),
        pixel_budget: PixelBudget::megapixels(PixelBudget::megapixels_for(args.job_memory_mb)),
    };
    workers.start(args.job_workers);
    tracing::info!(
        worker = %lease.owner,
        model = %default.model.manifest.name,
        device = %default.execution.device,
        jobs_at_once = args.job_workers,
        "working"
    );
    println!("Tinct worker {} is taking jobs", lease.owner);
    super::serve::shutdown_signal().await;
    // Its jobs go back to the queue at once, for the other workers.
    workers.queue.worker_stopped(&lease).await?;
    Ok(())
}

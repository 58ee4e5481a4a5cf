//! `tinct serve`: the web application.

use std::process::ExitCode;

use crate::config::{Common, ServeArgs};
use crate::error::CommandError;
use crate::web::{router, AppState, Limits, StateConfig};

pub fn run(common: &Common, args: &ServeArgs) -> Result<ExitCode, CommandError> {
    let runtime = tokio::runtime::Runtime::new()
        .map_err(|e| CommandError::io("cannot start the async runtime", e))?;
    runtime.block_on(serve(common, args))?;
    Ok(ExitCode::SUCCESS)
}

async fn serve(common: &Common, args: &ServeArgs) -> Result<(), CommandError> {
    std::fs::create_dir_all(&common.data_dir).map_err(|e| {
        CommandError::io(
            format!(
                "cannot create the data directory {}",
                common.data_dir.display()
            ),
            e,
        )
    })?;
    let engine = super::engine(common)?;
    // Load the default model and read the presets now: a broken install fails here, in the
    // operator's terminal, rather than on the first upload.
    let loading = engine.clone();
    let default = tokio::task::spawn_blocking(move || loading.model(None))
        .await
        .map_err(|e| CommandError::Invalid(format!("loading the default model crashed: {e}")))??;
    let presets = std::sync::Arc::new(engine::presets::Presets::load(&common.workflows_dir)?);
    let content_credentials = common.content_credentials()?;
    match &content_credentials {
        Some(credentials) => tracing::info!(
            signer = %credentials.identity(),
            "results are signed with Content Credentials"
        ),
        None => tracing::info!(
            "results are not signed with Content Credentials (no --c2pa-cert and --c2pa-key)"
        ),
    }
    let db = crate::db::connect(args.database_url.as_deref(), &common.data_dir).await?;
    let sessions = crate::web::session_store(&db).await?;
    let users = app::auth::store::count_users(&db)
        .await
        .map_err(|e| CommandError::Invalid(e.to_string()))?;
    if users == 0 {
        tracing::warn!(
            "no users yet: create the first admin with `tinct user add NAME --role admin`"
        );
    }
    // Expired sessions are removed from the database once an hour.
    tokio::spawn({
        use tower_sessions::session_store::ExpiredDeletion;
        sessions
            .clone()
            .continuously_delete_expired(tokio::time::Duration::from_secs(3600))
    });

    let state = AppState::start(
        db,
        engine,
        StateConfig {
            site_root: args.site_root.clone(),
            address: args.bind,
            data_dir: common.data_dir.clone(),
            presets: presets.clone(),
            limits: Limits {
                max_file_bytes: args.max_upload_mb << 20,
                max_files: args.max_files,
                duplicates: args.duplicates.into(),
                login_attempts_per_minute: args.login_attempts,
                submissions_per_minute: args.submissions_per_minute,
                secure_cookies: args.secure_cookies,
                request_timeout: std::time::Duration::from_secs(args.request_timeout.max(1)),
                max_submission_bytes: args.max_submission_mb << 20,
                access_recheck: std::time::Duration::from_secs(30),
                header_read_timeout: std::time::Duration::from_secs(args.header_timeout.max(1)),
            },
            queue_limit: args.queue_limit,
            job_workers: if args.no_workers { 0 } else { args.job_workers },
            job_megapixels: crate::jobs::worker::PixelBudget::megapixels_for(args.job_memory_mb),
            content_credentials,
            models_mirror: args.models_mirror.clone(),
            storage: args.storage.location(&common.data_dir)?,
            lease_seconds: args.lease_seconds,
        },
    )
    .await?;
    let listener = tokio::net::TcpListener::bind(args.bind)
        .await
        .map_err(|e| CommandError::io(format!("cannot listen on {}", args.bind), e))?;
    let address = listener
        .local_addr()
        .map_err(|e| CommandError::io("cannot read the listening address", e))?;
    tracing::info!(
        model = %default.model.manifest.name,
        device = %default.execution.device,
        presets = presets.all().len(),
        data_dir = %common.data_dir.display(),
        "ready"
    );
    println!("Tinct is running at http://{address}/");
    let header_timeout = state.limits.header_read_timeout;
    let workers = (state.context.job_workers > 0).then(|| state.jobs.clone());
    let served = crate::web::serve(
        listener,
        router(state, sessions),
        header_timeout,
        shutdown_signal(),
    )
    .await
    .map_err(|e| CommandError::io("the server stopped", e));
    // Its jobs go back to the queue at once, for the other workers (or the next start).
    if let Some(workers) = workers {
        workers.queue.worker_stopped(&workers.lease).await?;
    }
    served
}

pub(super) async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

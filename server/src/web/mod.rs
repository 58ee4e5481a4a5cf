//! The HTTP application: Leptos pages and server functions, the REST API, static files, health.

pub mod api;
pub mod error;
mod health;
mod zip_download;

use std::path::PathBuf;
use std::sync::Arc;

use app::context::ServerContext;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use tokio::sync::Notify;

use crate::jobs::worker::Workers;
use crate::jobs::{settings, JobActions, JobError, JobEvents, JobQueue};
use crate::storage::LocalStore;
use error::ApiError;

/// Request limits, all configurable.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_files: usize,
}

/// Everything a handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub context: ServerContext,
    pub jobs: Workers,
    pub data_dir: PathBuf,
    pub limits: Limits,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}

/// What the server is started with, beyond the database and the engine.
#[derive(Debug, Clone)]
pub struct StateConfig {
    pub site_root: PathBuf,
    pub address: std::net::SocketAddr,
    pub data_dir: PathBuf,
    pub workflows_dir: PathBuf,
    pub limits: Limits,
    pub queue_limit: i64,
    pub job_workers: usize,
}

impl AppState {
    /// Requeues jobs a previous run left unfinished, then starts the job workers.
    pub async fn start(
        db: sqlx::SqlitePool,
        engine: Arc<engine::Engine>,
        config: StateConfig,
    ) -> Result<Self, JobError> {
        let queue = JobQueue::new(db.clone(), config.queue_limit);
        let requeued = queue.requeue_interrupted().await?;
        if requeued > 0 {
            tracing::info!(
                jobs = requeued,
                "jobs interrupted by the last stop are queued again"
            );
        }
        let jobs = Workers {
            queue,
            store: Arc::new(LocalStore::new(config.data_dir.join("objects"))),
            engine: engine.clone(),
            events: JobEvents::default(),
            wake: Arc::new(Notify::new()),
        };
        jobs.start(config.job_workers);
        let actions = JobActions {
            workers: jobs.clone(),
            workflows_dir: config.workflows_dir.clone(),
        };
        Ok(AppState {
            leptos_options: leptos_options(&config.site_root, config.address),
            context: ServerContext {
                db,
                engine,
                workflows_dir: config.workflows_dir,
                jobs: Arc::new(actions),
            },
            jobs,
            data_dir: config.data_dir,
            limits: config.limits,
        })
    }

    /// The preset, input size and model a submission runs with (see [`settings::resolve`]).
    pub fn resolve_settings(
        &self,
        preset: Option<&str>,
        size: Option<u32>,
    ) -> Result<(String, u32, String), ApiError> {
        settings::resolve(
            &self.context.engine,
            &self.context.workflows_dir,
            preset,
            size,
        )
        .map_err(|e| match e {
            settings::SettingsError::Invalid(message) => ApiError::bad_request(message),
            presets => ApiError::internal(presets),
        })
    }
}

/// Leptos settings for a site whose bundle lives in `site_root/pkg`.
pub fn leptos_options(site_root: &std::path::Path, address: std::net::SocketAddr) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name(app::OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(address)
        .build()
}

pub fn router(state: AppState) -> Router {
    let routes = generate_route_list(App);
    let context = state.context.clone();
    let options = state.leptos_options.clone();
    // Uploads are streamed to disk file by file with their own size check, so the whole-body
    // limit only bounds a batch.
    let batch_limit = (state
        .limits
        .max_file_bytes
        .saturating_mul(state.limits.max_files as u64))
    .min(usize::MAX as u64) as usize;
    let api = Router::new()
        .route(
            "/jobs",
            post(api::submit)
                .get(api::list_jobs)
                .layer(DefaultBodyLimit::max(batch_limit)),
        )
        .route("/jobs/zip", get(zip_download::download))
        .route("/jobs/{id}", get(api::get_job).delete(api::cancel_job))
        .route("/jobs/{id}/retry", post(api::retry_job))
        .route("/jobs/{id}/result", get(api::job_result))
        .route("/jobs/{id}/original", get(api::job_original))
        .route("/jobs/{id}/thumbnail", get(api::job_thumbnail))
        .route("/jobs/{id}/preview/{which}", get(api::job_preview))
        .route("/events", get(api::events));
    Router::new()
        .route("/healthz", get(health::healthz))
        .nest("/api/v1", api)
        .leptos_routes_with_context(
            &state,
            routes,
            move || provide_context(context.clone()),
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(
            // One line per request: method, path, status and duration.
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Millis)),
        )
        .with_state(state)
}

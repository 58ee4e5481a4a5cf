//! The HTTP application: Leptos pages and server functions, the REST API, static files, health.

pub mod api;
mod auth;
pub mod comfy;
pub mod error;
mod headers;
mod health;
mod zip_download;

use std::path::PathBuf;
use std::sync::Arc;

use app::context::ServerContext;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::routing::{get, post};
use axum::Router;
use engine::content_credentials::ContentCredentials;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;

use std::num::NonZeroU32;
use std::time::Duration;

use app::auth::throttle::LoginThrottle;
use axum::middleware;
use tokio::sync::Notify;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use tower_sessions_sqlx_store::SqliteStore;

use crate::jobs::worker::Workers;
use crate::jobs::{settings, JobActions, JobError, JobEvents, JobQueue};
use crate::storage::LocalStore;
use error::ApiError;

/// Request limits, all configurable.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_files: usize,
    /// Sign-in attempts per address and per account name in a minute.
    pub login_attempts_per_minute: u32,
    /// Submissions (requests to submit images) per person or token in a minute.
    pub submissions_per_minute: u32,
    /// Session cookies only over HTTPS (set when Tinct is served behind TLS).
    pub secure_cookies: bool,
    /// Longest time a request may take to be answered (uploads excepted: they take as long as
    /// the network needs; streamed answers such as events and ZIPs start within it).
    pub request_timeout: Duration,
}

/// Everything a handler may need.
#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub context: ServerContext,
    pub jobs: Workers,
    pub data_dir: PathBuf,
    pub limits: Limits,
    pub submit_throttle: Arc<governor::DefaultKeyedRateLimiter<i64>>,
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
    /// Signs results with Content Credentials; `None` leaves them unsigned.
    pub content_credentials: Option<Arc<ContentCredentials>>,
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
            credentials: config.content_credentials.clone(),
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
                signer: config
                    .content_credentials
                    .as_ref()
                    .map(|c| c.identity().clone()),
                jobs: Arc::new(actions),
                login_throttle: Arc::new(LoginThrottle::new(
                    config.limits.login_attempts_per_minute,
                    Duration::from_secs(60),
                )),
            },
            jobs,
            data_dir: config.data_dir,
            submit_throttle: Arc::new(governor::RateLimiter::keyed(per_minute(
                config.limits.submissions_per_minute,
            ))),
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

/// Answers 413 at once to a request whose `Content-Length` is over `limit`.
async fn refuse_declared_length_over(
    limit: u64,
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let declared = request
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    match declared {
        Some(length) if length > limit => ApiError::new(
            axum::http::StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the upload is larger than the {} MB a submission may have",
                limit >> 20
            ),
        )
        .into_response(),
        _ => next.run(request).await,
    }
}

/// A quota of `count` at once, refilled evenly over a minute.
fn per_minute(count: u32) -> governor::Quota {
    governor::Quota::per_minute(NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN))
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

/// The session store (SQLite, so sessions survive a restart) and its table.
pub async fn session_store(db: &sqlx::SqlitePool) -> Result<SqliteStore, sqlx::Error> {
    let store = SqliteStore::new(db.clone());
    store.migrate().await?;
    Ok(store)
}

pub fn router(state: AppState, sessions: SqliteStore) -> Router {
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
    let timeout = TimeoutLayer::with_status_code(
        axum::http::StatusCode::GATEWAY_TIMEOUT,
        state.limits.request_timeout,
    );
    let api = Router::new()
        .route("/jobs/zip", get(zip_download::download))
        .route("/jobs/{id}", get(api::get_job).delete(api::cancel_job))
        .route("/jobs/{id}/retry", post(api::retry_job))
        .route("/jobs/{id}/result", get(api::job_result))
        .route("/jobs/{id}/original", get(api::job_original))
        .route("/jobs/{id}/thumbnail", get(api::job_thumbnail))
        .route("/jobs/{id}/preview/{which}", get(api::job_preview))
        .route("/events", get(api::events))
        .route("/openapi.json", get(api::openapi_document))
        .layer(timeout)
        .route(
            "/jobs",
            post(api::submit)
                .get(api::list_jobs)
                // The stream is bounded, and a declared length over the bound is refused
                // (413) before anything is read.
                .layer(DefaultBodyLimit::max(batch_limit))
                .layer(middleware::from_fn(move |request, next| {
                    refuse_declared_length_over(batch_limit as u64, request, next)
                })),
        );
    Router::new()
        .route("/healthz", get(health::healthz))
        .leptos_routes_with_context(
            &state,
            routes,
            move || {
                provide_context(context.clone());
                leptos::nonce::provide_nonce();
            },
            move || shell(options.clone()),
        )
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            leptos::nonce::provide_nonce,
            shell,
        ))
        .layer(timeout)
        .nest("/api/v1", api)
        .merge(comfy::router())
        .layer(middleware::from_fn_with_state(state.clone(), auth::authenticate))
        .layer(
            SessionManagerLayer::new(sessions)
                .with_name("tinct_session")
                .with_http_only(true)
                .with_same_site(SameSite::Lax)
                .with_secure(state.limits.secure_cookies)
                .with_expiry(Expiry::OnInactivity(time::Duration::days(7))),
        )
        .layer(middleware::from_fn(headers::security_headers))
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

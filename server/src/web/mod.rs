//! The HTTP application: Leptos pages and server functions, the REST API, static files, health.

pub mod api;
pub mod auth;
pub mod comfy;
pub mod error;
mod headers;
mod health;
mod zip_download;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use app::context::ServerContext;
use app::{shell, App};
use axum::extract::{DefaultBodyLimit, FromRef};
use axum::http::{header, HeaderValue};
use axum::routing::{get, post};
use axum::Router;
use engine::content_credentials::ContentCredentials;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use tower_http::compression::predicate::{NotForContentType, Predicate};
use tower_http::compression::{CompressionLayer, DefaultPredicate};
use tower_http::services::ServeDir;
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

use crate::jobs::worker::{PixelBudget, Workers};
use crate::jobs::{JobError, JobEvents, JobQueue, JobService};
use app::jobs::queue::Lease;
use app::jobs::service::IntakeLimits;
use app::storage::StorageLocation;
use error::ApiError;

/// Request limits, all configurable.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_file_bytes: u64,
    pub max_files: usize,
    /// Whether content already colorized is colorized again when an upload does not say.
    pub duplicates: app::jobs::batches::Duplicates,
    /// Sign-in attempts per address and per account name in a minute.
    pub login_attempts_per_minute: u32,
    /// Submissions (requests to submit images) per person or token in a minute.
    pub submissions_per_minute: u32,
    /// Session cookies only over HTTPS (set when Tinct is served behind TLS).
    pub secure_cookies: bool,
    /// Longest time a request may take to be answered (uploads excepted: they take as long as
    /// the network needs; streamed answers such as events and ZIPs start within it).
    pub request_timeout: Duration,
    /// Most bytes a whole submission (all its files) may declare or send.
    pub max_submission_bytes: u64,
    /// How often an open event stream checks that its account or token is still valid.
    pub access_recheck: Duration,
    /// Longest time a client may take to send a request's headers.
    pub header_read_timeout: Duration,
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
    /// The presets of `workflows/`, read once at start.
    pub presets: Arc<engine::presets::Presets>,
    pub limits: Limits,
    pub queue_limit: i64,
    pub job_workers: usize,
    /// Megapixels of originals colorized at once, at most (see `PixelBudget`).
    pub job_megapixels: u32,
    /// Signs results with Content Credentials; `None` leaves them unsigned.
    pub content_credentials: Option<Arc<ContentCredentials>>,
    /// Model downloads from the Admin page come from here (a folder or an HTTP server) instead
    /// of the publishers.
    pub models_mirror: Option<String>,
    /// Where originals, results and previews are kept.
    pub storage: StorageLocation,
    /// Seconds a job stays with a worker that stopped renewing its claim (see `Lease`).
    pub lease_seconds: u32,
}

impl AppState {
    /// Requeues jobs a previous run left unfinished, then starts the job workers.
    pub async fn start(
        db: app::db::Db,
        engine: Arc<engine::Engine>,
        config: StateConfig,
    ) -> Result<Self, JobError> {
        let queue = JobQueue::new(db.clone(), config.queue_limit);
        // With SQLite this is the only process that runs jobs: what a previous run left running
        // goes back to the queue at once. With PostgreSQL other workers may be running them;
        // a dead worker's jobs are taken over when their leases run out.
        let requeued = match app::db::Backend::of(&db) {
            app::db::Backend::Sqlite => queue.requeue_interrupted().await?,
            app::db::Backend::Postgres => 0,
        };
        if requeued > 0 {
            tracing::info!(
                jobs = requeued,
                "jobs interrupted by the last stop are queued again"
            );
        }
        let lease = Lease {
            owner: uuid::Uuid::now_v7().to_string(),
            seconds: config.lease_seconds,
        };
        if config.job_workers > 0 {
            queue
                .register_worker(&crate::jobs::worker::describe(
                    &lease,
                    &engine,
                    config.job_workers,
                ))
                .await?;
        }
        let jobs = Workers {
            queue,
            store: config.storage.open()?,
            engine: engine.clone(),
            credentials: config.content_credentials.clone(),
            events: JobEvents::for_database(&db).await?,
            wake: Arc::new(Notify::new()),
            lease,
            pixel_budget: PixelBudget::megapixels(config.job_megapixels),
        };
        let service = JobService {
            queue: jobs.queue.clone(),
            store: jobs.store.clone(),
            engine: jobs.engine.clone(),
            events: jobs.events.clone(),
            wake: jobs.wake.clone(),
            presets: config.presets.clone(),
            temp_dir: config.data_dir.join("tmp"),
            limits: IntakeLimits {
                max_file_bytes: config.limits.max_file_bytes,
                duplicates: config.limits.duplicates,
            },
            throttle: Arc::new(governor::RateLimiter::keyed(per_minute(
                config.limits.submissions_per_minute,
            ))),
        };
        service.remove_stale_uploads().await;
        api::release_interrupted_idempotency_keys(&db).await?;
        jobs.start(config.job_workers);
        Ok(AppState {
            leptos_options: leptos_options(&config.site_root, config.address),
            context: ServerContext {
                models: app::models::service::ModelService::new(
                    engine.clone(),
                    db.clone(),
                    config.models_mirror,
                ),
                db,
                engine,
                presets: config.presets,
                signer: config
                    .content_credentials
                    .as_ref()
                    .map(|c| c.identity().clone()),
                jobs: service,
                job_workers: config.job_workers,
                login_throttle: Arc::new(LoginThrottle::new(
                    config.limits.login_attempts_per_minute,
                    Duration::from_secs(60),
                )),
                account_changed: Arc::new(Notify::new()),
            },
            jobs,
            data_dir: config.data_dir,
            limits: config.limits,
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

/// Serves `router` on `listener` until `shutdown` resolves, then lets open requests finish.
/// Like `axum::serve`, plus a limit on how long a client may take to send its headers (a slow
/// client holding connections open is cut off) and the peer address for `ConnectInfo`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    router: Router,
    header_read_timeout: Duration,
    shutdown: impl std::future::Future<Output = ()> + Send,
) -> std::io::Result<()> {
    use axum::extract::ConnectInfo;
    use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;
    use tower::ServiceExt;

    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(connection) => connection,
                Err(error) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(%error, "a connection could not be accepted");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let service = router.clone().map_request(
            move |request: axum::http::Request<hyper::body::Incoming>| {
                let mut request = request.map(axum::body::Body::new);
                request.extensions_mut().insert(ConnectInfo(peer));
                request
            },
        );
        let mut builder = Builder::new(TokioExecutor::new());
        builder
            .http1()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout);
        builder.http2().enable_connect_protocol();
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "a connection ended with an error");
            }
        });
    }
    graceful.shutdown().await;
    Ok(())
}

/// A quota of `count` at once, refilled evenly over a minute.
fn per_minute(count: u32) -> governor::Quota {
    governor::Quota::per_minute(NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN))
}

/// Leptos settings for a site whose bundle lives in `site_root/pkg`, with the content-hashed
/// names the build listed in `site_root/hash.txt` when it did (see `app::bundle`).
pub fn leptos_options(site_root: &std::path::Path, address: std::net::SocketAddr) -> LeptosOptions {
    let hash_file = app::bundle::hash_file(site_root);
    LeptosOptions::builder()
        .output_name(app::OUTPUT_NAME)
        .site_root(site_root.to_string_lossy().to_string())
        .site_pkg_dir("pkg")
        .site_addr(address)
        .hash_files(hash_file.is_file())
        // An absolute path: Leptos joins it to the executable's folder, which it replaces.
        .hash_file(std::sync::Arc::from(hash_file.to_string_lossy().as_ref()))
        .build()
}

/// The browser bundle (`site_root/pkg`): the Brotli or gzip copy the release build made when the
/// browser takes it (else compressed on the fly by the compression layer).
fn bundle_files<S: Clone + Send + Sync + 'static>(site_root: &str) -> Router<S> {
    Router::new()
        .fallback_service(
            ServeDir::new(std::path::Path::new(site_root).join("pkg"))
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(middleware::from_fn(bundle_cache_policy))
}

/// Files named after their content are kept by browsers for a year; any other (the favicon, a
/// bundle built without hashes) is revalidated each time (a `304` when unchanged).
async fn bundle_cache_policy(
    request: axum::extract::Request,
    next: middleware::Next,
) -> axum::response::Response {
    let name = request.uri().path().rsplit('/').next().unwrap_or_default();
    let forever = app::bundle::is_hashed_name(name);
    let mut response = next.run(request).await;
    let policy = if forever && response.status().is_success() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static(policy));
    response
}

/// The session store (in the database, so sessions survive a restart) and its table.
pub async fn session_store(db: &app::db::Db) -> Result<crate::db::Sessions, sqlx::Error> {
    crate::db::Sessions::open(db).await
}

/// The pages' routes, worked out once per process. Leptos suppresses resource loading in the
/// whole process while it walks the app to list routes (a global flag, leptos#4773): a page
/// whose resource is first polled during that walk, in another router, never finishes.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES.get_or_init(|| generate_route_list(App)).clone()
}

pub fn router(state: AppState, sessions: crate::db::Sessions) -> Router {
    let routes = page_routes();
    let context = state.context.clone();
    let options = state.leptos_options.clone();
    // Uploads are streamed to disk file by file with their own size check; the whole body is
    // bounded by the submission limit, and a larger declared length is refused before reading.
    let batch_limit = state
        .limits
        .max_submission_bytes
        .min(
            state
                .limits
                .max_file_bytes
                .saturating_mul(state.limits.max_files as u64),
        )
        .min(usize::MAX as u64) as usize;
    let timeout = TimeoutLayer::with_status_code(
        axum::http::StatusCode::GATEWAY_TIMEOUT,
        state.limits.request_timeout,
    );
    let api = Router::new()
        .route("/models", get(api::list_models))
        .route("/jobs/zip", get(zip_download::download))
        .route("/jobs/bulk", post(api::bulk))
        .route("/jobs/{id}", get(api::get_job).delete(api::cancel_job))
        .route("/jobs/{id}/retry", post(api::retry_job))
        .route("/jobs/{id}/result", get(api::job_result))
        .route("/jobs/{id}/original", get(api::job_original))
        .route("/jobs/{id}/thumbnail", get(api::job_thumbnail))
        .route("/jobs/{id}/preview/{which}", get(api::job_preview))
        .route(
            "/jobs/{id}/versions",
            get(api::list_versions).post(api::create_version),
        )
        .route("/jobs/{id}/review", post(api::review))
        .route("/jobs/{id}/choose", post(api::choose))
        .route(
            "/jobs/{id}/correction-preview",
            get(api::correction_preview),
        )
        .route("/reviews", post(api::review_many))
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
    let app = Router::new()
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
        .nest("/pkg", bundle_files(&state.leptos_options.site_root))
        .fallback(leptos_axum::file_and_error_handler_with_context::<AppState, _>(
            leptos::nonce::provide_nonce,
            shell,
        ))
        .layer(timeout)
        .nest("/api/v1", api)
        .merge(comfy::router(&state.limits))
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
        // Pages, JSON and the wasm bundle go compressed (the bundle shrinks about five-fold);
        // images, ZIPs and event streams as they are.
        .layer(CompressionLayer::new().compress_when(
            DefaultPredicate::new().and(NotForContentType::const_new("application/zip")),
        ))
        .layer(
            // One line per request: method, path, status and duration.
            TraceLayer::new_for_http()
                .make_span_with(|request: &axum::http::Request<_>| {
                    tracing::info_span!("request", method = %request.method(), path = %request.uri().path())
                })
                .on_request(())
                .on_response(DefaultOnResponse::new().level(Level::INFO).latency_unit(tower_http::LatencyUnit::Millis)),
        )
        .with_state(state);
    // ComfyUI's clients read `GET /history` at the root as JSON; browsers asking for a page get
    // Tinct's History page there. The address is chosen before routing.
    Router::new().fallback_service(tower::ServiceExt::map_request(
        app,
        comfy_history_for_programs,
    ))
}

/// `GET /history?…` from a program (no `text/html` in `Accept`) is ComfyUI's `/api/history`.
fn comfy_history_for_programs(mut request: axum::extract::Request) -> axum::extract::Request {
    let wants_page = request
        .headers()
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    if request.method() == axum::http::Method::GET
        && request.uri().path() == "/history"
        && !wants_page
    {
        let query = request
            .uri()
            .query()
            .map(|q| format!("?{q}"))
            .unwrap_or_default();
        if let Ok(uri) = format!("/api/history{query}").parse() {
            *request.uri_mut() = uri;
        }
    }
    request
}

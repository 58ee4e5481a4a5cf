//! The ComfyUI-compatible API, so that scripts written for a ComfyUI + DDColor server work
//! against Tinct unchanged (apart from the address and a token). Served at the root and under
//! `/api`, as ComfyUI does; the one exception is the history list, which is `/api/history`
//! only, because `/history` is Tinct's own History page.
//!
//! A prompt becomes one job per output node, in a batch named by the prompt id; the websocket
//! translates the job events of that batch into ComfyUI's messages.

mod files;
pub mod graph;
mod info;
mod prompts;
mod ws;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use tower_http::timeout::TimeoutLayer;

use super::{AppState, Limits};

/// The routes, to be served at `/` and at `/api`. An upload may be as large as a file sent to
/// the REST API (plus the form around it); other bodies keep axum's 2 MB.
fn routes(with_history_list: bool, limits: &Limits) -> Router<AppState> {
    let upload_limit = limits
        .max_file_bytes
        .saturating_add(1 << 20)
        .min(usize::MAX as u64) as usize;
    // Every answer within the request time limit, as on the REST API; uploads excepted (they
    // take as long as the network needs).
    let timeout =
        TimeoutLayer::with_status_code(StatusCode::GATEWAY_TIMEOUT, limits.request_timeout);
    let mut router = Router::new()
        .route("/prompt", get(prompts::queue_info).post(prompts::submit))
        .route("/history/{prompt_id}", get(prompts::history_one))
        .route("/queue", get(prompts::queue).post(prompts::edit_queue))
        .route("/interrupt", post(prompts::interrupt))
        .route("/view", get(files::view))
        .route("/system_stats", get(info::system_stats))
        .route("/object_info", get(info::object_info))
        .route("/object_info/{class}", get(info::object_info_one))
        .route("/ws", get(ws::connect));
    if with_history_list {
        router = router.route("/history", get(prompts::history));
    }
    router.layer(timeout).route(
        "/upload/image",
        post(files::upload_image).layer(DefaultBodyLimit::max(upload_limit)),
    )
}

/// The routes at the root (without `/history`) and under `/api`.
pub fn router(limits: &Limits) -> Router<AppState> {
    routes(false, limits).nest("/api", routes(true, limits))
}

/// Milliseconds since 1970, as ComfyUI stamps its messages.
fn timestamp() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

//! What the server hands to server functions: the database and the engine.

use std::sync::Arc;

use leptos::prelude::*;

use crate::error::AppError;

#[derive(Clone)]
pub struct ServerContext {
    pub db: crate::db::Db,
    pub engine: Arc<engine::Engine>,
    /// The presets of `workflows/`, read once at start.
    pub presets: Arc<engine::presets::Presets>,
    /// Who signs results with Content Credentials; `None` when no certificate is configured.
    pub signer: Option<engine::content_credentials::SignerIdentity>,
    /// The one front door for jobs (the same service the REST and ComfyUI doors use).
    pub jobs: crate::jobs::service::JobService,
    /// Downloads, the default model and removals.
    pub models: crate::models::service::ModelService,
    pub login_throttle: Arc<crate::auth::throttle::LoginThrottle>,
    /// Woken whenever an account or token changes (disabled, deleted, password reset, revoked),
    /// so that open event streams check at once whether they may go on.
    pub account_changed: Arc<tokio::sync::Notify>,
    /// Jobs colorized at the same time (`--job-workers`), shown on the Admin page.
    pub job_workers: usize,
}

/// Tells open event streams that an account or token changed.
pub fn account_changed() {
    if let Some(ctx) = use_context::<ServerContext>() {
        ctx.account_changed.notify_waiters();
    }
}

/// A job service refusal in the person's words; an internal failure logged and kept from the
/// browser.
pub fn job_error(error: crate::jobs::JobError) -> AppError {
    use crate::error::ErrorKind;
    use crate::jobs::JobError;
    let kind = match &error {
        JobError::NotFound => ErrorKind::NotFound,
        JobError::Forbidden | JobError::BatchOfAnother => ErrorKind::Forbidden,
        other if other.is_user_error() => ErrorKind::Refused,
        _ => return internal("the job could not be changed", error),
    };
    AppError::new(kind, error.to_string())
}

/// The server context, or an error a server function can return (it is missing only if the
/// server was wired up wrongly).
pub fn server_context() -> Result<ServerContext, AppError> {
    use_context::<ServerContext>().ok_or_else(|| {
        AppError::new(
            crate::error::ErrorKind::Server,
            "the server is misconfigured: no context",
        )
    })
}

/// Logs a failure in full and gives the browser a sentence without internals.
pub fn internal(what: &str, error: impl std::fmt::Display) -> AppError {
    tracing::error!(%error, "{what}");
    AppError::new(
        crate::error::ErrorKind::Server,
        format!("{what}; the details are in the server log"),
    )
}

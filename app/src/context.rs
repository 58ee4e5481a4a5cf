//! What the server hands to server functions: the database and the engine.

use std::sync::Arc;

use leptos::prelude::*;

#[derive(Clone)]
pub struct ServerContext {
    pub db: sqlx::SqlitePool,
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
}

/// Tells open event streams that an account or token changed.
pub fn account_changed() {
    if let Some(ctx) = use_context::<ServerContext>() {
        ctx.account_changed.notify_waiters();
    }
}

/// A job service refusal in the person's words; an internal failure logged and kept from the
/// browser.
pub fn job_error(error: crate::jobs::JobError) -> ServerFnError {
    if error.is_user_error() {
        ServerFnError::new(error.to_string())
    } else {
        internal("the job could not be changed", error)
    }
}

/// The server context, or an error a server function can return (it is missing only if the
/// server was wired up wrongly).
pub fn server_context() -> Result<ServerContext, ServerFnError> {
    use_context::<ServerContext>()
        .ok_or_else(|| ServerFnError::new("the server is misconfigured: no context"))
}

/// Logs a failure in full and gives the browser a sentence without internals.
pub fn internal(what: &str, error: impl std::fmt::Display) -> ServerFnError {
    tracing::error!(%error, "{what}");
    ServerFnError::new(format!("{what}; the details are in the server log"))
}

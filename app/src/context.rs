//! What the server hands to server functions: the database and the engine.

use std::sync::Arc;

use leptos::prelude::*;

use crate::auth::Principal;

#[derive(Clone)]
pub struct ServerContext {
    pub db: sqlx::SqlitePool,
    pub engine: Arc<engine::Engine>,
    /// The presets of `workflows/`, read once at start.
    pub presets: Arc<engine::presets::Presets>,
    /// Who signs results with Content Credentials; `None` when no certificate is configured.
    pub signer: Option<engine::content_credentials::SignerIdentity>,
    pub jobs: Arc<dyn JobControl>,
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

/// What staff can do to a job from the pages. The server's job queue implements it, so the
/// pages need not know how jobs are stored or run.
#[async_trait::async_trait]
pub trait JobControl: Send + Sync {
    // Each checks that `who` may manage the job (see `Principal::may_manage`); a job they may
    // not even see is reported as missing.

    /// Stops a job that has not started.
    async fn cancel(&self, who: &Principal, id: &str) -> Result<(), JobActionError>;
    /// Queues a failed or cancelled job again.
    async fn retry(&self, who: &Principal, id: &str) -> Result<(), JobActionError>;
    /// A new job for the same original with another preset; the old result stays. Returns the
    /// new job's id.
    async fn rerun(
        &self,
        who: &Principal,
        id: &str,
        preset: &str,
    ) -> Result<String, JobActionError>;
    /// Removes a job and its result; its original goes too once no other job refers to it.
    async fn delete(&self, who: &Principal, id: &str) -> Result<(), JobActionError>;
}

/// Why a job action was refused, in words for the person who asked.
#[derive(Debug, thiserror::Error)]
pub enum JobActionError {
    #[error("no such job")]
    NotFound,
    #[error("{0}")]
    Refused(String),
    #[error("your role does not allow this")]
    Forbidden,
    #[error("{0}")]
    Internal(String),
}

/// A refusal in the person's words; an internal failure logged and kept from the browser.
pub fn action_error(error: JobActionError) -> ServerFnError {
    match error {
        JobActionError::Internal(detail) => internal("the job could not be changed", detail),
        other => ServerFnError::new(other.to_string()),
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

//! What the server hands to server functions: the database and the engine.

use std::path::PathBuf;
use std::sync::Arc;

use leptos::prelude::*;

#[derive(Clone)]
pub struct ServerContext {
    pub db: sqlx::SqlitePool,
    pub engine: Arc<engine::Engine>,
    pub workflows_dir: PathBuf,
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

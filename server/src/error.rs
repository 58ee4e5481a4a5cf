//! Errors that stop a command (start-up, CLI), with the sentence shown to the operator.

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error(transparent)]
    Engine(#[from] engine::EngineError),
    #[error("the database could not be opened: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database could not be migrated: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Jobs(#[from] crate::jobs::JobError),
    #[error(transparent)]
    Pull(#[from] app::models::download::PullError),
    #[error("the object store cannot be used: {0}")]
    Storage(#[from] app::storage::StorageError),
    #[error(transparent)]
    Credentials(#[from] engine::content_credentials::CredentialsError),
    #[error("{0}")]
    Invalid(String),
}

impl CommandError {
    pub fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        CommandError::Io {
            context: context.into(),
            source,
        }
    }
}

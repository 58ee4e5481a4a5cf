//! Opening the database: SQLite (a file in the data directory, created on first start) or
//! PostgreSQL (`--database-url postgres://…`), migrated on every start with the migrations of
//! its kind (`migrations/sqlite`, `migrations/postgres`: the same steps, one file each).

use std::path::Path;
use std::time::Duration;

use app::db::{Backend, Db};
use sqlx::any::AnyPoolOptions;
use sqlx::Executor;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, ExpiredDeletion, SessionStore};
use tower_sessions_sqlx_store::{PostgresStore, SqliteStore};

use crate::error::CommandError;

/// The database named by `url`, or the file `tinct.db` in `data_dir` when no URL is given.
pub async fn connect(url: Option<&str>, data_dir: &Path) -> Result<Db, CommandError> {
    sqlx::any::install_default_drivers();
    let url = database_url(url, data_dir);
    let options = AnyPoolOptions::new().max_connections(8);
    let pool = if url.starts_with("sqlite:") {
        options
            .after_connect(|connection, _| {
                Box::pin(async move {
                    // Readers do not wait for the writer; a writer waits its turn (up to 5 s)
                    // instead of failing at once.
                    connection
                        .execute(
                            "PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    Ok(())
                })
            })
            .connect(&url)
            .await?
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        options.connect(&url).await?
    } else {
        return Err(CommandError::Invalid(format!(
            "the database URL must start with sqlite:// or postgres://, not {:?}",
            url.split(':').next().unwrap_or_default()
        )));
    };
    match Backend::of(&pool) {
        Backend::Sqlite => sqlx::migrate!("../migrations/sqlite").run(&pool).await?,
        Backend::Postgres => sqlx::migrate!("../migrations/postgres").run(&pool).await?,
    }
    Ok(pool)
}

/// The URL as given (a SQLite file is created when missing), or the data directory's file.
fn database_url(url: Option<&str>, data_dir: &Path) -> String {
    match url {
        Some(url)
            if url.starts_with("sqlite:") && !url.contains('?') && !url.contains(":memory:") =>
        {
            format!("{url}?mode=rwc")
        }
        Some(url) => url.to_string(),
        None => {
            // Absolute: the URL is parsed as a URL, where `sqlite://data/…` would name a host.
            let file = std::path::absolute(data_dir.join("tinct.db"))
                .unwrap_or_else(|_| data_dir.join("tinct.db"));
            format!("sqlite://{}?mode=rwc", file.display())
        }
    }
}

/// Where sessions are kept: a table in the same database, so that they survive a restart and
/// every web front end sees the same sessions.
#[derive(Debug, Clone)]
pub enum Sessions {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
}

impl Sessions {
    /// The session store of `db`'s database, with its table made if missing.
    pub async fn open(db: &Db) -> Result<Sessions, sqlx::Error> {
        let url = db.connect_options().database_url.to_string();
        let sessions = match Backend::of(db) {
            Backend::Sqlite => {
                use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};
                let options = url
                    .parse::<SqliteConnectOptions>()?
                    .journal_mode(SqliteJournalMode::Wal)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new()
                    .max_connections(4)
                    .connect_with(options)
                    .await?;
                let store = SqliteStore::new(pool);
                store.migrate().await?;
                Sessions::Sqlite(store)
            }
            Backend::Postgres => {
                let pool = sqlx::postgres::PgPoolOptions::new()
                    .max_connections(4)
                    .connect(&url)
                    .await?;
                let store = PostgresStore::new(pool);
                store.migrate().await?;
                Sessions::Postgres(store)
            }
        };
        Ok(sessions)
    }
}

#[async_trait::async_trait]
impl SessionStore for Sessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(store) => store.create(record).await,
            Sessions::Postgres(store) => store.create(record).await,
        }
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(store) => store.save(record).await,
            Sessions::Postgres(store) => store.save(record).await,
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        match self {
            Sessions::Sqlite(store) => store.load(id).await,
            Sessions::Postgres(store) => store.load(id).await,
        }
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(store) => store.delete(id).await,
            Sessions::Postgres(store) => store.delete(id).await,
        }
    }
}

#[async_trait::async_trait]
impl ExpiredDeletion for Sessions {
    async fn delete_expired(&self) -> session_store::Result<()> {
        match self {
            Sessions::Sqlite(store) => store.delete_expired().await,
            Sessions::Postgres(store) => store.delete_expired().await,
        }
    }
}

//! One stream of job events; the pages and the API subscribe to it. With SQLite every event is
//! made and seen in one process. With PostgreSQL, events travel through `NOTIFY` on the channel
//! `tinct_jobs`, so a job finished by a worker on another machine reaches every web front end:
//! each process sends its events there and hears everyone's (its own included) from there.

use serde::{Deserialize, Serialize};
use tokio::sync::{broadcast, mpsc};

use super::{JobEvent, JobStatus};
use crate::db::{Backend, Db};

/// The PostgreSQL channel the events travel on.
const CHANNEL: &str = "tinct_jobs";

#[derive(Clone)]
pub struct JobEvents {
    sender: broadcast::Sender<JobEvent>,
    /// PostgreSQL: events go out through `NOTIFY` (in order, by one task) instead of straight to
    /// this process's subscribers.
    outbox: Option<mpsc::UnboundedSender<JobEvent>>,
}

impl Default for JobEvents {
    fn default() -> Self {
        // Subscribers that fall this far behind miss events and re-read the state instead.
        let (sender, _) = broadcast::channel(1024);
        JobEvents {
            sender,
            outbox: None,
        }
    }
}

/// An event as it travels between processes: with who may see it, which the streams need and
/// never send to clients.
#[derive(Debug, Serialize, Deserialize)]
struct Notified {
    job_id: String,
    batch_id: Option<String>,
    status: JobStatus,
    error: Option<String>,
    owner_id: Option<i64>,
    private: bool,
}

impl From<JobEvent> for Notified {
    fn from(event: JobEvent) -> Self {
        // A notification carries at most 8000 bytes; an error sentence is never that long, but
        // a model's message might be.
        let error = event.error.map(|e| e.chars().take(1000).collect());
        Notified {
            job_id: event.job_id,
            batch_id: event.batch_id,
            status: event.status,
            error,
            owner_id: event.owner_id,
            private: event.private,
        }
    }
}

impl From<Notified> for JobEvent {
    fn from(n: Notified) -> Self {
        JobEvent {
            job_id: n.job_id,
            batch_id: n.batch_id,
            status: n.status,
            error: n.error,
            owner_id: n.owner_id,
            private: n.private,
        }
    }
}

impl JobEvents {
    /// Events for `db`: in this process for SQLite, through `LISTEN`/`NOTIFY` for PostgreSQL.
    pub async fn for_database(db: &Db) -> Result<JobEvents, sqlx::Error> {
        let events = JobEvents::default();
        if Backend::of(db) != Backend::Postgres {
            return Ok(events);
        }
        let url = db.connect_options().database_url.to_string();
        let mut listener = sqlx::postgres::PgListener::connect(&url).await?;
        listener.listen(CHANNEL).await?;
        let sender = events.sender.clone();
        tokio::spawn(async move {
            loop {
                // On a lost connection the listener reconnects and listens again by itself.
                match listener.recv().await {
                    Ok(notification) => {
                        match serde_json::from_str::<Notified>(notification.payload()) {
                            Ok(event) => {
                                let _ = sender.send(event.into());
                            }
                            Err(error) => tracing::warn!(%error, "an unreadable job event"),
                        }
                    }
                    Err(error) => {
                        tracing::error!(%error, "job events: the database connection failed");
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                }
            }
        });
        let (outbox, mut outgoing) = mpsc::unbounded_channel::<JobEvent>();
        let db = db.clone();
        tokio::spawn(async move {
            while let Some(event) = outgoing.recv().await {
                let Ok(payload) = serde_json::to_string(&Notified::from(event)) else {
                    continue;
                };
                if let Err(error) = notify(&db, payload).await {
                    tracing::error!(%error, "a job event could not be sent");
                }
            }
        });
        Ok(JobEvents {
            outbox: Some(outbox),
            ..events
        })
    }

    pub fn publish(&self, event: JobEvent) {
        match &self.outbox {
            Some(outbox) => {
                let _ = outbox.send(event);
            }
            // No subscriber is fine: nobody is watching right now.
            None => {
                let _ = self.sender.send(event);
            }
        }
    }

    /// Publishes an event that `announce_within` already sent with the transaction that recorded
    /// it (PostgreSQL: delivered on commit); with SQLite it goes to this process's subscribers now.
    pub fn publish_recorded(&self, event: JobEvent) {
        if self.outbox.is_none() {
            let _ = self.sender.send(event);
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.sender.subscribe()
    }
}

/// Sends `event` to every process as part of `tx` (PostgreSQL only; a no-op with SQLite, whose
/// events never leave the process): `NOTIFY` is delivered when the transaction commits, so a
/// process stopped between recording a job's outcome and announcing it cannot leave the outcome
/// unannounced. `JobEvents::publish_recorded` then delivers it within an SQLite process.
pub async fn announce_within(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    backend: Backend,
    event: JobEvent,
) -> Result<(), sqlx::Error> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let payload = serde_json::to_string(&Notified::from(event))
        .map_err(|error| sqlx::Error::Encode(Box::new(error)))?;
    notify(&mut **tx, payload).await
}

async fn notify<'c, E>(executor: E, payload: String) -> Result<(), sqlx::Error>
where
    E: sqlx::Executor<'c, Database = sqlx::Any>,
{
    sqlx::query("SELECT COUNT(*) FROM (SELECT pg_notify($1, $2)) AS sent")
        .bind(CHANNEL)
        .bind(payload)
        .execute(executor)
        .await
        .map(|_| ())
}

//! One stream of job events inside the server; the page and the API subscribe to it.

use serde::Serialize;
use tokio::sync::broadcast;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JobEvent {
    pub job_id: String,
    pub batch_id: Option<String>,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Who may see it: its owner, and everyone when it is not private (not sent).
    #[serde(skip)]
    pub owner_id: Option<i64>,
    #[serde(skip)]
    pub private: bool,
}

#[derive(Clone)]
pub struct JobEvents {
    sender: broadcast::Sender<JobEvent>,
}

impl Default for JobEvents {
    fn default() -> Self {
        // Subscribers that fall this far behind miss events and re-read the state instead.
        let (sender, _) = broadcast::channel(1024);
        JobEvents { sender }
    }
}

impl JobEvents {
    pub fn publish(&self, event: JobEvent) {
        // No subscriber is fine: nobody is watching right now.
        let _ = self.sender.send(event);
    }

    pub fn subscribe(&self) -> broadcast::Receiver<JobEvent> {
        self.sender.subscribe()
    }
}

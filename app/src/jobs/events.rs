//! One stream of job events inside the server; the page and the API subscribe to it.

use super::JobEvent;
use tokio::sync::broadcast;

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

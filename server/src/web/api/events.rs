//! `GET /api/v1/events`: job state changes as server-sent events.

use std::convert::Infallible;
use std::time::Duration;

use app::auth::Principal;
use axum::extract::{Query, State};
use axum::Extension;

use crate::web::error::{ApiError, ErrorBody};
use axum::response::sse::{Event, KeepAlive, Sse};
use serde::Deserialize;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use crate::web::auth::{access_ends, Credential};
use crate::web::AppState;

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventFilter {
    pub batch: Option<String>,
}

/// `GET /api/v1/events?batch=`: server-sent events of job state changes.
#[utoipa::path(get, path = "/api/v1/events", tag = "jobs", params(EventFilter),
    responses((status = 200, description = "Server-sent events `job`: {job_id, batch_id, status, error?}", content_type = "text/event-stream"), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn events(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    credential: Option<Extension<Credential>>,
    Query(filter): Query<EventFilter>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    super::jobs::readable(&who)?;
    let subscription = BroadcastStream::new(state.jobs.events.subscribe());
    // The stream ends when the account or token behind it stops being valid.
    let ends = access_ends(state, credential.map(|Extension(c)| c));
    let stream = futures_util::StreamExt::take_until(subscription, ends).filter_map(move |event| {
        // A lagging subscriber skips what it missed; it re-reads the job list when it reconnects.
        let event = event.ok()?;
        if !who.can_see(event.owner_id, event.private) {
            return None;
        }
        if filter
            .batch
            .as_ref()
            .is_some_and(|batch| event.batch_id.as_ref() != Some(batch))
        {
            return None;
        }
        Event::default().event("job").json_data(&event).ok().map(Ok)
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

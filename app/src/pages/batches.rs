//! The Batches page: every batch by name, with its owner, counts by state, when it was started
//! and how far it has come. Each opens its batch page (the live upload view).

use leptos::prelude::*;

use crate::error::AppError;

use crate::components::empty_state::EmptyState;
use crate::components::local_time::LocalTime;
use crate::jobs::batches::BatchSummary;

/// Batches a page lists at most (newest first).
#[cfg(feature = "ssr")]
pub const BATCHES_PAGE: i64 = 200;

#[server(endpoint = "list_batches")]
pub async fn list_batches() -> Result<Vec<BatchSummary>, AppError> {
    use crate::context::{internal, server_context};
    let who = crate::auth::require(|p| p.can_read())?;
    crate::jobs::batches::list(&server_context()?.db, &who, BATCHES_PAGE)
        .await
        .map_err(|e| internal("the batches could not be read", e))
}

#[component]
pub fn BatchesPage() -> impl IntoView {
    let batches = Resource::new(|| (), |_| list_batches());
    view! {
        <h1>"Batches"</h1>
        <Suspense fallback=|| view! { <p>"Loading the batches…"</p> }>
            {move || Suspend::new(async move {
                match batches.await {
                    Ok(batches) if batches.is_empty() => view! {
                        <EmptyState title="No batches yet" action=("/upload", "Upload scans")>
                            <p>"Each upload is a batch with a name; it is listed here with how far it has come."</p>
                        </EmptyState>
                    }
                        .into_any(),
                    Ok(batches) => view! {
                        <ul class="batch-list" data-testid="batch-list">
                            {batches.into_iter().map(|batch| view! { <BatchCard batch/> }).collect_view()}
                        </ul>
                    }
                        .into_any(),
                    Err(e) => view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn BatchCard(batch: BatchSummary) -> impl IntoView {
    let percent = batch.percent_finished();
    let mut counts = vec![format!("{} done", batch.done)];
    if batch.waiting > 0 {
        counts.push(format!("{} waiting", batch.waiting));
    }
    if batch.failed > 0 {
        counts.push(format!("{} failed", batch.failed));
    }
    if batch.cancelled > 0 {
        counts.push(format!("{} cancelled", batch.cancelled));
    }
    if batch.not_jobs > 0 {
        counts.push(format!(
            "{} refused, skipped or not uploaded",
            batch.not_jobs
        ));
    }
    let label = format!("{}: {percent}% finished", batch.name);
    view! {
        <li class="card batch-card" data-testid="batch-card">
            <h2><a href=format!("/upload?batch={}", batch.id)>{batch.name.clone()}</a></h2>
            {batch.description.map(|d| view! { <p class="meta">{d}</p> })}
            <p>
                {counts.join(" · ")}
                " · "
                <a href=format!("/gallery?batch={}", batch.id)>"in the gallery"</a>
            </p>
            <progress max="100" value=percent aria-label=label></progress>
            <p class="meta">
                {batch.created_by.map(|who| format!("by {who}, ")).unwrap_or_default()}
                "started " <LocalTime iso=batch.created_at/>
            </p>
        </li>
    }
}

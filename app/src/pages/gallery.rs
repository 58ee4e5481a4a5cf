//! The gallery of restored images.

use leptos::prelude::*;

use super::history::JobRow;
use crate::components::empty_state::EmptyState;

/// Finished jobs, newest first.
#[server(endpoint = "list_results")]
pub async fn list_results() -> Result<Vec<JobRow>, ServerFnError> {
    use crate::context::{internal, server_context};
    let ctx = server_context()?;
    sqlx::query_as::<_, JobRow>(
        "SELECT id, original_name, preset, input_size, model, status, submitted_by, error,
                created_at, started_at, finished_at
         FROM jobs WHERE status = 'done' ORDER BY finished_at DESC LIMIT 200",
    )
    .fetch_all(&ctx.db)
    .await
    .map_err(|e| internal("the gallery could not be read", e))
}

#[component]
pub fn GalleryPage() -> impl IntoView {
    let results = Resource::new(|| (), |_| list_results());
    view! {
        <h1>"Gallery"</h1>
        <Suspense fallback=|| view! { <p>"Loading the gallery…"</p> }>
            {move || Suspend::new(async move {
                match results.await {
                    Ok(results) if results.is_empty() => {
                        view! {
                            <EmptyState title="No restored images yet" action=("/upload", "Upload scans")>
                                <p>
                                    "Colorized images appear here as soon as they are ready. Open one to compare it "
                                    "with its original, read how it was made, and download it."
                                </p>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(results) => {
                        view! {
                            <ul class="gallery-grid" data-testid="gallery-grid">
                                {results
                                    .into_iter()
                                    .map(|job| {
                                        view! {
                                            <li class="gallery-item">
                                                <a href=format!("/gallery/{}", job.id)>
                                                    <img
                                                        src=format!("/api/v1/jobs/{}/thumbnail", job.id)
                                                        alt=format!("Colorized {}", job.original_name)
                                                        loading="lazy"
                                                    />
                                                    <span class="name">{job.original_name}</span>
                                                </a>
                                                <span class="meta">
                                                    {format!("{} · {} px · {}", job.preset, job.input_size, job.model)}
                                                </span>
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ul>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

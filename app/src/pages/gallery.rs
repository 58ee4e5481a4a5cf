//! The gallery of restored images.

use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use super::history::JobRow;
use crate::components::empty_state::EmptyState;

/// Results per gallery page.
pub const GALLERY_PAGE: i64 = 60;

/// Finished jobs, newest first, optionally of one preset and one batch; `before` (a
/// `finished_at` value) pages back by key, which stays fast with any number of images.
#[server(endpoint = "list_results")]
pub async fn list_results(
    preset: Option<String>,
    batch: Option<String>,
    before: Option<String>,
) -> Result<Vec<JobRow>, ServerFnError> {
    use super::history::JOB_ROW_SELECT;
    use crate::context::{internal, server_context};
    let ctx = server_context()?;
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    sqlx::query_as::<_, JobRow>(&format!(
        "{JOB_ROW_SELECT}
         WHERE status = 'done' AND (?1 IS NULL OR preset = ?1) AND (?2 IS NULL OR batch_id = ?2)
               AND (?3 IS NULL OR finished_at < ?3)
         ORDER BY finished_at DESC LIMIT ?4"
    ))
    .bind(blank(preset))
    .bind(blank(batch))
    .bind(blank(before))
    .bind(GALLERY_PAGE)
    .fetch_all(&ctx.db)
    .await
    .map_err(|e| internal("the gallery could not be read", e))
}

#[component]
pub fn GalleryPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (q.get("preset"), q.get("batch"), q.get("before"))
    };
    let results = Resource::new(filter, |(preset, batch, before)| {
        list_results(preset, batch, before)
    });
    let older = move |results: &[JobRow]| {
        (results.len() as i64 == GALLERY_PAGE)
            .then(|| results.last().and_then(|j| j.finished_at.clone()))
            .flatten()
            .map(|before| {
                let q = query.read_untracked();
                let href = format!(
                    "/gallery?preset={}&batch={}&before={before}",
                    q.get("preset").unwrap_or_default(),
                    q.get("batch").unwrap_or_default()
                );
                view! { <p><a class="button" href=href>"Older results →"</a></p> }
            })
    };
    view! {
        <h1>"Gallery"</h1>
        <form class="filters" method="get" action="/gallery">
            <label>
                "Preset "
                <input name="preset" placeholder="e.g. portrait" value=move || query.read().get("preset").unwrap_or_default()/>
            </label>
            <label>
                "Batch "
                <input name="batch" placeholder="batch id" value=move || query.read().get("batch").unwrap_or_default()/>
            </label>
            <button class="button" type="submit">"Filter"</button>
        </form>
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
                        let older = older(&results);
                        view! {
                            <form method="get" action="/api/v1/jobs/zip" data-testid="zip-form">
                            <p class="zip-bar">
                                <button class="button" type="submit">"Download selected as ZIP"</button>
                                <span class="meta">" Tick the results you want; the ZIP holds them with a manifest of where each came from."</span>
                            </p>
                            <ul class="gallery-grid" data-testid="gallery-grid">
                                {results
                                    .into_iter()
                                    .map(|job| {
                                        view! {
                                            <li class="gallery-item">
                                                <label class="pick">
                                                    <input type="checkbox" name="id" value=job.id.clone()/>
                                                    " Select"
                                                </label>
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
                            </form>
                            {older}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

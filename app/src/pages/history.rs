//! The job history: every job with its state, parameters and times.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use crate::components::empty_state::EmptyState;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "ssr", derive(sqlx::FromRow))]
pub struct JobRow {
    pub id: String,
    pub original_name: String,
    pub preset: String,
    pub input_size: i64,
    pub model: String,
    pub status: String,
    pub submitted_by: Option<String>,
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// The newest jobs first (at most 500 here; the full history pages arrive with the job queue).
#[server(endpoint = "list_jobs")]
pub async fn list_jobs() -> Result<Vec<JobRow>, ServerFnError> {
    use crate::context::{internal, server_context};
    let ctx = server_context()?;
    sqlx::query_as::<_, JobRow>(
        "SELECT id, original_name, preset, input_size, model, status, submitted_by, error,
                created_at, started_at, finished_at
         FROM jobs ORDER BY created_at DESC LIMIT 500",
    )
    .fetch_all(&ctx.db)
    .await
    .map_err(|e| internal("the job history could not be read", e))
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let jobs = Resource::new(|| (), |_| list_jobs());
    view! {
        <h1>"History"</h1>
        <Suspense fallback=|| view! { <p>"Loading the job history…"</p> }>
            {move || Suspend::new(async move {
                match jobs.await {
                    Ok(jobs) if jobs.is_empty() => {
                        view! {
                            <EmptyState title="No jobs yet" action=("/upload", "Upload scans")>
                                <p>
                                    "Every colorization you start appears here with its status, preset, model and timings, "
                                    "and failed ones say why in plain words."
                                </p>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(jobs) => view! { <JobTable jobs/> }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JobTable(jobs: Vec<JobRow>) -> impl IntoView {
    view! {
        <table class="jobs" data-testid="jobs-table">
            <thead>
                <tr>
                    <th>"File"</th>
                    <th>"Status"</th>
                    <th>"Preset"</th>
                    <th>"Size"</th>
                    <th>"Model"</th>
                    <th>"Submitted by"</th>
                    <th>"Queued"</th>
                    <th>"Finished"</th>
                    <th>"Error"</th>
                </tr>
            </thead>
            <tbody>
                {jobs
                    .into_iter()
                    .map(|job| {
                        view! {
                            <tr>
                                <td>{job.original_name}</td>
                                <td>
                                    <span class=format!("status status-{}", job.status)>{job.status.clone()}</span>
                                </td>
                                <td>{job.preset}</td>
                                <td>{job.input_size}</td>
                                <td>{job.model}</td>
                                <td>{job.submitted_by.unwrap_or_default()}</td>
                                <td>{job.created_at}</td>
                                <td>{job.finished_at.unwrap_or_default()}</td>
                                <td>{job.error.unwrap_or_default()}</td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
    }
}

//! The job history: every job with its state, parameters and times.

use leptos::prelude::*;

use crate::error::AppError;

use leptos_router::hooks::use_query_map;

use super::job_actions::QueueButtons;
use crate::components::batch_filter::BatchFilter;
use crate::components::empty_state::EmptyState;
use crate::components::local_time::{duration_text, LocalTime};
use crate::components::review_filter::ReviewFilter;
pub use crate::jobs::JobRow;

/// Jobs per page of the history.
pub const HISTORY_PAGE: i64 = 100;

/// The newest jobs first, optionally of one status, one batch and one review state; `before`
/// (a `created_at` value) pages back. Paging by key stays fast however long the history is.
#[server(endpoint = "list_jobs")]
pub async fn list_jobs(
    status: Option<String>,
    batch: Option<String>,
    before: Option<String>,
    #[server(default)] review: Option<String>,
) -> Result<Vec<JobRow>, AppError> {
    use crate::context::{internal, server_context};
    use crate::jobs::read::{self, JobQuery, Order};
    use crate::jobs::{JobStatus, ReviewState};
    let who = crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let status = match blank(status) {
        None => None,
        Some(name) => match JobStatus::parse(&name) {
            Some(status) => Some(status),
            None => return Ok(Vec::new()),
        },
    };
    let review = match blank(review) {
        None => None,
        Some(name) => match ReviewState::parse(&name) {
            Some(review) => Some(review),
            None => return Ok(Vec::new()),
        },
    };
    let query = JobQuery {
        status,
        review,
        batch: blank(batch),
        before_created: blank(before),
        order: Order::NewestByCreated,
        limit: HISTORY_PAGE,
        ..JobQuery::default()
    };
    read::list(&ctx.db, &who, &query)
        .await
        .map_err(|e| internal("the job history could not be read", e))
}

#[component]
pub fn HistoryPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || {
        let q = query.read();
        (
            q.get("status"),
            q.get("batch"),
            q.get("before"),
            q.get("review"),
        )
    };
    let jobs = Resource::new(filter, |(status, batch, before, review)| {
        list_jobs(status, batch, before, review)
    });
    let jobs_refetch = Callback::new(move |_| jobs.refetch());
    // Viewers read the history; the buttons that change jobs are for staff and admins.
    let user = Resource::new(|| (), |_| crate::pages::current_user());
    let selected =
        move |value: &'static str| move || query.read().get("status").as_deref() == Some(value);
    view! {
        <h1>"History"</h1>
        <form class="filters" method="get" action="/history" data-testid="history-filters">
            <label>
                "Status "
                <select name="status">
                    <option value="">"All"</option>
                    <option value="queued" selected=selected("queued")>"Waiting"</option>
                    <option value="running" selected=selected("running")>"Running"</option>
                    <option value="done" selected=selected("done")>"Done"</option>
                    <option value="failed" selected=selected("failed")>"Failed"</option>
                    <option value="cancelled" selected=selected("cancelled")>"Cancelled"</option>
                </select>
            </label>
            <ReviewFilter testid="history-review-filter"/>
            <BatchFilter testid="history-batch"/>
            <button class="button" type="submit">"Filter"</button>
        </form>
        <Suspense fallback=|| view! { <p>"Loading the job history…"</p> }>
            {move || Suspend::new(async move {
                let may_edit = user
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|who| who.can_submit());
                match jobs.await {
                    Ok(jobs) if jobs.is_empty() => {
                        view! {
                            <EmptyState title="No jobs yet" action=("/upload", "Upload scans")>
                                <p>
                                    "Every colorization you start appears here with its status, preset, model and timings, "
                                    "and failed ones say why in plain words. (If you filtered, nothing matches.)"
                                </p>
                            </EmptyState>
                        }
                            .into_any()
                    }
                    Ok(jobs) => {
                        let older = (jobs.len() as i64 == HISTORY_PAGE)
                            .then(|| jobs.last().map(|j| j.created_at.clone()))
                            .flatten()
                            .map(|before| {
                                let q = query.read_untracked();
                                format!(
                                    "/history?status={}&batch={}&review={}&before={before}",
                                    q.get("status").unwrap_or_default(),
                                    q.get("batch").unwrap_or_default(),
                                    q.get("review").unwrap_or_default()
                                )
                            });
                        let changed = Callback::new(move |_| jobs_refetch.run(()));
                        view! {
                            <JobTable jobs changed may_edit/>
                            {older.map(|href| view! { <p><a class="button" href=href>"Older jobs →"</a></p> })}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JobTable(jobs: Vec<JobRow>, changed: Callback<()>, may_edit: bool) -> impl IntoView {
    view! {
        // A narrow screen scrolls the table, not the page; the region can be scrolled by keyboard.
        <div class="table-scroll" role="region" aria-label="Jobs" tabindex="0">
        <table class="jobs cards-on-phone" data-testid="jobs-table">
            <thead>
                <tr>
                    <th>"File"</th>
                    <th>"Status"</th>
                    <th>"Preset"</th>
                    <th>"Review"</th>
                    <th>"Size"</th>
                    <th>"Model"</th>
                    <th>"Submitted by"</th>
                    <th>"Queued"</th>
                    <th>"Took"</th>
                    <th>"Error"</th>
                    <th>"Actions"</th>
                </tr>
            </thead>
            <tbody>
                {jobs
                    .into_iter()
                    .map(|job| {
                        // From the start of its run to its end (waiting in the queue not counted).
                        let took = match (&job.started_at, &job.finished_at) {
                            (Some(start), Some(end)) => duration_text(start, end),
                            _ => None,
                        };
                        view! {
                            <tr>
                                <td data-label="File">
                                    <a href=format!("/gallery/{}", job.id) title=job.original_name.clone()>
                                        {super::upload::middle_ellipsis(&job.original_name, 40)}
                                    </a>
                                </td>
                                <td data-label="Status">
                                    <span class=format!("status status-{}", job.status)>{job.status.as_str()}</span>
                                </td>
                                <td data-label="Preset">{match super::detail::correction_summary(job.correction.as_deref()) {
                                    Some(summary) => format!("{} (corrected: {summary})", job.preset),
                                    None => job.preset,
                                }}</td>
                                <td data-label="Review">{format!(
                                    "{}{}",
                                    job.review_state.label(),
                                    job.review_note.map(|n| format!(": {n}")).unwrap_or_default()
                                )}</td>
                                <td data-label="Size">{job.input_size}</td>
                                <td data-label="Model">{job.model}</td>
                                <td data-label="Submitted by">{job.submitted_by.unwrap_or_default()}</td>
                                <td data-label="Queued"><LocalTime iso=job.created_at/></td>
                                <td data-label="Took">{took}</td>
                                <td data-label="Error">{job.error}</td>
                                <td data-label="Actions">
                                    {may_edit.then(|| view! { <QueueButtons id=job.id status=job.status changed/> })}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
}

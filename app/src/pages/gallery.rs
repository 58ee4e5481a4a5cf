//! The gallery of restored images.

use leptos::prelude::*;

use leptos_router::hooks::use_query_map;

use crate::components::empty_state::EmptyState;
use crate::components::review_filter::ReviewFilter;
use crate::jobs::{JobRow, JobStatus, ReviewState};

/// Results per gallery page.
pub const GALLERY_PAGE: i64 = 60;

/// What the gallery shows; every field may be blank.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GalleryFilter {
    /// `done` when blank; `all` for every status.
    pub status: Option<String>,
    pub preset: Option<String>,
    pub batch: Option<String>,
    /// `to_review`, `approved` or `rejected`; blank for all.
    pub review: Option<String>,
    /// Submitted on or after this day (`YYYY-MM-DD`).
    pub from: Option<String>,
    /// Submitted on or before this day (`YYYY-MM-DD`).
    pub to: Option<String>,
    /// Paging key: the id of the last job on the previous page. Job ids are UUIDv7, ordered by
    /// time, so paging by key uses the `(status, id)` index and stays fast with any number of
    /// images.
    pub before: Option<String>,
}

impl GalleryFilter {
    /// The filter an address's query asks for.
    pub fn from_query(q: &leptos_router::params::ParamsMap) -> Self {
        GalleryFilter {
            status: q.get("status"),
            preset: q.get("preset"),
            batch: q.get("batch"),
            review: q.get("review"),
            from: q.get("from"),
            to: q.get("to"),
            before: q.get("before"),
        }
    }

    /// The query string for this filter, paging from `before`.
    pub fn href(&self, before: Option<&str>) -> String {
        let field = |v: &Option<String>| v.clone().unwrap_or_default();
        format!(
            "/gallery?status={}&preset={}&batch={}&review={}&from={}&to={}&before={}",
            field(&self.status),
            field(&self.preset),
            field(&self.batch),
            field(&self.review),
            field(&self.from),
            field(&self.to),
            before.unwrap_or_default()
        )
    }
}

/// Jobs newest first, of one status (results by default), optionally of one preset, one batch,
/// one review state and a range of days. Results show each photo once: its chosen version.
#[server(endpoint = "list_results")]
pub async fn list_results(
    #[server(default)] filter: GalleryFilter,
) -> Result<Vec<JobRow>, ServerFnError> {
    use crate::context::{internal, server_context};
    use crate::jobs::read::{self, JobQuery, Order};
    let who = crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let day = |v: Option<String>| -> Result<Option<String>, ServerFnError> {
        match blank(v) {
            Some(d) if !is_day(&d) => Err(ServerFnError::new(format!(
                "{d:?} is not a date; use YYYY-MM-DD"
            ))),
            d => Ok(d),
        }
    };
    let status = match blank(filter.status).as_deref() {
        None => Some(JobStatus::Done),
        Some("all") => None,
        Some(name) => match JobStatus::parse(name) {
            Some(status) => Some(status),
            None => return Ok(Vec::new()),
        },
    };
    let review = match blank(filter.review).as_deref() {
        None => None,
        Some(name) => match ReviewState::parse(name) {
            Some(review) => Some(review),
            None => return Ok(Vec::new()),
        },
    };
    let query = JobQuery {
        status,
        review,
        chosen_only: status == Some(JobStatus::Done),
        preset: blank(filter.preset),
        batch: blank(filter.batch),
        from_day: day(filter.from)?,
        to_day: day(filter.to)?,
        before_id: blank(filter.before),
        order: Order::NewestById,
        limit: GALLERY_PAGE,
        ..JobQuery::default()
    };
    let rows = read::list(&ctx.db, &who, &query)
        .await
        .map_err(|e| internal("the gallery could not be read", e))?;
    Ok(rows)
}

/// `YYYY-MM-DD`, as a date input sends it.
#[cfg(feature = "ssr")]
fn is_day(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[component]
pub fn GalleryPage() -> impl IntoView {
    let query = use_query_map();
    let filter = move || GalleryFilter::from_query(&query.read());
    let results = Resource::new(filter, list_results);
    // The "older" link keeps the filter and pages on from the last result shown.
    let filter_untracked = move || GalleryFilter::from_query(&query.read_untracked());
    let older = move |results: &[JobRow]| {
        (results.len() as i64 == GALLERY_PAGE)
            .then(|| results.last().map(|j| filter_untracked().href(Some(&j.id))))
            .flatten()
            .map(|href| view! { <p><a class="button" href=href data-testid="older">"Older results →"</a></p> })
    };
    let value = move |key: &'static str| move || query.read().get(key).unwrap_or_default();
    let selected = move |status: &'static str| {
        move || query.read().get("status").unwrap_or_default() == status
    };
    // After a bulk decision the server comes back here saying how many it decided.
    let refused = move || {
        query.read().get("refused").map(|reason| {
            view! { <p role="alert" class="error" data-testid="bulk-refused">{reason}</p> }
        })
    };
    let notice = move || {
        let q = query.read();
        let decided = q.get("decided")?;
        let state = q.get("review").and_then(|s| ReviewState::parse(&s))?;
        Some(view! {
            <p role="status" class="notice" data-testid="bulk-notice">
                {format!("{decided} photo(s) marked {}.", state.label())}
            </p>
        })
    };
    view! {
        <h1>"Gallery"</h1>
        <form class="filters" method="get" action="/gallery">
            <label>
                "Status "
                <select name="status">
                    <option value="done" selected=selected("done")>"Done"</option>
                    <option value="failed" selected=selected("failed")>"Failed"</option>
                    <option value="queued" selected=selected("queued")>"Waiting"</option>
                    <option value="running" selected=selected("running")>"Running"</option>
                    <option value="cancelled" selected=selected("cancelled")>"Cancelled"</option>
                    <option value="all" selected=selected("all")>"All"</option>
                </select>
            </label>
            <ReviewFilter testid="review-filter"/>
            <label>
                "Preset "
                <input name="preset" placeholder="e.g. portrait" value=value("preset")/>
            </label>
            <label>
                "Batch "
                <input name="batch" placeholder="batch id" value=value("batch")/>
            </label>
            <label>"From " <input type="date" name="from" value=value("from")/></label>
            <label>"To " <input type="date" name="to" value=value("to")/></label>
            <button class="button" type="submit">"Filter"</button>
        </form>
        {notice}
        {refused}
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
                                <button class="button" type="submit" data-testid="zip-download">"Download selected as ZIP"</button>
                                <label>
                                    <input type="checkbox" name="only" value="approved" data-testid="zip-approved-only"/>
                                    " Only approved photos (their chosen versions)"
                                </label>
                                <span class="meta">" Tick the results you want; the ZIP holds them with a manifest of where each came from and its review."</span>
                            </p>
                            <p class="bulk-bar">
                                <label>
                                    "Note "
                                    <input name="note" maxlength="2000" placeholder="optional, for all selected" data-testid="bulk-note"/>
                                </label>
                                <button class="button small" type="submit" formmethod="post" formaction="/api/v1/reviews"
                                    name="state" value="approved" data-testid="bulk-approve">"Approve selected"</button>
                                <button class="button small" type="submit" formmethod="post" formaction="/api/v1/reviews"
                                    name="state" value="rejected" data-testid="bulk-reject">"Reject selected"</button>
                            </p>
                            <ul class="gallery-grid" data-testid="gallery-grid">
                                {results
                                    .into_iter()
                                    .map(|job| {
                                        view! {
                                            <li class="gallery-item">
                                                {(job.status == JobStatus::Done)
                                                    .then(|| view! {
                                                        <label class="pick">
                                                            <input type="checkbox" name="id" value=job.id.clone()/>
                                                            " Select"
                                                        </label>
                                                    })}
                                                <a href=format!("/gallery/{}", job.id)>
                                                    {if job.status == JobStatus::Done {
                                                        view! {
                                                            <img
                                                                src=format!("/api/v1/jobs/{}/thumbnail", job.id)
                                                                alt=format!("Colorized {}", job.original_name)
                                                                loading="lazy"
                                                            />
                                                        }
                                                            .into_any()
                                                    } else {
                                                        view! {
                                                            <span class=format!("placeholder status status-{}", job.status)>
                                                                {job.status.as_str()}
                                                            </span>
                                                        }
                                                            .into_any()
                                                    }}
                                                    <span class="name">{job.original_name}</span>
                                                </a>
                                                <span class="meta">
                                                    {format!("{} · {} px · {}", job.preset, job.input_size, job.model)}
                                                </span>
                                                {(job.status == JobStatus::Done).then(|| view! {
                                                    <span class=format!("badge review-{}", job.review_state.as_str()) data-testid="card-review">
                                                        {job.review_state.label()}
                                                    </span>
                                                })}
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

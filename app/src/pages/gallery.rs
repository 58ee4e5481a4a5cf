//! The gallery of restored images.

use leptos::prelude::*;

use crate::error::AppError;

use leptos_router::hooks::use_query_map;

use crate::components::batch_filter::BatchFilter;
use crate::components::empty_state::EmptyState;
use crate::components::review_filter::ReviewFilter;
use crate::jobs::{JobRow, JobStatus, ReviewState};
use crate::pages::ModelOptions;

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
    /// With a batch: show its photos as these two models coloured them, side by side.
    pub compare_a: Option<String>,
    pub compare_b: Option<String>,
    /// Words to find in file names, batch names and review notes.
    pub q: Option<String>,
    /// `newest` (blank), `oldest` or `name`.
    pub sort: Option<String>,
    /// Paging for the `oldest` and `name` orders: the page number, from 0.
    pub page: Option<String>,
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
            compare_a: q.get("compare_a"),
            compare_b: q.get("compare_b"),
            q: q.get("q"),
            sort: q.get("sort"),
            page: q.get("page"),
        }
    }

    /// Whether anything narrows the gallery beyond its default (finished photos).
    pub fn narrowed(&self) -> bool {
        let given = |v: &Option<String>| v.as_deref().is_some_and(|v| !v.trim().is_empty());
        [
            &self.preset,
            &self.batch,
            &self.review,
            &self.from,
            &self.to,
            &self.q,
        ]
        .into_iter()
        .any(given)
            || self
                .status
                .as_deref()
                .is_some_and(|s| !s.is_empty() && s != "done")
    }

    /// The page number of the `oldest` and `name` orders.
    pub fn page_number(&self) -> i64 {
        self.page
            .as_deref()
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(0)
            .clamp(0, 100_000)
    }

    /// Whether this order pages by number (else by the last id shown).
    pub fn pages_by_number(&self) -> bool {
        matches!(self.sort.as_deref(), Some("oldest" | "name"))
    }

    /// The batch and the two models to compare, when all three are given.
    pub fn comparison(&self) -> Option<(String, String, String)> {
        let given = |v: &Option<String>| v.clone().filter(|v| !v.trim().is_empty());
        Some((
            given(&self.batch)?,
            given(&self.compare_a)?,
            given(&self.compare_b)?,
        ))
    }

    /// The address of this filter, paging from `before` (newest first) or to page `page`.
    pub fn href(&self, before: Option<&str>, page: Option<i64>) -> String {
        let mut address = form_urlencoded::Serializer::new(String::from("/gallery?"));
        let fields = [
            ("status", &self.status),
            ("preset", &self.preset),
            ("batch", &self.batch),
            ("review", &self.review),
            ("from", &self.from),
            ("to", &self.to),
            ("compare_a", &self.compare_a),
            ("compare_b", &self.compare_b),
            ("q", &self.q),
            ("sort", &self.sort),
        ];
        for (name, value) in fields {
            if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                address.append_pair(name, value);
            }
        }
        if let Some(before) = before {
            address.append_pair("before", before);
        }
        if let Some(page) = page {
            address.append_pair("page", &page.to_string());
        }
        address.finish()
    }
}

/// Jobs newest first, of one status (results by default), optionally of one preset, one batch,
/// one review state and a range of days. Results show each photo once: its chosen version.
#[server(endpoint = "list_results")]
pub async fn list_results(
    #[server(default)] filter: GalleryFilter,
) -> Result<Vec<JobRow>, AppError> {
    use crate::context::{internal, server_context};
    use crate::jobs::read::{self, JobQuery, Order};
    let who = crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    let blank = |v: Option<String>| v.filter(|v| !v.trim().is_empty());
    let day = |v: Option<String>| -> Result<Option<String>, AppError> {
        match blank(v) {
            Some(d) if !is_day(&d) => Err(AppError::refused(format!(
                "{d:?} is not a date; use YYYY-MM-DD"
            ))),
            d => Ok(d),
        }
    };
    let (order, offset) = match blank(filter.sort.clone()).as_deref() {
        Some("name") => (Order::Name, filter.page_number() * GALLERY_PAGE),
        Some("oldest") => (Order::Oldest, filter.page_number() * GALLERY_PAGE),
        _ => (Order::NewestById, 0),
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
        before_id: blank(filter.before).filter(|_| order == Order::NewestById),
        search: blank(filter.q),
        order,
        limit: GALLERY_PAGE,
        offset,
        ..JobQuery::default()
    };
    let rows = read::list(&ctx.db, &who, &query)
        .await
        .map_err(|e| internal("the gallery could not be read", e))?;
    Ok(rows)
}

/// One photo of a batch as two models coloured it: the newest finished version by each.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelPair {
    pub original_name: String,
    pub first: Option<JobRow>,
    pub second: Option<JobRow>,
}

/// Pairs a batch's finished versions (oldest first) by photo: the newest of each model, photos
/// in the order they were sent; photos neither model coloured are left out.
#[cfg_attr(not(feature = "ssr"), allow(dead_code))]
pub fn model_pairs(rows: Vec<JobRow>, first: &str, second: &str) -> Vec<ModelPair> {
    let mut pairs: Vec<(String, ModelPair)> = Vec::new();
    for row in rows {
        let slot = if row.model == first {
            0
        } else if row.model == second {
            1
        } else {
            continue;
        };
        let index = match pairs
            .iter()
            .position(|(sha, _)| *sha == row.original_sha256)
        {
            Some(index) => index,
            None => {
                pairs.push((
                    row.original_sha256.clone(),
                    ModelPair {
                        original_name: row.original_name.clone(),
                        first: None,
                        second: None,
                    },
                ));
                pairs.len() - 1
            }
        };
        let pair = &mut pairs[index].1;
        // Oldest first: a later version of the same model replaces an earlier one.
        if slot == 0 {
            pair.first = Some(row);
        } else {
            pair.second = Some(row);
        }
    }
    pairs.into_iter().map(|(_, pair)| pair).collect()
}

/// A batch's photos as `first` and `second` coloured them, for side-by-side comparison.
#[server(endpoint = "compare_models")]
pub async fn compare_models(
    batch: String,
    first: String,
    second: String,
) -> Result<Vec<ModelPair>, AppError> {
    use crate::context::{internal, server_context};
    use crate::jobs::read::{self, JobQuery, Order};
    let who = crate::auth::require(|p| p.can_read())?;
    let rows = read::list(
        &server_context()?.db,
        &who,
        &JobQuery {
            status: Some(JobStatus::Done),
            batch: Some(batch),
            order: Order::Oldest,
            limit: 5000,
            ..JobQuery::default()
        },
    )
    .await
    .map_err(|e| internal("the batch could not be read", e))?;
    Ok(model_pairs(rows, &first, &second))
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
    let models = Resource::new(|| (), |_| crate::pages::installed_models());
    let presets = Resource::new(|| (), |_| crate::pages::list_presets());
    let user = Resource::new(|| (), |_| crate::pages::current_user());
    let comparison = Resource::new(
        move || filter().comparison(),
        |wanted| async move {
            match wanted {
                Some((batch, first, second)) => {
                    compare_models(batch, first, second).await.map(Some)
                }
                None => Ok(None),
            }
        },
    );
    // The next page keeps the filter: newest first pages on from the last result shown, the
    // other orders by page number.
    let filter_untracked = move || GalleryFilter::from_query(&query.read_untracked());
    let older = move |results: &[JobRow]| {
        let current = filter_untracked();
        if results.len() as i64 != GALLERY_PAGE {
            return None;
        }
        let href = if current.pages_by_number() {
            current.href(None, Some(current.page_number() + 1))
        } else {
            current.href(Some(&results.last()?.id), None)
        };
        Some(view! { <p><a class="button" href=href data-testid="older">"More results →"</a></p> })
    };
    let value = move |key: &'static str| move || query.read().get(key).unwrap_or_default();
    let selected = move |status: &'static str| {
        move || query.read().get("status").unwrap_or_default() == status
    };
    let sorted =
        move |sort: &'static str| move || query.read().get("sort").unwrap_or_default() == sort;
    // After a bulk action the server comes back here saying what it did, or why not.
    let refused = move || {
        query.read().get("refused").map(|reason| {
            view! { <p role="alert" class="error" data-testid="bulk-refused">{reason}</p> }
        })
    };
    let notice = move || {
        let q = query.read();
        if let Some(sentence) = q.get("bulk") {
            return Some(
                view! { <p role="status" class="notice" data-testid="bulk-notice">{sentence}</p> }
                    .into_any(),
            );
        }
        let decided = q.get("decided")?;
        let state = q.get("review").and_then(|s| ReviewState::parse(&s))?;
        Some(
            view! {
                <p role="status" class="notice" data-testid="bulk-notice">
                    {format!("{decided} photo(s) marked {}.", state.label())}
                </p>
            }
            .into_any(),
        )
    };
    view! {
        <h1>"Gallery"</h1>
        <form class="filters" method="get" action="/gallery" role="search">
            <label>
                "Search "
                <input type="search" name="q" placeholder="file, batch or note" value=value("q") data-testid="search"/>
            </label>
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
                "Sort "
                <select name="sort" data-testid="sort">
                    <option value="">"newest first"</option>
                    <option value="oldest" selected=sorted("oldest")>"oldest first"</option>
                    <option value="name" selected=sorted("name")>"by file name"</option>
                </select>
            </label>
            <BatchFilter testid="batch-filter"/>
            <details class="more-filters">
                <summary>"More filters"</summary>
                <label>
                    "Preset "
                    <input name="preset" placeholder="e.g. portrait" value=value("preset")/>
                </label>
                <label>"From " <input type="date" name="from" value=value("from")/></label>
                <label>"To " <input type="date" name="to" value=value("to")/></label>
                <Suspense>
                    {move || Suspend::new(async move {
                        let models = models.await.unwrap_or_default();
                        let option_list = move |key: &'static str| {
                            let current = query.read_untracked().get(key).unwrap_or_default();
                            models
                                .iter()
                                .map(|m| {
                                    let selected = m.name == current;
                                    view! { <option value=m.name.clone() selected=selected>{m.label.clone()}</option> }
                                })
                                .collect_view()
                        };
                        view! {
                            <fieldset class="compare-models">
                                <legend>"Compare two models (with a batch)"</legend>
                                <label>
                                    "Model "
                                    <select name="compare_a" data-testid="compare-a">
                                        <option value="">"—"</option>
                                        {option_list("compare_a")}
                                    </select>
                                </label>
                                <label>
                                    " and "
                                    <select name="compare_b" data-testid="compare-b">
                                        <option value="">"—"</option>
                                        {option_list("compare_b")}
                                    </select>
                                </label>
                            </fieldset>
                        }
                    })}
                </Suspense>
            </details>
            <button class="button" type="submit">"Show"</button>
        </form>
        <Suspense>
            {move || Suspend::new(async move {
                match comparison.await {
                    Ok(Some(pairs)) => Some(view! { <ModelComparison pairs/> }.into_any()),
                    Ok(None) => None,
                    Err(e) => Some(view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any()),
                }
            })}
        </Suspense>
        {notice}
        {refused}
        <Suspense fallback=|| view! { <p>"Loading the gallery…"</p> }>
            {move || Suspend::new(async move {
                let staff = user
                    .await
                    .ok()
                    .flatten()
                    .is_some_and(|who| who.role != crate::auth::Role::Viewer);
                let presets = presets.await.unwrap_or_default();
                let model_list = models.await.unwrap_or_default();
                match results.await {
                    Ok(results) if results.is_empty() && filter_untracked().narrowed() => {
                        view! {
                            <EmptyState title="Nothing matches" action=("/gallery", "Show every photo")>
                                <p>"No photo matches this search or filter. Try fewer words, another batch, or “All” statuses."</p>
                            </EmptyState>
                        }
                            .into_any()
                    }
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
                        let back = filter_untracked().href(None, None);
                        let batch = filter_untracked().batch.filter(|b| !b.is_empty());
                        view! {
                            <form method="get" action="/api/v1/jobs/zip" data-testid="zip-form" id="picked">
                            <input type="hidden" name="back" value=back/>
                            <div class="bulk-bar card">
                                <label class="select-all">
                                    <input type="checkbox" data-testid="select-all" on:change=select_all/>
                                    " Select all on this page"
                                </label>
                                <button class="button small" type="submit" data-testid="zip-download">"Download selected (ZIP)"</button>
                                {batch.map(|batch| view! {
                                    <a class="button small" href=format!("/api/v1/jobs/zip?batch={batch}") download="" data-testid="zip-batch">
                                        "Download the whole batch (ZIP)"
                                    </a>
                                })}
                                <label>
                                    <input type="checkbox" name="only" value="approved" data-testid="zip-approved-only"/>
                                    " Only approved photos"
                                </label>
                                {staff.then(|| view! { <BulkActions presets=presets.clone() models=model_list.clone()/> })}
                            </div>
                            <ul class="gallery-grid" data-testid="gallery-grid">
                                {results
                                    .into_iter()
                                    .map(|job| view! { <GalleryCard job/> })
                                    .collect_view()}
                            </ul>
                            </form>
                            {older}
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// Ticks or clears every photo's box on the page.
fn select_all(ev: leptos::ev::Event) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let checked = event_target_checked(&ev);
        let boxes = document().query_selector_all("#picked input[name=id]");
        if let Ok(boxes) = boxes {
            for i in 0..boxes.length() {
                if let Some(input) = boxes
                    .get(i)
                    .and_then(|b| b.dyn_into::<web_sys::HtmlInputElement>().ok())
                {
                    input.set_checked(checked);
                }
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = ev;
}

/// What staff can do to the ticked photos (viewers do not see these).
#[component]
fn BulkActions(
    presets: Vec<crate::pages::PresetInfo>,
    models: Vec<crate::pages::ModelChoice>,
) -> impl IntoView {
    view! {
        <span class="bulk-actions">
            <label>
                "Note "
                <input name="note" maxlength="2000" placeholder="optional, for a review" data-testid="bulk-note"/>
            </label>
            <button class="button small" type="submit" formmethod="post" formaction="/api/v1/reviews"
                name="state" value="approved" data-testid="bulk-approve">"Approve"</button>
            <button class="button small" type="submit" formmethod="post" formaction="/api/v1/reviews"
                name="state" value="rejected" data-testid="bulk-reject">"Reject"</button>
            <button class="button small" type="submit" formmethod="post" formaction="/api/v1/jobs/bulk"
                name="action" value="retry" data-testid="bulk-retry">"Retry"</button>
            <button class="button small" type="submit" formmethod="post" formaction="/api/v1/jobs/bulk"
                name="action" value="cancel" data-testid="bulk-cancel">"Cancel"</button>
            <label>
                "Re-run with "
                <select name="preset" data-testid="bulk-preset">
                    {presets
                        .into_iter()
                        .map(|p| view! { <option value=p.name>{p.title}</option> })
                        .collect_view()}
                </select>
            </label>
            <label>
                "and "
                <select name="model" data-testid="bulk-model">
                    <ModelOptions models/>
                </select>
            </label>
            <button class="button small" type="submit" formmethod="post" formaction="/api/v1/jobs/bulk"
                name="action" value="rerun" data-testid="bulk-rerun">"Re-run"</button>
            <button class="button small danger" type="submit" formmethod="post" formaction="/api/v1/jobs/bulk"
                name="action" value="delete" data-testid="bulk-delete">"Delete"</button>
        </span>
    }
}

#[component]
fn GalleryCard(job: JobRow) -> impl IntoView {
    let done = job.status == JobStatus::Done;
    let name = job.original_name.clone();
    view! {
        <li class="gallery-item">
            <label class="pick">
                <input type="checkbox" name="id" value=job.id.clone() form="picked"/>
                <span class="visually-hidden">{format!("Select {name}")}</span>
                <span aria-hidden="true">" Select"</span>
            </label>
            <a href=format!("/gallery/{}", job.id)>
                {if done {
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
                <span class="name" title=job.original_name.clone()>
                    {crate::pages::upload::middle_ellipsis(&job.original_name, 30)}
                </span>
            </a>
            <span class="meta">
                {format!("{} · {} px · {}", job.preset, job.input_size, job.model)}
            </span>
            {done.then(|| view! {
                <span class=format!("badge review-{}", job.review_state.as_str()) data-testid="card-review">
                    {job.review_state.label()}
                </span>
            })}
        </li>
    }
}

/// A batch's photos in two columns, one per model.
#[component]
fn ModelComparison(pairs: Vec<ModelPair>) -> impl IntoView {
    let figure = |job: Option<JobRow>| {
        match job {
        Some(job) => view! {
            <figure>
                <a href=format!("/gallery/{}", job.id)>
                    <img
                        src=format!("/api/v1/jobs/{}/thumbnail", job.id)
                        alt=format!("{} coloured by {}", job.original_name, job.model)
                        loading="lazy"
                    />
                </a>
                <figcaption>{format!("{} · {} px", job.model, job.input_size)}</figcaption>
            </figure>
        }
        .into_any(),
        None => view! { <p class="meta">"Not coloured by this model yet: open the photo and try it."</p> }
            .into_any(),
    }
    };
    view! {
        <section class="card" data-testid="model-comparison" aria-label="Two models side by side">
            <h2>"Two models side by side"</h2>
            {pairs.is_empty().then(|| view! {
                <p>"Neither model has coloured a photo of this batch yet."</p>
            })}
            <ul class="model-pairs">
                {pairs
                    .into_iter()
                    .map(|pair| view! {
                        <li>
                            <h3>{pair.original_name}</h3>
                            <div class="pair">
                                {figure(pair.first)}
                                {figure(pair.second)}
                            </div>
                        </li>
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, sha: &str, model: &str) -> JobRow {
        serde_json::from_value(serde_json::json!({
            "id": id, "batch_id": "b", "original_name": format!("{sha}.png"),
            "original_sha256": sha, "preset": "portrait", "input_size": 64, "model": model,
            "model_sha256": null, "output_format": "png", "visible_label": null,
            "status": "done", "submitted_by": null, "error": null, "attempts": 1,
            "width": null, "height": null, "timings": null, "content_credentials": null,
            "created_at": "2026-12-03T10:00:00Z", "started_at": null, "finished_at": null,
            "parent_id": null, "correction": null, "review_state": "to_review",
            "review_note": null, "reviewed_by": null, "reviewed_at": null, "chosen": true
        }))
        .unwrap()
    }

    #[test]
    fn each_photo_pairs_the_newest_version_of_each_model() {
        let rows = vec![
            row("1", "x", "a"),
            row("2", "y", "a"),
            row("3", "x", "b"),
            row("4", "x", "a"),
            row("5", "z", "c"),
        ];
        let pairs = model_pairs(rows, "a", "b");
        assert_eq!(pairs.len(), 2, "z was coloured by neither");
        assert_eq!(pairs[0].original_name, "x.png");
        assert_eq!(pairs[0].first.as_ref().unwrap().id, "4", "the newest of a");
        assert_eq!(pairs[0].second.as_ref().unwrap().id, "3");
        assert_eq!(pairs[1].original_name, "y.png");
        assert!(pairs[1].second.is_none());
    }
}

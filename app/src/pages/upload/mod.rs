//! The upload page, which is also a batch's page: choose scans (files or a folder), review the
//! list (sizes, files that will be refused, content already colorized), name the batch and pick
//! the preset, model, output format and label, then Start. Each file then uploads, queues, runs
//! and comes back in colour, live. The address names the batch: a reload, another tab or the
//! Batches page show it as it stands, with the files refused, skipped or never uploaded.

#[cfg(feature = "hydrate")]
mod browser;

use leptos::prelude::*;

use crate::error::AppError;
use crate::pages::ModelOptions;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::jobs::batches::{BatchDetail, Duplicates};
use crate::jobs::{JobRow, JobStatus};
use crate::pages::{current_user, installed_models, ModelChoice};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PresetInfo {
    pub name: String,
    pub title: String,
    pub description: String,
    pub input_size: u32,
}

/// The presets defined by the workflow files in `workflows/`.
#[server(endpoint = "list_presets")]
pub async fn list_presets() -> Result<Vec<PresetInfo>, AppError> {
    use crate::context::server_context;
    crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    Ok(ctx
        .presets
        .all()
        .iter()
        .map(|p| PresetInfo {
            name: p.name.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            input_size: p.input_size,
        })
        .collect())
}

/// What the page needs to check files before they are sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct UploadRules {
    pub max_file_bytes: u64,
    /// What happens to content already colorized unless the person says otherwise.
    pub duplicates: Duplicates,
}

#[server(endpoint = "intake_rules")]
pub async fn intake_rules() -> Result<UploadRules, AppError> {
    use crate::context::server_context;
    crate::auth::require(|p| p.can_read())?;
    let limits = server_context()?.jobs.limits;
    Ok(UploadRules {
        max_file_bytes: limits.max_file_bytes,
        duplicates: limits.duplicates,
    })
}

/// A batch as its page shows it: name, description, files that are not jobs, and its jobs in
/// the order they were sent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BatchOnPage {
    pub detail: Option<BatchDetail>,
    pub jobs: Vec<JobRow>,
}

#[server(endpoint = "batch_contents")]
pub async fn batch_contents(batch: String) -> Result<BatchOnPage, AppError> {
    use crate::context::{internal, server_context};
    use crate::jobs::batches;
    let who = crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    let detail = batches::detail(&ctx.db, &who, &batch)
        .await
        .map_err(|e| internal("the batch could not be read", e))?;
    let jobs = crate::jobs::read::batch(&ctx.db, &who, &batch)
        .await
        .map_err(|e| internal("the batch could not be read", e))?;
    Ok(BatchOnPage { detail, jobs })
}

/// A file chosen on the page: its name, size, and the reason it will be refused, if the page
/// already knows it (not an image, too large).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChosenFile {
    pub name: String,
    pub bytes: i64,
    pub refusal: Option<String>,
}

/// Names batch `batch` (made if new) and records its chosen files, before any is sent: the
/// refused ones with their reason, the others as listed, so a reload shows which never arrived.
#[server(endpoint = "start_batch")]
pub async fn start_batch(
    batch: String,
    name: String,
    #[server(default)] description: String,
    #[server(default)] files: Vec<ChosenFile>,
) -> Result<(), AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    let who = principal()?;
    let service = server_context()?.jobs;
    service
        .name_batch(&who, &batch, &name, Some(&description))
        .await
        .map_err(job_error)?;
    let files: Vec<(String, i64, Option<String>)> = files
        .into_iter()
        .map(|f| (f.name, f.bytes, f.refusal))
        .collect();
    service
        .list_batch_files(&who, &batch, &files)
        .await
        .map_err(job_error)
}

/// How many finished results the person may see were made from content with this SHA-256,
/// and the newest: the page says so on a file's row before it is sent.
#[server(endpoint = "colorized_already")]
pub async fn colorized_already(sha256: String) -> Result<Option<(i64, String)>, AppError> {
    use crate::context::{job_error, server_context};
    let who = crate::auth::require(|p| p.can_submit())?;
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(AppError::refused("a SHA-256 is 64 hexadecimal digits"));
    }
    let (times, newest) = server_context()?
        .jobs
        .colorized_before(&who, &sha256.to_lowercase())
        .await
        .map_err(job_error)?;
    Ok(newest.filter(|_| times > 0).map(|id| (times, id)))
}

/// Colorizes a file that was skipped because its content was already colorized.
#[server(endpoint = "colorize_skipped")]
pub async fn colorize_skipped(batch: String, name: String) -> Result<String, AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    server_context()?
        .jobs
        .colorize_skipped(&principal()?, &batch, &name)
        .await
        .map_err(job_error)
}

/// A file on the page: chosen, then uploaded, then its job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileRow {
    pub key: u32,
    pub name: RwSignal<String>,
    pub bytes: RwSignal<Option<i64>>,
    /// Upload progress, 0–100.
    pub progress: RwSignal<u8>,
    pub job_id: RwSignal<Option<String>>,
    /// `ready` (chosen, not started), `sending` (started, waiting its turn), `uploading`,
    /// `not_uploaded` (listed in the batch but never arrived: a reload), `refused`, `skipped`
    /// (already colorized), then the job's `queued`, `running`, `done`, `failed`, `cancelled`.
    pub status: RwSignal<String>,
    pub error: RwSignal<Option<String>>,
    /// Content colorized before: how often, and the newest result.
    pub duplicate: RwSignal<Option<(i64, String)>>,
}

// Rows are made and changed by the browser glue only.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl FileRow {
    fn new(key: u32, name: String, status: &str) -> Self {
        FileRow {
            key,
            name: RwSignal::new(name),
            bytes: RwSignal::new(None),
            progress: RwSignal::new(0),
            job_id: RwSignal::new(None),
            status: RwSignal::new(status.to_string()),
            error: RwSignal::new(None),
            duplicate: RwSignal::new(None),
        }
    }

    /// Whether leaving the page now would lose this file.
    pub fn in_flight(&self) -> bool {
        matches!(
            self.status.get_untracked().as_str(),
            "sending" | "uploading"
        )
    }
}

/// The page's state, shared by the controls and the browser glue.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub struct UploadState {
    pub preset: RwSignal<String>,
    pub custom_size: RwSignal<String>,
    /// An installed model instead of the preset's; empty for the preset's.
    pub model: RwSignal<String>,
    /// `png` or `jpeg`.
    pub format: RwSignal<String>,
    pub quality: RwSignal<String>,
    /// A visible label on the results: `""` (none), `en` or `zh`.
    pub label: RwSignal<String>,
    /// Content already colorized: `colorize` or `skip`; `""` (the server's default) until the
    /// page has learnt that default, which never overrides what the person chose meanwhile.
    pub duplicates: RwSignal<String>,
    pub batch: RwSignal<Option<String>>,
    pub batch_name: RwSignal<String>,
    pub description: RwSignal<String>,
    /// The batch has been started (named on the server); more files need Start again.
    pub started: RwSignal<bool>,
    /// Why Start did not work, next to the button.
    pub start_error: RwSignal<Option<String>>,
    pub rows: RwSignal<Vec<FileRow>>,
    pub next_key: RwSignal<u32>,
    /// The largest file the server takes (0 until known).
    pub max_file_bytes: RwSignal<u64>,
    /// A sentence for screen readers when something changes (the `aria-live` region).
    pub announcement: RwSignal<String>,
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl UploadState {
    fn new(batch: Option<String>) -> Self {
        UploadState {
            preset: RwSignal::new("portrait".to_string()),
            custom_size: RwSignal::new(String::new()),
            model: RwSignal::new(String::new()),
            format: RwSignal::new("png".to_string()),
            quality: RwSignal::new("92".to_string()),
            label: RwSignal::new(String::new()),
            duplicates: RwSignal::new(String::new()),
            started: RwSignal::new(batch.is_some()),
            batch: RwSignal::new(batch),
            batch_name: RwSignal::new(String::new()),
            description: RwSignal::new(String::new()),
            start_error: RwSignal::new(None),
            rows: RwSignal::new(Vec::new()),
            next_key: RwSignal::new(0),
            max_file_bytes: RwSignal::new(0),
            announcement: RwSignal::new(String::new()),
        }
    }

    /// Adds a row and returns it.
    pub fn add_row(&self, name: String, status: &str) -> FileRow {
        let key = self.next_key.get_untracked();
        self.next_key.set(key + 1);
        let row = FileRow::new(key, name, status);
        self.rows.update(|rows| rows.push(row));
        row
    }

    /// The row of the file with this name that has no job yet, if any.
    pub fn row_without_job(&self, name: &str) -> Option<FileRow> {
        self.rows
            .get_untracked()
            .into_iter()
            .find(|r| r.job_id.get_untracked().is_none() && r.name.get_untracked() == name)
    }

    /// Applies a job's state (from an event or a re-read); unknown jobs get a row.
    pub fn apply(&self, job_id: &str, name: Option<&str>, status: &str, error: Option<String>) {
        let existing = self
            .rows
            .get_untracked()
            .into_iter()
            .find(|row| row.job_id.get_untracked().as_deref() == Some(job_id));
        let row = match (existing, name) {
            (Some(row), _) => row,
            (None, Some(name)) => match self.row_without_job(name) {
                // Its own upload's answer is on the way and will name the job.
                Some(row) if row.in_flight() => return,
                // A file listed, refused or skipped before, now a job (sent again elsewhere).
                Some(row) => {
                    row.job_id.set(Some(job_id.to_string()));
                    row
                }
                None => {
                    let row = self.add_row(name.to_string(), status);
                    row.progress.set(100);
                    row.job_id.set(Some(job_id.to_string()));
                    row
                }
            },
            // An event for a job whose upload response has not arrived yet: that response,
            // or the next re-read of the batch, brings it.
            (None, None) => return,
        };
        // A re-read of the batch may answer after a newer event was applied: a job does not go
        // back from finished to waiting by itself, so the older answer must not undo the newer.
        let shown = JobStatus::parse(&row.status.get_untracked());
        if shown.is_some_and(JobStatus::is_finished)
            && JobStatus::parse(status).is_some_and(JobStatus::is_pending)
        {
            return;
        }
        if row.status.get_untracked() != status {
            self.announce(&row.name.get_untracked(), status);
        }
        row.status.set(status.to_string());
        row.error.set(error);
    }

    /// Tells screen readers about a finished file (not every step, which would be noise).
    pub fn announce(&self, name: &str, status: &str) {
        let what = match status {
            "done" => "is colorized",
            "failed" => "could not be colorized",
            "refused" => "was refused",
            "skipped" => "was skipped: already colorized",
            _ => return,
        };
        let rows = self.rows.get_untracked();
        let finished = rows
            .iter()
            .filter(|r| {
                matches!(
                    r.status.get_untracked().as_str(),
                    "done" | "failed" | "refused" | "skipped" | "cancelled"
                )
            })
            .count()
            + 1;
        self.announcement.set(format!(
            "{name} {what}. {} of {} files finished.",
            finished.min(rows.len()),
            rows.len()
        ));
    }
}

/// The batch's default name: the folder chosen, or the time.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub fn default_batch_name(folder: Option<&str>, now: &str) -> String {
    match folder.map(str::trim).filter(|f| !f.is_empty()) {
        Some(folder) => folder.to_string(),
        None => format!("Scans of {now}"),
    }
}

#[component]
pub fn UploadPage() -> impl IntoView {
    let presets = Resource::new(|| (), |_| list_presets());
    let models = Resource::new(|| (), |_| installed_models());
    let user = Resource::new(|| (), |_| current_user());
    let query = use_query_map();
    let state = UploadState::new(query.read_untracked().get("batch"));
    provide_context(state);
    // In the browser: follow the batch named in the address (after a reload or in a new tab),
    // learn the server's rules, and warn before leaving while files are still being sent.
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        {
            browser::watch_leaving(state);
            browser::load_rules(state);
            if let Some(batch) = state.batch.get_untracked() {
                browser::follow_batch(state, batch);
            }
        }
    });
    let may_upload = move || {
        user.get()
            .and_then(Result::ok)
            .flatten()
            .is_some_and(|who| who.role != Role::Viewer)
    };
    let heading = move || match state.batch.get() {
        Some(_) if !state.batch_name.get().is_empty() && state.started.get() => {
            format!("Batch: {}", state.batch_name.get())
        }
        Some(_) => "Batch".to_string(),
        None => "Upload".to_string(),
    };

    view! {
        <h1 data-testid="page-title">{heading}</h1>
        // Screen readers hear what finished, without having to look.
        <p class="visually-hidden" aria-live="polite" data-testid="announcement">
            {move || state.announcement.get()}
        </p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                let _ = user.await;
                let presets = presets.await;
                let models = models.await.unwrap_or_default();
                if !may_upload() {
                    return view! {
                        <p class="meta" data-testid="viewer-note">
                            "You can follow batches here; uploading needs a staff account."
                        </p>
                    }
                        .into_any();
                }
                view! {
                    <section class="card">
                        <h2>"1. Add scans"</h2>
                        <DropZone/>
                    </section>
                    <Show when=move || !state.rows.get().is_empty() || state.started.get()>
                        {
                            let presets = presets.clone();
                            let models = models.clone();
                            view! { <Settings presets=presets.clone() models=models.clone()/> }
                        }
                    </Show>
                }
                    .into_any()
            })}
        </Suspense>
        <BatchView/>
    }
}

#[component]
fn Settings(presets: Result<Vec<PresetInfo>, AppError>, models: Vec<ModelChoice>) -> impl IntoView {
    let state = expect_context::<UploadState>();
    let ready = move || {
        state
            .rows
            .get()
            .iter()
            .filter(|r| r.status.get() == "ready")
            .count()
    };
    view! {
        <section class="card" data-testid="settings">
            <h2>"2. Name the batch and choose how to colorize"</h2>
            <div class="stacked">
                <label>
                    "Batch name "
                    <input
                        data-testid="batch-name"
                        maxlength="200"
                        required
                        prop:value=move || state.batch_name.get()
                        on:input=move |ev| state.batch_name.set(event_target_value(&ev))
                    />
                </label>
                <label>
                    "Description (optional) "
                    <textarea
                        data-testid="batch-description"
                        maxlength="2000"
                        rows="2"
                        prop:value=move || state.description.get()
                        on:input=move |ev| state.description.set(event_target_value(&ev))
                    ></textarea>
                </label>
            </div>
            <fieldset class="plain">
                <legend>"Preset"</legend>
                {match presets {
                    Ok(presets) => view! { <PresetChoice presets/> }.into_any(),
                    Err(e) => view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any(),
                }}
            </fieldset>
            <div class="setting-row">
                <label>
                    "Model "
                    <select data-testid="model" on:change=move |ev| state.model.set(event_target_value(&ev))>
                        <ModelOptions models/>
                    </select>
                </label>
                <label>
                    "Output "
                    <select data-testid="format" on:change=move |ev| state.format.set(event_target_value(&ev))>
                        <option value="png">"PNG (lossless, 16-bit when the scan is)"</option>
                        <option value="jpeg">"JPEG (smaller)"</option>
                        <option value="tiff">"TIFF (16-bit, archival; largest)"</option>
                    </select>
                </label>
                <Show when=move || state.format.get() == "jpeg">
                    <label>
                        "JPEG quality "
                        <input
                            type="number"
                            min="1"
                            max="100"
                            data-testid="quality"
                            prop:value=move || state.quality.get()
                            on:input=move |ev| state.quality.set(event_target_value(&ev))
                        />
                    </label>
                </Show>
                <label>
                    "Visible label "
                    <select
                        data-testid="visible-label"
                        on:change=move |ev| state.label.set(event_target_value(&ev))
                    >
                        <option value="">"none (the files say so in their metadata)"</option>
                        <option value="en">"“AI-assisted colorization”"</option>
                        <option value="zh">"“AI辅助修复”"</option>
                    </select>
                </label>
                <label>
                    "Already colorized scans "
                    <select
                        data-testid="duplicates"
                        prop:value=move || state.duplicates.get()
                        on:change=move |ev| state.duplicates.set(event_target_value(&ev))
                    >
                        <option value="colorize">"colorize again"</option>
                        <option value="skip">"skip (you can still colorize each one)"</option>
                    </select>
                </label>
            </div>
            <details class="advanced">
                <summary>"Advanced: custom model input size"</summary>
                <label>
                    "Input size in pixels (a multiple of 32, e.g. 640), instead of the preset's "
                    <input
                        type="number"
                        min="32"
                        max="2048"
                        step="32"
                        data-testid="custom-size"
                        prop:value=move || state.custom_size.get()
                        on:input=move |ev| state.custom_size.set(event_target_value(&ev))
                    />
                </label>
            </details>
            <p class="start-bar">
                <button
                    class="button primary"
                    type="button"
                    data-testid="start"
                    disabled=move || ready() == 0
                    on:click=move |_| {
                        #[cfg(feature = "hydrate")]
                        browser::start(state);
                    }
                >
                    {move || match ready() {
                        0 => "Start".to_string(),
                        1 => "Start: colorize 1 file".to_string(),
                        n => format!("Start: colorize {n} files"),
                    }}
                </button>
                {move || state.start_error.get().map(|e| view! { <span class="error" role="alert" data-testid="start-error">{e}</span> })}
            </p>
        </section>
    }
}

#[component]
fn PresetChoice(presets: Vec<PresetInfo>) -> impl IntoView {
    let state = expect_context::<UploadState>();
    view! {
        <div class="presets" role="radiogroup" aria-label="Preset" data-testid="presets">
            {presets
                .into_iter()
                .map(|p| {
                    let name = p.name.clone();
                    let checked = {
                        let name = name.clone();
                        move || state.preset.get() == name
                    };
                    view! {
                        <label class="preset">
                            <input
                                type="radio"
                                name="preset"
                                value=name.clone()
                                prop:checked=checked
                                on:change=move |_| state.preset.set(name.clone())
                            />
                            <span>
                                <strong>{p.title}</strong>
                                <span class="meta">{format!(" · {} px model input", p.input_size)}</span>
                                <span class="description">{p.description}</span>
                            </span>
                        </label>
                    }
                })
                .collect_view()}
        </div>
    }
}

#[component]
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn DropZone() -> impl IntoView {
    let state = expect_context::<UploadState>();
    let dragging = RwSignal::new(false);
    // `webkitdirectory` (pick a whole folder) has no typed attribute: set it in the browser.
    let folder_input = NodeRef::<leptos::html::Input>::new();
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(input) = folder_input.get() {
            let _ = input.set_attribute("webkitdirectory", "");
        }
    });
    view! {
        <div
            class="drop-zone"
            class:dragging=move || dragging.get()
            data-testid="drop-zone"
            on:dragover=move |ev| {
                ev.prevent_default();
                dragging.set(true);
            }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev| {
                ev.prevent_default();
                dragging.set(false);
                #[cfg(feature = "hydrate")]
                browser::files_dropped(state, &ev);
            }
        >
            <p>
                <strong>"Drop scans or a folder here"</strong>
                " — JPEG, PNG, TIFF, WebP or BMP. Nothing is sent until you press Start; anything that is not an image is refused with a reason and the rest go ahead."
            </p>
            <div class="pickers">
                <label class="button primary">
                    "Choose files"
                    <input
                        type="file"
                        multiple
                        accept="image/*,.tif,.tiff"
                        data-testid="file-input"
                        on:change=move |_ev| {
                            #[cfg(feature = "hydrate")]
                            browser::files_chosen(state, &_ev);
                        }
                    />
                </label>
                <label class="button">
                    "Choose a folder"
                    <input
                        type="file"
                        multiple
                        data-testid="folder-input"
                        node_ref=folder_input
                        on:change=move |_ev| {
                            #[cfg(feature = "hydrate")]
                            browser::files_chosen(state, &_ev);
                        }
                    />
                </label>
            </div>
        </div>
    }
}

/// `1.2 MB`, `340 kB`: a file's size as people read it.
pub fn human_size(bytes: i64) -> String {
    let bytes = bytes.max(0) as f64;
    if bytes >= 1e9 {
        format!("{:.1} GB", bytes / 1e9)
    } else if bytes >= 1e6 {
        format!("{:.1} MB", bytes / 1e6)
    } else {
        format!("{:.0} kB", (bytes / 1e3).ceil())
    }
}

#[component]
fn BatchView() -> impl IntoView {
    let state = expect_context::<UploadState>();
    let counts = move || {
        let rows = state.rows.get();
        let count = |s: &[&str]| {
            rows.iter()
                .filter(|r| s.contains(&r.status.get().as_str()))
                .count()
        };
        (
            rows.len(),
            count(&["done"]),
            count(&["failed", "refused", "not_uploaded"]),
            count(&["skipped"]),
        )
    };
    // Name order, whatever order the files arrive or finish in.
    let sorted = move || {
        let mut rows = state.rows.get();
        rows.sort_by_cached_key(|r| (r.name.get().to_lowercase(), r.key));
        rows
    };
    view! {
        <Show when=move || !state.rows.get().is_empty()>
            <section class="card" data-testid="batch">
                <h2>
                    {move || {
                        let (total, done, failed, skipped) = counts();
                        let mut text = format!("3. Files: {done} of {total} colorized");
                        if failed > 0 {
                            text.push_str(&format!(", {failed} not colorized"));
                        }
                        if skipped > 0 {
                            text.push_str(&format!(", {skipped} skipped"));
                        }
                        text
                    }}
                </h2>
                {move || {
                    let description = state.description.get();
                    (!description.is_empty()).then(|| view! { <p class="meta">{description}</p> })
                }}
                <p class="meta">"Results are AI-assisted colorizations; the originals are kept unchanged."</p>
                <ul class="upload-rows">
                    <For each=sorted key=|row| row.key let:row>
                        <RowView row/>
                    </For>
                </ul>
            </section>
        </Show>
    }
}

/// A long file name shortened in the middle, so its start and its end stay readable.
pub fn middle_ellipsis(name: &str, max_chars: usize) -> String {
    let chars: Vec<char> = name.chars().collect();
    if chars.len() <= max_chars || max_chars < 5 {
        return name.to_string();
    }
    let tail = (max_chars - 1) / 2;
    let head = max_chars - 1 - tail;
    let start: String = chars[..head].iter().collect();
    let end: String = chars[chars.len() - tail..].iter().collect();
    format!("{start}…{end}")
}

#[component]
fn RowView(row: FileRow) -> impl IntoView {
    let state = expect_context::<UploadState>();
    let label = move || match row.status.get().as_str() {
        "ready" => "Ready".into(),
        "sending" => "Waiting to upload".into(),
        "uploading" => format!("Uploading {}%", row.progress.get()),
        "not_uploaded" => "Not uploaded".into(),
        "refused" => "Refused".into(),
        "skipped" => "Skipped".into(),
        "queued" => "Waiting".into(),
        "running" => "Colorizing…".into(),
        "done" => "Done".into(),
        "failed" => "Failed".into(),
        "cancelled" => "Cancelled".into(),
        other => other.to_string(),
    };
    let result = move || {
        row.job_id
            .get()
            .map(|id| format!("/api/v1/jobs/{id}/result"))
    };
    // The small cached JPEG, not the full-size result (which may be tens of megabytes).
    let thumbnail = move || {
        row.job_id
            .get()
            .map(|id| format!("/api/v1/jobs/{id}/thumbnail"))
    };
    let duplicate = move || {
        row.duplicate.get().map(|(times, job_id)| {
            view! {
                <span class="meta" data-testid="duplicate-notice">
                    {crate::jobs::batches::already_colorized(times)} ": "
                    <a href=format!("/gallery/{job_id}")>"open"</a>
                </span>
            }
        })
    };
    let resend = NodeRef::<leptos::html::Input>::new();
    view! {
        <li class="upload-row" data-status=move || row.status.get() data-testid="upload-row">
            <div class="thumb">
                <Show when=move || row.status.get() == "done">
                    <img src=thumbnail alt=move || format!("Colorized {}", row.name.get()) loading="lazy"/>
                </Show>
            </div>
            <div class="what">
                <span class="name" title=move || row.name.get()>{move || middle_ellipsis(&row.name.get(), 34)}</span>
                {move || row.bytes.get().map(|b| view! { <span class="meta">{human_size(b)}</span> })}
                <Show when=move || row.status.get() == "uploading">
                    <progress max="100" value=move || row.progress.get() aria-label=move || format!("Uploading {}", row.name.get())></progress>
                </Show>
                {move || row.error.get().map(|e| view! { <span class="error">{e}</span> })}
                {duplicate}
            </div>
            <span class=move || format!("status status-{}", row.status.get())>{label}</span>
            <span class="row-actions">
                <Show when=move || row.status.get() == "done">
                    <a class="button small" href=result download="">"Download"</a>
                </Show>
                <Show when=move || row.status.get() == "ready">
                    <button class="button small" type="button" data-testid="remove-file"
                        on:click=move |_| state.rows.update(|rows| rows.retain(|r| r.key != row.key))>
                        "Remove"
                    </button>
                </Show>
                <Show when=move || row.status.get() == "skipped">
                    <button class="button small" type="button" data-testid="colorize-anyway"
                        on:click=move |_| {
                            #[cfg(feature = "hydrate")]
                            browser::colorize_anyway(state, row);
                        }>
                        "Colorize anyway"
                    </button>
                </Show>
                <Show when=move || row.status.get() == "not_uploaded">
                    <label class="button small">
                        "Send again"
                        <input
                            type="file"
                            class="visually-hidden"
                            accept="image/*,.tif,.tiff"
                            data-testid="send-again"
                            node_ref=resend
                            on:change=move |_ev| {
                                #[cfg(feature = "hydrate")]
                                browser::send_again(state, row, &_ev);
                            }
                        />
                    </label>
                </Show>
            </span>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_older_re_read_does_not_undo_a_newer_event() {
        Owner::new().with(an_older_re_read_does_not_undo_a_newer_event_in_an_owner);
    }

    fn an_older_re_read_does_not_undo_a_newer_event_in_an_owner() {
        let state = UploadState::new(None);
        let row = state.add_row("scan.png".into(), "uploading");
        row.job_id.set(Some("j1".into()));
        state.apply("j1", None, "running", None);
        state.apply("j1", None, "done", None);
        // The batch was read while the job still ran; its answer comes last.
        state.apply("j1", Some("scan.png"), "running", None);
        assert_eq!(row.status.get_untracked(), "done");
        // A failure is still shown after a done (a job's state moves forward only).
        state.apply("j1", None, "failed", Some("broken".into()));
        assert_eq!(row.status.get_untracked(), "failed");
        assert_eq!(
            state.announcement.get_untracked(),
            "scan.png could not be colorized. 1 of 1 files finished."
        );
    }

    #[test]
    fn a_file_that_never_arrived_takes_its_job_when_sent_again() {
        Owner::new().with(|| {
            let state = UploadState::new(Some("b".into()));
            let row = state.add_row("b.png".into(), "not_uploaded");
            state.apply("j2", Some("b.png"), "queued", None);
            assert_eq!(state.rows.get_untracked().len(), 1);
            assert_eq!(row.job_id.get_untracked().as_deref(), Some("j2"));
            assert_eq!(row.status.get_untracked(), "queued");
        });
    }

    #[test]
    fn long_names_are_shortened_in_the_middle() {
        assert_eq!(
            middle_ellipsis("HA-1931-0042-castle-gate-north-side.jpg", 20),
            "HA-1931-00…-side.jpg"
        );
        assert_eq!(middle_ellipsis("short.jpg", 20), "short.jpg");
        assert_eq!(human_size(1_234_567), "1.2 MB");
        assert_eq!(human_size(340_100), "341 kB");
        assert_eq!(default_batch_name(Some("Castle 1931"), "x"), "Castle 1931");
        assert_eq!(
            default_batch_name(None, "3 Dec 2026, 14:05"),
            "Scans of 3 Dec 2026, 14:05"
        );
    }
}

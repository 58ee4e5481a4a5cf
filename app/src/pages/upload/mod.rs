//! The upload page: choose a preset, drop scans (files or a folder), watch each one upload,
//! queue, run and come back in colour, live. Reloading the page (its address names the batch)
//! or opening it in another tab shows the batch as it stands.

#[cfg(feature = "hydrate")]
mod browser;

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use serde::{Deserialize, Serialize};

use crate::jobs::{JobRow, JobStatus};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PresetInfo {
    pub name: String,
    pub title: String,
    pub description: String,
    pub input_size: u32,
}

/// The presets defined by the workflow files in `workflows/`.
#[server(endpoint = "list_presets")]
pub async fn list_presets() -> Result<Vec<PresetInfo>, ServerFnError> {
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

/// The jobs of one batch, oldest first.
#[server(endpoint = "batch_jobs")]
pub async fn batch_jobs(batch: String) -> Result<Vec<JobRow>, ServerFnError> {
    use crate::context::{internal, server_context};
    let who = crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    crate::jobs::read::batch(&ctx.db, &who, &batch)
        .await
        .map_err(|e| internal("the batch could not be read", e))
}

/// A file on the page: its upload, then its job.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FileRow {
    pub key: u32,
    pub name: RwSignal<String>,
    /// Upload progress, 0–100.
    pub progress: RwSignal<u8>,
    pub job_id: RwSignal<Option<String>>,
    /// `uploading`, `refused`, then the job's `queued`, `running`, `done`, `failed`, `cancelled`.
    pub status: RwSignal<String>,
    pub error: RwSignal<Option<String>>,
}

// Rows are made and changed by the browser glue only.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl FileRow {
    fn new(key: u32, name: String, status: &str) -> Self {
        FileRow {
            key,
            name: RwSignal::new(name),
            progress: RwSignal::new(0),
            job_id: RwSignal::new(None),
            status: RwSignal::new(status.to_string()),
            error: RwSignal::new(None),
        }
    }
}

/// The page's state, shared by the controls and the browser glue.
#[derive(Debug, Clone, Copy)]
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub struct UploadState {
    pub preset: RwSignal<String>,
    pub custom_size: RwSignal<String>,
    /// A visible label on the results: `""` (none), `en` or `zh`.
    pub label: RwSignal<String>,
    pub batch: RwSignal<Option<String>>,
    pub rows: RwSignal<Vec<FileRow>>,
    pub next_key: RwSignal<u32>,
}

#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
impl UploadState {
    /// Adds a row and returns it.
    pub fn add_row(&self, name: String, status: &str) -> FileRow {
        let key = self.next_key.get_untracked();
        self.next_key.set(key + 1);
        let row = FileRow::new(key, name, status);
        self.rows.update(|rows| rows.push(row));
        row
    }

    /// Applies a job's state (from an event or a re-read); unknown jobs get a row.
    pub fn apply(&self, job_id: &str, name: Option<&str>, status: &str, error: Option<String>) {
        let existing = self
            .rows
            .get_untracked()
            .into_iter()
            .find(|row| row.job_id.get_untracked().as_deref() == Some(job_id));
        let rows = self.rows.get_untracked();
        let still_uploading = |name: &str| {
            rows.iter().any(|r| {
                r.job_id.get_untracked().is_none()
                    && r.status.get_untracked() == "uploading"
                    && r.name.get_untracked() == name
            })
        };
        let row = match (existing, name) {
            (Some(row), _) => row,
            // Its own upload's answer is on the way and will name the job.
            (None, Some(name)) if still_uploading(name) => return,
            (None, Some(name)) => {
                let row = self.add_row(name.to_string(), status);
                row.progress.set(100);
                row.job_id.set(Some(job_id.to_string()));
                row
            }
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
        row.status.set(status.to_string());
        row.error.set(error);
    }
}

#[component]
pub fn UploadPage() -> impl IntoView {
    let presets = Resource::new(|| (), |_| list_presets());
    let query = use_query_map();
    let state = UploadState {
        preset: RwSignal::new("portrait".to_string()),
        custom_size: RwSignal::new(String::new()),
        label: RwSignal::new(String::new()),
        batch: RwSignal::new(query.read_untracked().get("batch")),
        rows: RwSignal::new(Vec::new()),
        next_key: RwSignal::new(0),
    };
    provide_context(state);
    // In the browser: follow the batch named in the address (after a reload or in a new tab).
    Effect::new(move |_| {
        #[cfg(feature = "hydrate")]
        if let Some(batch) = state.batch.get_untracked() {
            browser::follow_batch(state, batch);
        }
    });

    view! {
        <h1>"Upload"</h1>
        <section class="card">
            <h2>"1. Choose a preset"</h2>
            <Suspense fallback=|| view! { <p>"Loading presets…"</p> }>
                {move || Suspend::new(async move {
                    match presets.await {
                        Ok(presets) => view! { <PresetChoice presets/> }.into_any(),
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
            <label class="visible-label">
                "Visible label on the pictures "
                <select
                    data-testid="visible-label"
                    on:change=move |ev| state.label.set(event_target_value(&ev))
                >
                    <option value="">"none (the files are labelled in their metadata anyway)"</option>
                    <option value="en">"“AI-assisted colorization”"</option>
                    <option value="zh">"“AI辅助修复”"</option>
                </select>
            </label>
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
        </section>
        <section class="card">
            <h2>"2. Add scans"</h2>
            <DropZone/>
        </section>
        <BatchView/>
    }
}

#[component]
fn PresetChoice(presets: Vec<PresetInfo>) -> impl IntoView {
    let state = expect_context::<UploadState>();
    view! {
        <div class="presets" role="radiogroup" data-testid="presets">
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
                " — JPEG, PNG, TIFF, WebP or BMP. Each file is checked; anything that is not an image is refused with a reason and the rest go ahead."
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

#[component]
fn BatchView() -> impl IntoView {
    let state = expect_context::<UploadState>();
    let counts = move || {
        let rows = state.rows.get();
        let count = |s: &str| rows.iter().filter(|r| r.status.get() == s).count();
        (
            rows.len(),
            count("done"),
            count("failed") + count("refused"),
        )
    };
    view! {
        <Show when=move || !state.rows.get().is_empty()>
            <section class="card" data-testid="batch">
                <h2>
                    {move || {
                        let (total, done, failed) = counts();
                        format!("3. Results: {done} of {total} done{}", if failed > 0 { format!(", {failed} not colorized") } else { String::new() })
                    }}
                </h2>
                <p class="meta">"Results are AI-assisted colorizations; the originals are kept unchanged."</p>
                <ul class="upload-rows">
                    <For each=move || state.rows.get() key=|row| row.key let:row>
                        <RowView row/>
                    </For>
                </ul>
            </section>
        </Show>
    }
}

#[component]
fn RowView(row: FileRow) -> impl IntoView {
    let label = move || match row.status.get().as_str() {
        "uploading" => format!("Uploading {}%", row.progress.get()),
        "refused" => "Refused".into(),
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
    view! {
        <li class="upload-row" data-status=move || row.status.get() data-testid="upload-row">
            <div class="thumb">
                <Show when=move || row.status.get() == "done">
                    <img src=thumbnail alt=move || format!("Colorized {}", row.name.get()) loading="lazy"/>
                </Show>
            </div>
            <div class="what">
                <span class="name">{move || row.name.get()}</span>
                <Show when=move || row.status.get() == "uploading">
                    <progress max="100" value=move || row.progress.get()></progress>
                </Show>
                {move || row.error.get().map(|e| view! { <span class="error">{e}</span> })}
            </div>
            <span class=move || format!("status status-{}", row.status.get())>{label}</span>
            <Show when=move || row.status.get() == "done">
                <a class="button" href=result download="">"Download"</a>
            </Show>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> UploadState {
        UploadState {
            preset: RwSignal::new("portrait".into()),
            custom_size: RwSignal::new(String::new()),
            label: RwSignal::new(String::new()),
            batch: RwSignal::new(None),
            rows: RwSignal::new(Vec::new()),
            next_key: RwSignal::new(0),
        }
    }

    #[test]
    fn an_older_re_read_does_not_undo_a_newer_event() {
        Owner::new().with(an_older_re_read_does_not_undo_a_newer_event_in_an_owner);
    }

    fn an_older_re_read_does_not_undo_a_newer_event_in_an_owner() {
        let state = state();
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
    }
}

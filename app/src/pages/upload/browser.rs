//! Browser-only glue of the upload page: file inputs and drops, the Start of a batch, uploads
//! with progress (XMLHttpRequest, two files at a time), the warning before leaving during an
//! upload, and the live event stream of the batch.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, VecDeque};

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{
    BeforeUnloadEvent, EventSource, File, FileList, FileSystemDirectoryEntry,
    FileSystemDirectoryReader, FileSystemEntry, FileSystemFileEntry, FormData, MessageEvent,
    ProgressEvent, XmlHttpRequest,
};

use super::{
    batch_contents, colorize_skipped, colorized_already, default_batch_name, intake_rules,
    start_batch, ChosenFile, FileRow, UploadState,
};
use crate::jobs::batches::FileState;
use crate::jobs::{JobEvent, SubmitResponse};

/// Files sent at once; the others wait their turn.
const PARALLEL_UPLOADS: usize = 2;
/// Bytes read at a time while a chosen file is hashed, so a large scan is never held whole.
const HASH_CHUNK: f64 = 4.0 * 1024.0 * 1024.0;

thread_local! {
    /// The chosen files, by row key, until they are sent (a `File` stays in the browser).
    static FILES: RefCell<HashMap<u32, File>> = RefCell::new(HashMap::new());
    /// Chosen files waiting to be hashed, and whether a hashing task is running.
    static TO_HASH: RefCell<VecDeque<(FileRow, File)>> = const { RefCell::new(VecDeque::new()) };
    static HASHING: Cell<bool> = const { Cell::new(false) };
}

/// Learns the server's file size limit and its default for content already colorized.
pub fn load_rules(state: UploadState) {
    spawn_local(async move {
        if let Ok(rules) = intake_rules().await {
            state.max_file_bytes.set(rules.max_file_bytes);
            if state.duplicates.get_untracked().is_empty() {
                state.duplicates.set(rules.duplicates.as_str().to_string());
            }
        }
    });
}

/// Asks before the page is left (reload, close, another address) while files are being sent.
pub fn watch_leaving(state: UploadState) {
    let Some(window) = web_sys::window() else {
        return;
    };
    let on_leave = Closure::<dyn FnMut(BeforeUnloadEvent)>::new(move |e: BeforeUnloadEvent| {
        let rows = state.rows.try_get_untracked().unwrap_or_default();
        if rows.iter().any(FileRow::in_flight) {
            e.prevent_default();
            e.set_return_value("Files are still being uploaded. Leave anyway?");
        }
    });
    let _ =
        window.add_event_listener_with_callback("beforeunload", on_leave.as_ref().unchecked_ref());
    on_leave.forget();
}

pub fn files_chosen(state: UploadState, ev: &leptos::ev::Event) {
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return;
    };
    if let Some(files) = input.files() {
        for file in list(&files) {
            add_file(state, file);
        }
    }
    // Let the same files be chosen again later.
    input.set_value("");
}

/// Dropped files, and every file inside dropped folders (walked recursively).
pub fn files_dropped(state: UploadState, ev: &leptos::ev::DragEvent) {
    let Some(transfer) = ev.data_transfer() else {
        return;
    };
    let items = transfer.items();
    let entries: Vec<FileSystemEntry> = (0..items.length())
        .filter_map(|i| items.get(i))
        .filter_map(|item| item.webkit_get_as_entry().ok().flatten())
        .collect();
    if entries.is_empty() {
        for file in transfer.files().map(|f| list(&f)).unwrap_or_default() {
            add_file(state, file);
        }
    }
    for entry in entries {
        if entry.is_directory() {
            suggest_name(state, Some(&entry.name()));
        }
        walk(state, entry);
    }
}

fn list(files: &FileList) -> Vec<File> {
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}

fn walk(state: UploadState, entry: FileSystemEntry) {
    if entry.is_file() {
        let file_entry: FileSystemFileEntry = entry.unchecked_into();
        let on_file = Closure::once_into_js(move |file: File| add_file(state, file));
        file_entry.file_with_callback(on_file.unchecked_ref());
    } else if entry.is_directory() {
        let folder: FileSystemDirectoryEntry = entry.unchecked_into();
        read_folder(state, folder.create_reader());
    }
}

/// `readEntries` hands out a folder's entries in chunks: read until a chunk is empty.
fn read_folder(state: UploadState, reader: FileSystemDirectoryReader) {
    let next = reader.clone();
    let on_entries = Closure::once_into_js(move |entries: js_sys::Array| {
        if entries.length() == 0 {
            return;
        }
        for entry in entries.iter() {
            walk(state, entry.unchecked_into());
        }
        read_folder(state, next);
    });
    let _ = reader.read_entries_with_callback(on_entries.unchecked_ref());
}

/// Names a batch not yet started that has no name: after the folder, or the time. A name the
/// person typed (or an earlier suggestion) is kept.
fn suggest_name(state: UploadState, folder: Option<&str>) {
    if state.started.get_untracked() || !state.batch_name.get_untracked().is_empty() {
        return;
    }
    let now = js_sys::Date::new_0()
        .to_locale_string("default", &js_sys::Object::new())
        .as_string()
        .unwrap_or_default();
    state.batch_name.set(default_batch_name(folder, &now));
}

/// Why the page already knows a file will be refused, if it does.
fn refusal(state: UploadState, file: &File) -> Option<String> {
    let name = file.name().to_lowercase();
    let image_type = file.type_().starts_with("image/");
    let image_name = [".jpg", ".jpeg", ".png", ".tif", ".tiff", ".webp", ".bmp"]
        .iter()
        .any(|ext| name.ends_with(ext));
    let limit = state.max_file_bytes.get_untracked();
    if !image_type && !image_name {
        Some("not an image (Tinct takes JPEG, PNG, TIFF, WebP and BMP)".into())
    } else if limit > 0 && file.size() > limit as f64 {
        Some(format!(
            "the file is larger than the {} MB limit",
            limit >> 20
        ))
    } else {
        None
    }
}

fn add_file(state: UploadState, file: File) {
    // Hidden files of a chosen folder (.DS_Store, Thumbs.db…) are not scans.
    if file.name().starts_with('.') || file.name().eq_ignore_ascii_case("thumbs.db") {
        return;
    }
    // The folder a file came from names the batch (`webkitRelativePath` is `folder/name`).
    let path: String = js_sys::Reflect::get(&file, &"webkitRelativePath".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    suggest_name(state, path.split_once('/').map(|(folder, _)| folder));
    // A file listed before a reload and chosen again takes its old row.
    let row = match state.row_without_job(&file.name()) {
        Some(row) if row.status.get_untracked() == "not_uploaded" => row,
        _ => state.add_row(file.name(), "ready"),
    };
    row.bytes.set(Some(file.size() as i64));
    match refusal(state, &file) {
        Some(reason) => {
            row.status.set("refused".into());
            row.error.set(Some(reason));
        }
        None => {
            row.status.set("ready".into());
            row.error.set(None);
            check_colorized_before(row, file.clone());
            FILES.with(|files| files.borrow_mut().insert(row.key, file));
        }
    }
}

/// Hashes a chosen file here (SHA-256, the name the server gives content) and asks whether it
/// was colorized before, so that its row says so before Start and the person can remove it.
/// Files are hashed one at a time: a folder of large scans never has more than one chunk read.
fn check_colorized_before(row: FileRow, file: File) {
    TO_HASH.with(|queue| queue.borrow_mut().push_back((row, file)));
    if HASHING.with(|busy| busy.replace(true)) {
        return;
    }
    spawn_local(async move {
        while let Some((row, file)) = TO_HASH.with(|queue| queue.borrow_mut().pop_front()) {
            let Some(sha256) = sha256_of(&file).await else {
                continue;
            };
            if let Ok(Some(found)) = colorized_already(sha256).await {
                // The row may be gone (removed) by now: then there is nothing to tell.
                row.duplicate.try_set(Some(found));
            }
        }
        HASHING.with(|busy| busy.set(false));
    });
}

async fn sha256_of(file: &File) -> Option<String> {
    use sha2::Digest;
    let mut hasher = sha2::Sha256::new();
    let size = file.size();
    let mut start = 0.0;
    while start < size {
        let end = (start + HASH_CHUNK).min(size);
        let chunk = file.slice_with_f64_and_f64(start, end).ok()?;
        let buffer = wasm_bindgen_futures::JsFuture::from(chunk.array_buffer())
            .await
            .ok()?;
        hasher.update(js_sys::Uint8Array::new(&buffer).to_vec());
        start = end;
    }
    Some(hex::encode(hasher.finalize()))
}

/// Start: names the batch on the server with its files (so a reload knows them), then sends
/// the files that are ready, two at a time.
pub fn start(state: UploadState) {
    let batch = state.batch.get_untracked().unwrap_or_else(new_batch_id);
    let rows = state.rows.get_untracked();
    let ready: Vec<FileRow> = rows
        .iter()
        .copied()
        .filter(|r| r.status.get_untracked() == "ready")
        .collect();
    let refused_here: Vec<FileRow> = rows
        .iter()
        .copied()
        .filter(|r| r.status.get_untracked() == "refused" && r.job_id.get_untracked().is_none())
        .collect();
    let chosen: Vec<ChosenFile> = ready
        .iter()
        .chain(refused_here.iter())
        .map(|r| ChosenFile {
            name: r.name.get_untracked(),
            bytes: r.bytes.get_untracked().unwrap_or(0),
            refusal: r.error.get_untracked(),
        })
        .collect();
    suggest_name(state, None);
    state.start_error.set(None);
    for row in &ready {
        row.status.set("sending".into());
    }
    let name = state.batch_name.get_untracked();
    let description = state.description.get_untracked();
    spawn_local(async move {
        if let Err(error) = start_batch(batch.clone(), name, description, chosen).await {
            state
                .start_error
                .set(Some(crate::pages::login::server_message(&error)));
            for row in &ready {
                row.status.set("ready".into());
            }
            return;
        }
        let first_start = !state.started.get_untracked();
        state.started.set(true);
        if state.batch.get_untracked().is_none() {
            state.batch.set(Some(batch.clone()));
            if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
                let _ = history.replace_state_with_url(
                    &wasm_bindgen::JsValue::NULL,
                    "",
                    Some(&format!("/upload?batch={batch}")),
                );
            }
        }
        if first_start {
            follow_batch(state, batch);
        }
        pump(state);
    });
}

/// Starts the next waiting uploads, keeping `PARALLEL_UPLOADS` going.
fn pump(state: UploadState) {
    let rows = state.rows.get_untracked();
    let uploading = rows
        .iter()
        .filter(|r| r.status.get_untracked() == "uploading")
        .count();
    let mut waiting: Vec<FileRow> = rows
        .into_iter()
        .filter(|r| r.status.get_untracked() == "sending")
        .collect();
    waiting.sort_by_cached_key(|r| r.name.get_untracked().to_lowercase());
    let Some(batch) = state.batch.get_untracked() else {
        return;
    };
    for row in waiting
        .into_iter()
        .take(PARALLEL_UPLOADS.saturating_sub(uploading))
    {
        match FILES.with(|files| files.borrow_mut().remove(&row.key)) {
            Some(file) => upload(state, &batch, file, row),
            None => fail(row, "the file is no longer available here; choose it again"),
        }
    }
}

/// A file of the batch that never arrived (a reload during its upload), chosen again.
pub fn send_again(state: UploadState, row: FileRow, ev: &leptos::ev::Event) {
    let Some(file) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
        .and_then(|input| input.files())
        .and_then(|files| files.get(0))
    else {
        return;
    };
    row.bytes.set(Some(file.size() as i64));
    if let Some(reason) = refusal(state, &file) {
        return fail(row, &reason);
    }
    // Sent under the name the batch knows, so that it takes its place.
    row.status.set("sending".into());
    row.error.set(None);
    FILES.with(|files| files.borrow_mut().insert(row.key, file));
    pump(state);
}

/// Colorizes a skipped file (its content was already colorized) after all.
pub fn colorize_anyway(state: UploadState, row: FileRow) {
    let Some(batch) = state.batch.get_untracked() else {
        return;
    };
    let name = row.name.get_untracked();
    row.status.set("queued".into());
    spawn_local(async move {
        match colorize_skipped(batch, name).await {
            Ok(job_id) => {
                row.job_id.set(Some(job_id));
                row.error.set(None);
            }
            Err(error) => {
                row.status.set("skipped".into());
                row.error
                    .set(Some(crate::pages::login::server_message(&error)));
            }
        }
    });
}

/// A random UUID (v4 layout) for a new batch; `crypto.randomUUID` needs HTTPS, this does not.
fn new_batch_id() -> String {
    let hex: String = (0..32)
        .map(|i| {
            let digit = match i {
                12 => 4,
                16 => 8 + (js_sys::Math::random() * 4.0) as u32,
                _ => (js_sys::Math::random() * 16.0) as u32,
            };
            char::from_digit(digit.min(15), 16).unwrap_or('0')
        })
        .collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn fail(row: FileRow, message: &str) {
    row.status.set("refused".into());
    row.error.set(Some(message.to_string()));
}

fn upload(state: UploadState, batch: &str, file: File, row: FileRow) {
    row.status.set("uploading".into());
    row.progress.set(0);
    let Ok(form) = FormData::new() else {
        return fail(row, "this browser cannot upload files");
    };
    let size = state.custom_size.get_untracked();
    let fields = [
        ("batch", batch.to_string()),
        ("preset", state.preset.get_untracked()),
        ("size", size.trim().to_string()),
        ("model", state.model.get_untracked()),
        ("format", state.format.get_untracked()),
        ("quality", state.quality.get_untracked().trim().to_string()),
        ("label", state.label.get_untracked()),
        ("duplicates", state.duplicates.get_untracked()),
    ];
    let appended = fields
        .iter()
        .filter(|(_, value)| !value.is_empty())
        .all(|(name, value)| form.append_with_str(name, value).is_ok())
        && form
            .append_with_blob_and_filename("images", &file, &row.name.get_untracked())
            .is_ok();
    let Ok(xhr) = XmlHttpRequest::new() else {
        return fail(row, "this browser cannot upload files");
    };
    if !appended || xhr.open("POST", "/api/v1/jobs").is_err() {
        return fail(row, "the upload could not be started");
    }
    let on_progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |e: ProgressEvent| {
        if e.length_computable() && e.total() > 0.0 {
            row.progress
                .set((e.loaded() / e.total() * 100.0).min(100.0) as u8);
        }
    });
    if let Ok(upload) = xhr.upload() {
        upload.set_onprogress(Some(on_progress.as_ref().unchecked_ref()));
    }
    on_progress.forget();
    let request = xhr.clone();
    let on_load = Closure::<dyn FnMut()>::new(move || {
        let text = request.response_text().ok().flatten().unwrap_or_default();
        row.progress.set(100);
        answered(state, row, &text);
        pump(state);
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = Closure::<dyn FnMut()>::new(move || {
        fail(
            row,
            "the upload was interrupted; check the connection and add the file again",
        );
        pump(state);
    });
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    if xhr.send_with_opt_form_data(Some(&form)).is_err() {
        fail(row, "the upload could not be sent");
    }
}

/// The server's answer to one file's upload.
fn answered(state: UploadState, row: FileRow, text: &str) {
    let outcome = serde_json::from_str::<SubmitResponse>(text)
        .ok()
        .and_then(|answer| answer.files.into_iter().next());
    let Some(outcome) = outcome else {
        // A refusal of the whole request: `{"error": "..."}`.
        let refusal: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let message = refusal["error"]
            .as_str()
            .unwrap_or("the server refused the upload");
        state.announce(&row.name.get_untracked(), "refused");
        return fail(row, message);
    };
    row.duplicate
        .set(outcome.duplicate.map(|d| (d.times, d.job_id)));
    if outcome.skipped {
        state.announce(&row.name.get_untracked(), "skipped");
        row.status.set("skipped".into());
        return;
    }
    match outcome.job_id {
        Some(job_id) if outcome.accepted => {
            row.job_id.set(Some(job_id));
            if row.status.get_untracked() == "uploading" {
                row.status.set("queued".into());
            }
            // Events that came before this answer are picked up by re-reading the batch.
            if let Some(batch) = state.batch.get_untracked() {
                refresh(state, batch);
            }
        }
        _ => {
            state.announce(&row.name.get_untracked(), "refused");
            fail(
                row,
                outcome.error.as_deref().unwrap_or("the file was refused"),
            )
        }
    }
}

/// Subscribes to the batch's events, and re-reads the whole batch whenever the stream
/// (re)connects, so nothing that happened in between is missed.
pub fn follow_batch(state: UploadState, batch: String) {
    let Ok(source) = EventSource::new(&format!("/api/v1/events?batch={batch}")) else {
        return;
    };
    let on_job = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some(text) = e.data().as_string() else {
            return;
        };
        if let Ok(event) = serde_json::from_str::<JobEvent>(&text) {
            state.apply(&event.job_id, None, event.status.as_str(), event.error);
        }
    });
    let _ = source.add_event_listener_with_callback("job", on_job.as_ref().unchecked_ref());
    on_job.forget();
    let on_open = Closure::<dyn FnMut()>::new(move || refresh(state, batch.clone()));
    source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    on_open.forget();
}

/// Re-reads the batch: its name, its jobs, and its files that are not jobs.
fn refresh(state: UploadState, batch: String) {
    spawn_local(async move {
        let Ok(contents) = batch_contents(batch).await else {
            return;
        };
        if let Some(detail) = contents.detail {
            state.started.set(true);
            if state.batch_name.get_untracked().is_empty() {
                state.batch_name.set(detail.name);
            }
            if state.description.get_untracked().is_empty() {
                state
                    .description
                    .set(detail.description.unwrap_or_default());
            }
            let rows = state.rows.get_untracked();
            for file in detail.files {
                // A file that has a job here already was read from the batch just before its
                // upload finished: its job supersedes the listing.
                let has_job = |r: &FileRow| {
                    r.name.get_untracked() == file.name && r.job_id.get_untracked().is_some()
                };
                if rows.iter().any(has_job) {
                    continue;
                }
                let row = match state.row_without_job(&file.name) {
                    // Being sent from this page right now.
                    Some(row) if row.in_flight() || row.status.get_untracked() == "ready" => {
                        continue
                    }
                    // A listing read before this page's upload was answered is older than the
                    // answer (refused, skipped): "never arrived" only describes a row this page
                    // did not send.
                    Some(row)
                        if matches!(file.state, FileState::Listed)
                            && row.status.get_untracked() != "not_uploaded" =>
                    {
                        continue
                    }
                    Some(row) => row,
                    None => state.add_row(file.name.clone(), "not_uploaded"),
                };
                row.bytes.set(file.bytes);
                let (status, message) = match file.state {
                    FileState::Listed => ("not_uploaded", None),
                    FileState::Refused => ("refused", file.message),
                    FileState::Skipped => ("skipped", None),
                };
                row.status.set(status.into());
                row.error.set(message);
                if let (FileState::Skipped, Some(job_id)) = (file.state, file.duplicate_of) {
                    row.duplicate
                        .set(Some((file.colorized_times.max(1), job_id)));
                }
            }
        }
        for job in contents.jobs {
            state.apply(
                &job.id,
                Some(&job.original_name),
                job.status.as_str(),
                job.error,
            );
        }
    });
}

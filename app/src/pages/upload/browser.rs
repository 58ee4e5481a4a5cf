//! Browser-only glue of the upload page: file inputs and drops, uploads with progress
//! (XMLHttpRequest, one request per file), and the live event stream of the batch.

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;
use web_sys::{
    EventSource, File, FileList, FileSystemDirectoryEntry, FileSystemDirectoryReader,
    FileSystemEntry, FileSystemFileEntry, FormData, MessageEvent, ProgressEvent, XmlHttpRequest,
};

use super::{batch_jobs, FileRow, UploadState};
use crate::jobs::{JobEvent, SubmitResponse};

pub fn files_chosen(state: UploadState, ev: &leptos::ev::Event) {
    let Some(input) = ev
        .target()
        .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
    else {
        return;
    };
    if let Some(files) = input.files() {
        let batch = ensure_batch(state);
        for file in list(&files) {
            upload_file(state, &batch, file);
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
    let batch = ensure_batch(state);
    if entries.is_empty() {
        for file in transfer.files().map(|f| list(&f)).unwrap_or_default() {
            upload_file(state, &batch, file);
        }
    }
    for entry in entries {
        walk(state, batch.clone(), entry);
    }
}

fn list(files: &FileList) -> Vec<File> {
    (0..files.length()).filter_map(|i| files.get(i)).collect()
}

fn walk(state: UploadState, batch: String, entry: FileSystemEntry) {
    if entry.is_file() {
        let file_entry: FileSystemFileEntry = entry.unchecked_into();
        let on_file = Closure::once_into_js(move |file: File| upload_file(state, &batch, file));
        file_entry.file_with_callback(on_file.unchecked_ref());
    } else if entry.is_directory() {
        let folder: FileSystemDirectoryEntry = entry.unchecked_into();
        read_folder(state, batch, folder.create_reader());
    }
}

/// `readEntries` hands out a folder's entries in chunks: read until a chunk is empty.
fn read_folder(state: UploadState, batch: String, reader: FileSystemDirectoryReader) {
    let next = reader.clone();
    let on_entries = Closure::once_into_js(move |entries: js_sys::Array| {
        if entries.length() == 0 {
            return;
        }
        for entry in entries.iter() {
            walk(state, batch.clone(), entry.unchecked_into());
        }
        read_folder(state, batch, next);
    });
    let _ = reader.read_entries_with_callback(on_entries.unchecked_ref());
}

/// The page's batch, started (with its address and its event stream) on the first file.
fn ensure_batch(state: UploadState) -> String {
    if let Some(batch) = state.batch.get_untracked() {
        return batch;
    }
    let batch = new_batch_id();
    state.batch.set(Some(batch.clone()));
    if let Some(history) = web_sys::window().and_then(|w| w.history().ok()) {
        let _ = history.replace_state_with_url(
            &wasm_bindgen::JsValue::NULL,
            "",
            Some(&format!("/upload?batch={batch}")),
        );
    }
    follow_batch(state, batch.clone());
    batch
}

fn upload_file(state: UploadState, batch: &str, file: File) {
    // Hidden files of a chosen folder (.DS_Store, Thumbs.db…) are not scans.
    if file.name().starts_with('.') || file.name().eq_ignore_ascii_case("thumbs.db") {
        return;
    }
    let row = state.add_row(file.name(), "uploading");
    upload(state, batch, file, row);
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
    let Ok(form) = FormData::new() else {
        return fail(row, "this browser cannot upload files");
    };
    let size = state.custom_size.get_untracked();
    let appended = form.append_with_str("batch", batch).is_ok()
        && form
            .append_with_str("preset", &state.preset.get_untracked())
            .is_ok()
        && (size.trim().is_empty() || form.append_with_str("size", size.trim()).is_ok())
        && form
            .append_with_str("label", &state.label.get_untracked())
            .is_ok()
        && form
            .append_with_blob_and_filename("images", &file, &file.name())
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
        let outcome = serde_json::from_str::<SubmitResponse>(&text)
            .ok()
            .and_then(|answer| answer.files.into_iter().next());
        let Some(outcome) = outcome else {
            // A refusal of the whole request: `{"error": "..."}`.
            let refusal: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            let message = refusal["error"]
                .as_str()
                .unwrap_or("the server refused the upload");
            return fail(row, message);
        };
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
            _ => fail(
                row,
                outcome.error.as_deref().unwrap_or("the file was refused"),
            ),
        }
    });
    xhr.set_onload(Some(on_load.as_ref().unchecked_ref()));
    on_load.forget();
    let on_error = Closure::<dyn FnMut()>::new(move || {
        fail(
            row,
            "the upload was interrupted; check the connection and add the file again",
        )
    });
    xhr.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    if xhr.send_with_opt_form_data(Some(&form)).is_err() {
        fail(row, "the upload could not be sent");
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

fn refresh(state: UploadState, batch: String) {
    spawn_local(async move {
        if let Ok(jobs) = batch_jobs(batch).await {
            for job in jobs {
                state.apply(
                    &job.id,
                    Some(&job.original_name),
                    job.status.as_str(),
                    job.error,
                );
            }
        }
    });
}

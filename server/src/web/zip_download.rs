//! `GET /api/v1/jobs/zip?id=…&id=…` (or `?batch=…`, a whole batch): chosen results as one ZIP, streamed while it is written
//! (never built in memory), with a `manifest.csv` saying what each file is and where it came from.

use std::collections::HashSet;
use std::io::Write;

use app::auth::Principal;
use axum::body::Body;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use axum::Extension;
use bytes::Bytes;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use zip::write::SimpleFileOptions;
use zip::CompressionMethod;

use app::jobs::read::{self, JobResult};
use app::jobs::ReviewState;

use super::api::file_response;
use super::error::{ApiError, ErrorBody};
use super::AppState;
use app::storage::ObjectKey;

const MAX_ITEMS: usize = 1000;

#[utoipa::path(get, path = "/api/v1/jobs/zip", tag = "files",
    params(("id" = Vec<String>, Query, description = "Job ids (repeat `id=`)"), ("batch" = Option<String>, Query, description = "Instead of ids: every photo of this batch (its chosen version)")),
    responses((status = 200, description = "A streamed ZIP of the results with manifest.csv", content_type = "application/zip"), (status = 400, description = "No ids, or too many", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn download(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    crate::web::api::readable(&who)?;
    let query = query.unwrap_or_default();
    // `only=approved`: the chosen versions of approved photos among those picked.
    let approved_only = query.split('&').any(|pair| pair == "only=approved");
    let batch = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("batch="))
        .filter(|id| uuid::Uuid::parse_str(id).is_ok());
    let ids: Vec<String> = query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("id="))
        .filter(|id| uuid::Uuid::parse_str(id).is_ok())
        .map(str::to_string)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    let mut items = match batch {
        Some(batch) => read::batch_results(&state.context.db, &who, batch)
            .await
            .map_err(ApiError::internal)?,
        None if ids.is_empty() => {
            return Err(ApiError::bad_request("choose at least one result"));
        }
        None if ids.len() > MAX_ITEMS => {
            return Err(ApiError::bad_request(format!(
                "at most {MAX_ITEMS} results per download (or download a whole batch)"
            )));
        }
        None => read::results(&state.context.db, &who, &ids)
            .await
            .map_err(ApiError::internal)?,
    };
    if approved_only {
        items.retain(|item| item.job.review_state == ReviewState::Approved && item.job.chosen);
        if items.is_empty() {
            return Err(ApiError::not_found(
                "none of the picked photos is approved (with a finished chosen version)",
            ));
        }
    }
    if items.is_empty() {
        return Err(ApiError::not_found("none of the chosen jobs has a result"));
    }

    let (sender, receiver) = mpsc::channel::<Result<Bytes, std::io::Error>>(8);
    let store = state.jobs.store.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let writer = ChannelWriter {
            sender: sender.clone(),
            buffer: Vec::with_capacity(CHUNK),
        };
        let fetch = |key: &str| {
            let key = ObjectKey::new(key).map_err(std::io::Error::other)?;
            runtime
                .block_on(store.get_bytes(&key))
                .map_err(std::io::Error::other)
        };
        if let Err(error) = write_zip(writer, &items, fetch) {
            tracing::warn!(%error, "ZIP download stopped");
            let _ = sender.blocking_send(Err(error));
        }
    });

    Ok(file_response(
        Body::from_stream(ReceiverStream::new(receiver)),
        "application/zip",
        Some("tinct-results.zip"),
    ))
}

fn write_zip(
    writer: ChannelWriter,
    items: &[JobResult],
    fetch: impl Fn(&str) -> std::io::Result<Vec<u8>>,
) -> std::io::Result<()> {
    // Results are PNG or JPEG, compressed already: store them as they are.
    let options = SimpleFileOptions::default().compression_method(CompressionMethod::Stored);
    let mut zip = zip::ZipWriter::new_stream(writer);
    let mut taken = HashSet::new();
    let mut manifest = String::from(
        "file,original_name,preset,input_size,model,model_sha256,finished_at,job_id,note,\
         review_state,review_note,reviewed_by,reviewed_at,chosen_version,corrects,correction\n",
    );
    for JobResult {
        job: item,
        result_key,
    } in items
    {
        let bytes = fetch(result_key)?;
        let extension = engine::encode::OutputFormat::from_name(&item.output_format).extension();
        let name = unique_name(&mut taken, &item.original_name, extension);
        zip.start_file(name.as_str(), options)
            .map_err(std::io::Error::other)?;
        zip.write_all(&bytes)?;
        // The same provenance as a sidecar, for systems that ignore embedded metadata.
        if let Some(xmp) = engine::provenance::read_xmp(&bytes) {
            zip.start_file(format!("{name}.xmp"), options)
                .map_err(std::io::Error::other)?;
            zip.write_all(xmp.as_bytes())?;
        }
        manifest.push_str(
            &[
                name.as_str(),
                &item.original_name,
                &item.preset,
                &item.input_size.to_string(),
                &item.model,
                item.model_sha256.as_deref().unwrap_or(""),
                item.finished_at.as_deref().unwrap_or(""),
                &item.id,
                &what_it_is(item),
                item.review_state.as_str(),
                item.review_note.as_deref().unwrap_or(""),
                item.reviewed_by.as_deref().unwrap_or(""),
                item.reviewed_at.as_deref().unwrap_or(""),
                if item.chosen { "yes" } else { "no" },
                item.parent_id.as_deref().unwrap_or(""),
                item.correction.as_deref().unwrap_or(""),
            ]
            .map(csv_field)
            .join(","),
        );
        manifest.push('\n');
    }
    zip.start_file("manifest.csv", options)
        .map_err(std::io::Error::other)?;
    zip.write_all(manifest.as_bytes())?;
    let mut writer = zip.finish().map_err(std::io::Error::other)?.into_inner();
    writer.flush()
}

/// What a result is, in the words its XMP uses.
fn what_it_is(item: &app::jobs::JobRow) -> String {
    let summary = item
        .correction
        .as_deref()
        .and_then(|json| serde_json::from_str::<engine::correct::Correction>(json).ok())
        .map(|c| c.describe());
    engine::provenance::label(summary.as_deref())
}

/// `NAME_colorized.png` with only safe characters, unique within the archive.
fn unique_name(taken: &mut HashSet<String>, original: &str, extension: &str) -> String {
    let stem = original.rsplit_once('.').map_or(original, |(stem, _)| stem);
    let safe: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_ ".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut n = 1;
    loop {
        let suffix = if n == 1 {
            String::new()
        } else {
            format!("-{n}")
        };
        let name = format!("{safe}_colorized{suffix}.{extension}");
        if taken.insert(name.clone()) {
            return name;
        }
        n += 1;
    }
}

/// One CSV cell. A value a spreadsheet would run as a formula (`=`, `+`, `-`, `@`, or a tab or
/// carriage return first) is kept as text with a leading `'`, as OWASP advises.
fn csv_field(value: &str) -> String {
    let neutral;
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        neutral = format!("'{value}");
        neutral.as_str()
    } else {
        value
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

const CHUNK: usize = 256 * 1024;

/// Hands what the ZIP writer produces to the response body in chunks.
struct ChannelWriter {
    sender: mpsc::Sender<Result<Bytes, std::io::Error>>,
    buffer: Vec<u8>,
}

impl ChannelWriter {
    fn send(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(
            &mut self.buffer,
            Vec::with_capacity(CHUNK),
        ));
        self.sender.blocking_send(Ok(chunk)).map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away")
        })
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.send()
    }
}

//! The native REST API: submit images, read jobs, fetch results, follow events.

use std::convert::Infallible;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

use super::error::ApiError;
use super::AppState;
use crate::jobs::{JobEvent, NewJob};
use crate::storage::ObjectKey;

/// One submitted file's fate.
#[derive(Debug, Serialize)]
pub struct FileOutcome {
    pub name: String,
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct SubmitResponse {
    pub batch_id: String,
    pub files: Vec<FileOutcome>,
}

/// Settings of a submission, read from the form fields before the files.
struct Submission {
    preset: Option<String>,
    size: Option<u32>,
    format: String,
    batch_id: String,
}

/// `POST /api/v1/jobs`: multipart with optional `preset`, `size`, `format`, `batch` fields, then
/// one or more `images`. Each file is streamed to disk, checked by content, stored once per hash
/// and queued; a refused file is reported next to its name and the others go ahead.
pub async fn submit(
    State(state): State<AppState>,
    mut form: Multipart,
) -> Result<Json<SubmitResponse>, ApiError> {
    let mut submission = Submission {
        preset: None,
        size: None,
        format: "png".into(),
        batch_id: uuid::Uuid::now_v7().to_string(),
    };
    let mut files = Vec::new();
    while let Some(field) = form.next_field().await.map_err(ApiError::bad_form)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "preset" | "size" | "format" | "batch" => {
                let value = field.text().await.map_err(ApiError::bad_form)?;
                match name.as_str() {
                    "preset" => submission.preset = Some(value),
                    "size" if !value.is_empty() => {
                        submission.size = Some(
                            value
                                .parse()
                                .map_err(|_| ApiError::bad_request("size must be a number"))?,
                        )
                    }
                    "format" if value == "jpeg" || value == "png" => submission.format = value,
                    "format" => return Err(ApiError::bad_request("format must be png or jpeg")),
                    "batch" if uuid::Uuid::parse_str(&value).is_ok() => submission.batch_id = value,
                    _ => {}
                }
            }
            "images" => {
                if files.len() >= state.limits.max_files {
                    return Err(ApiError::bad_request(format!(
                        "at most {} files per submission",
                        state.limits.max_files
                    )));
                }
                let original = sanitize_name(field.file_name().unwrap_or("image"));
                let outcome = match accept_file(&state, &submission, &original, field).await {
                    Ok(job_id) => FileOutcome {
                        name: original,
                        accepted: true,
                        job_id: Some(job_id),
                        error: None,
                    },
                    Err(
                        e @ ApiError {
                            status: StatusCode::SERVICE_UNAVAILABLE,
                            ..
                        },
                    ) => return Err(e),
                    Err(e) => FileOutcome {
                        name: original,
                        accepted: false,
                        job_id: None,
                        error: Some(e.message),
                    },
                };
                files.push(outcome);
            }
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(ApiError::bad_request(
            "no images were sent (use the form field `images`)",
        ));
    }
    state.jobs.wake.notify_waiters();
    Ok(Json(SubmitResponse {
        batch_id: submission.batch_id,
        files,
    }))
}

/// Streams one file to a temporary file (hashing as it goes), checks it, stores it and queues it.
async fn accept_file(
    state: &AppState,
    submission: &Submission,
    original_name: &str,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<String, ApiError> {
    let (preset, size, model) =
        state.resolve_settings(submission.preset.as_deref(), submission.size)?;
    let temp_dir = state.data_dir.join("tmp");
    tokio::fs::create_dir_all(&temp_dir)
        .await
        .map_err(ApiError::internal)?;
    let temp = temp_dir.join(uuid::Uuid::now_v7().to_string());
    // Removed on every exit; after a move into the store there is nothing left to remove.
    let _cleanup = TempFile(temp.clone());
    let mut file = tokio::fs::File::create(&temp)
        .await
        .map_err(ApiError::internal)?;
    let mut hasher = Sha256::new();
    let mut length: u64 = 0;
    while let Some(chunk) = field.chunk().await.map_err(ApiError::bad_form)? {
        length += chunk.len() as u64;
        if length > state.limits.max_file_bytes {
            return Err(ApiError::bad_request(format!(
                "the file is larger than the {} MB limit",
                state.limits.max_file_bytes >> 20
            )));
        }
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(ApiError::internal)?;
    }
    file.flush().await.map_err(ApiError::internal)?;
    drop(file);
    let max_pixels = state.context.engine.settings().max_pixels;
    let probe_path = temp.clone();
    let (format, width, height) =
        tokio::task::spawn_blocking(move || engine::decode::probe_file(&probe_path, max_pixels))
            .await
            .map_err(ApiError::internal)?
            .map_err(|e| ApiError::bad_request(e.to_string()))?;
    let sha256 = hex::encode(hasher.finalize());
    let key = ObjectKey::original(&sha256).map_err(ApiError::internal)?;
    // The same scan uploaded again is stored once: the new copy is simply dropped.
    if !state
        .jobs
        .store
        .exists(&key)
        .await
        .map_err(ApiError::internal)?
    {
        state
            .jobs
            .store
            .put_file(&key, &temp)
            .await
            .map_err(ApiError::internal)?;
    }
    sqlx::query("INSERT OR IGNORE INTO originals (sha256, bytes, format, width, height) VALUES (?, ?, ?, ?, ?)")
        .bind(&sha256)
        .bind(length as i64)
        .bind(format!("{format:?}").to_lowercase())
        .bind(i64::from(width))
        .bind(i64::from(height))
        .execute(&state.context.db)
        .await
        .map_err(ApiError::internal)?;
    let job_id = state
        .jobs
        .queue
        .submit(NewJob {
            batch_id: Some(submission.batch_id.clone()),
            submitted_by: None,
            original_name: original_name.to_string(),
            original_sha256: sha256,
            preset,
            input_size: size,
            model,
            output_format: submission.format.clone(),
        })
        .await?;
    state.jobs.events.publish(JobEvent {
        job_id: job_id.clone(),
        batch_id: Some(submission.batch_id.clone()),
        status: "queued".into(),
        error: None,
    });
    Ok(job_id)
}

/// Removes a temporary upload unless it was moved into the store.
struct TempFile(std::path::PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A user's file name as metadata: the last path component, no control characters, bounded.
pub fn sanitize_name(name: &str) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let clean: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    match clean.trim() {
        "" | "." | ".." => "image".into(),
        trimmed => trimmed.to_string(),
    }
}

#[derive(Debug, Serialize, sqlx::FromRow)]
pub struct JobView {
    pub id: String,
    pub batch_id: Option<String>,
    pub original_name: String,
    pub preset: String,
    pub input_size: i64,
    pub model: String,
    pub status: String,
    pub error: Option<String>,
    /// How many times a worker started it (more than one after a crash or a retry).
    pub attempts: i64,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

const JOB_COLUMNS: &str = "id, batch_id, original_name, preset, input_size, model, status, error, attempts, width, height,
                           created_at, started_at, finished_at";

/// `GET /api/v1/jobs/{id}`
pub async fn get_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<JobView>, ApiError> {
    sqlx::query_as::<_, JobView>(&format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = ?"))
        .bind(&id)
        .fetch_optional(&state.context.db)
        .await
        .map_err(ApiError::internal)?
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such job"))
}

#[derive(Debug, Deserialize)]
pub struct JobFilter {
    pub status: Option<String>,
    pub batch: Option<String>,
}

/// `GET /api/v1/jobs?status=&batch=`: newest first, at most 1000.
pub async fn list_jobs(
    State(state): State<AppState>,
    Query(filter): Query<JobFilter>,
) -> Result<Json<Vec<JobView>>, ApiError> {
    let jobs = sqlx::query_as::<_, JobView>(&format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR batch_id = ?2)
         ORDER BY created_at DESC, id DESC LIMIT 1000"
    ))
    .bind(&filter.status)
    .bind(&filter.batch)
    .fetch_all(&state.context.db)
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(jobs))
}

/// `DELETE /api/v1/jobs/{id}`: cancels a job that has not started.
pub async fn cancel_job(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.jobs.queue.cancel(&id).await? {
        Some(batch_id) => {
            state.jobs.events.publish(JobEvent {
                job_id: id,
                batch_id,
                status: "cancelled".into(),
                error: None,
            });
            Ok(StatusCode::NO_CONTENT)
        }
        None => Err(ApiError::conflict(
            "only a job that is still waiting can be cancelled",
        )),
    }
}

/// `GET /api/v1/jobs/{id}/result`: the colorized image, as a download.
pub async fn job_result(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row: Option<(Option<String>, String, String)> =
        sqlx::query_as("SELECT result_key, original_name, output_format FROM jobs WHERE id = ? AND status = 'done'")
            .bind(&id)
            .fetch_optional(&state.context.db)
            .await
            .map_err(ApiError::internal)?;
    let (Some(key), name, format) =
        row.ok_or_else(|| ApiError::not_found("this job has no result (yet)"))?
    else {
        return Err(ApiError::not_found("this job has no result"));
    };
    let key = ObjectKey::new(key).map_err(ApiError::internal)?;
    let bytes = state
        .jobs
        .store
        .get_bytes(&key)
        .await
        .map_err(ApiError::internal)?;
    let (mime, extension) = if format == "jpeg" {
        ("image/jpeg", "jpg")
    } else {
        ("image/png", "png")
    };
    let stem = name
        .rsplit_once('.')
        .map_or(name.as_str(), |(stem, _)| stem);
    Ok(download(
        bytes,
        mime,
        &format!("{stem}_colorized.{extension}"),
    ))
}

/// `GET /api/v1/jobs/{id}/original`: the uploaded file, unchanged, as a download.
pub async fn job_original(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let row: Option<(String, String, String)> = sqlx::query_as(
        "SELECT j.original_sha256, j.original_name, o.format FROM jobs j JOIN originals o ON o.sha256 = j.original_sha256
         WHERE j.id = ?",
    )
    .bind(&id)
    .fetch_optional(&state.context.db)
    .await
    .map_err(ApiError::internal)?;
    let (sha256, name, format) = row.ok_or_else(|| ApiError::not_found("no such job"))?;
    let key = ObjectKey::original(&sha256).map_err(ApiError::internal)?;
    let bytes = state
        .jobs
        .store
        .get_bytes(&key)
        .await
        .map_err(ApiError::internal)?;
    let mime = match format.as_str() {
        "jpeg" => "image/jpeg",
        "png" => "image/png",
        "tiff" => "image/tiff",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        _ => "application/octet-stream",
    };
    Ok(download(bytes, mime, &name))
}

/// `GET /api/v1/jobs/{id}/thumbnail`: a 320 px JPEG of the result, made once and kept.
pub async fn job_thumbnail(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    cached_preview(&state, &id, "result", 320).await
}

/// `GET /api/v1/jobs/{id}/preview/{original|result}`: 1600 px JPEGs of the same size, for the
/// before/after comparison (browsers cannot show TIFF originals).
pub async fn job_preview(
    State(state): State<AppState>,
    Path((id, which)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    match which.as_str() {
        "original" | "result" => cached_preview(&state, &id, &which, 1600).await,
        _ => Err(ApiError::not_found(
            "a preview is of the original or the result",
        )),
    }
}

async fn cached_preview(
    state: &AppState,
    id: &str,
    which: &str,
    max_side: u32,
) -> Result<Response, ApiError> {
    let key = ObjectKey::new(format!("previews/{id}-{which}-{max_side}.jpg"))
        .map_err(|_| ApiError::not_found("no such job"))?;
    let store = &state.jobs.store;
    let bytes = match store.get_bytes(&key).await {
        Ok(bytes) => bytes,
        Err(_) => {
            let row: Option<(String, Option<String>)> =
                sqlx::query_as("SELECT original_sha256, result_key FROM jobs WHERE id = ?")
                    .bind(id)
                    .fetch_optional(&state.context.db)
                    .await
                    .map_err(ApiError::internal)?;
            let (sha256, result_key) = row.ok_or_else(|| ApiError::not_found("no such job"))?;
            let source = match which {
                "original" => ObjectKey::original(&sha256).map_err(ApiError::internal)?,
                _ => ObjectKey::new(
                    result_key.ok_or_else(|| ApiError::not_found("this job has no result yet"))?,
                )
                .map_err(ApiError::internal)?,
            };
            let image = store.get_bytes(&source).await.map_err(ApiError::internal)?;
            let max_pixels = state.context.engine.settings().max_pixels;
            let preview = tokio::task::spawn_blocking(move || {
                engine::preview::jpeg_preview(&image, max_side, max_pixels)
            })
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::internal)?;
            store
                .put_bytes(&key, preview.clone())
                .await
                .map_err(ApiError::internal)?;
            preview
        }
    };
    let mut response = file_response(Body::from(bytes), "image/jpeg", None);
    // A job's images never change.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=604800, immutable"),
    );
    Ok(response)
}

/// A file response that browsers save rather than render, with a header-safe name.
fn download(bytes: Vec<u8>, mime: &'static str, name: &str) -> Response {
    file_response(Body::from(bytes), mime, Some(name))
}

/// A response carrying a stored file: its type (never sniffed) and, for downloads, an
/// `attachment` disposition whose name keeps only safe ASCII characters.
pub(super) fn file_response(body: Body, mime: &'static str, attachment: Option<&str>) -> Response {
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(name) = attachment {
        let ascii: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || "._- ".contains(c) {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"{ascii}\"")) {
            headers.insert(header::CONTENT_DISPOSITION, value);
        }
    }
    response
}

#[derive(Debug, Deserialize)]
pub struct EventFilter {
    pub batch: Option<String>,
}

/// `GET /api/v1/events?batch=`: server-sent events of job state changes.
pub async fn events(
    State(state): State<AppState>,
    Query(filter): Query<EventFilter>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = BroadcastStream::new(state.jobs.events.subscribe()).filter_map(move |event| {
        // A lagging subscriber skips what it missed; it re-reads the job list when it reconnects.
        let event = event.ok()?;
        if filter
            .batch
            .as_ref()
            .is_some_and(|batch| event.batch_id.as_ref() != Some(batch))
        {
            return None;
        }
        Event::default().event("job").json_data(&event).ok().map(Ok)
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

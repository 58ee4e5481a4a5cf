//! `POST /api/v1/jobs`: uploads streamed to disk, checked by content, stored once, queued.

use app::auth::Principal;
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use super::idempotency;
use crate::jobs::{JobEvent, NewJob};
use crate::storage::ObjectKey;
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// One submitted file's fate.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct FileOutcome {
    pub name: String,
    pub accepted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SubmitResponse {
    pub batch_id: String,
    pub files: Vec<FileOutcome>,
}

/// The multipart form of a submission (for the API description; the handler streams it).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SubmitForm {
    /// A preset name from `workflows/` (default `portrait`).
    preset: Option<String>,
    /// Model input size S, a multiple of 32; overrides the preset's.
    size: Option<u32>,
    /// `png` (default) or `jpeg`.
    format: Option<String>,
    /// A batch id (UUID) to add the files to; default a new batch.
    batch: Option<String>,
    /// `true`: only the submitter and admins see these jobs.
    private: Option<bool>,
    /// A visible label on the results: `en` ("AI-assisted colorization"), `zh` ("AI辅助修复") or `none`.
    label: Option<String>,
    /// The image files, one field each. Settings must come before them.
    #[schema(value_type = Vec<String>, format = Binary)]
    images: Vec<Vec<u8>>,
}

/// Settings of a submission, read from the form fields before the files.
struct Submission {
    who: Principal,
    private: bool,
    label: Option<String>,
    preset: Option<String>,
    size: Option<u32>,
    format: String,
    batch_id: String,
}

/// `POST /api/v1/jobs`: multipart with optional `preset`, `size`, `format`, `batch` fields, then
/// one or more `images`. Each file is streamed to disk, checked by content, stored once per hash
/// and queued; a refused file is reported next to its name and the others go ahead.
/// With an `Idempotency-Key` header, a repeated request gets the first one's answer.
#[utoipa::path(post, path = "/api/v1/jobs", tag = "jobs",
    request_body(content = SubmitForm, content_type = "multipart/form-data"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Repeat a request safely: the same key gets the first answer")),
    responses(
        (status = 200, description = "Each file accepted (with its job) or refused (with the reason)", body = SubmitResponse),
        (status = 400, description = "Bad settings or no images", body = ErrorBody),
        (status = 403, description = "Role or token may not submit", body = ErrorBody),
        (status = 413, description = "Larger than a submission may be", body = ErrorBody),
        (status = 429, description = "Too many submissions; see Retry-After", body = ErrorBody),
        (status = 503, description = "The queue is full; see Retry-After", body = ErrorBody),
        (status = 401, description = "No session or token", body = ErrorBody),
    ))]
pub async fn submit(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, ApiError> {
    let Some(key) = idempotency::key(&headers)? else {
        return Ok(Json(submit_files(&state, who, form).await?).into_response());
    };
    let db = &state.context.db;
    match idempotency::claim(db, who.user_id, &key).await? {
        idempotency::Claim::Replay(response) => Ok(response),
        idempotency::Claim::Process => {
            let owner = who.user_id;
            match submit_files(&state, who, form).await {
                Ok(answer) => {
                    let body = serde_json::to_string(&answer).map_err(ApiError::internal)?;
                    idempotency::finish(db, owner, &key, Some(&body)).await;
                    Ok(Json(answer).into_response())
                }
                Err(error) => {
                    idempotency::finish(db, owner, &key, None).await;
                    Err(error)
                }
            }
        }
    }
}

async fn submit_files(
    state: &AppState,
    who: Principal,
    mut form: Multipart,
) -> Result<SubmitResponse, ApiError> {
    if !who.can_submit() {
        return Err(ApiError::forbidden(
            "your role or token does not allow submitting images",
        ));
    }
    if let Err(not_until) = state.submit_throttle.check_key(&who.user_id) {
        let wait = not_until.wait_time_from(governor::clock::Clock::now(
            &governor::clock::DefaultClock::default(),
        ));
        let seconds = wait.as_secs().max(1);
        return Err(ApiError::too_many(
            format!("too many submissions; wait {seconds} s and try again"),
            seconds,
        ));
    }
    let mut submission = Submission {
        who,
        private: false,
        label: None,
        preset: None,
        size: None,
        format: "png".into(),
        batch_id: uuid::Uuid::now_v7().to_string(),
    };
    let mut files = Vec::new();
    let mut resolved: Option<Result<(String, u32, String), String>> = None;
    while let Some(field) = form.next_field().await.map_err(ApiError::bad_form)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "preset" | "size" | "format" | "batch" | "private" | "label" => {
                let value = field.text().await.map_err(ApiError::bad_form)?;
                match name.as_str() {
                    "preset" => submission.preset = Some(value),
                    "label" if value.is_empty() || value == "none" => submission.label = None,
                    "label" => match engine::label::Label::parse(&value) {
                        Some(label) => submission.label = Some(label.code().to_string()),
                        None => return Err(ApiError::bad_request("label must be en, zh or none")),
                    },
                    "private" => submission.private = matches!(value.as_str(), "true" | "on" | "1"),
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
                // The settings come before the files: read the presets once per submission.
                let settings = resolved
                    .get_or_insert_with(|| {
                        state
                            .resolve_settings(submission.preset.as_deref(), submission.size)
                            .map_err(|e| e.message)
                    })
                    .clone()
                    .map_err(ApiError::bad_request);
                let accepted = match settings {
                    Ok(settings) => {
                        accept_file(state, &submission, settings, &original, field).await
                    }
                    Err(e) => Err(e),
                };
                let outcome = match accepted {
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
    Ok(SubmitResponse {
        batch_id: submission.batch_id,
        files,
    })
}

/// Stores one file and queues it.
async fn accept_file(
    state: &AppState,
    submission: &Submission,
    (preset, size, model): (String, u32, String),
    original_name: &str,
    field: axum::extract::multipart::Field<'_>,
) -> Result<String, ApiError> {
    let sha256 = store_original(state, field).await?;
    let job_id = state
        .jobs
        .queue
        .submit(NewJob {
            batch_id: Some(submission.batch_id.clone()),
            submitted_by: Some(submission.who.name.clone()),
            owner_id: Some(submission.who.user_id),
            private: submission.private,
            original_name: original_name.to_string(),
            original_sha256: sha256,
            preset,
            input_size: size,
            model,
            output_format: submission.format.clone(),
            visible_label: submission.label.clone(),
        })
        .await?;
    state.jobs.events.publish(JobEvent {
        job_id: job_id.clone(),
        batch_id: Some(submission.batch_id.clone()),
        status: "queued".into(),
        error: None,
        owner_id: Some(submission.who.user_id),
        private: submission.private,
    });
    Ok(job_id)
}

/// Streams one uploaded file to a temporary file (hashing as it goes), checks by content that
/// it is an image within the limits, and stores it once per content hash. Answers the hash.
pub(crate) async fn store_original(
    state: &AppState,
    mut field: axum::extract::multipart::Field<'_>,
) -> Result<String, ApiError> {
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
    Ok(sha256)
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

//! `POST /api/v1/jobs`: uploads streamed to disk, checked by content, stored once, queued.

use app::auth::Principal;
pub use app::jobs::batches::sanitize_name;
use app::jobs::batches::Duplicates;
use app::jobs::Duplicate;
pub use app::jobs::{FileOutcome, SubmitResponse};
use axum::extract::{Multipart, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::Extension;
use axum::Json;

use super::idempotency;
use crate::jobs::{JobError, NewJob};
use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;
use engine::presets::Resolved;

/// The multipart form of a submission (for the API description; the handler streams it).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct SubmitForm {
    /// A preset name from `workflows/` (default `portrait`).
    preset: Option<String>,
    /// Model input size S, a multiple of 32; overrides the preset's.
    size: Option<u32>,
    /// An installed model (see `GET /api/v1/models`); overrides the preset's.
    model: Option<String>,
    /// `png` (default), `jpeg` or `tiff` (16 bits per channel).
    format: Option<String>,
    /// JPEG quality, 1–100 (default 92).
    quality: Option<u8>,
    /// A batch id (UUID) to add the files to; default a new batch.
    batch: Option<String>,
    /// A name for a new batch (default: the time it was started).
    batch_name: Option<String>,
    /// A description of a new batch.
    description: Option<String>,
    /// Content that was already colorized: `colorize` it again or `skip` it (the server's
    /// `--duplicates` when absent). Either way the file's answer says how often it was done.
    duplicates: Option<String>,
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
    /// An installed model instead of the preset's.
    model: Option<String>,
    format: String,
    quality: Option<u8>,
    batch_id: String,
    batch_name: Option<String>,
    description: Option<String>,
    duplicates: Duplicates,
}

/// What becomes of one submitted file.
enum Outcome {
    Queue(NewJob, Option<Duplicate>),
    /// Already colorized, and the submission asked to skip such.
    Skip(NewJob, Duplicate),
    Refused(String),
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
    let service = &state.context.jobs;
    service.check_rate(&who)?;
    let mut submission = Submission {
        who,
        private: false,
        label: None,
        preset: None,
        size: None,
        model: None,
        format: "png".into(),
        quality: None,
        batch_id: uuid::Uuid::now_v7().to_string(),
        batch_name: None,
        description: None,
        duplicates: service.limits.duplicates,
    };
    // Each file's name and what becomes of it; all accepted files are queued together at the
    // end, in one transaction.
    let mut files: Vec<(String, Outcome)> = Vec::new();
    let mut resolved: Option<Result<Resolved, String>> = None;
    while let Some(field) = form.next_field().await.map_err(ApiError::bad_form)? {
        let name = field.name().unwrap_or_default().to_string();
        match name.as_str() {
            "preset" | "size" | "model" | "format" | "quality" | "batch" | "batch_name"
            | "description" | "duplicates" | "private" | "label" => {
                let value = field.text().await.map_err(ApiError::bad_form)?;
                match name.as_str() {
                    "preset" => submission.preset = Some(value),
                    "model" if !value.is_empty() => submission.model = Some(value),
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
                    "format" if matches!(value.as_str(), "png" | "jpeg" | "tiff") => {
                        submission.format = value
                    }
                    "format" => {
                        return Err(ApiError::bad_request("format must be png, jpeg or tiff"))
                    }
                    "quality" if !value.is_empty() => match value.parse::<u8>() {
                        Ok(quality @ 1..=100) => submission.quality = Some(quality),
                        _ => {
                            return Err(ApiError::bad_request(
                                "quality must be a number from 1 to 100",
                            ))
                        }
                    },
                    "batch_name" => submission.batch_name = Some(value),
                    "description" => submission.description = Some(value),
                    "duplicates" => {
                        submission.duplicates = Duplicates::parse(&value).ok_or_else(|| {
                            ApiError::bad_request("duplicates must be colorize or skip")
                        })?
                    }
                    "batch" if uuid::Uuid::parse_str(&value).is_ok() => {
                        service.check_batch(&submission.who, &value).await?;
                        submission.batch_id = value
                    }
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
                // The settings come before the files: resolve them once per submission.
                let settings = resolved
                    .get_or_insert_with(|| {
                        service
                            .resolve(
                                submission.preset.as_deref(),
                                submission.size,
                                submission.model.as_deref(),
                            )
                            .map_err(|e| e.to_string())
                    })
                    .clone();
                let outcome = match settings {
                    Ok(settings) => match service.intake(field).await {
                        Ok(stored) => {
                            let job = new_job(&submission, settings, &original, stored.sha256);
                            let (times, newest) = service
                                .colorized_before(&submission.who, &job.original_sha256)
                                .await?;
                            let duplicate = newest
                                .filter(|_| times > 0)
                                .map(|job_id| Duplicate { times, job_id });
                            match (duplicate, submission.duplicates) {
                                (Some(duplicate), Duplicates::Skip) => {
                                    Outcome::Skip(job, duplicate)
                                }
                                (duplicate, _) => Outcome::Queue(job, duplicate),
                            }
                        }
                        Err(JobError::Refused(reason)) => Outcome::Refused(reason),
                        Err(other) => return Err(other.into()),
                    },
                    Err(reason) => Outcome::Refused(reason),
                };
                files.push((original, outcome));
            }
            _ => {}
        }
    }
    if files.is_empty() {
        return Err(ApiError::bad_request(
            "no images were sent (use the form field `images`)",
        ));
    }
    if let Some(name) = &submission.batch_name {
        let who = &submission.who;
        let description = submission.description.as_deref();
        service
            .name_batch(who, &submission.batch_id, name, description)
            .await?;
    }
    let jobs: Vec<NewJob> = files
        .iter()
        .filter_map(|(_, outcome)| match outcome {
            Outcome::Queue(job, _) => Some(job.clone()),
            _ => None,
        })
        .collect();
    let (mut ids, _) = service.submit(&jobs, None).await?;
    ids.reverse();
    let mut answers = Vec::with_capacity(files.len());
    // Refused and skipped files stay with the batch (after the jobs: the batch exists then).
    for (name, outcome) in files {
        answers.push(match outcome {
            Outcome::Queue(_, duplicate) => FileOutcome {
                name,
                accepted: true,
                job_id: ids.pop(),
                error: None,
                duplicate,
                skipped: false,
            },
            Outcome::Skip(job, duplicate) => {
                service
                    .keep_skipped(&job, duplicate.times, Some(&duplicate.job_id))
                    .await?;
                FileOutcome {
                    name,
                    accepted: false,
                    job_id: None,
                    error: None,
                    duplicate: Some(duplicate),
                    skipped: true,
                }
            }
            Outcome::Refused(reason) => {
                service
                    .keep_refusal(&submission.who, &submission.batch_id, &name, &reason)
                    .await?;
                FileOutcome {
                    name,
                    accepted: false,
                    job_id: None,
                    error: Some(reason),
                    duplicate: None,
                    skipped: false,
                }
            }
        });
    }
    let files = answers;
    Ok(SubmitResponse {
        batch_id: submission.batch_id,
        files,
    })
}

/// The job one accepted file asks for.
fn new_job(
    submission: &Submission,
    Resolved {
        preset,
        input_size,
        model,
    }: Resolved,
    original_name: &str,
    sha256: String,
) -> NewJob {
    NewJob {
        batch_id: Some(submission.batch_id.clone()),
        submitted_by: Some(submission.who.name.clone()),
        owner_id: Some(submission.who.user_id),
        private: submission.private,
        original_name: original_name.to_string(),
        original_sha256: sha256,
        preset,
        input_size,
        model,
        output_format: match submission.format.as_str() {
            "jpeg" => engine::encode::OutputFormat::Jpeg {
                quality: submission
                    .quality
                    .unwrap_or(engine::encode::DEFAULT_JPEG_QUALITY),
            }
            .stored_name(),
            other => other.to_string(),
        },
        visible_label: submission.label.clone(),
        comfy_output: None,
        correction: None,
    }
}

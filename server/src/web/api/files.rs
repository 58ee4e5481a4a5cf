//! A job's files: the result, the original, and cached JPEG previews.

use app::auth::Principal;
use app::jobs::read::{self, JobFiles};
use app::jobs::JobStatus;
use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use axum::Extension;

use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;
use app::storage::{ObjectKey, COMPARE_SIDE, FULL_SIDE, THUMBNAIL_SIDE};

/// `GET /api/v1/jobs/{id}/result`: the colorized image, as a download.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/result", tag = "files", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "The colour version, as a download", content_type = "image/png"), (status = 404, description = "No result (yet)", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn job_result(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let files = visible_files(&state, &who, &id).await?;
    let (JobStatus::Done, Some(key)) = (files.status, files.result_key) else {
        return Err(ApiError::not_found("this job has no result (yet)"));
    };
    let (name, format) = (files.original_name, files.output_format);
    let key = ObjectKey::new(key).map_err(ApiError::internal)?;
    let format = engine::encode::OutputFormat::from_name(&format);
    let (mime, extension) = (format.mime(), format.extension());
    let stem = name
        .rsplit_once('.')
        .map_or(name.as_str(), |(stem, _)| stem);
    download(&state, &key, mime, &format!("{stem}_colorized.{extension}")).await
}

/// `GET /api/v1/jobs/{id}/original`: the uploaded file, unchanged, as a download.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/original", tag = "files", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "The original, unchanged, as a download"), (status = 404, description = "No such job", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn job_original(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let files = visible_files(&state, &who, &id).await?;
    let (sha256, name, format) = (
        files.original_sha256,
        files.original_name,
        files.original_format,
    );
    let key = ObjectKey::original(&sha256).map_err(ApiError::internal)?;
    download(&state, &key, mime_of(&format), &name).await
}

/// `GET /api/v1/jobs/{id}/thumbnail`: a 320 px JPEG of the result, made once and kept.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/thumbnail", tag = "files", params(("id" = String, Path, description = "Job id")),
    responses((status = 200, description = "A 320 px JPEG of the result", content_type = "image/jpeg"), (status = 404, description = "No result (yet)", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn job_thumbnail(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let files = visible_files(&state, &who, &id).await?;
    cached_preview(&state, &files, "result", THUMBNAIL_SIDE).await
}

/// `GET /api/v1/jobs/{id}/preview/{original|result}`: 1600 px JPEGs of the same size, for the
/// before/after comparison (browsers cannot show TIFF originals); `?size=full` at the original's
/// full size, for the 100 % zoom.
#[utoipa::path(get, path = "/api/v1/jobs/{id}/preview/{which}", tag = "files",
    params(("id" = String, Path, description = "Job id"), ("which" = String, Path, description = "`original` or `result`"), ("size" = Option<String>, Query, description = "`full`: at the original's size instead of 1600 px")),
    responses((status = 200, description = "A 1600 px (or full-size) JPEG", content_type = "image/jpeg"), (status = 404, description = "No such job or image", body = ErrorBody), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn job_preview(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path((id, which)): Path<(String, String)>,
    RawQuery(query): RawQuery,
) -> Result<Response, ApiError> {
    let files = visible_files(&state, &who, &id).await?;
    let full = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .any(|(key, value)| key == "size" && value == "full");
    let side = if full { FULL_SIDE } else { COMPARE_SIDE };
    match which.as_str() {
        "original" | "result" => cached_preview(&state, &files, &which, side).await,
        _ => Err(ApiError::not_found(
            "a preview is of the original or the result",
        )),
    }
}

/// Every file of a job is checked against who may see the job, even cached previews; a job
/// they may not see does not exist for them.
pub(crate) async fn visible_files(
    state: &AppState,
    who: &Principal,
    id: &str,
) -> Result<JobFiles, ApiError> {
    super::jobs::readable(who)?;
    read::files(&state.context.db, who, id)
        .await
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found("no such job"))
}

async fn cached_preview(
    state: &AppState,
    files: &JobFiles,
    which: &str,
    max_side: u32,
) -> Result<Response, ApiError> {
    Ok(preview_response(
        preview_bytes(state, files, which, max_side).await?,
    ))
}

/// A JPEG preview of the original or the result, made once and kept.
pub(crate) async fn preview_bytes(
    state: &AppState,
    files: &JobFiles,
    which: &str,
    max_side: u32,
) -> Result<Vec<u8>, ApiError> {
    let key = ObjectKey::preview(&files.id, which, max_side)
        .map_err(|_| ApiError::not_found("no such job"))?;
    let store = &state.jobs.store;
    let bytes = match store.get_bytes(&key).await {
        Ok(bytes) => bytes,
        Err(_) => {
            // One preview is rendered at a time: decoding a large scan takes memory in
            // proportion to its pixels, and several first views at once must not add up. A view
            // that waited finds the preview its predecessor made.
            let _turn = PREVIEW_RENDER.acquire().await.map_err(ApiError::internal)?;
            if let Ok(bytes) = store.get_bytes(&key).await {
                return Ok(bytes);
            }
            let (sha256, result_key) = (files.original_sha256.clone(), files.result_key.clone());
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
    Ok(bytes)
}

/// Previews being rendered at once (see `cached_preview`).
static PREVIEW_RENDER: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

pub(crate) fn preview_response(bytes: Vec<u8>) -> Response {
    let mut response = file_response(Body::from(bytes), "image/jpeg", None);
    // A job's images never change.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=604800, immutable"),
    );
    response
}

/// The media type of a stored image, from the format name recorded with it (`png`, `jpeg`, …).
pub(crate) fn mime_of(format: &str) -> &'static str {
    image::ImageFormat::from_extension(format)
        .map_or("application/octet-stream", |f| f.to_mime_type())
}

/// A stored file as a download that browsers save rather than render, with a header-safe name.
/// It is streamed from the store: a large scan is never held whole in memory.
async fn download(
    state: &AppState,
    key: &ObjectKey,
    mime: &'static str,
    name: &str,
) -> Result<Response, ApiError> {
    let (size, stream) = state
        .jobs
        .store
        .get_stream(key)
        .await
        .map_err(ApiError::internal)?;
    let mut response = file_response(Body::from_stream(stream), mime, Some(name));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(size));
    Ok(response)
}

/// A response carrying a stored file: its type (never sniffed) and, for downloads, an
/// `attachment` disposition whose name keeps only safe ASCII characters.
pub(crate) fn file_response(body: Body, mime: &'static str, attachment: Option<&str>) -> Response {
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

//! `POST /upload/image` and `GET /view`: inputs by the name the client gave them, results by
//! the file name Tinct reported. Names are looked up in the database, never used as paths.

use axum::body::Body;
use axum::extract::{Multipart, Query, State};
use axum::response::Response;
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Value};

use app::auth::Principal;

use crate::web::api::{file_response, mime_of, readable, sanitize_name};
use crate::web::error::ApiError;
use crate::web::AppState;
use app::storage::ObjectKey;

/// A subfolder name: letters, digits, `-` and `_` only (empty for none).
fn clean_subfolder(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "-_".contains(*c))
        .take(64)
        .collect()
}

/// `POST /upload/image`: multipart `image`, optional `overwrite`, `type`, `subfolder`.
pub async fn upload_image(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    mut form: Multipart,
) -> Result<Json<Value>, ApiError> {
    if !who.can_submit() {
        return Err(ApiError::forbidden(
            "your role or token does not allow uploading",
        ));
    }
    let (mut overwrite, mut subfolder) = (false, String::new());
    let mut stored: Option<(String, String)> = None;
    while let Some(field) = form.next_field().await.map_err(ApiError::bad_form)? {
        match field.name().unwrap_or_default() {
            "overwrite" => {
                overwrite = matches!(
                    field.text().await.map_err(ApiError::bad_form)?.as_str(),
                    "true" | "1"
                )
            }
            "subfolder" => {
                subfolder = clean_subfolder(&field.text().await.map_err(ApiError::bad_form)?)
            }
            "image" => {
                let name = sanitize_name(field.file_name().unwrap_or("image.png"));
                let original = state.context.jobs.intake(field).await?;
                stored = Some((name, original.sha256));
            }
            _ => {} // `type` is always `input` here
        }
    }
    let (name, sha256) = stored.ok_or_else(|| ApiError::bad_request("no image in the upload"))?;
    let db = &state.context.db;
    // Like ComfyUI: the same name with other content is renamed `name (1).ext` unless
    // `overwrite` is set. Names are each person's own: nobody sees or replaces another's.
    let (stem, extension) = name.rsplit_once('.').unwrap_or((name.as_str(), ""));
    let mut chosen = name.clone();
    for n in 1..1000 {
        let existing: Option<String> = sqlx::query_scalar(
            "SELECT sha256 FROM comfy_uploads WHERE owner_id = $1 AND subfolder = $2 AND name = $3",
        )
        .bind(who.user_id)
        .bind(&subfolder)
        .bind(&chosen)
        .fetch_optional(db)
        .await
        .map_err(ApiError::internal)?;
        match existing {
            None => break,
            Some(same) if same == sha256 || overwrite => break,
            Some(_) => chosen = format!("{stem} ({n}).{extension}"),
        }
    }
    sqlx::query(
        "INSERT INTO comfy_uploads (subfolder, name, sha256, owner_id) VALUES ($1, $2, $3, $4)
         ON CONFLICT (owner_id, subfolder, name) DO UPDATE SET sha256 = excluded.sha256",
    )
    .bind(&subfolder)
    .bind(&chosen)
    .bind(&sha256)
    .bind(who.user_id)
    .execute(db)
    .await
    .map_err(ApiError::internal)?;
    Ok(Json(
        json!({ "name": chosen, "subfolder": subfolder, "type": "input" }),
    ))
}

/// The stored content hash of `who`'s own uploaded input (`name` or `subfolder/name`).
pub async fn find_input(
    state: &AppState,
    who: &Principal,
    image: &str,
) -> Result<Option<String>, ApiError> {
    let (subfolder, name) = image.rsplit_once('/').unwrap_or(("", image));
    sqlx::query_scalar(
        "SELECT sha256 FROM comfy_uploads WHERE subfolder = $1 AND name = $2 AND owner_id = $3",
    )
    .bind(clean_subfolder(subfolder))
    .bind(name)
    .bind(who.user_id)
    .fetch_optional(&state.context.db)
    .await
    .map_err(ApiError::internal)
}

#[derive(Debug, Deserialize)]
pub struct ViewQuery {
    pub filename: String,
    #[serde(default)]
    pub subfolder: String,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

/// `GET /view?filename=&subfolder=&type=`: an uploaded input or a result.
pub async fn view(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(query): Query<ViewQuery>,
) -> Result<Response, ApiError> {
    readable(&who)?;
    let store = &state.jobs.store;
    if query.kind.as_deref() == Some("input") {
        let image = if query.subfolder.is_empty() {
            query.filename.clone()
        } else {
            format!("{}/{}", query.subfolder, query.filename)
        };
        let sha256 = find_input(&state, &who, &image)
            .await?
            .ok_or_else(|| ApiError::not_found("no such input image"))?;
        let format: String = sqlx::query_scalar("SELECT format FROM originals WHERE sha256 = $1")
            .bind(&sha256)
            .fetch_one(&state.context.db)
            .await
            .map_err(ApiError::internal)?;
        let key = ObjectKey::original(&sha256).map_err(ApiError::internal)?;
        let bytes = store.get_bytes(&key).await.map_err(ApiError::internal)?;
        return Ok(file_response(Body::from(bytes), mime_of(&format), None));
    }
    // Results are reported as `<job id>.<png|jpg>`.
    let job_id = query
        .filename
        .rsplit_once('.')
        .map_or(query.filename.as_str(), |(stem, _)| stem);
    let files = app::jobs::read::files(&state.context.db, &who, job_id)
        .await
        .map_err(ApiError::internal)?;
    let Some(app::jobs::read::JobFiles {
        status: app::jobs::JobStatus::Done,
        result_key: Some(key),
        output_format: format,
        ..
    }) = files
    else {
        return Err(ApiError::not_found("no such output image"));
    };
    let key = ObjectKey::new(key).map_err(ApiError::internal)?;
    let bytes = store.get_bytes(&key).await.map_err(ApiError::internal)?;
    Ok(file_response(Body::from(bytes), mime_of(&format), None))
}

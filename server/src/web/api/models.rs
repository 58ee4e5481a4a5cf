//! `GET /api/v1/models`: the installed models a job may name in its `model` field.

use app::auth::Principal;
use app::models::InstalledModel;
use axum::extract::State;
use axum::{Extension, Json};

use crate::web::error::{ApiError, ErrorBody};
use crate::web::AppState;

/// `GET /api/v1/models`
#[utoipa::path(get, path = "/api/v1/models", tag = "models",
    responses((status = 200, description = "The installed models, the default marked", body = Vec<InstalledModel>), (status = 401, description = "No session or token", body = ErrorBody),))]
pub async fn list_models(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Vec<InstalledModel>>, ApiError> {
    super::readable(&who)?;
    let installed = state
        .context
        .models
        .installed()
        .map_err(ApiError::internal)?;
    Ok(Json(installed))
}

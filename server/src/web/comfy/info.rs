//! `GET /system_stats` (the real execution provider and device) and `GET /object_info` (the
//! node classes Tinct runs, with their inputs).

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde_json::{json, Map, Value};

use app::auth::Principal;

use super::graph::{
    COLORIZE, DDCOLOR_CHECKPOINTS, LOAD_IMAGE, MAX_INPUT_SIZE, MIN_INPUT_SIZE, PREVIEW_IMAGE,
    SAVE_IMAGE, SAVE_IMAGE_WEBSOCKET,
};
use crate::web::api::readable;
use crate::web::error::ApiError;
use crate::web::AppState;

/// Total and available memory in bytes, from `/proc/meminfo` (zero where it cannot be read).
fn memory() -> (u64, u64) {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("MemTotal:"), field("MemAvailable:"))
}

pub async fn system_stats(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    readable(&who)?;
    let engine = state.context.engine.clone();
    let model = tokio::task::spawn_blocking(move || engine.model(None))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    let (ram_total, ram_free) = memory();
    let device = model.execution.device.clone();
    let kind = if device.starts_with("cuda") {
        "cuda"
    } else {
        "cpu"
    };
    Ok(Json(json!({
        "system": {
            "os": std::env::consts::OS,
            "ram_total": ram_total,
            "ram_free": ram_free,
            "comfyui_version": format!("tinct-{}", env!("CARGO_PKG_VERSION")),
            "python_version": "none (Tinct runs ONNX Runtime from Rust)",
            "pytorch_version": "none",
            "embedded_python": false,
            "argv": [],
        },
        "devices": [{
            "name": device,
            "type": kind,
            "index": 0,
            "execution_provider": model.execution.provider,
            "vram_total": 0,
            "vram_free": 0,
            "torch_vram_total": 0,
            "torch_vram_free": 0,
        }],
    })))
}

async fn nodes(state: &AppState, who: &Principal) -> Result<Map<String, Value>, ApiError> {
    let uploads: Vec<String> = sqlx::query_scalar(
        "SELECT CASE WHEN subfolder = '' THEN name ELSE subfolder || '/' || name END
         FROM comfy_uploads WHERE owner_id = $1 ORDER BY name",
    )
    .bind(who.user_id)
    .fetch_all(&state.context.db)
    .await
    .map_err(ApiError::internal)?;
    let models: Vec<String> = state
        .context
        .engine
        .registry()
        .list()
        .map_err(ApiError::internal)?
        .into_iter()
        .map(|m| m.manifest.name)
        .collect();
    // ComfyUI-DDColor's checkpoint names first (a workflow written for it names one), then the
    // installed models by name.
    let mut checkpoints: Vec<String> = DDCOLOR_CHECKPOINTS.iter().map(|c| c.to_string()).collect();
    checkpoints.extend(
        models
            .into_iter()
            .filter(|m| !DDCOLOR_CHECKPOINTS.contains(&m.as_str())),
    );
    let node = |name: &str,
                display: &str,
                category: &str,
                required: Value,
                output: bool,
                returns: bool| {
        json!({
            "input": { "required": required },
            "input_order": { "required": required.as_object().map(|r| r.keys().cloned().collect::<Vec<_>>()).unwrap_or_default() },
            "output": if returns { json!(["IMAGE"]) } else { json!([]) },
            "output_is_list": if returns { json!([false]) } else { json!([]) },
            "output_name": if returns { json!(["IMAGE"]) } else { json!([]) },
            "name": name,
            "display_name": display,
            "description": "",
            "python_module": "tinct",
            "category": category,
            "output_node": output,
        })
    };
    let mut all = Map::new();
    all.insert(
        LOAD_IMAGE.into(),
        node(
            LOAD_IMAGE,
            "Load Image",
            "image",
            json!({ "image": [uploads, { "image_upload": true }] }),
            false,
            true,
        ),
    );
    all.insert(
        COLORIZE.into(),
        node(
            COLORIZE,
            "DDColor Colorize",
            "image/color",
            json!({
                "image": ["IMAGE"],
                "model_input_size": ["INT", { "default": 512, "min": MIN_INPUT_SIZE, "max": MAX_INPUT_SIZE, "step": 32 }],
                "checkpoint": [checkpoints],
            }),
            false,
            true,
        ),
    );
    all.insert(
        SAVE_IMAGE.into(),
        node(
            SAVE_IMAGE,
            "Save Image",
            "image",
            json!({ "images": ["IMAGE"], "filename_prefix": ["STRING", { "default": "ComfyUI" }] }),
            true,
            false,
        ),
    );
    all.insert(
        SAVE_IMAGE_WEBSOCKET.into(),
        node(
            SAVE_IMAGE_WEBSOCKET,
            "SaveImageWebsocket",
            "api/image",
            json!({ "images": ["IMAGE"] }),
            true,
            false,
        ),
    );
    all.insert(
        PREVIEW_IMAGE.into(),
        node(
            PREVIEW_IMAGE,
            "Preview Image",
            "image",
            json!({ "images": ["IMAGE"] }),
            true,
            false,
        ),
    );
    Ok(all)
}

pub async fn object_info(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    readable(&who)?;
    Ok(Json(Value::Object(nodes(&state, &who).await?)))
}

pub async fn object_info_one(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(class): Path<String>,
) -> Result<Json<Value>, ApiError> {
    readable(&who)?;
    let mut all = nodes(&state, &who).await?;
    let mut one = Map::new();
    if let Some(node) = all.remove(&class) {
        one.insert(class, node);
    }
    Ok(Json(Value::Object(one)))
}

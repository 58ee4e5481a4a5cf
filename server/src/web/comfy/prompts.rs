//! `POST /prompt` and what follows it: `/history`, `/queue`, `/interrupt`.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use app::auth::Principal;
use app::jobs::read::{self, Prompts};

use super::files::find_input;
use super::graph::{self, PREVIEW_IMAGE};
use crate::jobs::{ComfyOutput, ComfyPrompt, JobError, JobStatus, NewJob};
use crate::web::api::readable;
use crate::web::error::ApiError;
use crate::web::AppState;

#[derive(Debug, Deserialize)]
pub struct PromptRequest {
    /// Missing: ComfyUI's `no_prompt` error.
    pub prompt: Option<Value>,
    pub client_id: Option<String>,
    /// The client's own id for the prompt (ComfyUI uses it as given); a new one when absent.
    pub prompt_id: Option<Value>,
    #[serde(default)]
    pub extra_data: Option<Value>,
    // `front` and `number` place a prompt in ComfyUI's queue; Tinct's queue is first come,
    // first served, so they are accepted and ignored.
    #[allow(dead_code)]
    pub front: Option<bool>,
    #[allow(dead_code)]
    pub number: Option<f64>,
}

fn comfy_error(status: StatusCode, body: Value) -> Response {
    (status, Json(body)).into_response()
}

/// One node's validation failure, in ComfyUI's shape.
fn node_error(
    node: &str,
    class: &str,
    kind: &str,
    message: &str,
    input: &str,
    output: &str,
) -> Value {
    json!({
        "error": { "type": "prompt_outputs_failed_validation", "message": "Prompt outputs failed validation", "details": "", "extra_info": {} },
        "node_errors": { node: {
            "errors": [{ "type": kind, "message": message, "details": format!("{input}: {message}"), "extra_info": { "input_name": input } }],
            "dependent_outputs": [output],
            "class_type": class,
        }}
    })
}

/// ComfyUI's answer to a request it cannot use at all (`no_prompt`, a body that is not JSON).
fn request_error(kind: &str, message: &str) -> Response {
    comfy_error(
        StatusCode::BAD_REQUEST,
        json!({
            "error": { "type": kind, "message": message, "details": message, "extra_info": {} },
            "node_errors": {},
        }),
    )
}

/// `POST /prompt`: checks the graph, queues one job per output node, all in one transaction.
/// Like ComfyUI, the body is JSON whatever its `Content-Type` says (Python's `urllib` sends
/// form-encoded).
pub async fn submit(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    if !who.can_submit() {
        return Err(ApiError::forbidden(
            "your role or token does not allow submitting prompts",
        ));
    }
    let request: PromptRequest = match serde_json::from_slice(&body) {
        Ok(request) => request,
        Err(e) => {
            return Ok(request_error(
                "invalid_prompt",
                &format!("the body is not a JSON prompt request: {e}"),
            ))
        }
    };
    let Some(prompt) = request.prompt else {
        return Ok(request_error("no_prompt", "No prompt provided"));
    };
    state.context.jobs.check_rate(&who)?;
    let branches = match graph::plan(&prompt) {
        Ok(branches) => branches,
        Err(error) => return Ok(comfy_error(StatusCode::BAD_REQUEST, error.body())),
    };
    // Every branch is checked before anything is queued.
    let engine = &state.context.engine;
    let prompt_id = match request.prompt_id {
        None | Some(Value::Null) => uuid::Uuid::new_v4().to_string(),
        Some(Value::String(id)) => id,
        Some(other) => other.to_string(),
    };
    if prompt_id.is_empty() || prompt_id.len() > 200 || prompt_id.chars().any(char::is_control) {
        return Ok(request_error(
            "invalid_prompt",
            "a prompt_id is 1 to 200 printable characters",
        ));
    }
    let mut jobs = Vec::new();
    for branch in &branches {
        let Some(sha256) = find_input(&state, &who, &branch.image).await? else {
            let message = format!("Invalid image file: {}", branch.image);
            return Ok(comfy_error(
                StatusCode::BAD_REQUEST,
                node_error(
                    &branch.load_node,
                    graph::LOAD_IMAGE,
                    "custom_validation_failed",
                    &message,
                    "image",
                    &branch.output_node,
                ),
            ));
        };
        if let Err(e) = engine::InputSize::new(branch.input_size) {
            return Ok(comfy_error(
                StatusCode::BAD_REQUEST,
                node_error(
                    &branch.colorize_node,
                    graph::COLORIZE,
                    "value_not_valid",
                    &e.to_string(),
                    "model_input_size",
                    &branch.output_node,
                ),
            ));
        }
        // The model runs at the size asked for, within the sizes its manifest allows.
        let model = engine.registry().resolve_checkpoint(&branch.checkpoint);
        let input_size = engine.registry().size_for(&model, branch.input_size);
        jobs.push(NewJob {
            batch_id: Some(prompt_id.clone()),
            submitted_by: Some(who.name.clone()),
            owner_id: Some(who.user_id),
            private: false,
            original_name: branch
                .image
                .rsplit('/')
                .next()
                .unwrap_or(&branch.image)
                .to_string(),
            original_sha256: sha256,
            preset: "comfyui".into(),
            input_size,
            model,
            output_format: "png".into(),
            visible_label: None,
            comfy_output: Some(ComfyOutput {
                colorize_node: branch.colorize_node.clone(),
                output_node: branch.output_node.clone(),
                output_class: branch.output_class.clone(),
            }),
            correction: None,
        });
    }
    // ComfyUI keeps the client id inside extra_data; so does Tinct.
    let mut extra_data = match request.extra_data {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    if let Some(client_id) = &request.client_id {
        extra_data.insert("client_id".into(), json!(client_id));
    }
    let record = ComfyPrompt {
        prompt_id: prompt_id.clone(),
        client_id: request.client_id.clone(),
        owner_id: who.user_id,
        prompt: prompt.to_string(),
        extra_data: Value::Object(extra_data).to_string(),
    };
    let number = match state.context.jobs.submit(&jobs, Some(&record)).await {
        Ok((_, number)) => number.unwrap_or(0),
        Err(JobError::PromptIdTaken(id)) => {
            return Ok(request_error(
                "invalid_prompt",
                &format!("the prompt_id {id:?} is already taken; send another or none"),
            ))
        }
        Err(other) => return Err(other.into()),
    };
    Ok(
        Json(json!({ "prompt_id": prompt_id, "number": number, "node_errors": {} }))
            .into_response(),
    )
}

/// A prompt as stored, with the state of its jobs.
#[derive(Debug, Clone)]
pub struct PromptRecord {
    pub prompt_id: String,
    pub number: i64,
    pub client_id: Option<String>,
    pub prompt: Value,
    pub extra_data: Value,
    pub outputs: Vec<OutputRow>,
}

/// One output node of a prompt, with its job's state.
pub use app::jobs::read::ComfyOutputRow as OutputRow;

impl PromptRecord {
    pub fn finished(&self) -> bool {
        self.outputs.iter().all(|o| !o.status.is_pending())
    }

    pub fn running(&self) -> bool {
        self.outputs.iter().any(|o| o.status == JobStatus::Running)
    }

    /// `[number, prompt_id, prompt, extra_data, outputs_to_execute]`, as ComfyUI lists it.
    pub fn queue_item(&self) -> Value {
        let outputs: Vec<&str> = self
            .outputs
            .iter()
            .map(|o| o.output_node.as_str())
            .collect();
        json!([
            self.number,
            self.prompt_id,
            self.prompt,
            self.extra_data,
            outputs
        ])
    }

    pub fn history_entry(&self) -> Value {
        let mut outputs = Map::new();
        for o in self.outputs.iter().filter(|o| o.status == JobStatus::Done) {
            let entry = outputs
                .entry(o.output_node.clone())
                .or_insert_with(|| json!({ "images": [] }));
            if let Some(images) = entry["images"].as_array_mut() {
                images.push(image_ref(o));
            }
        }
        let success = self.outputs.iter().all(|o| o.status == JobStatus::Done);
        let messages: Vec<Value> = self
            .outputs
            .iter()
            .filter(|o| o.status != JobStatus::Done)
            .map(|o| {
                json!(["execution_error", {
                    "prompt_id": self.prompt_id,
                    "node_id": o.colorize_node,
                    "node_type": graph::COLORIZE,
                    "exception_message": o.error.clone().unwrap_or_else(|| o.status.to_string()),
                }])
            })
            .collect();
        json!({
            "prompt": self.queue_item(),
            "outputs": outputs,
            "status": {
                "status_str": if success { "success" } else { "error" },
                "completed": success,
                "messages": messages,
            },
            "meta": {},
        })
    }
}

/// `{filename, subfolder, type}` of a finished output, as `/view` takes it.
pub fn image_ref(output: &OutputRow) -> Value {
    let extension = engine::encode::OutputFormat::from_name(&output.output_format).extension();
    let kind = if output.output_class == PREVIEW_IMAGE {
        "temp"
    } else {
        "output"
    };
    json!({ "filename": format!("{}.{extension}", output.job_id), "subfolder": "", "type": kind })
}

/// Which prompts to read.
/// The prompts `who` may see (their own; an admin's: all), newest first.
pub async fn records(
    state: &AppState,
    who: &Principal,
    which: Prompts<'_>,
    limit: i64,
) -> Result<Vec<PromptRecord>, ApiError> {
    let rows = read::comfy_prompts(&state.context.db, who, which, limit)
        .await
        .map_err(ApiError::internal)?;
    Ok(rows
        .into_iter()
        .map(|(row, outputs)| PromptRecord {
            prompt_id: row.prompt_id,
            number: row.number,
            client_id: row.client_id,
            prompt: serde_json::from_str(&row.prompt).unwrap_or(Value::Null),
            extra_data: serde_json::from_str(&row.extra_data).unwrap_or_else(|_| json!({})),
            outputs,
        })
        .collect())
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    pub max_items: Option<i64>,
    pub offset: Option<i64>,
}

/// `GET /api/history?max_items=`: finished prompts.
pub async fn history(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Query(query): Query<HistoryQuery>,
) -> Result<Json<Value>, ApiError> {
    readable(&who)?;
    // ComfyUI keeps the last 10,000 finished prompts, oldest first: `max_items=N` alone is the
    // last N; `offset=K` skips the first K, then up to `max_items`.
    let mut finished: Vec<PromptRecord> = records(&state, &who, Prompts::Newest, 10_000)
        .await?
        .into_iter()
        .filter(PromptRecord::finished)
        .collect();
    finished.sort_by_key(|r| r.number);
    let total = finished.len() as i64;
    let offset = match (query.offset, query.max_items) {
        (Some(offset), _) if offset >= 0 => offset,
        (_, Some(max)) => (total - max).max(0),
        _ => 0,
    };
    let take = query.max_items.map_or(usize::MAX, |m| m.max(0) as usize);
    let history: Map<String, Value> = finished
        .into_iter()
        .skip(offset as usize)
        .take(take)
        .map(|record| (record.prompt_id.clone(), record.history_entry()))
        .collect();
    Ok(Json(Value::Object(history)))
}

/// `GET /history/{prompt_id}`: `{}` until the prompt has finished, as ComfyUI answers.
pub async fn history_one(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Path(prompt_id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    readable(&who)?;
    let mut history = Map::new();
    if let Some(record) = records(&state, &who, Prompts::One(&prompt_id), 1)
        .await?
        .pop()
    {
        if record.finished() {
            history.insert(record.prompt_id.clone(), record.history_entry());
        }
    }
    Ok(Json(Value::Object(history)))
}

/// How many jobs wait or run.
pub async fn queue_remaining(state: &AppState) -> Result<i64, ApiError> {
    app::jobs::read::pending_count(&state.context.db)
        .await
        .map_err(ApiError::internal)
}

/// `GET /prompt`: `{"exec_info": {"queue_remaining": N}}`.
pub async fn queue_info(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    readable(&who)?;
    Ok(Json(
        json!({ "exec_info": { "queue_remaining": queue_remaining(&state).await? } }),
    ))
}

/// `GET /queue`: the prompts running and waiting.
pub async fn queue(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<Value>, ApiError> {
    readable(&who)?;
    let (mut running, mut pending) = (Vec::new(), Vec::new());
    for record in records(&state, &who, Prompts::Unfinished, 10_000).await? {
        if record.running() {
            running.push(record.queue_item());
        } else if !record.finished() {
            pending.push(record.queue_item());
        }
    }
    running.reverse();
    pending.reverse();
    Ok(Json(
        json!({ "queue_running": running, "queue_pending": pending }),
    ))
}

#[derive(Debug, Deserialize)]
pub struct QueueEdit {
    #[serde(default)]
    pub clear: bool,
    #[serde(default)]
    pub delete: Vec<String>,
}

/// Cancels the waiting jobs of the given prompts (`None`: all of `who`'s); answers how many.
async fn cancel_waiting(
    state: &AppState,
    who: &Principal,
    prompts: Option<&[String]>,
) -> Result<usize, ApiError> {
    let mut cancelled = 0;
    for record in records(state, who, Prompts::Unfinished, 10_000).await? {
        if prompts.is_some_and(|ids| !ids.contains(&record.prompt_id)) {
            continue;
        }
        for output in record
            .outputs
            .iter()
            .filter(|o| o.status == JobStatus::Queued)
        {
            if state.context.jobs.cancel(who, &output.job_id).await.is_ok() {
                cancelled += 1;
            }
        }
    }
    Ok(cancelled)
}

/// `POST /queue` with `{"clear": true}` or `{"delete": [prompt ids]}`: removes waiting prompts.
pub async fn edit_queue(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    Json(edit): Json<QueueEdit>,
) -> Result<StatusCode, ApiError> {
    if !who.can_submit() {
        return Err(ApiError::forbidden(
            "your role or token does not allow changing the queue",
        ));
    }
    if edit.clear {
        cancel_waiting(&state, &who, None).await?;
    } else if !edit.delete.is_empty() {
        cancel_waiting(&state, &who, Some(&edit.delete)).await?;
    }
    Ok(StatusCode::OK)
}

/// `POST /interrupt`: stops the running prompts after the image being colorized now (one
/// inference is not cut short); their waiting images are cancelled.
pub async fn interrupt(
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
) -> Result<StatusCode, ApiError> {
    if !who.can_submit() {
        return Err(ApiError::forbidden(
            "your role or token does not allow changing the queue",
        ));
    }
    let running: Vec<String> = records(&state, &who, Prompts::Unfinished, 10_000)
        .await?
        .into_iter()
        .filter(PromptRecord::running)
        .map(|r| r.prompt_id)
        .collect();
    cancel_waiting(&state, &who, Some(&running)).await?;
    Ok(StatusCode::OK)
}

/// The record of one prompt, if `who` may see it.
pub async fn record(state: &AppState, who: &Principal, prompt_id: &str) -> Option<PromptRecord> {
    records(state, who, Prompts::One(prompt_id), 1)
        .await
        .ok()?
        .pop()
}

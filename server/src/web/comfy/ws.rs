//! `GET /ws?clientId=`: ComfyUI's websocket. `status` on connect and on every queue change;
//! for the prompts this client posted: `execution_start`, `executing` per node, `progress`,
//! `executed` with the images, `execution_error` or `execution_success`, and finally
//! `executing` with `node: null`.

use std::collections::HashSet;

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::Response;
use axum::Extension;
use serde::Deserialize;
use serde_json::{json, Value};
use tokio::sync::broadcast::error::RecvError;

use app::auth::Principal;

use super::graph::{COLORIZE, SAVE_IMAGE_WEBSOCKET};
use super::prompts::{image_ref, queue_remaining, record};
use super::timestamp;
use crate::jobs::{JobEvent, JobStatus};
use crate::web::api::readable;
use crate::web::auth::{access_ends, Credential};
use crate::web::error::ApiError;
use crate::web::AppState;

#[derive(Debug, Deserialize)]
pub struct WsQuery {
    #[serde(rename = "clientId")]
    pub client_id: Option<String>,
}

pub async fn connect(
    upgrade: WebSocketUpgrade,
    State(state): State<AppState>,
    Extension(who): Extension<Principal>,
    credential: Option<Extension<Credential>>,
    Query(query): Query<WsQuery>,
) -> Result<Response, ApiError> {
    readable(&who)?;
    let client_id = query
        .client_id
        .filter(|c| !c.is_empty() && c.len() <= 200)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    let credential = credential.map(|Extension(c)| c);
    Ok(upgrade.on_upgrade(move |socket| run(socket, state, who, credential, client_id)))
}

fn message(kind: &str, data: Value) -> Message {
    Message::Text(json!({ "type": kind, "data": data }).to_string().into())
}

async fn status(state: &AppState, client_id: Option<&str>) -> Message {
    let remaining = queue_remaining(state).await.unwrap_or(0);
    let mut data = json!({ "status": { "exec_info": { "queue_remaining": remaining } } });
    if let Some(id) = client_id {
        data["sid"] = json!(id);
    }
    message("status", data)
}

async fn run(
    mut socket: WebSocket,
    state: AppState,
    who: Principal,
    credential: Option<Credential>,
    client_id: String,
) {
    let mut events = state.jobs.events.subscribe();
    // Closed when the account or token behind it stops being valid.
    let mut ends = std::pin::pin!(access_ends(state.clone(), credential));
    if socket
        .send(status(&state, Some(&client_id)).await)
        .await
        .is_err()
    {
        return;
    }
    let mut started: HashSet<String> = HashSet::new();
    loop {
        tokio::select! {
            _ = &mut ends => {
                let _ = socket.send(Message::Close(None)).await;
                return;
            }
            event = events.recv() => match event {
                Ok(event) => {
                    for out in translate(&state, &who, &client_id, &mut started, &event).await {
                        if socket.send(out).await.is_err() {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {} // ComfyUI clients send nothing that needs an answer
            },
        }
    }
}

/// ComfyUI's `progress_state`: every node of the prompt so far, finished or running.
fn progress_state(prompt_id: &str, finished: &[&str], running: Option<&str>) -> Message {
    let state = |node: &str, done: bool| {
        json!({
            "value": if done { 1.0 } else { 0.0 }, "max": 1.0,
            "state": if done { "finished" } else { "running" },
            "node_id": node, "prompt_id": prompt_id, "display_node_id": node,
            "parent_node_id": null, "real_node_id": node,
        })
    };
    let mut nodes = serde_json::Map::new();
    for node in finished {
        nodes.insert(node.to_string(), state(node, true));
    }
    if let Some(node) = running {
        nodes.insert(node.to_string(), state(node, false));
    }
    message(
        "progress_state",
        json!({ "prompt_id": prompt_id, "nodes": nodes }),
    )
}

fn executing(node: &str, prompt_id: &str) -> Message {
    message(
        "executing",
        json!({ "node": node, "display_node": node, "prompt_id": prompt_id }),
    )
}

/// A finished job's result file (ComfyUI jobs always write PNG).
async fn result_png(state: &AppState, job_id: &str) -> Option<Vec<u8>> {
    let key = app::jobs::read::result_key(&state.context.db, job_id)
        .await
        .ok()
        .flatten()?;
    let key = app::storage::ObjectKey::new(key).ok()?;
    state.jobs.store.get_bytes(&key).await.ok()
}

/// The ComfyUI messages one job event means for this client.
async fn translate(
    state: &AppState,
    who: &Principal,
    client_id: &str,
    started: &mut HashSet<String>,
    event: &JobEvent,
) -> Vec<Message> {
    let mut out = vec![status(state, None).await];
    let Some(prompt_id) = event.batch_id.as_deref() else {
        return out;
    };
    let Some(record) = record(state, who, prompt_id).await else {
        return out;
    };
    if record.client_id.as_deref() != Some(client_id) {
        return out;
    }
    let Some(output) = record.outputs.iter().find(|o| o.job_id == event.job_id) else {
        return out;
    };
    let now = timestamp();
    match event.status {
        JobStatus::Running => {
            if started.insert(prompt_id.to_string()) {
                out.push(message("execution_start", json!({ "prompt_id": prompt_id, "timestamp": now })));
                out.push(message("execution_cached", json!({ "nodes": [], "prompt_id": prompt_id, "timestamp": now })));
            }
            // The image input of the colorize node is its LoadImage node. As in ComfyUI, each node
            // is announced as running in `progress_state` before its `executing`.
            let load_node = record.prompt[&output.colorize_node]["inputs"]["image"][0].as_str();
            let mut finished: Vec<&str> = Vec::new();
            for node in load_node.into_iter().chain([output.colorize_node.as_str()]) {
                out.push(progress_state(prompt_id, &finished, Some(node)));
                out.push(executing(node, prompt_id));
                finished.push(node);
            }
        }
        JobStatus::Done => {
            let done = record.outputs.iter().filter(|o| o.status == JobStatus::Done).count();
            let load_node = record.prompt[&output.colorize_node]["inputs"]["image"][0].as_str();
            let mut finished: Vec<&str> = load_node.into_iter().collect();
            finished.push(&output.colorize_node);
            out.push(message("progress", json!({
                "value": done, "max": record.outputs.len(), "prompt_id": prompt_id, "node": output.colorize_node,
            })));
            out.push(progress_state(prompt_id, &finished, Some(&output.output_node)));
            out.push(executing(&output.output_node, prompt_id));
            if output.output_class == SAVE_IMAGE_WEBSOCKET {
                // ComfyUI's preview-image frame: event 1, image format 2 (PNG), then the PNG.
                match result_png(state, &output.job_id).await {
                    Some(png) => {
                        let mut frame = Vec::with_capacity(png.len() + 8);
                        frame.extend_from_slice(&1u32.to_be_bytes());
                        frame.extend_from_slice(&2u32.to_be_bytes());
                        frame.extend_from_slice(&png);
                        out.push(Message::Binary(frame.into()));
                    }
                    None => tracing::warn!(job = %output.job_id, "a websocket output's result could not be read"),
                }
            } else {
                out.push(message("executed", json!({
                    "node": output.output_node,
                    "display_node": output.output_node,
                    "output": { "images": [image_ref(output)] },
                    "prompt_id": prompt_id,
                })));
            }
            finished.push(&output.output_node);
            out.push(progress_state(prompt_id, &finished, None));
        }
        JobStatus::Failed => out.push(message("execution_error", json!({
            "prompt_id": prompt_id,
            "node_id": output.colorize_node,
            "node_type": COLORIZE,
            "executed": [],
            "exception_message": event.error.clone().unwrap_or_default(),
            "exception_type": "RuntimeError",
            "traceback": [],
            "current_inputs": {},
            "current_outputs": {},
            "timestamp": now,
        }))),
        JobStatus::Cancelled => out.push(message("execution_interrupted", json!({
            "prompt_id": prompt_id, "node_id": output.colorize_node, "node_type": COLORIZE, "executed": [], "timestamp": now,
        }))),
        _ => {}
    }
    if record.finished() && event.status.is_finished() {
        started.remove(prompt_id);
        if record.outputs.iter().all(|o| o.status == JobStatus::Done) {
            out.push(message(
                "execution_success",
                json!({ "prompt_id": prompt_id, "timestamp": now }),
            ));
        }
        out.push(message(
            "executing",
            json!({ "node": null, "display_node": null, "prompt_id": prompt_id }),
        ));
    }
    out
}

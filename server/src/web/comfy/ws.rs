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

use super::graph::COLORIZE;
use super::prompts::{image_ref, queue_remaining, record};
use super::timestamp;
use crate::jobs::JobEvent;
use crate::web::api::readable;
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
    Query(query): Query<WsQuery>,
) -> Result<Response, ApiError> {
    readable(&who)?;
    let client_id = query
        .client_id
        .filter(|c| !c.is_empty() && c.len() <= 200)
        .unwrap_or_else(|| uuid::Uuid::now_v7().simple().to_string());
    Ok(upgrade.on_upgrade(move |socket| run(socket, state, who, client_id)))
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

async fn run(mut socket: WebSocket, state: AppState, who: Principal, client_id: String) {
    let mut events = state.jobs.events.subscribe();
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
    match event.status.as_str() {
        "running" => {
            if started.insert(prompt_id.to_string()) {
                out.push(message("execution_start", json!({ "prompt_id": prompt_id, "timestamp": now })));
                out.push(message("execution_cached", json!({ "nodes": [], "prompt_id": prompt_id, "timestamp": now })));
            }
            out.push(message("executing", json!({
                "node": output.colorize_node, "display_node": output.colorize_node, "prompt_id": prompt_id,
            })));
        }
        "done" => {
            let done = record.outputs.iter().filter(|o| o.status == "done").count();
            out.push(message("progress", json!({
                "value": done, "max": record.outputs.len(), "prompt_id": prompt_id, "node": output.colorize_node,
            })));
            out.push(message("executed", json!({
                "node": output.output_node,
                "display_node": output.output_node,
                "output": { "images": [image_ref(output)] },
                "prompt_id": prompt_id,
            })));
        }
        "failed" => out.push(message("execution_error", json!({
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
        "cancelled" => out.push(message("execution_interrupted", json!({
            "prompt_id": prompt_id, "node_id": output.colorize_node, "node_type": COLORIZE, "executed": [], "timestamp": now,
        }))),
        _ => {}
    }
    if record.finished() && matches!(event.status.as_str(), "done" | "failed" | "cancelled") {
        started.remove(prompt_id);
        if record.outputs.iter().all(|o| o.status == "done") {
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

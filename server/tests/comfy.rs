//! The ComfyUI-compatible API driven the way ComfyUI's own example client
//! (`websockets_api_example.py`) drives a ComfyUI server: upload, post the workflow with a
//! client id, wait on the websocket for `executing` with `node: null`, read `/history/{id}`,
//! fetch every image with `/view`.

mod support;

use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use futures_util::StreamExt;
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;

use support::{json as read_json, multipart, serve, test_app, test_data, TestApp};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The next JSON message of the websocket.
async fn next(socket: &mut Socket) -> Value {
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("no websocket message in 60 s")
            .unwrap()
            .unwrap();
        if let Message::Text(text) = frame {
            return serde_json::from_str::<Value>(&text).unwrap();
        }
    }
}

/// ComfyUI's websocket for `client_id`, with a token.
async fn connect(address: std::net::SocketAddr, client_id: &str, token: &str) -> Socket {
    let mut request = format!("ws://{address}/ws?clientId={client_id}")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        header::AUTHORIZATION,
        format!("Bearer {token}").parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn post_json(app: &TestApp, uri: &str, body: Value) -> (StatusCode, Value) {
    let request = Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap();
    read_json(app.send(request).await).await
}

async fn upload(app: &TestApp, name: &str, bytes: &[u8]) -> (StatusCode, Value) {
    let (content_type, body) = multipart(&[("image", name, bytes), ("overwrite", "", b"true")]);
    let request = Request::post("/upload/image")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    read_json(app.send(request).await).await
}

#[tokio::test]
async fn a_comfyui_client_uploads_queues_waits_on_the_websocket_and_downloads_the_results() {
    let app = test_app(1, 100).await;
    let address = serve(app.router.clone()).await;
    let png = std::fs::read(test_data("reference_input.png")).unwrap();

    let (status, uploaded) = upload(&app, "harbour.png", &png).await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    assert_eq!(
        uploaded,
        json!({ "name": "harbour.png", "subfolder": "", "type": "input" })
    );
    // The same name with other content, without overwrite, is renamed as ComfyUI does.
    let (content_type, body) = multipart(&[(
        "image",
        "harbour.png",
        &std::fs::read(test_data("reference_output.png")).unwrap(),
    )]);
    let request = Request::post("/api/upload/image")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (_, renamed) = read_json(app.send(request).await).await;
    assert_eq!(renamed["name"], "harbour (1).png");

    let client_id = "5f0c0c1e-test-client";
    let mut socket = connect(address, client_id, &app.token).await;
    let hello = next(&mut socket).await;
    assert_eq!(hello["type"], "status");
    assert_eq!(hello["data"]["sid"], client_id);
    assert!(hello["data"]["status"]["exec_info"]["queue_remaining"].is_u64());

    // The shipped workflow as a ComfyUI user would have it, with the uploaded file set.
    let mut workflow: Value =
        serde_json::from_str(include_str!("../../workflows/portrait.json")).unwrap();
    workflow["1"]["inputs"]["image"] = json!("harbour.png");
    let (status, queued) = post_json(
        &app,
        "/prompt",
        json!({ "prompt": workflow, "client_id": client_id }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{queued}");
    let prompt_id = queued["prompt_id"].as_str().unwrap().to_string();
    assert_eq!(queued["node_errors"], json!({}));
    assert!(queued["number"].is_i64());

    let mut seen = Vec::new();
    let mut executed = None;
    loop {
        let message = next(&mut socket).await;
        let kind = message["type"].as_str().unwrap().to_string();
        if message["data"]["prompt_id"] == prompt_id.as_str() {
            seen.push(kind.clone());
            if kind == "executed" {
                executed = Some(message["data"].clone());
            }
            if kind == "executing" && message["data"]["node"].is_null() {
                break;
            }
        }
    }
    let order = [
        "execution_start",
        "executing",
        "progress",
        "executed",
        "execution_success",
    ];
    let positions: Vec<Option<usize>> = order
        .iter()
        .map(|k| seen.iter().position(|s| s == k))
        .collect();
    assert!(
        positions.iter().all(Option::is_some) && positions.windows(2).all(|w| w[0] < w[1]),
        "{seen:?}"
    );
    let executed = executed.unwrap();
    assert_eq!(executed["node"], "3");
    socket.close(None).await.unwrap();

    let (status, history) = app.get_json(&format!("/history/{prompt_id}")).await;
    assert_eq!(status, StatusCode::OK);
    let entry = &history[&prompt_id];
    assert_eq!(entry["status"]["status_str"], "success");
    assert_eq!(entry["status"]["completed"], true);
    assert_eq!(entry["prompt"][1], prompt_id.as_str());
    let images = entry["outputs"]["3"]["images"].as_array().unwrap();
    assert_eq!(images.len(), 1);
    assert_eq!(images[0], executed["output"]["images"][0]);
    for image in images {
        let uri = format!(
            "/view?filename={}&subfolder={}&type={}",
            image["filename"].as_str().unwrap(),
            image["subfolder"].as_str().unwrap(),
            image["type"].as_str().unwrap()
        );
        let response = app
            .send(Request::get(&uri).body(Body::empty()).unwrap())
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
        let bytes = to_bytes(response.into_body(), 10 << 20).await.unwrap();
        let result = image::load_from_memory(&bytes).unwrap();
        assert_eq!(
            (result.width(), result.height()),
            (240, 160),
            "the original's size"
        );
    }
    // The uploaded input comes back unchanged; names are not paths.
    let (status, body) = app.get("/view?filename=harbour.png&type=input").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body.len(), String::from_utf8_lossy(&png).len());
    let (status, _) = app.get("/view?filename=../../tinct.db&type=input").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The history list (under /api: /history is the History page) and an empty queue.
    let (_, all) = app.get_json("/api/history?max_items=10").await;
    assert!(all.get(&prompt_id).is_some());
    let (_, queue) = app.get_json("/queue").await;
    assert_eq!(queue, json!({ "queue_running": [], "queue_pending": [] }));
    let (_, info) = app.get_json("/prompt").await;
    assert_eq!(info["exec_info"]["queue_remaining"], 0);
}

#[tokio::test]
async fn graphs_tinct_cannot_run_are_refused_in_comfyuis_error_shape() {
    let app = test_app(0, 100).await;
    let stable_diffusion = json!({
        "3": { "class_type": "KSampler", "inputs": { "seed": 1, "model": ["4", 0] } },
        "4": { "class_type": "CheckpointLoaderSimple", "inputs": { "ckpt_name": "v1-5-pruned-emaonly.safetensors" } },
        "9": { "class_type": "SaveImage", "inputs": { "images": ["3", 0], "filename_prefix": "ComfyUI" } }
    });
    let (status, body) =
        post_json(&app, "/api/prompt", json!({ "prompt": stable_diffusion })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "invalid_prompt");
    let message = body["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("KSampler") && message.contains("CheckpointLoaderSimple"),
        "{message}"
    );
    assert!(body["node_errors"].is_object());

    // An image that was never uploaded is a validation error on the LoadImage node.
    let workflow: Value =
        serde_json::from_str(include_str!("../../workflows/building.json")).unwrap();
    let (status, body) = post_json(&app, "/prompt", json!({ "prompt": workflow })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"]["type"], "prompt_outputs_failed_validation");
    assert_eq!(body["node_errors"]["1"]["class_type"], "LoadImage");
    let queued: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(queued, 0, "nothing is queued from a refused prompt");
}

#[tokio::test]
async fn system_stats_and_object_info_describe_the_real_engine() {
    let app = test_app(0, 100).await;
    let (status, stats) = app.get_json("/system_stats").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(stats["devices"][0]["type"], "cpu");
    assert_eq!(
        stats["devices"][0]["execution_provider"],
        "CPUExecutionProvider"
    );
    assert!(stats["system"]["ram_total"].as_u64().unwrap() > 0);
    let (_, info) = app.get_json("/api/object_info").await;
    for class in [
        "LoadImage",
        "DDColor_Colorize",
        "SaveImage",
        "PreviewImage",
        "SaveImageWebsocket",
    ] {
        assert!(info.get(class).is_some(), "{class}");
    }
    assert_eq!(
        info["DDColor_Colorize"]["input"]["required"]["model_input_size"][0],
        "INT"
    );
    // ComfyUI-DDColor's four checkpoint names, then the installed models.
    assert_eq!(
        info["DDColor_Colorize"]["input"]["required"]["checkpoint"][0],
        json!([
            "ddcolor_paper_tiny.pth",
            "ddcolor_paper.pth",
            "ddcolor_modelscope.pth",
            "ddcolor_artistic.pth",
            "tiny"
        ])
    );
    let range = &info["DDColor_Colorize"]["input"]["required"]["model_input_size"][1];
    assert_eq!(
        (
            range["min"].clone(),
            range["max"].clone(),
            range["step"].clone()
        ),
        (json!(32), json!(4096), json!(32))
    );
    let (_, one) = app.get_json("/object_info/SaveImage").await;
    assert_eq!(one.as_object().unwrap().len(), 1);
    // Without credentials: nothing.
    let response = app
        .send_as_is(Request::get("/system_stats").body(Body::empty()).unwrap())
        .await
        .status();
    assert_eq!(response, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn another_sites_page_cannot_open_the_websocket_with_the_session() {
    let app = test_app(0, 100).await;
    let address = serve(app.router.clone()).await;
    app::auth::store::add_user(&app.db, "ana", app::auth::Role::Staff, "ana-password-1")
        .await
        .unwrap();
    let cookie = app.sign_in("ana", "ana-password-1").await.unwrap();
    for (origin, allowed) in [
        ("http://evil.example", false),
        (&*format!("http://{address}"), true),
    ] {
        let mut request = format!("ws://{address}/ws?clientId=x")
            .into_client_request()
            .unwrap();
        request
            .headers_mut()
            .insert(header::COOKIE, cookie.parse().unwrap());
        request
            .headers_mut()
            .insert(header::ORIGIN, origin.parse().unwrap());
        let result = tokio_tungstenite::connect_async(request).await;
        assert_eq!(result.is_ok(), allowed, "origin {origin}");
    }
}

#[tokio::test]
async fn save_image_websocket_sends_the_result_as_comfyuis_binary_frame_and_history_is_json_at_the_root(
) {
    let app = test_app(1, 100).await;
    let address = serve(app.router.clone()).await;
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    assert_eq!(upload(&app, "scan.png", &png).await.0, StatusCode::OK);
    let client_id = "ws-images-client";
    let mut socket = connect(address, client_id, &app.token).await;
    let graph = json!({
        "1": { "class_type": "LoadImage", "inputs": { "image": "scan.png" } },
        "2": { "class_type": "DDColor_Colorize", "inputs": { "image": ["1", 0], "model_input_size": 64, "checkpoint": "ddcolor_paper_tiny.pth" } },
        "save_image_websocket_node": { "class_type": "SaveImageWebsocket", "inputs": { "images": ["2", 0] } },
    });
    let (status, queued) = post_json(
        &app,
        "/prompt",
        json!({ "prompt": graph, "client_id": client_id }),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{queued}");
    let prompt_id = queued["prompt_id"].as_str().unwrap().to_string();

    // As websockets_api_example_ws_images.py reads it: every `executing` names the prompt; the
    // frames that arrive while the output node is current are the images.
    let (mut current, mut images, mut nodes) = (String::new(), Vec::new(), Vec::new());
    let mut last_progress_state = Value::Null;
    loop {
        let frame = tokio::time::timeout(Duration::from_secs(60), socket.next())
            .await
            .expect("no websocket message in 60 s")
            .unwrap()
            .unwrap();
        match frame {
            Message::Text(text) => {
                let message: Value = serde_json::from_str(&text).unwrap();
                if message["type"] == "progress_state" {
                    last_progress_state = message["data"].clone();
                }
                if message["type"] == "executing" {
                    let data = &message["data"];
                    assert!(data.get("prompt_id").is_some(), "{message}");
                    if data["prompt_id"] == prompt_id.as_str() {
                        if data["node"].is_null() {
                            break;
                        }
                        current = data["node"].as_str().unwrap().to_string();
                        nodes.push(current.clone());
                    }
                }
            }
            Message::Binary(bytes) if current == "save_image_websocket_node" => {
                assert_eq!(&bytes[..8], &[0, 0, 0, 1, 0, 0, 0, 2]);
                images.push(bytes[8..].to_vec());
            }
            _ => {}
        }
    }
    assert_eq!(nodes, ["1", "2", "save_image_websocket_node"]);
    // ComfyUI's progress_state: at the end, every node of the prompt finished.
    for node in ["1", "2", "save_image_websocket_node"] {
        assert_eq!(
            last_progress_state["nodes"][node]["state"], "finished",
            "{last_progress_state}"
        );
    }
    assert_eq!(images.len(), 1);
    let result = image::load_from_memory(&images[0]).unwrap();
    assert_eq!(
        result.width(),
        image::load_from_memory(&png).unwrap().width()
    );

    // `GET /history` at the root answers a program with JSON (a browser gets the History page).
    let (status, history) = app.get_json("/history?max_items=1").await;
    assert_eq!(status, StatusCode::OK);
    assert!(history.get(&prompt_id).is_some(), "{history}");
    let (_, none) = app.get_json("/history?offset=1").await;
    assert_eq!(none, json!({}));
}

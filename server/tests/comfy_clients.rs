//! ComfyUI's three example API clients (`basic_api_example.py`, `websockets_api_example.py`,
//! `websockets_api_example_ws_images.py`), reproduced in `end2end/comfy/clients.py` with Tinct's
//! address, a token and a colorization graph, run against a served Tinct.

mod support;

use std::path::Path;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use support::{json, multipart, serve, test_app, test_data};

#[tokio::test]
async fn comfyuis_example_clients_run_against_tinct() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let python = root.join(".local/comfy-venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/setup.sh (it makes the clients' Python environment)",
        python.display()
    );
    let app = test_app(1, 100).await;
    let (content_type, body) = multipart(&[(
        "image",
        "harbour.png",
        &std::fs::read(test_data("reference_input.png")).unwrap(),
    )]);
    let upload = Request::post("/upload/image")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, uploaded) = json(app.send(upload).await).await;
    assert_eq!(status, StatusCode::OK, "{uploaded}");
    let address = serve(app.router.clone()).await;
    let script = root.join("end2end/comfy/clients.py");
    let token = app.token.clone();
    // The script bounds its own waits (60 s per socket read).
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new(&python)
            .arg(&script)
            .arg(address.to_string())
            .arg(&token)
            .arg("harbour.png")
            .output()
    })
    .await
    .unwrap()
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    for client in [
        "basic_api_example",
        "websockets_api_example",
        "websockets_api_example_ws_images",
    ] {
        assert!(report.contains(&format!("ok {client}\n")), "{report}");
    }
}

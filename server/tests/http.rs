//! The HTTP application in-process: health, pages rendered from the database, server functions.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::context::ServerContext;
use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use engine::registry::{ModelManifest, Registry};
use engine::runtime::{Device, Runtime, RuntimeOptions};
use server::web::{leptos_options, router, AppState};
use tower::ServiceExt;

fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/tests/data")
        .join(name)
}

fn engine(dir: &Path) -> Arc<engine::Engine> {
    let library = std::env::var_os("ORT_DYLIB_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/onnxruntime/libonnxruntime.so")
        });
    let runtime = Runtime::init(RuntimeOptions {
        library: Some(library),
        device: Device::Cpu,
        intra_threads: 1,
    })
    .expect("ONNX Runtime must be installed: run scripts/setup.sh");
    let models = dir.join("models");
    std::fs::create_dir_all(&models).unwrap();
    std::fs::copy(test_data("tiny_ddcolor.onnx"), models.join("tiny.onnx")).unwrap();
    let manifest = ModelManifest {
        name: "tiny".into(),
        display_name: Some("Tiny test model".into()),
        file: "tiny.onnx".into(),
        sha256: engine::registry::sha256_file(&models.join("tiny.onnx")).unwrap(),
        kind: "ddcolor-compatible".into(),
        default_input_size: 64,
        licence: "test".into(),
        source: "test".into(),
        training_data: None,
        evaluation: None,
        notice: None,
    };
    std::fs::write(
        models.join("tiny.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    Arc::new(engine::Engine::new(
        runtime,
        Registry::new(models, dir.join("imported"), "tiny"),
        Default::default(),
    ))
}

struct TestApp {
    _dir: tempfile::TempDir,
    db: sqlx::SqlitePool,
    router: axum::Router,
}

async fn app() -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let db = server::db::connect(None, dir.path()).await.unwrap();
    let state = AppState {
        leptos_options: leptos_options(dir.path(), "127.0.0.1:0".parse().unwrap()),
        context: ServerContext {
            db: db.clone(),
            engine: engine(dir.path()),
            workflows_dir: Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows"),
        },
    };
    TestApp {
        router: router(state),
        db,
        _dir: dir,
    }
}

async fn get(app: &TestApp, uri: &str) -> (StatusCode, String) {
    let response = app
        .router
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = to_bytes(response.into_body(), 10 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn healthz_reports_the_database() {
    let app = app().await;
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""database":"ok""#), "{body}");

    app.db.close().await;
    let (status, body) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("does not answer"), "{body}");
}

#[tokio::test]
async fn the_home_page_is_rendered_with_the_hydration_bundle() {
    let app = app().await;
    let (status, body) = get(&app, "/").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("Give colour back"), "{body}");
    assert!(
        body.contains("/pkg/tinct.js"),
        "no hydration script in {body}"
    );
    assert!(body.contains("/pkg/tinct.css"));
}

#[tokio::test]
async fn history_lists_the_jobs_table() {
    let app = app().await;
    let (_, empty) = get(&app, "/history").await;
    assert!(empty.contains("No jobs yet"), "{empty}");

    sqlx::query(
        "INSERT INTO jobs (id, original_name, original_sha256, preset, input_size, model, status, error)
         VALUES ('j1', 'harbour-1921.tif', 'abc', 'building', 1024, 'tinct-mini', 'failed', 'the image could not be decoded')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let (status, body) = get(&app, "/history").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("harbour-1921.tif"), "{body}");
    assert!(body.contains("the image could not be decoded"));
    assert!(!body.contains("No jobs yet"));
}

#[tokio::test]
async fn the_status_server_function_reads_sqlite_and_the_engine() {
    let app = app().await;
    let request = Request::post("/api/system_status")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let response = app.router.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(status["sqlite_version"].as_str().unwrap().starts_with("3."));
    assert_eq!(status["jobs_total"], 0);
    assert_eq!(status["model_label"], "Tiny test model");
}

#[tokio::test]
async fn unknown_pages_are_404_and_presets_come_from_the_workflows() {
    let app = app().await;
    let (status, body) = get(&app, "/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"));
    let (status, body) = get(&app, "/upload").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Portrait") && body.contains("Building"),
        "{body}"
    );
}

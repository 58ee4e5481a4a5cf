//! The HTTP application in-process: health, pages rendered from the database, server functions.

mod support;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use support::test_app;
use tower::ServiceExt;

#[tokio::test]
async fn healthz_reports_the_database() {
    let app = test_app(1, 100).await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains(r#""database":"ok""#), "{body}");

    app.db.close().await;
    let (status, body) = app.get("/healthz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("does not answer"), "{body}");
}

#[tokio::test]
async fn the_home_page_is_rendered_with_the_hydration_bundle() {
    let app = test_app(1, 100).await;
    let (status, body) = app.get("/").await;
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
    let app = test_app(1, 100).await;
    let (_, empty) = app.get("/history").await;
    assert!(empty.contains("No jobs yet"), "{empty}");

    sqlx::query(
        "INSERT INTO jobs (id, original_name, original_sha256, preset, input_size, model, status, error)
         VALUES ('j1', 'harbour-1921.tif', 'abc', 'building', 1024, 'tinct-mini', 'failed', 'the image could not be decoded')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let (status, body) = app.get("/history").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("harbour-1921.tif"), "{body}");
    assert!(body.contains("the image could not be decoded"));
    assert!(!body.contains("No jobs yet"));
}

#[tokio::test]
async fn the_status_server_function_reads_sqlite_and_the_engine() {
    let app = test_app(1, 100).await;
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
    let app = test_app(1, 100).await;
    let (status, body) = app.get("/no/such/page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.contains("Page not found"));
    let (status, body) = app.get("/upload").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains("Portrait") && body.contains("Building"),
        "{body}"
    );
}

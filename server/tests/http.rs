//! The HTTP application in-process: health, pages rendered from the database, server functions.

mod support;

use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use support::test_app;

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
    let response = app.send(request).await;
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

#[tokio::test]
async fn the_gallery_pages_through_ten_thousand_results_without_repeats_and_filters_by_day() {
    let app = test_app(0, 100).await;
    let mut tx = app.db.begin().await.unwrap();
    for i in 0..10_000 {
        let day = if i < 100 { "2026-01-15" } else { "2026-03-01" };
        sqlx::query(
            "INSERT INTO jobs (id, original_name, original_sha256, preset, input_size, model, status, created_at)
             VALUES (?, ?, 'x', 'portrait', 512, 'tiny', 'done', ?)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(format!("scan-{i:05}.png"))
        .bind(format!("{day}T10:00:00.000Z"))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    let mut seen = std::collections::HashSet::new();
    let mut page = "/gallery?status=done".to_string();
    loop {
        let (status, html) = app.get(&page).await;
        assert_eq!(status, StatusCode::OK);
        let names: Vec<&str> = html
            .split("<span class=\"name\">")
            .skip(1)
            .filter_map(|s| s.split('<').next())
            .collect();
        assert!(names.len() <= 60);
        for name in names {
            assert!(seen.insert(name.to_string()), "{name} shown twice");
        }
        let Some(next) = html
            .split("href=\"")
            .filter_map(|s| s.split('"').next())
            .find(|href| href.starts_with("/gallery?") && !href.ends_with("before="))
        else {
            break;
        };
        page = next.replace("&amp;", "&");
    }
    assert_eq!(seen.len(), 10_000);
    // Newest first: the last inserted comes first.
    let (_, html) = app.get("/gallery").await;
    assert!(html.contains("scan-09999.png"));

    let (_, html) = app.get("/gallery?from=2026-01-01&to=2026-01-31").await;
    assert_eq!(html.matches("<span class=\"name\">").count(), 60);
    assert!(html.contains("scan-00099.png") && !html.contains("scan-00100.png"));
    let (_, html) = app.get("/gallery?from=2026-1-1").await;
    assert!(html.contains("is not a date"), "a bad date is named");
}

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

/// A page as a browser asks for it (`/history` answers programs with ComfyUI's JSON).
async fn page(app: &support::TestApp, uri: &str) -> (StatusCode, String) {
    let response = app
        .send(
            Request::get(uri)
                .header(axum::http::header::ACCEPT, "text/html,*/*;q=0.8")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let status = response.status();
    let body = to_bytes(response.into_body(), 10 << 20).await.unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn history_lists_the_jobs_table() {
    let app = test_app(1, 100).await;
    let (_, empty) = page(&app, "/history").await;
    assert!(empty.contains("No jobs yet"), "{empty}");

    sqlx::query(
        "INSERT INTO jobs (id, original_name, original_sha256, preset, input_size, model, status, error)
         VALUES ('j1', 'harbour-1921.tif', 'abc', 'building', 1024, 'tinct-mini', 'failed', 'the image could not be decoded')",
    )
    .execute(&app.db)
    .await
    .unwrap();
    let (status, body) = page(&app, "/history").await;
    assert_eq!(status, StatusCode::OK);
    assert!(body.contains("harbour-1921.tif"), "{body}");
    assert!(body.contains("the image could not be decoded"));
    assert!(!body.contains("No jobs yet"));
}

/// Building a router while another serves a page once left that page unfinished for ever
/// (Leptos stops resources loading process-wide while it lists the routes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_finish_while_other_routers_are_built() {
    let app = test_app(0, 100).await;
    let builder = {
        let config = app.config.clone();
        let db = app.db.clone();
        let dir = app.dir.path().to_path_buf();
        tokio::spawn(async move {
            for _ in 0..20 {
                let state =
                    server::web::AppState::start(db.clone(), support::engine(&dir), config.clone())
                        .await
                        .unwrap();
                let sessions = server::web::session_store(&db).await.unwrap();
                drop(server::web::router(state, sessions));
            }
        })
    };
    for _ in 0..40 {
        let rendered =
            tokio::time::timeout(std::time::Duration::from_secs(20), page(&app, "/history")).await;
        let (status, body) = rendered.expect("the history page never finished");
        assert_eq!(status, StatusCode::OK);
        assert!(body.contains("No jobs yet"), "{body}");
    }
    builder.await.unwrap();
}

#[tokio::test]
async fn the_status_server_function_reads_the_database_and_the_engine() {
    let app = test_app(1, 100).await;
    let request = Request::post("/api/system_status")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::empty())
        .unwrap();
    let response = app.send(request).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let status: serde_json::Value = serde_json::from_slice(&body).unwrap();
    let database = status["database"].as_str().unwrap();
    assert!(
        database.starts_with("SQLite 3.") || database.starts_with("PostgreSQL "),
        "{database}"
    );
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
             VALUES ($1, $2, 'x', 'portrait', 512, 'tiny', 'done', $3)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(format!("scan-{i:05}.png"))
        .bind(format!("{day}T10:00:00.000Z"))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    tx.commit().await.unwrap();

    // Page by page through the gallery's server function, as the page's "Older results" link
    // does: each page starts after the last id of the one before.
    let mut seen = std::collections::HashSet::new();
    let mut before = String::new();
    loop {
        let request = Request::post("/api/list_results")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "filter[status]=done&filter[before]={before}"
            )))
            .unwrap();
        let response = app.send(request).await;
        assert_eq!(response.status(), StatusCode::OK);
        let body = to_bytes(response.into_body(), 10 << 20).await.unwrap();
        let rows: Vec<serde_json::Value> = serde_json::from_slice(&body).unwrap();
        assert!(rows.len() <= 60);
        for row in &rows {
            let name = row["original_name"].as_str().unwrap().to_string();
            assert!(seen.insert(name.clone()), "{name} shown twice");
        }
        if rows.len() < 60 {
            break;
        }
        before = rows.last().unwrap()["id"].as_str().unwrap().to_string();
    }
    assert_eq!(seen.len(), 10_000);
    // Newest first: the last inserted comes first.
    let (_, html) = app.get("/gallery").await;
    assert!(html.contains("scan-09999.png"));

    let (_, html) = app.get("/gallery?from=2026-01-01&to=2026-01-31").await;
    assert_eq!(html.matches("class=\"name\"").count(), 60);
    assert!(html.contains("scan-00099.png") && !html.contains("scan-00100.png"));
    let (_, html) = app.get("/gallery?from=2026-1-1").await;
    assert!(html.contains("is not a date"), "a bad date is named");
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes_that_answer() {
    let app = test_app(0, 100).await;
    // Like every route but sign-in, it needs a session or a token.
    let response = app
        .send(
            Request::get("/api/v1/openapi.json")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let mut documented = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            documented.push(format!("{} {path}", method.to_uppercase()));
        }
    }
    documented.sort();
    let mut expected = vec![
        "POST /api/v1/jobs",
        "GET /api/v1/jobs",
        "GET /api/v1/jobs/{id}",
        "DELETE /api/v1/jobs/{id}",
        "POST /api/v1/jobs/{id}/retry",
        "GET /api/v1/jobs/{id}/result",
        "GET /api/v1/jobs/{id}/original",
        "GET /api/v1/jobs/{id}/thumbnail",
        "GET /api/v1/jobs/{id}/preview/{which}",
        "GET /api/v1/jobs/zip",
        "GET /api/v1/events",
        "GET /api/v1/jobs/{id}/versions",
        "POST /api/v1/jobs/{id}/versions",
        "POST /api/v1/jobs/{id}/review",
        "POST /api/v1/jobs/{id}/choose",
        "GET /api/v1/jobs/{id}/correction-preview",
        "POST /api/v1/reviews",
        "POST /api/v1/jobs/bulk",
        "GET /api/v1/models",
    ];
    expected.sort();
    assert_eq!(documented, expected);

    // Each documented route is routed: it answers in JSON (or as an event stream), never the
    // HTML "page not found" and never 405.
    for entry in &documented {
        let (method, path) = entry.split_once(' ').unwrap();
        let uri = path
            .replace("{id}", "0193c3a8-0000-7000-8000-000000000001")
            .replace("{which}", "original")
            + if path.ends_with("/zip") {
                "?id=0193c3a8-0000-7000-8000-000000000001"
            } else {
                ""
            };
        let request = Request::builder()
            .method(method)
            .uri(&uri)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=x")
            .body(Body::from("--x--\r\n"))
            .unwrap();
        let response = app.send(request).await;
        assert_ne!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{entry}");
        let kind = response.headers()[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        assert!(
            kind.starts_with("application/json") || kind == "text/event-stream",
            "{entry}: {kind}"
        );
    }
}

/// Sends `uri` accepting gzip; answers the status, `Content-Encoding` and the decoded body.
async fn get_gzip(
    app: &support::TestApp,
    uri: &str,
) -> (StatusCode, Option<String>, Vec<u8>, usize) {
    use std::io::Read;
    let response = app
        .send(
            Request::get(uri)
                .header(header::ACCEPT_ENCODING, "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let status = response.status();
    let encoding = response
        .headers()
        .get(header::CONTENT_ENCODING)
        .map(|v| v.to_str().unwrap().to_string());
    let sent = to_bytes(response.into_body(), 64 << 20).await.unwrap();
    let body = if encoding.as_deref() == Some("gzip") {
        let mut decoded = Vec::new();
        flate2::read::GzDecoder::new(&sent[..])
            .read_to_end(&mut decoded)
            .unwrap();
        decoded
    } else {
        sent.to_vec()
    };
    (status, encoding, body, sent.len())
}

#[tokio::test]
async fn pages_and_the_bundle_are_sent_compressed_and_images_are_not() {
    let app = test_app(1, 100).await;
    // A stand-in for the wasm bundle: compressible, like real code.
    let pkg = app.dir.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    let bundle: Vec<u8> = (0..400_000u32).map(|i| (i % 251 % 17) as u8).collect();
    std::fs::write(pkg.join("tinct.wasm"), &bundle).unwrap();
    let (status, encoding, body, sent) = get_gzip(&app, "/pkg/tinct.wasm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert_eq!(body, bundle, "the bundle arrives intact");
    assert!(
        sent * 5 < bundle.len(),
        "sent {sent} of {} bytes",
        bundle.len()
    );

    let (status, encoding, body, _) = get_gzip(&app, "/login").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert!(String::from_utf8_lossy(&body).contains("<html"));

    // An image (already compressed) is sent as it is.
    std::fs::write(
        pkg.join("favicon.png"),
        std::fs::read(support::test_data("reference_input.png")).unwrap(),
    )
    .unwrap();
    let (status, encoding, _, _) = get_gzip(&app, "/pkg/favicon.png").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(encoding, None);
}

#[tokio::test]
async fn a_bundle_named_after_its_content_is_kept_by_browsers_and_the_rest_revalidated() {
    // A site as `scripts/build.sh` leaves it: hashed names, listed in `hash.txt`.
    let site = tempfile::tempdir().unwrap();
    let pkg = site.path().join("pkg");
    std::fs::create_dir_all(&pkg).unwrap();
    for name in [
        "tinct.00112233aabbccdd.js",
        "tinct.44556677eeff0011.wasm",
        "tinct.8899aabbccddeeff.css",
        "favicon.svg",
    ] {
        std::fs::write(pkg.join(name), name).unwrap();
    }
    std::fs::write(
        site.path().join("hash.txt"),
        "js: 00112233aabbccdd\nwasm: 44556677eeff0011\ncss: 8899aabbccddeeff\n",
    )
    .unwrap();
    let root = site.path().to_path_buf();
    let app = support::test_app_with(1, 100, move |config| config.site_root = root).await;

    let (status, body) = app.get("/login").await;
    assert_eq!(status, StatusCode::OK);
    for href in [
        "/pkg/tinct.00112233aabbccdd.js",
        "/pkg/tinct.44556677eeff0011.wasm",
        "/pkg/tinct.8899aabbccddeeff.css",
    ] {
        assert!(body.contains(href), "{href} is not in {body}");
    }
    assert!(!body.contains("/pkg/tinct.css"), "{body}");

    let cache_control = |uri: &'static str| {
        let app = &app;
        async move {
            let response = app
                .send(Request::get(uri).body(Body::empty()).unwrap())
                .await;
            let value = response.headers().get(header::CACHE_CONTROL).cloned();
            (
                response.status(),
                value.map(|v| v.to_str().unwrap().to_string()),
            )
        }
    };
    let (status, policy) = cache_control("/pkg/tinct.44556677eeff0011.wasm").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        policy.as_deref(),
        Some("public, max-age=31536000, immutable")
    );
    let (status, policy) = cache_control("/pkg/favicon.svg").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(policy.as_deref(), Some("no-cache"));
    // A hashed name that does not exist (an old page after an upgrade) is not kept.
    let (status, policy) = cache_control("/pkg/tinct.ffffffffffffffff.wasm").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(policy.as_deref(), Some("no-cache"));
}

//! Submitting images over the REST API: content checks, storage, the queue, events, results.

mod support;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use engine::content_credentials::{verify, ContentCredentials};
use serde_json::Value;
use tokio_stream::StreamExt;

use support::{
    json, make_signing_cert, multipart, server_fn, test_app, test_app_with, test_data,
    wait_until_finished, TestApp,
};

fn png_bytes() -> Vec<u8> {
    std::fs::read(test_data("reference_input.png")).unwrap()
}

async fn submit(app: &TestApp, fields: &[(&str, &str, &[u8])]) -> (StatusCode, Value) {
    let (content_type, body) = multipart(fields);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    json(app.send(request).await).await
}

#[tokio::test]
async fn good_files_are_colorized_and_bad_ones_refused_with_a_reason() {
    let app = test_app(1, 100).await;
    let png = png_bytes();
    let (status, body) = submit(
        &app,
        &[
            ("preset", "", b"portrait"),
            ("size", "", b"64"),
            ("images", "harbour.png", &png),
            ("images", "evil.sh.jpg", b"#!/bin/sh\necho owned\n"),
            ("images", "../../etc/passwd.png", &png),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let files = body["files"].as_array().unwrap();
    assert_eq!(files.len(), 3);
    assert_eq!(files[0]["accepted"], true);
    assert_eq!(files[1]["accepted"], false);
    assert!(
        files[1]["error"].as_str().unwrap().contains("not an image"),
        "{body}"
    );
    assert_eq!(files[2]["accepted"], true);
    assert_eq!(
        files[2]["name"], "passwd.png",
        "a path from the user was kept"
    );

    let batch = body["batch_id"].as_str().unwrap();
    let jobs = wait_until_finished(&app, batch).await;
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert_eq!(job["status"], "done", "{job}");
        assert_eq!(job["input_size"], 64);
        assert_eq!(job["preset"], "portrait");
        assert_eq!(
            (job["width"].as_i64(), job["height"].as_i64()),
            (Some(240), Some(160))
        );
    }
    // The same scan twice is stored once; nothing escaped the data directory.
    let originals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM originals")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(originals, 1);
    assert!(!app.dir.path().join("etc").exists());

    let id = jobs[0]["id"].as_str().unwrap();
    let response = app
        .send(
            Request::get(format!("/api/v1/jobs/{id}/result"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        response.headers()[header::X_CONTENT_TYPE_OPTIONS],
        "nosniff"
    );
    let disposition = response.headers()[header::CONTENT_DISPOSITION]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.starts_with("attachment;") && disposition.contains("_colorized.png"),
        "{disposition}"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap();
    let image = image::load_from_memory(&bytes).unwrap();
    assert_eq!((image.width(), image.height()), (240, 160));
}

#[tokio::test]
async fn events_stream_each_state_change_of_a_batch() {
    let app = test_app(1, 100).await;
    let batch = "0193c3a8-0000-7000-8000-000000000001";
    let response = app
        .send(
            Request::get(format!("/api/v1/events?batch={batch}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(
        response.headers()[header::CONTENT_TYPE],
        "text/event-stream"
    );
    let mut stream = response.into_body().into_data_stream();
    let png = png_bytes();
    let (status, _) = submit(
        &app,
        &[
            ("batch", "", batch.as_bytes()),
            ("size", "", b"64"),
            ("images", "a.png", &png),
        ],
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while !seen.contains("\"status\":\"done\"") {
        let chunk = tokio::time::timeout_at(deadline, stream.next())
            .await
            .expect("no done event in 30 s");
        seen.push_str(&String::from_utf8_lossy(&chunk.unwrap().unwrap()));
    }
    let order: Vec<_> = ["queued", "running", "done"]
        .iter()
        .map(|s| seen.find(&format!("\"status\":\"{s}\"")))
        .collect();
    assert!(
        order.iter().all(Option::is_some) && order.windows(2).all(|w| w[0] < w[1]),
        "{seen}"
    );
    assert!(seen.contains("event: job"));
}

#[tokio::test]
async fn a_waiting_job_can_be_cancelled_and_a_full_queue_says_so() {
    // No workers: jobs wait.
    let app = test_app(0, 2).await;
    let png = png_bytes();
    let (_, first) = submit(
        &app,
        &[("images", "a.png", &png), ("images", "b.png", &png)],
    )
    .await;
    let id = first["files"][0]["job_id"].as_str().unwrap().to_string();

    let (status, body) = submit(&app, &[("images", "c.png", &png)]).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(
        body["error"].as_str().unwrap().contains("queue is full"),
        "{body}"
    );

    let cancel = || {
        Request::delete(format!("/api/v1/jobs/{id}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(app.send(cancel()).await.status(), StatusCode::NO_CONTENT);
    assert_eq!(app.send(cancel()).await.status(), StatusCode::CONFLICT);
    let (_, job) = app.get_json(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "cancelled");
}

#[tokio::test]
async fn bad_settings_are_refused_with_a_sentence() {
    let app = test_app(0, 100).await;
    let png = png_bytes();
    let (_, body) = submit(&app, &[("size", "", b"250"), ("images", "a.png", &png)]).await;
    assert!(
        body["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("multiple of 32"),
        "{body}"
    );
    let (_, body) = submit(&app, &[("preset", "", b"sepia"), ("images", "a.png", &png)]).await;
    assert!(
        body["files"][0]["error"]
            .as_str()
            .unwrap()
            .contains("preset 'sepia' does not exist"),
        "{body}"
    );
    let (status, body) = submit(&app, &[("preset", "", b"portrait")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        body["error"].as_str().unwrap().contains("no images"),
        "{body}"
    );
    let (status, body) = submit(&app, &[("format", "", b"webp"), ("images", "a.png", &png)]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "format must be png, jpeg or tiff", "{body}");
}

/// The result file of a finished job, as the API serves it.
async fn result_bytes(app: &TestApp, id: &str) -> Vec<u8> {
    let response = app
        .send(
            Request::get(format!("/api/v1/jobs/{id}/result"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_result_can_be_rerun_with_another_preset_and_deleted_without_losing_a_shared_original() {
    let app = test_app(1, 100).await;
    let png = png_bytes();
    let (_, body) = submit(
        &app,
        &[
            ("preset", "", b"building"),
            ("size", "", b"64"),
            ("images", "harbour.png", &png),
        ],
    )
    .await;
    let batch = body["batch_id"].as_str().unwrap().to_string();
    let first = body["files"][0]["job_id"].as_str().unwrap().to_string();
    wait_until_finished(&app, &batch).await;
    // The thumbnail is cached, so deleting must remove it too.
    let (status, _) = app.get(&format!("/api/v1/jobs/{first}/thumbnail")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.stored_objects("previews").await, 1);

    let (status, second) =
        server_fn(&app, "rerun_job", &format!("id={first}&preset=portrait")).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let second: String = serde_json::from_str(&second).unwrap();
    assert_ne!(second, first);
    let jobs = wait_until_finished(&app, &batch).await;
    assert_eq!(jobs.len(), 2, "the old result is kept: {jobs:?}");
    let rerun = jobs.iter().find(|j| j["id"] == second.as_str()).unwrap();
    assert_eq!(rerun["status"], "done");
    assert_eq!(rerun["preset"], "portrait");
    assert_eq!(rerun["input_size"], 512);
    assert_eq!(rerun["original_name"], "harbour.png");
    assert_eq!(app.stored_objects("results").await, 2);

    // An unknown preset is refused in words.
    let (status, body) = server_fn(&app, "rerun_job", &format!("id={first}&preset=sepia")).await;
    assert!(
        status.is_server_error() || status.is_client_error(),
        "{status}"
    );
    assert!(body.contains("sepia"), "{body}");

    // Deleting the first job removes its result and preview; the original stays for the rerun.
    let (status, body) = server_fn(&app, "delete_job", &format!("id={first}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, _) = app.get_json(&format!("/api/v1/jobs/{first}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(app.stored_objects("results").await, 1);
    assert_eq!(app.stored_objects("previews").await, 0);
    assert_eq!(app.stored_objects("originals").await, 1);
    let (status, _) = app.get(&format!("/api/v1/jobs/{second}/original")).await;
    assert_eq!(status, StatusCode::OK);

    // The last job referring to the original takes it along.
    let (status, body) = server_fn(&app, "delete_job", &format!("id={second}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(app.stored_objects("results").await, 0);
    assert_eq!(app.stored_objects("originals").await, 0);
    let originals: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM originals")
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(originals, 0);
    let (status, body) = server_fn(&app, "delete_job", &format!("id={second}")).await;
    assert!(!status.is_success(), "deleting twice must fail: {body}");
    assert!(body.contains("no such job"), "{body}");
}

#[tokio::test]
async fn a_cancelled_job_can_be_retried_and_waits_again() {
    let app = test_app(0, 100).await;
    let png = png_bytes();
    let (_, body) = submit(&app, &[("size", "", b"64"), ("images", "a.png", &png)]).await;
    let id = body["files"][0]["job_id"].as_str().unwrap().to_string();
    // A waiting job cannot be retried; a cancelled one can, from the page or the API.
    let (status, body) = server_fn(&app, "retry_job", &format!("id={id}")).await;
    assert!(!status.is_success());
    assert!(body.contains("only a failed or cancelled job"), "{body}");
    let (status, _) = server_fn(&app, "cancel_job", &format!("id={id}")).await;
    assert_eq!(status, StatusCode::OK);
    let (_, job) = app.get_json(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "cancelled");
    let retry = Request::post(format!("/api/v1/jobs/{id}/retry"))
        .body(Body::empty())
        .unwrap();
    let response = app.send(retry).await;
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let (_, job) = app.get_json(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "queued");
}

#[tokio::test]
async fn a_retried_submission_with_the_same_idempotency_key_queues_nothing_twice() {
    let app = test_app(0, 100).await;
    let png = png_bytes();
    let keyed = |key: &str| {
        let (content_type, body) = multipart(&[("size", "", b"64"), ("images", "a.png", &png)]);
        Request::post("/api/v1/jobs")
            .header(header::CONTENT_TYPE, content_type)
            .header("Idempotency-Key", key)
            .body(Body::from(body))
            .unwrap()
    };
    let first = app.send(keyed("upload-2026-11-28-001")).await;
    assert!(first.headers().get("idempotent-replayed").is_none());
    let (status, first) = json(first).await;
    assert_eq!(status, StatusCode::OK);
    let again = app.send(keyed("upload-2026-11-28-001")).await;
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let (status, again) = json(again).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(again, first, "the same answer, the same job ids");
    let count = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM jobs")
            .fetch_one(&app.db)
            .await
            .unwrap()
    };
    assert_eq!(count().await, 1);
    let (_, other) = json(app.send(keyed("upload-2026-11-28-002")).await).await;
    assert_ne!(other["batch_id"], first["batch_id"]);
    assert_eq!(count().await, 2);
    let (status, body) = json(app.send(keyed("bad key with spaces")).await).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
}

/// What exiftool, an independent reader, finds in a file: `{"GROUP:Tag": value}`.
fn exiftool(path: &Path) -> Value {
    let output = std::process::Command::new("exiftool")
        .args(["-j", "-n", "-G1", "-struct"])
        .arg(path)
        .output()
        .expect("exiftool must be installed (scripts/setup.sh installs it)");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice::<Value>(&output.stdout).unwrap()[0].clone()
}

#[tokio::test]
async fn every_result_says_in_its_metadata_that_it_is_an_ai_colorization_and_of_what() {
    let app = test_app(1, 100).await;
    // An original with its own descriptive metadata, written by exiftool.
    let original = app.dir.path().join("harbour-1931.jpg");
    image::RgbImage::from_fn(120, 80, |x, y| {
        let v = ((x + y) * 2 % 256) as u8;
        image::Rgb([v, v, v])
    })
    .save(&original)
    .unwrap();
    let written = std::process::Command::new("exiftool")
        .args([
            "-overwrite_original",
            "-EXIF:Artist=J. Smith, harbour photographer",
            "-EXIF:Copyright=City Archive",
            "-EXIF:ImageDescription=Fishing boats in the harbour",
            "-EXIF:DateTimeOriginal=1931:06:14 10:30:00",
            "-XMP-dc:Title=Harbour, 1931",
        ])
        .arg(&original)
        .output()
        .unwrap();
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let bytes = std::fs::read(&original).unwrap();
    let sha256 = {
        use sha2::Digest;
        hex::encode(sha2::Sha256::digest(&bytes))
    };

    for format in ["png", "jpeg", "tiff"] {
        let (_, body) = submit(
            &app,
            &[
                ("size", "", b"64"),
                ("format", "", format.as_bytes()),
                ("images", "harbour-1931.jpg", &bytes),
            ],
        )
        .await;
        let batch = body["batch_id"].as_str().unwrap().to_string();
        let jobs = wait_until_finished(&app, &batch).await;
        assert_eq!(jobs[0]["status"], "done", "{jobs:?}");
        let id = jobs[0]["id"].as_str().unwrap();
        let result = result_bytes(&app, id).await;
        let path = app.dir.path().join(format!("result.{format}"));
        std::fs::write(&path, &result).unwrap();

        let tags = exiftool(&path);
        assert_eq!(
            tags["XMP-iptcExt:DigitalSourceType"],
            "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia",
            "{format}: {tags}"
        );
        assert!(
            tags["XMP-iptcExt:AISystemUsed"]
                .as_str()
                .unwrap()
                .starts_with("tiny (sha256 "),
            "{tags}"
        );
        assert!(tags["XMP-xmp:CreatorTool"]
            .as_str()
            .unwrap()
            .starts_with("Tinct "));
        assert!(tags["XMP-xmp:CreateDate"].is_string());
        assert_eq!(tags["XMP-tinct:OriginalSHA256"], sha256.as_str());
        assert_eq!(tags["XMP-tinct:OriginalFileName"], "harbour-1931.jpg");
        assert_eq!(tags["XMP-tinct:InputSize"], 64);
        assert_eq!(tags["XMP-tinct:Label"], "AI-assisted colorization");
        // The original's own description is carried over.
        assert_eq!(tags["XMP-dc:Title"], "Harbour, 1931");
        assert_eq!(
            tags["XMP-dc:Creator"],
            serde_json::json!(["J. Smith, harbour photographer"])
        );
        assert_eq!(tags["XMP-dc:Rights"], "City Archive");
        assert_eq!(tags["XMP-dc:Description"], "Fishing boats in the harbour");
        assert_eq!(tags["XMP-photoshop:DateCreated"], "1931:06:14 10:30:00");
        // Still a full-size image of the original's size.
        let decoded = image::load_from_memory(&result).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (120, 80));
        if format == "tiff" {
            // 16 bits per channel from an 8-bit scan.
            assert_eq!(decoded.color(), image::ColorType::Rgb16);
            assert_eq!(tags["File:FileType"], "TIFF", "{tags}");
        }
    }
    // The original itself is untouched.
    let stored = app
        .get(&format!("/api/v1/jobs/{}/original", {
            let (_, jobs) = app.get_json("/api/v1/jobs").await;
            jobs[0]["id"].as_str().unwrap().to_string()
        }))
        .await;
    assert_eq!(stored.1.len(), String::from_utf8_lossy(&bytes).len());
}

/// A signing certificate made the way the README tells operators to try it.
fn signing_credentials(dir: &Path) -> Arc<ContentCredentials> {
    let (chain, key) = make_signing_cert(dir, "City Archive signer", "City Archive");
    Arc::new(ContentCredentials::from_files(&chain, &key, "es256").unwrap())
}

#[tokio::test]
async fn with_a_certificate_results_carry_content_credentials_that_validate() {
    let certs = tempfile::tempdir().unwrap();
    let credentials = signing_credentials(certs.path());
    let app = test_app_with(1, 100, |config| {
        config.content_credentials = Some(credentials)
    })
    .await;
    let (_, report) = server_fn(&app, "engine_status", "").await;
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(
        report["signer"],
        "City Archive signer (City Archive), ES256"
    );
    // The settings inference runs with, as the Admin page shows them.
    assert_eq!(report["job_workers"], 1, "{report}");
    assert!(report["sessions"].as_u64() >= Some(1), "{report}");
    assert!(report["max_batch"].as_u64() >= Some(1), "{report}");
    let (_, page) = app.get("/admin").await;
    assert!(
        page.contains("Results are signed with a C2PA manifest by City Archive signer"),
        "{page}"
    );
    assert!(page.contains("Jobs at the same time"), "{page}");
    let png = png_bytes();
    for (format, mime) in [
        ("png", "image/png"),
        ("jpeg", "image/jpeg"),
        ("tiff", "image/tiff"),
    ] {
        let (_, body) = submit(
            &app,
            &[
                ("size", "", b"64"),
                ("format", "", format.as_bytes()),
                ("images", "quay 1931.png", &png),
            ],
        )
        .await;
        let jobs = wait_until_finished(&app, body["batch_id"].as_str().unwrap()).await;
        assert_eq!(jobs[0]["status"], "done", "{jobs:?}");
        let id = jobs[0]["id"].as_str().unwrap();
        let result = result_bytes(&app, id).await;

        // The c2pa crate's reader validates it and finds the original and the colorization.
        let check = verify(&result, mime).expect("a C2PA manifest");
        assert!(check.is_valid(), "{check:?}");
        assert_eq!(check.signer.as_deref(), Some("City Archive signer"));
        assert_eq!(check.parents, ["quay 1931.png"]);
        assert!(check
            .actions
            .contains(&"c2pa.color_adjustments".to_string()));
        // exiftool still reads the XMP written before signing.
        let path = app.dir.path().join(format!("signed.{format}"));
        std::fs::write(&path, &result).unwrap();
        assert_eq!(
            exiftool(&path)["XMP-tinct:OriginalFileName"],
            "quay 1931.png"
        );
        // A copy with one byte of image data changed no longer validates.
        let mut tampered = result.clone();
        let at = tampered.len() - 30;
        tampered[at] ^= 0x5a;
        assert!(!verify(&tampered, mime).unwrap().is_valid());

        // The detail view says who signed it.
        let (_, detail) = server_fn(&app, "job_detail", &format!("id={id}")).await;
        assert!(
            detail.contains("signed by City Archive signer (City Archive), ES256"),
            "{detail}"
        );
    }
}

#[tokio::test]
async fn without_a_certificate_nothing_is_signed_and_the_admin_page_says_so() {
    let app = test_app(1, 100).await;
    let (_, report) = server_fn(&app, "engine_status", "").await;
    let report: Value = serde_json::from_str(&report).unwrap();
    assert_eq!(report["signer"], Value::Null, "{report}");
    let (_, body) = submit(
        &app,
        &[("size", "", b"64"), ("images", "a.png", &png_bytes())],
    )
    .await;
    let jobs = wait_until_finished(&app, body["batch_id"].as_str().unwrap()).await;
    let id = jobs[0]["id"].as_str().unwrap();
    assert_eq!(verify(&result_bytes(&app, id).await, "image/png"), None);
    let (_, page) = app.get("/admin").await;
    assert!(
        page.contains("Not signed: no signing certificate is configured"),
        "{page}"
    );
}

#[tokio::test]
async fn a_visible_label_is_drawn_only_when_asked_and_only_in_its_corner() {
    let app = test_app(1, 100).await;
    let png = png_bytes();
    let mut results = Vec::new();
    for label in ["none", "en"] {
        let (_, body) = submit(
            &app,
            &[
                ("size", "", b"64"),
                ("label", "", label.as_bytes()),
                ("images", "a.png", &png),
            ],
        )
        .await;
        let batch = body["batch_id"].as_str().unwrap().to_string();
        let jobs = wait_until_finished(&app, &batch).await;
        let id = jobs[0]["id"].as_str().unwrap();
        let bytes = result_bytes(&app, id).await;
        results.push(image::load_from_memory(&bytes).unwrap().to_rgb8());
    }
    let (plain, labelled) = (&results[0], &results[1]);
    let changed: Vec<(u32, u32)> = plain
        .enumerate_pixels()
        .filter(|(x, y, p)| labelled.get_pixel(*x, *y) != *p)
        .map(|(x, y, _)| (x, y))
        .collect();
    assert!(changed.len() > 200, "the label is there");
    // Every changed pixel is in the bottom-right corner.
    assert!(
        changed.iter().all(|&(x, y)| x >= 100 && y >= 130),
        "{:?}",
        changed.iter().min()
    );
    let (_, body) = submit(&app, &[("label", "", b"fr"), ("images", "a.png", &png)]).await;
    assert!(
        body["error"].as_str().unwrap().contains("label must be"),
        "{body}"
    );
}

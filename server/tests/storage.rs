//! Originals, results and previews in an S3-compatible store: a real Garage, started for the
//! test (scripts/setup.sh installs it).

mod support;

use app::storage::{ObjectKey, ObjectStore, S3Store, StorageError, StorageLocation};
use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use futures_util::TryStreamExt;
use sha2::{Digest, Sha256};

use support::garage::Garage;
use support::{json, multipart, server_fn, test_app_with, test_data, wait_until_finished};

#[tokio::test]
async fn the_s3_store_keeps_lists_streams_and_removes_objects() {
    let garage = Garage::start();
    let store = S3Store::open(&garage.settings("archive/one")).unwrap();
    let key = ObjectKey::result("job-1", "png").unwrap();
    assert!(!store.exists(&key).await.unwrap());
    assert!(matches!(
        store.get_bytes(&key).await,
        Err(StorageError::NotFound(_))
    ));
    store.put_bytes(&key, b"pixels".to_vec()).await.unwrap();
    assert!(store.exists(&key).await.unwrap());
    assert_eq!(store.get_bytes(&key).await.unwrap(), b"pixels");

    // A file larger than one part (10 MB) goes up in parts and comes back as a stream, the
    // same bytes; the local file is gone once it is stored.
    let dir = tempfile::tempdir().unwrap();
    let large: Vec<u8> = (0..25_000_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let file = dir.path().join("upload");
    std::fs::write(&file, &large).unwrap();
    let original = ObjectKey::original(&hex::encode(Sha256::digest(&large))).unwrap();
    store.put_file(&original, &file).await.unwrap();
    assert!(!file.exists(), "the uploaded file was left behind");
    let (size, stream) = store.get_stream(&original).await.unwrap();
    assert_eq!(size, large.len() as u64);
    let chunks: Vec<bytes::Bytes> = stream.try_collect().await.unwrap();
    assert!(chunks.len() > 1, "the download was not streamed");
    assert_eq!(
        Sha256::digest(chunks.concat()),
        Sha256::digest(&large),
        "the object came back changed"
    );

    let listed = store.list("results").await.unwrap();
    assert_eq!(listed, vec![(key.clone(), 6)]);
    assert_eq!(store.list("originals").await.unwrap().len(), 1);
    // The prefix keeps installations apart: another prefix of the same bucket sees nothing.
    let other = S3Store::open(&garage.settings("archive/two")).unwrap();
    assert!(other.list("results").await.unwrap().is_empty());
    assert!(!other.exists(&key).await.unwrap());

    store.delete(&key).await.unwrap();
    store.delete(&key).await.unwrap();
    assert!(!store.exists(&key).await.unwrap());
    assert!(store.list("results").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_job_on_garage_stores_its_files_in_the_bucket_and_downloads_stream_from_it() {
    let garage = Garage::start();
    let settings = garage.settings("tinct");
    let app = test_app_with(1, 100, |config| {
        config.storage = StorageLocation::S3(settings.clone());
    })
    .await;
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    let (content_type, body) = multipart(&[
        ("preset", "", b"portrait"),
        ("size", "", b"64"),
        ("images", "harbour.png", &png),
    ]);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, body) = json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let jobs = wait_until_finished(&app, body["batch_id"].as_str().unwrap()).await;
    assert_eq!(jobs[0]["status"], "done", "{:?}", jobs[0]);
    let id = jobs[0]["id"].as_str().unwrap();

    // Nothing under the data directory's object folder: the files are in the bucket.
    assert!(!app.dir.path().join("data/objects/results").exists());
    let bucket = S3Store::open(&garage.settings("tinct")).unwrap();
    let results = bucket.list("results").await.unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(bucket.list("originals").await.unwrap().len(), 1);

    let response = app
        .send(
            Request::get(format!("/api/v1/jobs/{id}/result"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()[header::CONTENT_LENGTH],
        results[0].1.to_string().as_str()
    );
    let downloaded = axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap();
    let stored = bucket.get_bytes(&results[0].0).await.unwrap();
    assert_eq!(downloaded.as_ref(), stored.as_slice());
    let colour = image::load_from_memory(&downloaded).unwrap();
    assert_eq!((colour.width(), colour.height()), (240, 160));

    // The original comes back byte for byte; a thumbnail is made once and kept in the bucket.
    let response = app
        .send(
            Request::get(format!("/api/v1/jobs/{id}/original"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    let original = axum::body::to_bytes(response.into_body(), 10 << 20)
        .await
        .unwrap();
    assert_eq!(original.as_ref(), png.as_slice());
    let (status, _) = app.get(&format!("/api/v1/jobs/{id}/thumbnail")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bucket.list("previews").await.unwrap().len(), 1);

    // Deleting the job removes its files from the bucket.
    let (status, body) = server_fn(&app, "delete_job", &format!("id={id}")).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(bucket.list("previews").await.unwrap().is_empty());
    assert!(bucket.list("results").await.unwrap().is_empty());
    assert!(bucket.list("originals").await.unwrap().is_empty());
}

#[tokio::test]
async fn a_store_that_refuses_is_named_in_the_answer_nothing_is_queued_and_the_server_goes_on() {
    let garage = Garage::start();
    let mut settings = garage.settings("tinct");
    // A bucket the key may not use: every request is refused by the store.
    settings.bucket = "no-such-bucket".into();
    let app = test_app_with(1, 100, |config| {
        config.storage = StorageLocation::S3(settings.clone());
    })
    .await;
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    let (content_type, body) = multipart(&[("images", "harbour.png", &png)]);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let response = app.send(request).await;
    let retry_after = response.headers().get(header::RETRY_AFTER).cloned();
    let (status, body) = json(response).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    assert!(retry_after.is_some(), "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("image store cannot be reached"),
        "{body}"
    );
    let (status, jobs) = app.get_json("/api/v1/jobs").await;
    assert_eq!(status, StatusCode::OK, "the server stopped answering");
    assert_eq!(jobs.as_array().map(Vec::len), Some(0), "{jobs}");
    // The upload's temporary file did not stay behind.
    let leftovers = std::fs::read_dir(app.dir.path().join("data/tmp")).map_or(0, |d| d.count());
    assert_eq!(leftovers, 0);
}

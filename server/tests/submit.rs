//! `tinct submit`, the batch client, against a real server on a loopback port: a folder goes
//! up, results come down, and an interrupted run resumes without uploading anything again.

mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::Method;
use axum::middleware::{self, Next};

use support::{serve, test_app, test_data};

fn client(server: &str, token: &str, scans: &Path, out: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tinct"));
    command
        .args([
            "submit",
            &scans.to_string_lossy(),
            "--server",
            server,
            "--out",
            &out.to_string_lossy(),
        ])
        .args(["--size", "64"])
        .env("TINCT_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

fn state_entries(out: &Path) -> usize {
    std::fs::read(out.join(".tinct-submit.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["uploaded"].as_object().map(|o| o.len()))
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_client_downloads_a_folder_and_resumes_without_uploading_again() {
    // No workers yet: the first run uploads and then waits, and is interrupted there.
    let app = test_app(0, 100).await;
    let uploads = Arc::new(AtomicUsize::new(0));
    let counter = uploads.clone();
    let router =
        app.router
            .clone()
            .layer(middleware::from_fn(move |request: Request, next: Next| {
                if request.method() == Method::POST && request.uri().path() == "/api/v1/jobs" {
                    counter.fetch_add(1, Ordering::SeqCst);
                }
                next.run(request)
            }));
    let server = format!("http://{}", serve(router).await);

    let scans = app.dir.path().join("scans");
    std::fs::create_dir_all(scans.join("box-2")).unwrap();
    std::fs::copy(test_data("reference_input.png"), scans.join("harbour.png")).unwrap();
    std::fs::copy(
        test_data("reference_output.png"),
        scans.join("box-2/street.png"),
    )
    .unwrap();
    image::GrayImage::from_fn(96, 64, |x, y| image::Luma([((x * 3 + y) % 256) as u8]))
        .save(scans.join("mill.png"))
        .unwrap();
    std::fs::write(scans.join("notes.txt"), "not a photograph").unwrap();
    let out = app.dir.path().join("colour");

    let mut first = client(&server, &app.token, &scans, &out).spawn().unwrap();
    for _ in 0..600 {
        if state_entries(&out) == 3 {
            break;
        }
        assert!(
            first.try_wait().unwrap().is_none(),
            "the first run ended early"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(state_entries(&out), 3, "three images were uploaded");
    first.kill().unwrap();
    first.wait().unwrap();
    assert_eq!(
        uploads.load(Ordering::SeqCst),
        3,
        "the text file was never sent"
    );

    // The server starts colorizing; the second run picks up the three jobs.
    app.workers.start(1);
    let (token, scans2, out2, server2) = (
        app.token.clone(),
        scans.clone(),
        out.clone(),
        server.clone(),
    );
    let second = tokio::task::spawn_blocking(move || {
        client(&server2, &token, &scans2, &out2).output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert_eq!(second.status.code(), Some(1), "notes.txt failed: {stdout}");
    assert!(stdout.contains("3 colorized and downloaded"), "{stdout}");
    assert!(stdout.contains("0 uploaded now, 3 resumed"), "{stdout}");
    assert!(stdout.contains("notes.txt"), "{stdout}");
    assert_eq!(
        uploads.load(Ordering::SeqCst),
        3,
        "nothing was uploaded again"
    );
    for (name, size) in [
        ("harbour_colorized.png", (240, 160)),
        ("street_colorized.png", (240, 160)),
        ("mill_colorized.png", (96, 64)),
    ] {
        let result = image::open(out.join(name)).unwrap();
        assert_eq!((result.width(), result.height()), size, "{name}");
    }

    // A third run finds everything done.
    let (token, scans3, out3) = (app.token.clone(), scans.clone(), out.clone());
    let third = tokio::task::spawn_blocking(move || {
        client(&server, &token, &scans3, &out3).output().unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&third.stdout);
    assert!(
        stdout.contains("0 colorized and downloaded") && stdout.contains("3 already there"),
        "{stdout}"
    );
    assert_eq!(uploads.load(Ordering::SeqCst), 3);
}

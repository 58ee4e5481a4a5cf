//! `tinct` processes for the tests and benchmarks that run several of them, as on several
//! machines: the tiny test model, the binary with a data directory, and waiting for a state.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::test_data;

/// A folder with the tiny test model registered as `tiny`.
pub fn models() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let model = dir.path().join("tiny.onnx");
    std::fs::copy(test_data("tiny_ddcolor.onnx"), &model).unwrap();
    let sha = engine::registry::sha256_file(&model).unwrap();
    std::fs::write(
        dir.path().join("tiny.json"),
        format!(
            r#"{{"name":"tiny","file":"tiny.onnx","sha256":"{sha}","kind":"ddcolor-compatible",
               "default_input_size":64,"licence":"test","source":"test"}}"#
        ),
    )
    .unwrap();
    dir
}

pub struct Process(pub Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn tinct(
    args: &[&str],
    data: &Path,
    models: &Path,
    env: &[(&'static str, String)],
    log: PathBuf,
) -> Process {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tinct"));
    command
        .args(args)
        .env("TINCT_DATA_DIR", data)
        .env("TINCT_MODELS_DIR", models)
        .env(
            "TINCT_WORKFLOWS_DIR",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows"),
        )
        .env("TINCT_DEFAULT_MODEL", "tiny")
        .env("TINCT_THREADS", "1")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap());
    if std::env::var_os("ORT_DYLIB_PATH").is_none() {
        command.env(
            "ORT_DYLIB_PATH",
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../.local/onnxruntime/libonnxruntime.so"),
        );
    }
    Process(command.spawn().unwrap())
}

pub async fn wait_for<T, F: std::future::Future<Output = Option<T>>>(
    what: &str,
    limit: Duration,
    mut check: impl FnMut() -> F,
) -> T {
    let started = Instant::now();
    loop {
        if let Some(found) = check().await {
            return found;
        }
        assert!(started.elapsed() < limit, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The `done` events a subscriber of `base`'s `/api/v1/events` receives (as a connected page
/// does): each job's id and when its event arrived (`app::db::now`).
pub async fn done_events(
    http: &reqwest::Client,
    base: &str,
    token: &str,
) -> tokio::sync::mpsc::UnboundedReceiver<(String, String)> {
    use futures_util::StreamExt;
    let events = http
        .get(format!("{base}/api/v1/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert!(events.status().is_success());
    let (seen, received) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut body = events.bytes_stream();
        let mut buffer = String::new();
        while let Some(Ok(chunk)) = body.next().await {
            let at = app::db::now();
            buffer.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = buffer.find("\n\n") {
                let message: String = buffer.drain(..end + 2).collect();
                let Some(data) = message.lines().find_map(|l| l.strip_prefix("data: ")) else {
                    continue;
                };
                let Ok(event) = serde_json::from_str::<serde_json::Value>(data) else {
                    continue;
                };
                if event["status"] == "done" {
                    let id = event["job_id"].as_str().unwrap_or_default().to_string();
                    let _ = seen.send((id, at.clone()));
                }
            }
        }
    });
    received
}

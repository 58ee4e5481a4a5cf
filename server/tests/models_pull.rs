//! `tinct models pull` against a local HTTP server started here (no machine in CI reaches the
//! publishers): a redirect to a "CDN", a connection cut halfway and resumed with Range, a wrong
//! checksum, a truncated body, a 404, HTML instead of ONNX, an entry without a published
//! checksum, and a mirror folder. Nothing half-downloaded may be registered or left behind.

mod support;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use axum::body::{Body, Bytes};
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use support::test_data;

/// One request the test server saw: its path and Range header.
type Seen = (String, Option<String>);

/// What the test server saw.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<Seen>>>);

impl Log {
    fn requests(&self) -> Vec<Seen> {
        self.0.lock().unwrap().clone()
    }
}

fn model_bytes(name: &str) -> Vec<u8> {
    std::fs::read(test_data(&format!("{name}.onnx"))).unwrap()
}

fn range_start(headers: &HeaderMap) -> Option<usize> {
    headers
        .get(header::RANGE)?
        .to_str()
        .ok()?
        .strip_prefix("bytes=")?
        .trim_end_matches('-')
        .parse()
        .ok()
}

/// The whole file, or from a Range start (206).
fn serve_bytes(bytes: Vec<u8>, headers: &HeaderMap) -> Response {
    match range_start(headers) {
        Some(start) if start < bytes.len() => {
            let range = format!("bytes {start}-{}/{}", bytes.len() - 1, bytes.len());
            (
                StatusCode::PARTIAL_CONTENT,
                [
                    (header::CONTENT_RANGE, range),
                    (header::CONTENT_TYPE, "application/octet-stream".into()),
                ],
                bytes[start..].to_vec(),
            )
                .into_response()
        }
        Some(_) => StatusCode::RANGE_NOT_SATISFIABLE.into_response(),
        None => ([(header::CONTENT_TYPE, "application/octet-stream")], bytes).into_response(),
    }
}

async fn files(UrlPath(name): UrlPath<String>, headers: HeaderMap) -> Response {
    serve_bytes(model_bytes(&name), &headers)
}

/// Hugging Face's `resolve/main/…` answers 302 to a CDN.
async fn redirect(UrlPath(name): UrlPath<String>) -> Response {
    (
        StatusCode::FOUND,
        [(header::LOCATION, format!("/files/{name}"))],
    )
        .into_response()
}

/// Announces the whole file, sends half and drops the connection; a Range request gets the rest.
async fn flaky(UrlPath(name): UrlPath<String>, headers: HeaderMap) -> Response {
    let bytes = model_bytes(&name);
    if range_start(&headers).is_some() {
        return serve_bytes(bytes, &headers);
    }
    let half = Bytes::from(bytes[..bytes.len() / 2].to_vec());
    let chunks: Vec<Result<Bytes, std::io::Error>> = vec![
        Ok(half),
        Err(std::io::Error::other("connection cut by the test")),
    ];
    Response::builder()
        .header(header::CONTENT_LENGTH, bytes.len())
        .header(header::CONTENT_TYPE, "application/octet-stream")
        // The pause lets the first half reach the client before the connection drops.
        .body(Body::from_stream(futures_util::StreamExt::then(
            futures_util::stream::iter(chunks),
            |chunk| async move {
                if chunk.is_err() {
                    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                }
                chunk
            },
        )))
        .unwrap()
}

/// A complete answer that holds only the first half of the file.
async fn short(UrlPath(name): UrlPath<String>) -> Response {
    let bytes = model_bytes(&name);
    bytes[..bytes.len() / 2].to_vec().into_response()
}

async fn html() -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        "<!DOCTYPE html><html><body>Please sign in</body></html>",
    )
        .into_response()
}

/// An error page sent as if it were the file.
async fn disguised() -> Response {
    (
        [(header::CONTENT_TYPE, "application/octet-stream")],
        "\n<!DOCTYPE html><html><body>Rate limited</body></html>",
    )
        .into_response()
}

async fn log_requests(
    State(log): State<Log>,
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let range = request
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    log.0
        .lock()
        .unwrap()
        .push((request.uri().path().to_string(), range));
    next.run(request).await
}

/// Starts the test server on a thread of its own; it lives as long as the test process.
fn start_server() -> (SocketAddr, Log) {
    let log = Log::default();
    let router = Router::new()
        .route("/files/{name}", get(files))
        .route("/hf/resolve/main/{name}", get(redirect))
        .route("/flaky/{name}", get(flaky))
        .route("/short/{name}", get(short))
        .route("/html/{name}", get(html))
        .route("/disguised/{name}", get(disguised))
        .layer(axum::middleware::from_fn_with_state(
            log.clone(),
            log_requests,
        ));
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    (address, log)
}

struct Setup {
    dir: tempfile::TempDir,
    log: Log,
}

impl Setup {
    fn data_models(&self) -> PathBuf {
        self.dir.path().join("data/models")
    }

    fn tinct(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_tinct"));
        command
            .args(args)
            .env("TINCT_DATA_DIR", self.dir.path().join("data"))
            .env("TINCT_MODELS_DIR", self.dir.path().join("shipped"))
            .env("TINCT_THREADS", "1")
            .env_remove("TINCT_MODELS_MIRROR")
            .env_remove("TINCT_DEFAULT_MODEL");
        if std::env::var_os("ORT_DYLIB_PATH").is_none() {
            command.env(
                "ORT_DYLIB_PATH",
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("../.local/onnxruntime/libonnxruntime.so"),
            );
        }
        command.output().unwrap()
    }

    /// Runs a pull that must fail, and checks that nothing was registered or left behind.
    fn refused(&self, name: &str, extra: &[&str]) -> String {
        let mut args = vec!["models", "pull", name];
        args.extend_from_slice(extra);
        let out = self.tinct(&args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{name} was pulled: {stderr}");
        assert!(!self.data_models().join(format!("{name}.json")).exists());
        assert!(!self.data_models().join(format!("{name}.onnx")).exists());
        assert_eq!(self.leftovers(), Vec::<String>::new(), "{name}: {stderr}");
        stderr
    }

    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(self.data_models().join(".downloads"))
            .map(|entries| {
                entries
                    .flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    fn registered(&self, name: &str) -> serde_json::Value {
        let manifest = std::fs::read(self.data_models().join(format!("{name}.json")))
            .unwrap_or_else(|e| panic!("{name} is not registered: {e}"));
        serde_json::from_slice(&manifest).unwrap()
    }
}

fn sha256_of(name: &str) -> String {
    engine::registry::sha256_file(&test_data(&format!("{name}.onnx"))).unwrap()
}

/// A catalogue entry; `size` and `sha256` as TOML values (or empty to leave them out).
fn entry(name: &str, url: &str, size: &str, sha256: &str, family: &str) -> String {
    let mut text = format!(
        r#"
[[model]]
name = "{name}"
display_name = "Test {name}"
family = "{family}"
urls = ["{url}"]
checksum_source = "computed by the test"
licence = "Apache-2.0 (test)"
source = "tools/reference/make_test_data.py"
input_size = {{ best = 64, min = 32, max = 256 }}
precision = "float32"
note = "a generated test graph"
"#
    );
    if !size.is_empty() {
        text.push_str(&format!("size = {size}\n"));
    }
    if !sha256.is_empty() {
        text.push_str(&format!("sha256 = \"{sha256}\"\n"));
    }
    text
}

fn setup() -> Setup {
    let (address, log) = start_server();
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("shipped")).unwrap();
    std::fs::create_dir_all(dir.path().join("data/models")).unwrap();
    let base = format!("http://{address}");
    let ddcolor = "tiny_ddcolor";
    let size = model_bytes(ddcolor).len().to_string();
    let sha = sha256_of(ddcolor);
    let wrong_sha = sha256_of("tiny_deoldify");
    let catalogue = [
        entry(
            "via-redirect",
            &format!("{base}/hf/resolve/main/{ddcolor}"),
            &size,
            &sha,
            "ddcolor",
        ),
        entry(
            "flaky",
            &format!("{base}/flaky/{ddcolor}"),
            &size,
            &sha,
            "ddcolor",
        ),
        entry(
            "wrong-checksum",
            &format!("{base}/files/{ddcolor}"),
            "",
            &wrong_sha,
            "ddcolor",
        ),
        entry(
            "truncated",
            &format!("{base}/short/{ddcolor}"),
            &size,
            &sha,
            "ddcolor",
        ),
        entry(
            "missing",
            &format!("{base}/files/nothing-here/x"),
            &size,
            &sha,
            "ddcolor",
        ),
        entry(
            "html",
            &format!("{base}/html/{ddcolor}"),
            &size,
            &sha,
            "ddcolor",
        ),
        entry(
            "disguised",
            &format!("{base}/disguised/{ddcolor}"),
            "",
            &sha,
            "ddcolor",
        ),
        entry(
            "unpublished",
            &format!("{base}/files/tiny_deoldify"),
            "",
            "",
            "deoldify",
        ),
        entry(
            "mirrored",
            "https://example.invalid/publisher/tiny_zhang_eccv16.onnx",
            "",
            &sha256_of("tiny_zhang_eccv16"),
            "zhang",
        ),
    ]
    .concat();
    std::fs::write(dir.path().join("data/models/catalogue.toml"), catalogue).unwrap();
    Setup { dir, log }
}

#[test]
fn a_redirected_download_is_verified_and_registered_with_its_catalogue_facts() {
    let setup = setup();
    let out = setup.tinct(&["models", "pull", "via-redirect"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest = setup.registered("via-redirect");
    assert_eq!(manifest["sha256"], sha256_of("tiny_ddcolor"));
    assert_eq!(manifest["family"], "ddcolor");
    assert_eq!(manifest["licence"], "Apache-2.0 (test)");
    assert_eq!(manifest["input_size"]["best"], 64);
    assert_eq!(
        std::fs::read(setup.data_models().join("via-redirect.onnx")).unwrap(),
        model_bytes("tiny_ddcolor")
    );
    assert!(setup.leftovers().is_empty());
    let paths: Vec<String> = setup.log.requests().into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        paths,
        ["/hf/resolve/main/tiny_ddcolor", "/files/tiny_ddcolor"],
        "the redirect was followed"
    );
    let list = setup.tinct(&["models", "list"]);
    assert!(String::from_utf8_lossy(&list.stdout).contains("via-redirect"));
    let again = setup.refused_again("via-redirect");
    assert!(again.contains("installed already"), "{again}");
}

impl Setup {
    fn refused_again(&self, name: &str) -> String {
        let out = self.tinct(&["models", "pull", name]);
        assert!(!out.status.success());
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[test]
fn a_cut_connection_is_resumed_with_a_range_request() {
    let setup = setup();
    let out = setup.tinct(&["models", "pull", "flaky"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let half = model_bytes("tiny_ddcolor").len() / 2;
    let requests = setup.log.requests();
    assert_eq!(
        requests,
        [
            ("/flaky/tiny_ddcolor".to_string(), None),
            (
                "/flaky/tiny_ddcolor".to_string(),
                Some(format!("bytes={half}-"))
            ),
        ],
        "the second request resumed where the first was cut"
    );
    assert_eq!(
        std::fs::read(setup.data_models().join("flaky.onnx")).unwrap(),
        model_bytes("tiny_ddcolor")
    );
}

#[test]
fn a_wrong_checksum_a_truncated_body_a_404_and_html_are_refused_and_cleaned_up() {
    let setup = setup();
    let error = setup.refused("wrong-checksum", &[]);
    assert!(
        error.contains("SHA-256") && error.contains("not the published file"),
        "{error}"
    );
    let error = setup.refused("truncated", &[]);
    assert!(error.contains("truncated"), "{error}");
    let error = setup.refused("missing", &[]);
    assert!(error.contains("404"), "{error}");
    let error = setup.refused("html", &[]);
    assert!(error.contains("web page (HTML)"), "{error}");
    let error = setup.refused("disguised", &[]);
    assert!(error.contains("web page (HTML)"), "{error}");
    let error = setup.refused("not-in-catalogue", &[]);
    assert!(error.contains("not in the model catalogue"), "{error}");
    // None of them is registered.
    let list = setup.tinct(&["models", "list"]);
    let listed = String::from_utf8_lossy(&list.stdout);
    for name in [
        "wrong-checksum",
        "truncated",
        "missing",
        "html",
        "disguised",
    ] {
        assert!(!listed.contains(name), "{name} is listed: {listed}");
    }
}

#[test]
fn an_entry_without_a_published_checksum_needs_the_administrators() {
    let setup = setup();
    let error = setup.refused("unpublished", &[]);
    assert!(error.contains("--sha256"), "{error}");
    let error = setup.refused("unpublished", &["--sha256", &"0".repeat(64)]);
    assert!(error.contains("not the published file"), "{error}");
    let sha = sha256_of("tiny_deoldify");
    let out = setup.tinct(&["models", "pull", "unpublished", "--sha256", &sha]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(setup.registered("unpublished")["family"], "deoldify");
}

#[test]
fn a_mirror_folder_serves_sites_without_internet() {
    let setup = setup();
    let mirror = setup.dir.path().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let error = setup.refused("mirrored", &["--mirror", mirror.to_str().unwrap()]);
    assert!(error.contains("neither"), "{error}");
    std::fs::copy(
        test_data("tiny_zhang_eccv16.onnx"),
        mirror.join("tiny_zhang_eccv16.onnx"),
    )
    .unwrap();
    let out = setup.tinct(&[
        "models",
        "pull",
        "mirrored",
        "--mirror",
        mirror.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(setup.registered("mirrored")["family"], "zhang");
    assert!(
        setup.log.requests().is_empty(),
        "nothing went to the network"
    );
    let catalogue = setup.tinct(&["models", "catalogue"]);
    let text = String::from_utf8_lossy(&catalogue.stdout);
    assert!(text.contains("mirrored  [installed]"), "{text}");
    assert!(
        text.contains("not published: pull with --sha256 HEX"),
        "{text}"
    );
}

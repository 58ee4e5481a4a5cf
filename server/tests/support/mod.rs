//! Shared set-up for the server's integration tests: an app with the tiny test model.
#![allow(dead_code)]

pub mod garage;
pub mod postgres;
pub mod processes;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use app::auth::{store, Role, Scope};
use axum::body::{to_bytes, Body};
use axum::http::{header, Request, StatusCode};
use axum::response::Response;
use engine::registry::{ModelManifest, Registry};
use engine::runtime::{Device, Runtime, RuntimeOptions};
use serde_json::Value;
use server::web::{router, AppState, Limits, StateConfig};
use tower::ServiceExt;

pub fn test_data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../engine/tests/data")
        .join(name)
}

/// A test CA and an ES256 signer for `name (org)`, made by the script the README gives operators
/// to try signing. Returns the certificate chain and the key.
pub fn make_signing_cert(dir: &Path, name: &str, org: &str) -> (PathBuf, PathBuf) {
    let made = std::process::Command::new("bash")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/make-signing-cert.sh"))
        .args([dir.as_os_str(), name.as_ref(), org.as_ref()])
        .output()
        .expect("bash and openssl must be installed (scripts/setup.sh installs openssl)");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    (dir.join("signer-chain.pem"), dir.join("signer.key"))
}

/// An engine whose default model is the tiny test graph (registered as `tiny`, S = 64).
pub fn engine(dir: &Path) -> Arc<engine::Engine> {
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
        family: Default::default(),
        precision: None,
        default_input_size: 64,
        licence: "test".into(),
        source: "test".into(),
        training_data: None,
        evaluation: None,
        input_size: None,
        notice: None,
        variant_of: None,
    };
    std::fs::write(
        models.join("tiny.json"),
        serde_json::to_vec(&manifest).unwrap(),
    )
    .unwrap();
    // The default is the administrator's choice (as on a server started without
    // --default-model), so that tests can change it from the Admin page.
    let imported = dir.join("imported");
    std::fs::create_dir_all(&imported).unwrap();
    if !imported.join("default-model").exists() {
        std::fs::write(imported.join("default-model"), "tiny").unwrap();
    }
    Arc::new(engine::Engine::new(
        runtime,
        Registry::new(models, imported, None),
        Default::default(),
    ))
}

pub struct TestApp {
    pub dir: tempfile::TempDir,
    pub db: app::db::Db,
    pub router: axum::Router,
    /// An admin's API token, sent by `send`, `get` and `get_json`.
    pub token: String,
    /// The job workers, for tests that start more of them later.
    pub workers: server::jobs::worker::Workers,
    /// What the app was started with, for `restart`.
    pub config: StateConfig,
    /// The object store, when the tests run on Garage (`TINCT_TEST_STORAGE=garage`).
    pub garage: Option<garage::Garage>,
    /// The database cluster, when the tests run on PostgreSQL (`TINCT_TEST_DATABASE=postgres`).
    pub postgres: Option<postgres::Postgres>,
}

/// A full app on a fresh data directory, with `job_workers` workers and a queue of `queue_limit`.
pub async fn test_app(job_workers: usize, queue_limit: i64) -> TestApp {
    test_app_with(job_workers, queue_limit, |_| {}).await
}

/// The same, with the server's settings changed by `adjust`.
pub async fn test_app_with(
    job_workers: usize,
    queue_limit: i64,
    adjust: impl FnOnce(&mut StateConfig),
) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = StateConfig {
        site_root: dir.path().to_path_buf(),
        address: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.path().join("data"),
        presets: Arc::new(
            engine::presets::Presets::load(
                &Path::new(env!("CARGO_MANIFEST_DIR")).join("../workflows"),
            )
            .unwrap(),
        ),
        limits: Limits {
            max_file_bytes: 10 << 20,
            max_files: 20,
            duplicates: app::jobs::batches::Duplicates::Colorize,
            login_attempts_per_minute: 5,
            submissions_per_minute: 10_000,
            secure_cookies: false,
            request_timeout: std::time::Duration::from_secs(60),
            max_submission_bytes: 1 << 30,
            access_recheck: std::time::Duration::from_secs(30),
            header_read_timeout: std::time::Duration::from_secs(30),
        },
        queue_limit,
        job_workers,
        job_megapixels: 1000,
        models_mirror: None,
        content_credentials: None,
        storage: app::storage::StorageLocation::Local(dir.path().join("data/objects")),
        lease_seconds: 30,
    };
    // `TINCT_TEST_STORAGE=garage`: the same tests on a throw-away Garage (scripts/test.sh runs
    // the job, API and ComfyUI tests this way too).
    let garage = (std::env::var("TINCT_TEST_STORAGE").as_deref() == Ok("garage"))
        .then(garage::Garage::start);
    if let Some(garage) = &garage {
        config.storage = app::storage::StorageLocation::S3(garage.settings("tinct"));
    }
    adjust(&mut config);
    // `TINCT_TEST_DATABASE=postgres`: on a throw-away PostgreSQL cluster instead of SQLite.
    let postgres = (std::env::var("TINCT_TEST_DATABASE").as_deref() == Ok("postgres"))
        .then(postgres::Postgres::start);
    let url = match &postgres {
        Some(cluster) => Some(cluster.new_database().await),
        None => None,
    };
    let db = server::db::connect(url.as_deref(), dir.path())
        .await
        .unwrap();
    let state = AppState::start(db.clone(), engine(dir.path()), config.clone())
        .await
        .unwrap();
    let sessions = server::web::session_store(&db).await.unwrap();
    let admin = store::add_user(&db, "admin", Role::Admin, "admin-password-1")
        .await
        .unwrap();
    let (token, _) = store::create_token(&db, admin, "tests", &Scope::ALL, None)
        .await
        .unwrap();
    TestApp {
        workers: state.jobs.clone(),
        router: router(state, sessions),
        db,
        dir,
        token,
        config,
        garage,
        postgres,
    }
}

impl TestApp {
    /// How many objects the store holds under `folder` (`results`, `colours`, `originals`).
    pub async fn stored_objects(&self, folder: &str) -> usize {
        self.workers.store.list(folder).await.unwrap().len()
    }

    /// Starts the app again on the same data directory and database, as after a stop.
    pub async fn restart(&mut self) {
        let state = AppState::start(
            self.db.clone(),
            engine(self.dir.path()),
            self.config.clone(),
        )
        .await
        .unwrap();
        let sessions = server::web::session_store(&self.db).await.unwrap();
        self.workers = state.jobs.clone();
        self.router = router(state, sessions);
    }
}

impl TestApp {
    /// Sends a request as the admin (their token), unless it carries credentials already.
    pub async fn send(&self, mut request: Request<Body>) -> Response {
        if !request.headers().contains_key(header::AUTHORIZATION)
            && !request.headers().contains_key(header::COOKIE)
        {
            request.headers_mut().insert(
                header::AUTHORIZATION,
                format!("Bearer {}", self.token).parse().unwrap(),
            );
        }
        self.router.clone().oneshot(request).await.unwrap()
    }

    /// Sends a request exactly as given: no token added.
    pub async fn send_as_is(&self, request: Request<Body>) -> Response {
        self.router.clone().oneshot(request).await.unwrap()
    }

    /// Signs in through the login server function as the page's form does (same origin);
    /// answers the session cookie, or the status and body of the refusal.
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
    ) -> Result<String, (StatusCode, String)> {
        let request = Request::post("/api/login")
            .header(header::HOST, "tinct.test")
            .header(header::ORIGIN, "http://tinct.test")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(format!(
                "name={name}&password={password}&next=/gallery"
            )))
            .unwrap();
        let response = self.send_as_is(request).await;
        let cookie = response
            .headers()
            .get(header::SET_COOKIE)
            .and_then(|c| c.to_str().ok())
            .and_then(|c| c.split(';').next())
            .map(str::to_string);
        let status = response.status();
        match cookie {
            Some(cookie) if status.is_redirection() || status.is_success() => Ok(cookie),
            _ => {
                let body = to_bytes(response.into_body(), 1 << 20).await.unwrap();
                Err((status, String::from_utf8_lossy(&body).into_owned()))
            }
        }
    }

    pub async fn get(&self, uri: &str) -> (StatusCode, String) {
        let response = self
            .send(Request::get(uri).body(Body::empty()).unwrap())
            .await;
        let status = response.status();
        let body = to_bytes(response.into_body(), 10 << 20).await.unwrap();
        (status, String::from_utf8_lossy(&body).into_owned())
    }

    pub async fn get_json(&self, uri: &str) -> (StatusCode, Value) {
        json(
            self.send(Request::get(uri).body(Body::empty()).unwrap())
                .await,
        )
        .await
    }
}

pub async fn json(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let body = to_bytes(response.into_body(), 10 << 20).await.unwrap();
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

/// A multipart/form-data body: `(field, file name or "", content)`.
pub fn multipart(fields: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "tinct-test-boundary-7c1f";
    let mut body = Vec::new();
    for (name, file, content) in fields {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        if file.is_empty() {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/octet-stream\r\n\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// Serves `router` on a loopback port, for clients that need a real connection (websockets,
/// the `tinct` binary); answers its address.
pub async fn serve(router: axum::Router) -> std::net::SocketAddr {
    serve_with(router, std::time::Duration::from_secs(30)).await
}

/// The same, with the server's own accept loop and this header-read timeout.
pub async fn serve_with(
    router: axum::Router,
    header_read_timeout: std::time::Duration,
) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(server::web::serve(
        listener,
        router,
        header_read_timeout,
        std::future::pending(),
    ));
    address
}

/// Calls a server function as a script would (form-encoded, JSON answer), as the admin.
pub async fn server_fn(app: &TestApp, name: &str, form: &str) -> (StatusCode, String) {
    let request = Request::post(format!("/api/{name}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::ACCEPT, "application/json")
        .body(Body::from(form.to_string()))
        .unwrap();
    let response = app.send(request).await;
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The jobs of `batch` once every one has finished (done, failed or cancelled); fails after 30 s.
pub async fn wait_until_finished(app: &TestApp, batch: &str) -> Vec<Value> {
    for _ in 0..300 {
        let (_, jobs) = app.get_json(&format!("/api/v1/jobs?batch={batch}")).await;
        let jobs = jobs.as_array().unwrap().clone();
        if jobs
            .iter()
            .all(|j| ["done", "failed", "cancelled"].contains(&j["status"].as_str().unwrap()))
        {
            return jobs;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the batch did not finish in 30 s");
}

//! A throw-away Garage (an S3-compatible object store, `cargo install garage`, installed by
//! scripts/setup.sh): one node in a temporary folder, with a bucket and a key, stopped and removed
//! when dropped.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use app::storage::S3Settings;

/// The key the tests use (Garage imports keys of this form: `GK` + 24 hex, 64 hex).
pub const ACCESS_KEY_ID: &str = "GK0123456789abcdef01234567";
pub const SECRET_ACCESS_KEY: &str =
    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
pub const BUCKET: &str = "tinct-test";

pub struct Garage {
    _dir: tempfile::TempDir,
    config: PathBuf,
    server: Child,
    pub endpoint: String,
}

fn binary() -> PathBuf {
    std::env::var_os("TINCT_GARAGE").map_or_else(
        || {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/tinct/garage-2.5.0/bin/garage")
        },
        PathBuf::from,
    )
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Garage {
    pub fn start() -> Garage {
        let garage = binary();
        assert!(
            garage.exists(),
            "Garage is not installed at {} (scripts/setup.sh installs it; TINCT_GARAGE overrides)",
            garage.display()
        );
        // Free ports are found by binding and letting go; another test may take one in between,
        // and then this node cannot start: try again on other ports.
        for _ in 0..5 {
            if let Some(mut started) = Self::try_start(&garage) {
                started.set_up();
                return started;
            }
        }
        panic!("Garage did not start on any free port");
    }

    fn try_start(garage: &Path) -> Option<Garage> {
        let dir = tempfile::tempdir().unwrap();
        let (s3, rpc) = (free_port(), free_port());
        let config = dir.path().join("garage.toml");
        std::fs::write(
            &config,
            format!(
                r#"metadata_dir = "{root}/meta"
data_dir = "{root}/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"

[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"
"#,
                root = dir.path().display(),
                secret = SECRET_ACCESS_KEY,
            ),
        )
        .unwrap();
        let server = Command::new(garage)
            .args(["-c".as_ref(), config.as_os_str(), "server".as_ref()])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut node = Garage {
            endpoint: format!("http://127.0.0.1:{s3}"),
            _dir: dir,
            config,
            server,
        };
        // Up when the command line reaches it over RPC.
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(30) {
            if node.server.try_wait().ok().flatten().is_some() {
                return None;
            }
            if node.cli(&["status"]).is_ok() {
                return Some(node);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        None
    }

    /// Runs the Garage command line against this node; its standard output.
    fn cli(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new(binary())
            .arg("-c")
            .arg(&self.config)
            .args(args)
            .env("RUST_LOG", "warn")
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A layout of one node, the bucket and the key, as an operator sets up a new Garage.
    fn set_up(&mut self) {
        let node = match self.cli(&["node", "id", "-q"]) {
            Ok(id) => id.trim().split('@').next().unwrap_or_default().to_string(),
            Err(e) => panic!("garage node id: {e}"),
        };
        let steps: [&[&str]; 5] = [
            &["layout", "assign", "-z", "dc1", "-c", "1G", &node],
            &["layout", "apply", "--version", "1"],
            &["bucket", "create", BUCKET],
            &[
                "key",
                "import",
                "--yes",
                "-n",
                "tinct",
                ACCESS_KEY_ID,
                SECRET_ACCESS_KEY,
            ],
            &[
                "bucket", "allow", "--read", "--write", "--owner", BUCKET, "--key", "tinct",
            ],
        ];
        for step in steps {
            if let Err(e) = self.cli(step) {
                panic!("garage {}: {e}", step.join(" "));
            }
        }
    }

    /// Tinct's settings for the test bucket under `prefix`. The key is given through the
    /// standard environment variables, as an operator would.
    pub fn settings(&self, prefix: &str) -> S3Settings {
        std::env::set_var("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID);
        std::env::set_var("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY);
        S3Settings {
            bucket: BUCKET.into(),
            prefix: prefix.into(),
            endpoint: Some(self.endpoint.clone()),
            region: Some("garage".into()),
        }
    }

    /// Environment variables for a `tinct` process using this store.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY.into()),
            ("TINCT_S3_ENDPOINT", self.endpoint.clone()),
            ("TINCT_S3_REGION", "garage".into()),
        ]
    }

    pub fn data_dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

//! A throw-away PostgreSQL (Debian's `postgresql` package, installed by scripts/setup.sh): a
//! cluster in a temporary folder on a free port, started as the unprivileged `postgres` user when
//! the tests run as root (PostgreSQL refuses to run as root), stopped and removed when dropped.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
}

/// The folder of `initdb` and `pg_ctl`: `TINCT_PG_BIN`, else the newest Debian install.
fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("TINCT_PG_BIN") {
        return PathBuf::from(dir);
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|entries| entries.flatten().map(|e| e.path().join("bin")).collect())
        .unwrap_or_default();
    versions.sort();
    versions.pop().unwrap_or_else(|| {
        panic!("PostgreSQL is not installed (scripts/setup.sh installs Debian's postgresql)")
    })
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| out.stdout.starts_with(b"0\n"))
}

/// Runs a PostgreSQL program, as `postgres` when the tests run as root; it must succeed.
fn run(program: &str, args: &[&str]) -> Output {
    let out = try_run(program, args);
    assert!(
        out.status.success(),
        "{program} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn try_run(program: &str, args: &[&str]) -> Output {
    let path = bin_dir().join(program);
    let mut command = if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(&path);
        c
    } else {
        Command::new(&path)
    };
    command.args(args).output().unwrap()
}

impl Postgres {
    pub fn start() -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).unwrap();
        let data = dir.path().join("data");
        let data_arg = data.to_string_lossy().into_owned();
        run(
            "initdb",
            &[
                "-D",
                &data_arg,
                "-A",
                "trust",
                "-U",
                "tinct",
                "-E",
                "UTF8",
                "--no-locale",
            ],
        );
        let log = dir.path().join("postgres.log");
        // A free port is found by binding and letting go; should another test take it in
        // between, the server does not start: try another.
        let mut started = None;
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let options = format!(
                "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                dir.path().display()
            );
            let out = try_run(
                "pg_ctl",
                &[
                    "-D",
                    &data_arg,
                    "-o",
                    &options,
                    "-l",
                    &log.to_string_lossy(),
                    "-w",
                    "start",
                ],
            );
            if out.status.success() {
                started = Some(port);
                break;
            }
        }
        let port = started.unwrap_or_else(|| {
            panic!(
                "PostgreSQL did not start: {}",
                std::fs::read_to_string(&log).unwrap_or_default()
            )
        });
        Postgres { dir, port }
    }

    /// A URL for a new, empty database of this cluster.
    pub async fn new_database(&self) -> String {
        use sqlx::Connection;
        let name = format!("t{}", uuid::Uuid::now_v7().simple());
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres"))
            .await
            .unwrap();
        sqlx::Executor::execute(&mut admin, format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap();
        self.url(&name)
    }

    fn url(&self, database: &str) -> String {
        format!("postgres://tinct@127.0.0.1:{}/{database}", self.port)
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        let path = bin_dir().join("pg_ctl");
        let mut command = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = command
            .args([
                "-D".as_ref(),
                data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "stop".as_ref(),
            ])
            .output();
    }
}

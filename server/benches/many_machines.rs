//! Many machines, measured: jobs per second through the whole path (upload → queue → worker →
//! store → event at a subscriber of the web process) with 1, 2 and 4 `tinct worker` processes on
//! PostgreSQL and Garage, against one `tinct serve` on SQLite and a local folder measured in the
//! same run (the reference), with a trivially fast model (the tiny test graph at S = 64 on a
//! 240×160 scan), and the latency from a job's end (its `finished_at`) to the page's event.
//!
//! `cargo bench -p server --bench many_machines -- [--jobs N]`

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use support::garage::Garage;
use support::postgres::Postgres;
use support::processes::{done_events, models, tinct, wait_for, Process};
use support::test_data;

fn jobs_arg() -> usize {
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--jobs" {
            return it.next().and_then(|v| v.parse().ok()).unwrap_or(200).max(1);
        }
    }
    200
}

struct Measured {
    jobs_per_s: f64,
    /// Milliseconds from a job's `finished_at` to its `done` event at the subscriber.
    event_latency_ms: Vec<f64>,
}

fn port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One configuration: a web process (with its own workers when `workers` is 0) and `workers`
/// worker processes, `jobs` jobs submitted by 4 clients.
async fn measure(env: Vec<(&'static str, String)>, workers: usize, jobs: usize) -> Measured {
    let (models, logs, web_data) = (
        models(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    let database = env
        .iter()
        .find(|(k, _)| *k == "TINCT_DATABASE_URL")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| format!("sqlite://{}/tinct.db?mode=rwc", web_data.path().display()));
    let db = server::db::connect(Some(&database), logs.path())
        .await
        .unwrap();
    let admin =
        app::auth::store::add_user(&db, "admin", app::auth::Role::Admin, "admin-password-1")
            .await
            .unwrap();
    let (token, _) =
        app::auth::store::create_token(&db, admin, "bench", &app::auth::Scope::ALL, None)
            .await
            .unwrap();
    let bind = format!("127.0.0.1:{}", port());
    let mut args = vec![
        "serve",
        "--bind",
        &bind,
        "--site-root",
        "/nonexistent",
        "--job-workers",
        "1",
    ];
    if workers > 0 {
        args.push("--no-workers");
    }
    let mut processes: Vec<Process> = vec![tinct(
        &args,
        web_data.path(),
        models.path(),
        &env,
        logs.path().join("web.log"),
    )];
    let base = format!("http://{bind}");
    let http = reqwest::Client::new();
    wait_for("the web process", Duration::from_secs(60), || {
        let request = http.get(format!("{base}/healthz")).send();
        async move { request.await.ok().filter(|r| r.status().is_success()) }
    })
    .await;
    let worker_dirs: Vec<tempfile::TempDir> =
        (0..workers).map(|_| tempfile::tempdir().unwrap()).collect();
    for (i, dir) in worker_dirs.iter().enumerate() {
        processes.push(tinct(
            &["worker", "--job-workers", "1"],
            dir.path(),
            models.path(),
            &env,
            logs.path().join(format!("worker-{i}.log")),
        ));
    }
    let expected = workers.max(1) as i64;
    wait_for("the workers", Duration::from_secs(60), || {
        let db = db.clone();
        async move {
            let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM workers")
                .fetch_one(&db)
                .await
                .ok()?;
            (n == expected).then_some(())
        }
    })
    .await;

    let mut seen = done_events(&http, &base, &token).await;

    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    let start = Instant::now();
    let mut clients = Vec::new();
    for client in 0..4 {
        let (http, base, token, png) = (http.clone(), base.clone(), token.clone(), png.clone());
        let share = jobs / 4 + usize::from(client < jobs % 4);
        clients.push(tokio::spawn(async move {
            let mut left = share;
            while left > 0 {
                let count = left.min(10);
                left -= count;
                let mut form = reqwest::multipart::Form::new().text("size", "64");
                for n in 0..count {
                    let part = reqwest::multipart::Part::bytes(png.clone())
                        .file_name(format!("c{client}-{left}-{n}.png"));
                    form = form.part("images", part);
                }
                let sent = http
                    .post(format!("{base}/api/v1/jobs"))
                    .bearer_auth(&token)
                    .multipart(form)
                    .send()
                    .await
                    .unwrap();
                assert!(sent.status().is_success());
            }
        }));
    }
    for client in clients {
        client.await.unwrap();
    }
    let mut done_at: HashMap<String, String> = HashMap::new();
    while done_at.len() < jobs {
        let (id, at) = tokio::time::timeout(Duration::from_secs(300), seen.recv())
            .await
            .expect("no event for 300 s")
            .expect("the event stream ended");
        done_at.insert(id, at);
    }
    let jobs_per_s = jobs as f64 / start.elapsed().as_secs_f64();
    let finished: Vec<(String, String)> =
        sqlx::query_as("SELECT id, finished_at FROM jobs WHERE status = 'done'")
            .fetch_all(&db)
            .await
            .unwrap();
    let millis = |t: &str| {
        let parsed =
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap();
        (parsed.unix_timestamp_nanos() / 1_000_000) as f64
    };
    let event_latency_ms = finished
        .iter()
        .filter_map(|(id, end)| Some(millis(done_at.get(id)?) - millis(end)))
        .collect();
    drop(processes);
    Measured {
        jobs_per_s,
        event_latency_ms,
    }
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let jobs = jobs_arg();
    let mut rows = Vec::new();
    let reference = measure(Vec::new(), 0, jobs).await;
    rows.push((
        "SQLite + local folder, `tinct serve` (reference)",
        reference,
    ));
    // Where the difference comes from: each engine alone.
    {
        let garage = Garage::start();
        let mut env = garage.env();
        env.push(("TINCT_STORAGE_URL", "s3://tinct-test/bench".into()));
        rows.push((
            "SQLite + Garage, `tinct serve`",
            measure(env, 0, jobs).await,
        ));
    }
    {
        let (postgres, shared) = (Postgres::start(), tempfile::tempdir().unwrap());
        let env = vec![
            ("TINCT_DATABASE_URL", postgres.new_database().await),
            (
                "TINCT_STORAGE_URL",
                format!("file://{}", shared.path().display()),
            ),
        ];
        rows.push((
            "PostgreSQL + a shared local folder, 1 `tinct worker`",
            measure(env, 1, jobs).await,
        ));
    }
    for workers in [1, 2, 4] {
        let (postgres, garage) = (Postgres::start(), Garage::start());
        let mut env = garage.env();
        env.push(("TINCT_DATABASE_URL", postgres.new_database().await));
        env.push(("TINCT_STORAGE_URL", "s3://tinct-test/bench".into()));
        let label = match workers {
            1 => "PostgreSQL + Garage, 1 `tinct worker`",
            2 => "PostgreSQL + Garage, 2 `tinct worker`s",
            _ => "PostgreSQL + Garage, 4 `tinct worker`s",
        };
        rows.push((label, measure(env, workers, jobs).await));
    }
    let base = rows[0].1.jobs_per_s;
    println!(
        "jobs: {jobs} per configuration, 4 clients, tiny test graph at S = 64, 240×160 PNG; {} cores",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    println!("| configuration | jobs/s | ratio to the reference | end → event, median | p95 |");
    println!("|---|---|---|---|---|");
    for (label, mut measured) in rows {
        println!(
            "| {label} | {:.1} | {:.2} | {:.0} ms | {:.0} ms |",
            measured.jobs_per_s,
            measured.jobs_per_s / base,
            percentile(&mut measured.event_latency_ms, 0.5),
            percentile(&mut measured.event_latency_ms, 0.95),
        );
    }
}

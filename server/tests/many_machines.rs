//! Many machines, as processes on one: `tinct serve --no-workers`, two `tinct worker`s, a real
//! PostgreSQL and a real Garage. One worker is killed (SIGKILL) in the middle of a job; every job
//! still finishes exactly once, the killed worker's job by the other worker once its lease ran
//! out, and a subscriber of the web process sees each job finish once.

mod support;

use std::collections::HashMap;
use std::process::Command;
use std::time::Duration;

use app::auth::{store, Role, Scope};
use app::storage::{ObjectKey, ObjectStore, S3Store};

use support::garage::Garage;
use support::postgres::Postgres;
use support::processes::{done_events, models, tinct, wait_for, Process};
use support::test_data;

const JOBS: usize = 100;
const CLIENTS: usize = 4;
const LEASE_SECONDS: &str = "2";

/// Every process shares the database and the bucket.
fn many_machines_env(database: &str, garage: &Garage) -> Vec<(&'static str, String)> {
    let mut env = garage.env();
    env.push(("TINCT_DATABASE_URL", database.to_string()));
    env.push(("TINCT_STORAGE_URL", "s3://tinct-test/many".to_string()));
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_workers_one_killed_every_job_done_exactly_once() {
    let (postgres, garage, models) = (Postgres::start(), Garage::start(), models());
    let database = postgres.new_database().await;
    let logs = tempfile::tempdir().unwrap();
    let db = server::db::connect(Some(&database), logs.path())
        .await
        .unwrap();
    let admin = store::add_user(&db, "admin", Role::Admin, "admin-password-1")
        .await
        .unwrap();

    // The web side alone, then two workers on their own data directories ("machines").
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bind = format!("127.0.0.1:{port}");
    let web_data = tempfile::tempdir().unwrap();
    let _web = tinct(
        &[
            "serve",
            "--no-workers",
            "--bind",
            &bind,
            "--site-root",
            "/nonexistent",
        ],
        web_data.path(),
        models.path(),
        &many_machines_env(&database, &garage),
        logs.path().join("web.log"),
    );
    let base = format!("http://{bind}");
    let http = reqwest::Client::new();
    wait_for("the web process", Duration::from_secs(60), || {
        let request = http.get(format!("{base}/healthz")).send();
        async move { request.await.ok().filter(|r| r.status().is_success()) }
    })
    .await;
    let worker_data = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let mut workers: Vec<Option<Process>> = worker_data
        .iter()
        .enumerate()
        .map(|(i, data)| {
            Some(tinct(
                &[
                    "worker",
                    "--job-workers",
                    "2",
                    "--lease-seconds",
                    LEASE_SECONDS,
                ],
                data.path(),
                models.path(),
                &many_machines_env(&database, &garage),
                logs.path().join(format!("worker-{i}.log")),
            ))
        })
        .collect();
    let worker_ids: Vec<String> = wait_for("both workers", Duration::from_secs(60), || {
        let db = db.clone();
        async move {
            let ids: Vec<(String, i64)> =
                sqlx::query_as("SELECT id, pid FROM workers ORDER BY started_at")
                    .fetch_all(&db)
                    .await
                    .ok()?;
            (ids.len() == 2).then(|| ids.into_iter().map(|(id, _)| id).collect())
        }
    })
    .await;
    let pids: HashMap<String, i64> = sqlx::query_as("SELECT id, pid FROM workers")
        .fetch_all(&db)
        .await
        .unwrap()
        .into_iter()
        .collect();

    let (token, _) = store::create_token(&db, admin, "tests", &Scope::ALL, None)
        .await
        .unwrap();
    // A subscriber of the web process's events.
    let mut seen = done_events(&http, &base, &token).await;

    // 100 jobs from 4 clients at once, 5 images per request.
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    let mut clients = Vec::new();
    for client in 0..CLIENTS {
        let (http, base, token, png) = (http.clone(), base.clone(), token.clone(), png.clone());
        clients.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for request in 0..JOBS / CLIENTS / 5 {
                let mut form = reqwest::multipart::Form::new().text("size", "64");
                for n in 0..5 {
                    let part = reqwest::multipart::Part::bytes(png.clone())
                        .file_name(format!("c{client}-r{request}-{n}.png"));
                    form = form.part("images", part);
                }
                let answer: serde_json::Value = http
                    .post(format!("{base}/api/v1/jobs"))
                    .bearer_auth(&token)
                    .multipart(form)
                    .send()
                    .await
                    .unwrap()
                    .json()
                    .await
                    .unwrap();
                for file in answer["files"].as_array().unwrap() {
                    ids.push(file["job_id"].as_str().unwrap().to_string());
                }
            }
            ids
        }));
    }
    let mut ids = Vec::new();
    for client in clients {
        ids.extend(client.await.unwrap());
    }
    assert_eq!(ids.len(), JOBS);

    // Kill the first worker while it holds a running job: stopped first (SIGSTOP), so that the
    // jobs it holds are known for certain, then killed.
    let victim = worker_ids[0].clone();
    let signal = |name: &str, pid: i64| {
        let sent = Command::new("kill")
            .args([format!("-{name}"), pid.to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    };
    let pid = pids[&victim];
    let held: Vec<String> = wait_for(
        "a running job of the first worker",
        Duration::from_secs(60),
        || {
            let (db, victim) = (db.clone(), victim.clone());
            signal("STOP", pid);
            async move {
                let held: Vec<String> = sqlx::query_scalar(
                    "SELECT id FROM jobs WHERE status = 'running' AND lease_owner = $1",
                )
                .bind(victim)
                .fetch_all(&db)
                .await
                .ok()?;
                if held.is_empty() {
                    signal("CONT", pid);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    return None;
                }
                Some(held)
            }
        },
    )
    .await;
    signal("KILL", pid);
    let killed_at = app::db::now();
    // The process that registered first is not always the one started first.
    if let Some(slot) = workers
        .iter_mut()
        .find(|w| w.as_ref().is_some_and(|w| i64::from(w.0.id()) == pid))
    {
        if let Some(mut worker) = slot.take() {
            let _ = worker.0.wait();
        }
    }

    // Every job ends done; the killed worker's jobs were finished by the other one.
    wait_for("every job to finish", Duration::from_secs(240), || {
        let db = db.clone();
        async move {
            let done: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM jobs WHERE status = 'done'")
                .fetch_one(&db)
                .await
                .ok()?;
            (done == JOBS as i64).then_some(())
        }
    })
    .await;
    let rows: Vec<(String, String, String, i64, String)> = sqlx::query_as(
        "SELECT id, result_key, lease_owner, attempts, finished_at FROM jobs WHERE status = 'done'",
    )
    .fetch_all(&db)
    .await
    .unwrap();
    assert_eq!(rows.len(), JOBS);
    for (id, _, owner, attempts, finished_at) in &rows {
        if held.contains(id) {
            assert_eq!(owner, &worker_ids[1], "{id} was not taken over");
            assert!(*attempts >= 2, "{id} ran {attempts} time(s)");
            assert!(
                finished_at.as_str() > killed_at.as_str(),
                "{id} finished before the kill"
            );
        }
    }
    // Each result is in the store, under a key of its own.
    let bucket = S3Store::open(&garage.settings("many")).unwrap();
    let mut keys: Vec<&String> = rows.iter().map(|r| &r.1).collect();
    keys.sort();
    keys.dedup();
    assert_eq!(keys.len(), JOBS);
    for key in keys {
        assert!(
            bucket
                .exists(&ObjectKey::new(key.as_str()).unwrap())
                .await
                .unwrap(),
            "{key} is missing from the store"
        );
    }
    // The workers' counts add up, and the killed one is no longer alive.
    let counted: Vec<(String, i64)> = sqlx::query_as("SELECT id, jobs_done FROM workers")
        .fetch_all(&db)
        .await
        .unwrap();
    assert_eq!(counted.iter().map(|c| c.1).sum::<i64>(), JOBS as i64);

    // The subscriber saw each job finish exactly once.
    let mut done: HashMap<String, usize> = HashMap::new();
    wait_for("every done event", Duration::from_secs(30), || {
        while let Ok((id, _)) = seen.try_recv() {
            *done.entry(id).or_default() += 1;
        }
        let complete = done.len() == JOBS;
        async move { complete.then_some(()) }
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    while let Ok((id, _)) = seen.try_recv() {
        *done.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = done.iter().filter(|(_, n)| **n != 1).collect();
    assert!(twice.is_empty(), "jobs seen done more than once: {twice:?}");
    for id in &ids {
        assert!(done.contains_key(id), "no done event for {id}");
    }
    drop(workers);
}

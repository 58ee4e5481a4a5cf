//! Jobs leased to worker processes: a worker renews its claim while it works; a job whose
//! worker died is taken by another once the lease runs out, and finishes exactly once.

mod support;

use std::time::Duration;

use app::jobs::queue::{Completion, Lease};
use app::jobs::JobStatus;
use axum::body::Body;
use axum::http::{header, Request, StatusCode};

use support::{json, multipart, test_app_with, test_data, wait_until_finished, TestApp};

async fn submit_one(app: &TestApp) -> (String, String) {
    let png = std::fs::read(test_data("reference_input.png")).unwrap();
    let (content_type, body) = multipart(&[("size", "", b"64"), ("images", "a.png", &png)]);
    let request = Request::post("/api/v1/jobs")
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, body) = json(app.send(request).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (
        body["files"][0]["job_id"].as_str().unwrap().to_string(),
        body["batch_id"].as_str().unwrap().to_string(),
    )
}

fn lease(owner: &str, seconds: u32) -> Lease {
    Lease {
        owner: owner.into(),
        seconds,
    }
}

fn completion(result_key: &str) -> Completion {
    Completion {
        result_key: result_key.into(),
        model_sha256: "0".repeat(64),
        width: 1,
        height: 1,
        timings_json: "{}".into(),
        content_credentials: None,
        colours_key: None,
    }
}

#[tokio::test]
async fn a_renewed_lease_is_kept_and_an_abandoned_one_is_taken_over() {
    let app = test_app_with(0, 100, |_| {}).await;
    let queue = &app.workers.queue;
    let (id, _) = submit_one(&app).await;
    // The Admin page shows the queue per model (and that nothing colorizes yet).
    let (_, page) = app.get("/admin").await;
    assert!(page.contains("Workers and queue"), "{page}");
    assert!(
        page.contains("<td><code>tiny</code></td><td>1</td><td>0</td>"),
        "{page}"
    );
    assert!(page.contains("No process colorizes"), "{page}");
    let (alive, other) = (lease("worker-a", 1), lease("worker-b", 1));
    let claimed = queue.claim(&alive).await.unwrap().expect("a waiting job");
    assert_eq!((claimed.id.as_str(), claimed.attempts), (id.as_str(), 1));
    assert!(queue.claim(&other).await.unwrap().is_none());
    // Renewed three times a lease, for three leases: nobody else may take it.
    for _ in 0..9 {
        tokio::time::sleep(Duration::from_millis(333)).await;
        assert_eq!(queue.renew(&alive).await.unwrap(), 1);
        assert!(
            queue.claim(&other).await.unwrap().is_none(),
            "taken while renewed"
        );
    }
    // Worker A dies: after its lease, worker B takes the job (a second attempt).
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let taken = queue
        .claim(&other)
        .await
        .unwrap()
        .expect("the abandoned job");
    assert_eq!((taken.id.as_str(), taken.attempts), (id.as_str(), 2));
    // A renews too late: it no longer holds the job, and its result is not recorded.
    assert_eq!(queue.renew(&alive).await.unwrap(), 0);
    assert!(!queue
        .complete(&claimed, &alive, &completion("results/a.png"))
        .await
        .unwrap());
    assert!(!queue.fail(&claimed, &alive, "late").await.unwrap());
    // B finishes it, once. With PostgreSQL the outcome is announced to every process by the
    // transaction that records it: a worker stopped right after the commit (it never publishes
    // anything itself here) cannot leave a done job without its event.
    let mut events = app.workers.events.subscribe();
    assert!(queue
        .complete(&taken, &other, &completion("results/b.png"))
        .await
        .unwrap());
    if app.postgres.is_some() {
        // Earlier events (the submission's) may still be on their way.
        let done = async {
            while let Ok(event) = events.recv().await {
                if event.job_id == id && event.status == JobStatus::Done {
                    return true;
                }
            }
            false
        };
        let announced = tokio::time::timeout(Duration::from_secs(10), done).await;
        assert_eq!(announced, Ok(true), "no done event for the recorded job");
    }
    assert!(!queue
        .complete(&taken, &other, &completion("results/b.png"))
        .await
        .unwrap());
    let (status, job) = app.get_json(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["status"], "done");
    assert_eq!(job["attempts"], 2);
    // A job left running without a lease (by a version without leases, or moved by `tinct
    // migrate`) has nobody to renew it: it is taken too.
    let (second, _) = submit_one(&app).await;
    sqlx::query(
        "UPDATE jobs SET status = 'running', lease_owner = NULL, lease_until = NULL WHERE id = $1",
    )
    .bind(&second)
    .execute(&app.db)
    .await
    .unwrap();
    let orphan = queue
        .claim(&other)
        .await
        .unwrap()
        .expect("the job without a lease");
    assert_eq!(orphan.id, second);
    let key: String = sqlx::query_scalar("SELECT result_key FROM jobs WHERE id = $1")
        .bind(&id)
        .fetch_one(&app.db)
        .await
        .unwrap();
    assert_eq!(key, "results/b.png");
}

#[tokio::test]
async fn a_dead_workers_job_is_finished_by_a_live_worker_which_registered_itself() {
    let app = test_app_with(0, 100, |config| config.lease_seconds = 1).await;
    let (id, batch) = submit_one(&app).await;
    // A worker that took the job and died: it never renews and never finishes.
    let dead = lease("dead-worker", 1);
    let abandoned = app.workers.queue.claim(&dead).await.unwrap();
    let abandoned = abandoned.expect("the waiting job");
    let (_, job) = app.get_json(&format!("/api/v1/jobs/{id}")).await;
    assert_eq!(job["status"], "running");

    // This process's worker (registered at start) takes the job once the lease runs out.
    app.workers
        .queue
        .register_worker(&server::jobs::worker::describe(
            &app.workers.lease,
            &app.workers.engine,
            1,
        ))
        .await
        .unwrap();
    app.workers.start(1);
    let jobs = wait_until_finished(&app, &batch).await;
    assert_eq!(jobs[0]["status"], "done", "{:?}", jobs[0]);
    assert_eq!(jobs[0]["attempts"], 2);
    // The second run's result has a key of its own, so a late first run cannot overwrite it.
    let (key, owner): (String, String) =
        sqlx::query_as("SELECT result_key, lease_owner FROM jobs WHERE id = $1")
            .bind(&id)
            .fetch_one(&app.db)
            .await
            .unwrap();
    assert_eq!(key, format!("results/{id}-2.png"));
    assert_eq!(owner, app.workers.lease.owner);
    assert_eq!(app.stored_objects("results").await, 1);
    let (status, _) = app.get(&format!("/api/v1/jobs/{id}/result")).await;
    assert_eq!(status, StatusCode::OK);
    // The late first run is refused.
    let late = completion(&format!("results/{id}.png"));
    let refused = app.workers.queue.complete(&abandoned, &dead, &late);
    assert!(!refused.await.unwrap());
    assert_eq!(
        app.workers.queue.status(&id).await.unwrap(),
        Some(JobStatus::Done)
    );

    // The worker is listed with its jobs on the Admin page's report.
    let (done, heartbeat): (i64, String) =
        sqlx::query_as("SELECT jobs_done, heartbeat_at FROM workers WHERE id = $1")
            .bind(&app.workers.lease.owner)
            .fetch_one(&app.db)
            .await
            .unwrap();
    let alive = heartbeat >= app::db::now_plus(-2);
    assert_eq!((done, alive), (1, true));
    let (_, page) = app.get("/admin").await;
    let row = page
        .split(&format!("data-worker=\"{}\"", app.workers.lease.owner))
        .nth(1)
        .unwrap_or_else(|| panic!("the worker is not listed: {page}"));
    let row = &row[..row.find("</tr>").unwrap()];
    assert!(row.contains("working"), "{row}");
    assert!(row.contains("CPU"), "{row}");
    assert!(
        row.contains(&format!("pid {}", std::process::id())),
        "{row}"
    );
    assert!(page.contains("No job is waiting or running."), "{page}");
}

//! How much the job path (upload → queue → worker → storage → event stream) costs on top of the
//! engine, with a trivially fast model (the tiny test graph at S = 64 on a 240×160 scan).
//!
//! `cargo bench -p server --bench queue -- [--jobs N] [--workers W]`
//!
//! * Throughput: jobs per second through the whole path, as a ratio to the bare engine's
//!   colorizations per second measured in the same run (the reference).
//! * Added latency per job: from the `running` event to the `done` event seen by a subscriber of
//!   `/api/v1/events` (what a connected page listens to), minus the engine's own time for that
//!   job (decode, pre-processing, inference, post-processing, encode). It is everything the
//!   path adds after a worker takes the job: reading the original, storing the result, the
//!   database update and the event. Then the thumbnail fetch the page makes when it sees `done`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{header, Request};
use engine::encode::OutputFormat;
use engine::ColorizeRequest;
use tokio_stream::StreamExt;

use support::{json, multipart, test_app, test_data};

struct Args {
    jobs: usize,
    workers: usize,
}

fn args() -> Args {
    let mut args = Args {
        jobs: 200,
        workers: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || -> usize { it.next().and_then(|v| v.parse().ok()).unwrap_or(0) };
        match flag.as_str() {
            "--jobs" => args.jobs = value().max(1),
            "--workers" => args.workers = value().max(1),
            _ => {} // cargo bench passes `--bench`
        }
    }
    args
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values[((values.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let args = args();
    let app = test_app(args.workers, 1_000_000).await;
    let png = std::fs::read(test_data("reference_input.png")).unwrap();

    // Reference: the bare engine, same image, same size, same number of colorizations.
    let engine = support::engine(app.dir.path());
    let request = ColorizeRequest {
        model: None,
        size: Some(64),
        format: OutputFormat::Png,
        ..ColorizeRequest::default()
    };
    engine.colorize(&png, &request).unwrap(); // warm-up
    let start = Instant::now();
    for _ in 0..args.jobs {
        engine.colorize(&png, &request).unwrap();
    }
    let bare_per_s = args.jobs as f64 / start.elapsed().as_secs_f64();

    // A subscriber, as a connected page is.
    let batch = uuid::Uuid::now_v7().to_string();
    let response = app
        .send(
            Request::get(format!("/api/v1/events?batch={batch}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let mut events = response.into_body().into_data_stream();

    let start = Instant::now();
    let mut remaining = args.jobs;
    while remaining > 0 {
        let count = remaining.min(20);
        remaining -= count;
        let mut fields: Vec<(&str, &str, &[u8])> =
            vec![("batch", "", batch.as_bytes()), ("size", "", b"64")];
        fields.extend((0..count).map(|_| ("images", "scan.png", png.as_slice())));
        let (content_type, body) = multipart(&fields);
        let request = Request::post("/api/v1/jobs")
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap();
        let (status, body) = json(app.send(request).await).await;
        assert!(status.is_success(), "{body}");
    }

    // Read the stream until every job is done; note when each job's events arrived.
    let mut running_at: HashMap<String, Instant> = HashMap::new();
    let mut span: HashMap<String, f64> = HashMap::new();
    let mut pending = String::new();
    while span.len() < args.jobs {
        let chunk = tokio::time::timeout(Duration::from_secs(120), events.next())
            .await
            .expect("no event for 120 s")
            .unwrap()
            .unwrap();
        let now = Instant::now();
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let message: String = pending.drain(..end + 2).collect();
            let Some(data) = message.lines().find_map(|l| l.strip_prefix("data: ")) else {
                continue;
            };
            let event: serde_json::Value = serde_json::from_str(data).unwrap();
            let id = event["job_id"].as_str().unwrap().to_string();
            match event["status"].as_str().unwrap() {
                "running" => {
                    running_at.insert(id, now);
                }
                "done" => {
                    let ms = now.duration_since(running_at[&id]).as_secs_f64() * 1000.0;
                    span.insert(id, ms);
                }
                "failed" => panic!("a job failed: {event}"),
                _ => {}
            }
        }
    }
    let path_per_s = args.jobs as f64 / start.elapsed().as_secs_f64();

    // The engine's share of each span, from the timings the worker recorded.
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, timings FROM jobs WHERE batch_id = $1")
            .bind(&batch)
            .fetch_all(&app.db)
            .await
            .unwrap();
    let mut added: Vec<f64> = rows
        .iter()
        .map(|(id, timings)| {
            let t: serde_json::Value = serde_json::from_str(timings).unwrap();
            let engine_ms: f64 = [
                "decode_ms",
                "preprocess_ms",
                "inference_ms",
                "postprocess_ms",
                "encode_ms",
            ]
            .iter()
            .map(|k| t[k].as_f64().unwrap())
            .sum();
            (span[id] - engine_ms).max(0.0)
        })
        .collect();

    // The thumbnail a page fetches when it sees `done` (made once, then cached).
    let mut thumbnail = Vec::new();
    for (id, _) in rows.iter().take(50) {
        let start = Instant::now();
        let (status, _) = app.get(&format!("/api/v1/jobs/{id}/thumbnail")).await;
        assert!(status.is_success());
        thumbnail.push(start.elapsed().as_secs_f64() * 1000.0);
    }

    println!(
        "jobs: {}, workers: {}, model: tiny test graph at S=64, scan 240×160 PNG",
        args.jobs, args.workers
    );
    println!("| measure | value |");
    println!("|---|---|");
    println!("| bare engine (reference) | {bare_per_s:.1} colorizations/s |");
    println!("| whole job path | {path_per_s:.1} jobs/s |");
    println!("| ratio path / engine | {:.2} |", path_per_s / bare_per_s);
    println!("| added latency, median | {:.1} ms |", median(&mut added));
    println!(
        "| added latency, p95 | {:.1} ms |",
        percentile(&mut added, 0.95)
    );
    println!(
        "| first thumbnail fetch, median | {:.1} ms |",
        median(&mut thumbnail)
    );
}

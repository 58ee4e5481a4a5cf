//! `tinct submit`: the "batch restore a folder of old photos" script, done properly. Uploads
//! every image in a folder to a Tinct server over the API, shows a progress bar, downloads each
//! result as it finishes, and prints a summary. Run again, it resumes: results already in the
//! output folder are skipped and files uploaded before are not sent again (the state is kept in
//! `OUT/.tinct-submit.json`; each upload also carries an `Idempotency-Key`, so even an upload
//! whose answer was lost is not queued twice).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use app::jobs::{JobStatus, SubmitResponse};
use engine::encode::OutputFormat;
use indicatif::{ProgressBar, ProgressStyle};
use reqwest::{header, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::colorize::{collect_inputs, plan_outputs, Task};
use crate::config::{Common, Format, SubmitArgs};
use crate::error::CommandError;

const STATE_FILE: &str = ".tinct-submit.json";
/// Files per batch on the server (the job list answers up to 1000 per request).
const BATCH_FILES: usize = 500;

/// What earlier runs did, by input path.
#[derive(Debug, Default, Serialize, Deserialize)]
struct State {
    uploaded: BTreeMap<String, Uploaded>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Uploaded {
    sha256: String,
    job_id: String,
    batch_id: String,
}

impl State {
    fn load(out: &Path) -> State {
        std::fs::read(out.join(STATE_FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Written beside and renamed, so an interrupted run never leaves half a state file.
    fn save(&self, out: &Path) -> Result<(), CommandError> {
        let path = out.join(STATE_FILE);
        let partial = out.join(format!("{STATE_FILE}.partial"));
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| CommandError::Invalid(format!("cannot save the resume state: {e}")))?;
        std::fs::write(&partial, bytes)
            .and_then(|()| std::fs::rename(&partial, &path))
            .map_err(|e| CommandError::io(format!("cannot write {}", path.display()), e))
    }
}

/// The part of a job that the client follows.
#[derive(Debug, Deserialize)]
struct JobAnswer {
    id: String,
    status: JobStatus,
    error: Option<String>,
}

struct Client {
    http: reqwest::Client,
    server: String,
    token: String,
}

impl Client {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.trim_end_matches('/'))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, String> {
        let response = request
            .bearer_auth(&self.token)
            .send()
            .await
            .map_err(|e| format!("the server did not answer: {e}"))?;
        if response.status() == StatusCode::UNAUTHORIZED {
            return Err("the server refused the token (unknown, revoked or expired)".into());
        }
        Ok(response)
    }

    /// The server's sentence for a failed request.
    async fn refusal(response: reqwest::Response) -> String {
        let status = response.status();
        match response.json::<serde_json::Value>().await {
            Ok(body) => body["error"]
                .as_str()
                .map_or_else(|| status.to_string(), str::to_string),
            Err(_) => status.to_string(),
        }
    }
}

fn sha256_file(path: &Path) -> Result<String, String> {
    let mut file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| e.to_string())?;
    Ok(hex::encode(hasher.finalize()))
}

pub fn run(common: &Common, args: &SubmitArgs) -> Result<ExitCode, CommandError> {
    tokio::runtime::Runtime::new()
        .map_err(|e| CommandError::io("cannot start the async runtime", e))?
        .block_on(submit(common, args))
}

/// Where one input stands in this run.
enum Step {
    /// Its result is in the output folder already.
    AlreadyDone,
    /// Uploaded (now or before): waiting for its job.
    Waiting(Uploaded),
    Failed(String),
}

async fn submit(common: &Common, args: &SubmitArgs) -> Result<ExitCode, CommandError> {
    let format = match args.format {
        Format::Png => OutputFormat::Png,
        Format::Jpeg => OutputFormat::Jpeg { quality: 92 },
        Format::Tiff => OutputFormat::Tiff,
    };
    let (files, early_failures) = collect_inputs(&args.inputs);
    std::fs::create_dir_all(&args.out)
        .map_err(|e| CommandError::io(format!("cannot create {}", args.out.display()), e))?;
    // The output folder may sit inside the input folder: its results are not inputs.
    let out = args.out.canonicalize().unwrap_or_else(|_| args.out.clone());
    let tasks: Vec<Task> = plan_outputs(files, &args.out, format)
        .into_iter()
        .filter(|t| {
            !t.input
                .canonicalize()
                .is_ok_and(|input| input.starts_with(&out))
        })
        .collect();
    let client = Client {
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(600))
            .build()
            .map_err(|e| CommandError::Invalid(format!("cannot make an HTTP client: {e}")))?,
        server: args.server.clone(),
        token: args.token.clone(),
    };
    let mut state = State::load(&args.out);

    let progress = ProgressBar::new(tasks.len() as u64);
    progress.set_style(
        ProgressStyle::with_template("{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut steps: Vec<Step> = Vec::with_capacity(tasks.len());
    let (mut uploaded_now, mut resumed) = (0usize, 0usize);
    let mut batch = (uuid::Uuid::now_v7().to_string(), 0usize);
    for task in &tasks {
        if task.output.exists() {
            steps.push(Step::AlreadyDone);
            progress.inc(1);
            continue;
        }
        let key = task.input.to_string_lossy().to_string();
        let sha256 = match sha256_file(&task.input) {
            Ok(sha) => sha,
            Err(e) => {
                steps.push(Step::Failed(format!("cannot read it: {e}")));
                progress.inc(1);
                continue;
            }
        };
        if let Some(earlier) = state.uploaded.get(&key).filter(|u| u.sha256 == sha256) {
            steps.push(Step::Waiting(earlier.clone()));
            resumed += 1;
            continue;
        }
        // Checked here first, so a file the server would refuse is not sent at all.
        if let Err(e) = engine::decode::probe_file(&task.input, common.max_pixels) {
            steps.push(Step::Failed(e.to_string()));
            progress.inc(1);
            continue;
        }
        if batch.1 == BATCH_FILES {
            batch = (uuid::Uuid::now_v7().to_string(), 0);
        }
        progress.set_message(format!("uploading {}", display(&task.input)));
        match upload(&client, args, &batch.0, &task.input, &sha256).await {
            Ok(job_id) => {
                batch.1 += 1;
                let entry = Uploaded {
                    sha256,
                    job_id,
                    batch_id: batch.0.clone(),
                };
                state.uploaded.insert(key, entry.clone());
                state.save(&args.out)?;
                steps.push(Step::Waiting(entry));
                uploaded_now += 1;
            }
            Err(e) => {
                steps.push(Step::Failed(e));
                progress.inc(1);
            }
        }
    }

    // Wait for the jobs, batch by batch, downloading each result as soon as it is ready.
    let mut finished: BTreeMap<String, Result<(), String>> = BTreeMap::new();
    loop {
        let waiting: Vec<(&Task, &Uploaded)> = tasks
            .iter()
            .zip(&steps)
            .filter_map(|(t, s)| match s {
                Step::Waiting(u) if !finished.contains_key(&u.job_id) => Some((t, u)),
                _ => None,
            })
            .collect();
        if waiting.is_empty() {
            break;
        }
        progress.set_message(format!("{} colorizing on the server", waiting.len()));
        let mut batches: Vec<&str> = waiting.iter().map(|(_, u)| u.batch_id.as_str()).collect();
        batches.sort_unstable();
        batches.dedup();
        let mut statuses: BTreeMap<String, JobAnswer> = BTreeMap::new();
        for batch in batches {
            let response = client
                .send(
                    client
                        .http
                        .get(client.url("/api/v1/jobs"))
                        .query(&[("batch", batch)]),
                )
                .await
                .map_err(CommandError::Invalid)?;
            if !response.status().is_success() {
                return Err(CommandError::Invalid(Client::refusal(response).await));
            }
            let jobs: Vec<JobAnswer> = response.json().await.map_err(|e| {
                CommandError::Invalid(format!("the server's job list is unreadable: {e}"))
            })?;
            statuses.extend(jobs.into_iter().map(|j| (j.id.clone(), j)));
        }
        let mut progressed = false;
        for (task, uploaded) in waiting {
            let outcome = match statuses.get(&uploaded.job_id) {
                None => Some(Err(
                    "the job is no longer on the server (deleted?)".to_string()
                )),
                Some(job) if job.status == JobStatus::Done => {
                    Some(download(&client, &job.id, &task.output).await)
                }
                Some(job) if job.status == JobStatus::Failed => Some(Err(job
                    .error
                    .clone()
                    .unwrap_or_else(|| "failed on the server".into()))),
                Some(job) if job.status == JobStatus::Cancelled => {
                    Some(Err("cancelled on the server".into()))
                }
                Some(_) => None,
            };
            if let Some(outcome) = outcome {
                progressed = true;
                progress.inc(1);
                if let Err(reason) = &outcome {
                    progress.suspend(|| eprintln!("failed: {}: {reason}", task.input.display()));
                }
                finished.insert(uploaded.job_id.clone(), outcome);
            }
        }
        if !progressed {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    progress.finish_and_clear();

    let mut failures: Vec<(PathBuf, String)> = early_failures;
    let (mut downloaded, mut already) = (0usize, 0usize);
    for (task, step) in tasks.iter().zip(&steps) {
        match step {
            Step::AlreadyDone => already += 1,
            Step::Failed(reason) => failures.push((task.input.clone(), reason.clone())),
            Step::Waiting(u) => match finished.get(&u.job_id) {
                Some(Ok(())) => downloaded += 1,
                Some(Err(reason)) => failures.push((task.input.clone(), reason.clone())),
                None => failures.push((task.input.clone(), "never finished".into())),
            },
        }
    }
    println!(
        "{downloaded} colorized and downloaded into {}, {already} already there; {uploaded_now} uploaded now, {resumed} resumed from an earlier run.",
        args.out.display()
    );
    println!("Results are AI-assisted colorizations; the originals were not modified.");
    Ok(super::report_failures(&failures))
}

/// Uploads one file; answers its job id. Waits and tries again when the server is busy.
async fn upload(
    client: &Client,
    args: &SubmitArgs,
    batch: &str,
    path: &Path,
    sha256: &str,
) -> Result<String, String> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| format!("cannot read it: {e}"))?;
    let name = path
        .file_name()
        .map_or_else(|| "image".into(), |n| n.to_string_lossy().to_string());
    let format = match args.format {
        Format::Png => "png",
        Format::Jpeg => "jpeg",
        Format::Tiff => "tiff",
    };
    let key = format!(
        "tinct-submit-{sha256}-{}-{}-{format}-{batch}",
        args.preset.as_deref().unwrap_or("default"),
        args.size.map_or_else(|| "preset".into(), |s| s.to_string())
    );
    for _ in 0..30 {
        let mut form = reqwest::multipart::Form::new()
            .text("batch", batch.to_string())
            .text("format", format);
        if let Some(preset) = &args.preset {
            form = form.text("preset", preset.clone());
        }
        if let Some(size) = args.size {
            form = form.text("size", size.to_string());
        }
        form = form.part(
            "images",
            reqwest::multipart::Part::bytes(bytes.clone()).file_name(name.clone()),
        );
        let response = client
            .send(
                client
                    .http
                    .post(client.url("/api/v1/jobs"))
                    .header("Idempotency-Key", &key)
                    .multipart(form),
            )
            .await?;
        if matches!(
            response.status(),
            StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
        ) {
            let wait = response
                .headers()
                .get(header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok())
                .unwrap_or(5)
                .min(120);
            tokio::time::sleep(Duration::from_secs(wait)).await;
            continue;
        }
        if !response.status().is_success() {
            return Err(Client::refusal(response).await);
        }
        let answer: SubmitResponse = response
            .json()
            .await
            .map_err(|e| format!("unreadable answer: {e}"))?;
        let file = answer
            .files
            .into_iter()
            .next()
            .ok_or("the server answered for no file")?;
        return match (file.accepted, file.job_id) {
            (true, Some(job_id)) => Ok(job_id),
            _ => Err(file.error.unwrap_or_else(|| "refused by the server".into())),
        };
    }
    Err("the server stayed busy; run the command again later".into())
}

/// Fetches a result and writes it beside the target, then renames it into place.
async fn download(client: &Client, job_id: &str, output: &Path) -> Result<(), String> {
    let response = client
        .send(
            client
                .http
                .get(client.url(&format!("/api/v1/jobs/{job_id}/result"))),
        )
        .await?;
    if !response.status().is_success() {
        return Err(Client::refusal(response).await);
    }
    let bytes = response
        .bytes()
        .await
        .map_err(|e| format!("the download broke off: {e}"))?;
    let partial = output.with_extension("partial");
    tokio::fs::write(&partial, &bytes)
        .await
        .map_err(|e| format!("cannot write the result: {e}"))?;
    tokio::fs::rename(&partial, output)
        .await
        .map_err(|e| format!("cannot write the result: {e}"))
}

fn display(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().to_string(),
    )
}

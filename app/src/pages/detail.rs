//! One result: before/after comparison, how it was made, downloads.

use super::job_actions::{QueueButtons, ResultActions};
use crate::jobs::{JobRow, JobStatus};
use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

/// The job the detail view shows (the same row as every list).
pub type ResultDetail = JobRow;

#[server(endpoint = "job_detail")]
pub async fn job_detail(id: String) -> Result<Option<ResultDetail>, ServerFnError> {
    use crate::context::{internal, server_context};
    let who = crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    crate::jobs::read::one(&ctx.db, &who, &id)
        .await
        .map_err(|e| internal("the job could not be read", e))
}

#[component]
pub fn JobDetailPage() -> impl IntoView {
    let params = use_params_map();
    let detail = Resource::new(
        move || params.read().get("id").unwrap_or_default(),
        job_detail,
    );
    let changed = Callback::new(move |_| detail.refetch());
    view! {
        <p><a href="/gallery">"← Gallery"</a></p>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(Some(job)) => view! { <Detail job changed/> }.into_any(),
                    Ok(None) => view! { <h1>"No such result"</h1><p>"It may have been deleted."</p> }.into_any(),
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(job: ResultDetail, changed: Callback<()>) -> impl IntoView {
    let position = RwSignal::new(50u8);
    let base = format!("/api/v1/jobs/{}", job.id);
    let done = job.status == JobStatus::Done;
    let stage = |key: &str| {
        job.timings
            .as_deref()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(t).ok())
            .and_then(|t| t[key].as_f64())
            .map(|ms| format!("{ms:.0} ms"))
            .unwrap_or_else(|| "–".into())
    };
    let timings = format!(
        "inference {}, pre-processing {}, post-processing {}",
        stage("inference_ms"),
        stage("preprocess_ms"),
        stage("postprocess_ms")
    );
    let checksum = job
        .model_sha256
        .as_deref()
        .map(|s| s.chars().take(12).collect::<String>())
        .unwrap_or_default();
    view! {
        <h1>{job.original_name.clone()}</h1>
        <p class="ai-label">"AI-assisted colorization — the colours are the model's guess, not the original record."</p>
        {done
            .then(|| {
                view! {
                    <div class="compare" data-testid="compare" style=move || format!("--pos: {}%", position.get())>
                        <img src=format!("{base}/preview/original") alt="Original"/>
                        <img class="after" src=format!("{base}/preview/result") alt="Colorized"/>
                        <span class="compare-label left">"Original"</span>
                        <span class="compare-label right">"Colorized"</span>
                        <input
                            type="range"
                            min="0"
                            max="100"
                            aria-label="Compare original and colorized"
                            data-testid="compare-slider"
                            prop:value=move || position.get().to_string()
                            on:input=move |ev| position.set(event_target_value(&ev).parse().unwrap_or(50))
                        />
                    </div>
                }
            })}
        {job.error.clone().map(|e| view! { <p class="error">{e}</p> })}
        <div class="hero-actions">
            <QueueButtons id=job.id.clone() status=job.status changed/>
            {done.then(|| view! { <a class="button primary" href=format!("{base}/result") download="">"Download colour version"</a> })}
            <a class="button" href=format!("{base}/original") download="">"Download original"</a>
        </div>
        <section class="card">
            <h2>"How it was made"</h2>
            <dl class="facts" data-testid="provenance">
                <dt>"What it is"</dt>
                <dd data-testid="label">
                    "An AI-assisted colorization, and it says so inside the file: its XMP metadata names the "
                    "IPTC digital source type “composite with trained algorithmic media”, the model, the "
                    "preset, the software and the original."
                </dd>
                <dt>"Content Credentials"</dt>
                <dd data-testid="content-credentials">{match (done, job.content_credentials.clone()) {
                    (true, Some(signed)) => format!("C2PA manifest {signed}; it names the original as the parent and the colorization as the action"),
                    (true, None) => "Not signed (no signing certificate was configured when it was made)".to_string(),
                    (false, _) => "–".to_string(),
                }}</dd>
                <dt>"Original"</dt>
                <dd>{format!(
                    "{} (sha256 {}…), kept unchanged",
                    job.original_name,
                    job.original_sha256.chars().take(12).collect::<String>()
                )}</dd>
                <dt>"Status"</dt>
                <dd>{job.status.as_str()}</dd>
                <dt>"Model"</dt>
                <dd>{format!("{} (sha256 {checksum}…)", job.model)}</dd>
                <dt>"Preset"</dt>
                <dd>{job.preset.clone()}</dd>
                <dt>"Model input size"</dt>
                <dd>{format!("{} px", job.input_size)}</dd>
                <dt>"Image size"</dt>
                <dd>{match (job.width, job.height) {
                    (Some(w), Some(h)) => format!("{w} × {h} px (the original's)"),
                    _ => "–".into(),
                }}</dd>
                <dt>"Submitted"</dt>
                <dd>{job.created_at.clone()}</dd>
                <dt>"Finished"</dt>
                <dd>{job.finished_at.clone().unwrap_or_else(|| "–".into())}</dd>
                <dt>"Time"</dt>
                <dd>{timings}</dd>
            </dl>
        </section>
        <ResultActions id=job.id.clone() status=job.status preset=job.preset.clone()/>
    }
}

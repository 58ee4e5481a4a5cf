//! One photo: its versions compared with the slider, the review, colour corrections, how the
//! version was made, downloads. It follows the photo's events, so a re-run or a correction
//! appears without a reload.

mod correct;
mod review;
mod versions;

use leptos::prelude::*;

use crate::error::AppError;
use leptos_router::hooks::use_params_map;
use serde::{Deserialize, Serialize};

use super::job_actions::{QueueButtons, ResultActions};
use crate::components::local_time::{duration_text, LocalTime};
use crate::jobs::{JobRow, JobStatus};
use correct::CorrectionEditor;
pub use correct::{apply_correction, summary as correction_summary, ApplyCorrection};
use review::ReviewPanel;
pub use review::{review_photo, ReviewPhoto};
pub use versions::{choose_version, photo_versions, ChooseVersion, PhotoVersions};
use versions::{Compare, VersionList};

/// The job the detail view shows (the same row as every list).
pub type ResultDetail = JobRow;

/// What the detail view needs to draw a version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoPage {
    pub job: JobRow,
    /// Whether the person may correct, choose and review: staff and admins; viewers only read.
    pub may_edit: bool,
}

#[server(endpoint = "job_detail")]
pub async fn job_detail(id: String) -> Result<Option<PhotoPage>, AppError> {
    use crate::context::{internal, server_context};
    let who = crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    let job = crate::jobs::read::one(&ctx.db, &who, &id)
        .await
        .map_err(|e| internal("the job could not be read", e))?;
    Ok(job.map(|job| PhotoPage {
        job,
        // They can see it, so it is shared or their own (or they are an admin): staff may
        // change it (the job service checks again).
        may_edit: who.can_submit(),
    }))
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
                    Ok(Some(PhotoPage { job, may_edit })) => view! { <Detail job may_edit changed/> }.into_any(),
                    Ok(None) => view! { <h1>"No such result"</h1><p>"It may have been deleted."</p> }.into_any(),
                    Err(e) => view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn Detail(job: ResultDetail, may_edit: bool, changed: Callback<()>) -> impl IntoView {
    let base = format!("/api/v1/jobs/{}", job.id);
    let done = job.status == JobStatus::Done;
    // Every version of the photo, read again whenever one of them changes.
    let versions = Resource::new(
        {
            let id = job.id.clone();
            move || id.clone()
        },
        photo_versions,
    );
    follow_photo(
        job.batch_id.clone(),
        job.id.clone(),
        job.status,
        versions,
        changed,
    );
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
    // A job that never ran has no model checksum to show.
    let model = match job.model_sha256.as_deref() {
        Some(sha) => format!(
            "{} (sha256 {}…)",
            job.model,
            sha.chars().take(12).collect::<String>()
        ),
        None => job.model.clone(),
    };
    let took = match (&job.started_at, &job.finished_at) {
        (Some(start), Some(end)) => duration_text(start, end).map(|d| format!(", took {d}")),
        _ => None,
    }
    .unwrap_or_default();
    let what = match correct::summary(job.correction.as_deref()) {
        // Only a finished result is a colorization; a failed or cancelled job made nothing.
        _ if !done => format!(
            "Nothing yet: this job is {}; no colour version was made.",
            job.status.as_str()
        ),
        Some(summary) => format!(
            "An AI-assisted colorization whose colours a person corrected ({summary}), and it says \
             so inside the file: its XMP metadata names the IPTC digital source type “composite \
             with trained algorithmic media”, the model, the correction with its hints, the \
             software and the original."
        ),
        None => "An AI-assisted colorization, and it says so inside the file: its XMP metadata \
                 names the IPTC digital source type “composite with trained algorithmic media”, \
                 the model, the preset, the software and the original."
            .to_string(),
    };
    view! {
        <h1>{job.original_name.clone()}</h1>
        {done.then(|| view! {
            <p class="ai-label">"AI-assisted colorization — the colours are the model's guess, not the original record."</p>
        })}
        <Compare job=job.clone() versions/>
        {job.error.clone().map(|e| view! { <p class="error">{e}</p> })}
        <div class="hero-actions">
            {may_edit.then(|| view! { <QueueButtons id=job.id.clone() status=job.status changed/> })}
            {done.then(|| view! { <a class="button primary" href=format!("{base}/result") download="">"Download this version"</a> })}
            <a class="button" href=format!("{base}/original") download="">"Download original"</a>
        </div>
        <ReviewPanel job=job.clone() versions may_edit/>
        <VersionList current=job.id.clone() versions may_edit/>
        {(done && may_edit).then(|| view! { <CorrectionEditor job=job.clone() versions/> })}
        <section class="card">
            <h2>"How it was made"</h2>
            <dl class="facts" data-testid="provenance">
                <dt>"What it is"</dt>
                <dd data-testid="label">{what}</dd>
                <dt>"Content Credentials"</dt>
                <dd data-testid="content-credentials">{match (done, job.content_credentials.clone()) {
                    (true, Some(signed)) if job.correction.is_some() => format!(
                        "C2PA manifest {signed}; it names the original as the parent, the version corrected as an \
                         ingredient, and the colorization and the correction (by {}) as actions",
                        job.submitted_by.clone().unwrap_or_default()
                    ),
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
                <dd>{model}</dd>
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
                <dd>
                    <LocalTime iso=job.created_at.clone()/>
                    {format!(" by {}", job.submitted_by.clone().unwrap_or_else(|| "–".into()))}
                </dd>
                <dt>"Finished"</dt>
                <dd>{match job.finished_at.clone() {
                    Some(at) => view! { <LocalTime iso=at/> {took} }.into_any(),
                    None => "–".into_any(),
                }}</dd>
                <dt>"Time"</dt>
                <dd>{timings}</dd>
            </dl>
        </section>
        {may_edit.then(|| view! { <ResultActions id=job.id.clone() status=job.status preset=job.preset.clone()/> })}
    }
}

/// Follows the events of the photo's batch: any change re-reads the versions; a change of the
/// shown version's own status re-reads the page (a correction being edited is kept otherwise).
#[cfg_attr(not(feature = "hydrate"), allow(unused_variables))]
fn follow_photo(
    batch: Option<String>,
    id: String,
    status: JobStatus,
    versions: Resource<Result<Vec<JobRow>, AppError>>,
    changed: Callback<()>,
) {
    #[cfg(feature = "hydrate")]
    Effect::new(move |_| {
        use leptos::__reexports::send_wrapper::SendWrapper;
        use wasm_bindgen::prelude::*;
        use web_sys::{EventSource, MessageEvent};
        let Some(batch) = batch.clone() else { return };
        let Ok(source) = EventSource::new(&format!("/api/v1/events?batch={batch}")) else {
            return;
        };
        let id = id.clone();
        let on_job = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let event = e
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<crate::jobs::JobEvent>(&text).ok());
            if let Some(event) = event {
                if event.job_id == id && event.status != status {
                    changed.run(());
                } else {
                    versions.refetch();
                }
            }
        });
        let _ = source.add_event_listener_with_callback("job", on_job.as_ref().unchecked_ref());
        let source = SendWrapper::new((source, on_job));
        on_cleanup(move || source.0.close());
    });
}

//! Administration: where inference runs, signing, the models (`models`) and the users.

mod models;
mod workers;

use leptos::prelude::*;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

pub use models::{
    cancel_model_download, download_model, models_report, remove_model, set_default_model,
    CancelModelDownload, DownloadModel, ModelsReportFn, ModelsSection, RemoveModel,
    SetDefaultModel,
};

pub use workers::{WorkersReport, WorkersReportFn, WorkersSection};

use super::users::UsersSection;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EngineReport {
    pub provider: String,
    /// The device and, on the CPU, the threads per inference.
    pub device: String,
    /// Model sessions per loaded model (`--workers`).
    pub sessions: usize,
    /// Most images of one size run together (`--max-batch`).
    pub max_batch: usize,
    /// Jobs colorized at the same time (`--job-workers`).
    pub job_workers: usize,
    /// Who signs results with Content Credentials, in words; `None` when nobody does.
    pub signer: Option<String>,
}

#[server(endpoint = "engine_status")]
pub async fn engine_status() -> Result<EngineReport, AppError> {
    use crate::context::{internal, server_context};
    crate::auth::require(|p| p.is_admin())?;
    let ctx = server_context()?;
    let engine = ctx.engine.clone();
    let default = engine
        .model(None)
        .map_err(|e| internal("the default model is not available", e))?;
    Ok(EngineReport {
        provider: default.execution.provider.clone(),
        device: default.execution.device.clone(),
        sessions: engine.settings().workers,
        max_batch: engine.settings().max_batch,
        job_workers: ctx.job_workers,
        signer: ctx.signer.as_ref().map(|s| s.to_string()),
    })
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let report = Resource::new(|| (), |_| engine_status());
    view! {
        <h1>"Admin"</h1>
        <Suspense fallback=|| view! { <p>"Loading…"</p> }>
            {move || Suspend::new(async move {
                match report.await {
                    Ok(report) => {
                        view! {
                            <section class="card">
                                <h2>"Inference"</h2>
                                <dl class="facts" data-testid="execution">
                                    <dt>"Execution provider"</dt>
                                    <dd>{report.provider}</dd>
                                    <dt>"Device"</dt>
                                    <dd>{report.device}</dd>
                                    <dt>"Jobs at the same time"</dt>
                                    <dd>{report.job_workers}" (--job-workers)"</dd>
                                    <dt>"Model sessions"</dt>
                                    <dd>{report.sessions}" per model (--workers)"</dd>
                                    <dt>"Batch"</dt>
                                    <dd>"up to "{report.max_batch}" images of one size (--max-batch)"</dd>
                                </dl>
                            </section>
                            <section class="card">
                                <h2>"Content Credentials"</h2>
                                <p data-testid="signing">
                                    {match report.signer {
                                        Some(signer) => format!(
                                            "Results are signed with a C2PA manifest by {signer}. It names the original and the colorization, and any change to the file breaks it."
                                        ),
                                        None => "Not signed: no signing certificate is configured. Results still carry their XMP provenance; start Tinct with --c2pa-cert and --c2pa-key to sign them too (see the README).".to_string(),
                                    }}
                                </p>
                            </section>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any(),
                }
            })}
        </Suspense>
        <WorkersSection/>
        <ModelsSection/>
        <UsersSection/>
    }
}

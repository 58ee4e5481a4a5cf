//! The start page: what Tinct does, which model is active, and a live status check.

use leptos::prelude::*;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct StatusReport {
    pub database: String,
    pub jobs_total: i64,
    pub jobs_queued: i64,
    pub model_label: String,
    pub execution_device: String,
}

/// Reads the database and the engine: proves both answer.
#[server(endpoint = "system_status")]
pub async fn system_status() -> Result<StatusReport, AppError> {
    use crate::context::{internal, server_context};
    crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    let (database, jobs_total, jobs_queued) = crate::jobs::read::overview(&ctx.db)
        .await
        .map_err(|e| internal("the database could not be read", e))?;
    let model = ctx
        .engine
        .model(None)
        .map_err(|e| internal("the default model is not available", e))?;
    Ok(StatusReport {
        database,
        jobs_total,
        jobs_queued,
        model_label: model.model.label().to_string(),
        execution_device: model.execution.device.clone(),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelSummary {
    pub label: String,
    pub notice: Option<String>,
}

/// The default model's name and its caveat (Tinct-mini says it is of demo quality).
#[server(endpoint = "active_model")]
pub async fn active_model() -> Result<ModelSummary, AppError> {
    use crate::context::{internal, server_context};
    crate::auth::require(|p| p.can_read())?;
    let ctx = server_context()?;
    let model = ctx
        .engine
        .registry()
        .get(&ctx.engine.registry().default_name())
        .map_err(|e| internal("the default model is not registered", e))?;
    Ok(ModelSummary {
        label: model.label().to_string(),
        notice: model.manifest.notice.clone(),
    })
}

#[component]
pub fn HomePage() -> impl IntoView {
    let check = ServerAction::<SystemStatus>::new();
    let model = Resource::new(|| (), |_| active_model());
    let pending = check.pending();
    view! {
        <section class="hero">
            <h1>"Give colour back to black-and-white archive photographs"</h1>
            <p class="lead">
                "Upload scans, let the colorization model work, compare each result with its original and download the colour versions. "
                "Originals are never modified, and every result is labelled as an AI-assisted colorization."
            </p>
            <div class="hero-actions">
                <a class="button primary" href="/upload">"Upload scans"</a>
                <a class="button" href="/gallery">"Open the gallery"</a>
            </div>
        </section>
        <Suspense fallback=|| ()>
            {move || Suspend::new(async move {
                model
                    .await
                    .ok()
                    .map(|model| {
                        view! {
                            <section class="card model-notice" data-testid="active-model">
                                <h2>{format!("Colorization model: {}", model.label)}</h2>
                                {model.notice.map(|notice| view! { <p>{notice}</p> })}
                            </section>
                        }
                    })
            })}
        </Suspense>
        <section class="card" aria-labelledby="status-title">
            <h2 id="status-title">"System status"</h2>
            <p>"Check that the database and the colorization engine answer."</p>
            <button
                class="button"
                data-testid="check-status"
                disabled=move || pending.get()
                on:click=move |_| {
                    check.dispatch(SystemStatus {});
                }
            >
                {move || if pending.get() { "Checking…" } else { "Check status" }}
            </button>
            <div aria-live="polite">
                {move || {
                    check
                        .value()
                        .get()
                        .map(|result| match result {
                            Ok(status) => {
                                view! {
                                    <dl class="facts" data-testid="status-result">
                                        <dt>"Database"</dt>
                                        <dd>{status.database}</dd>
                                        <dt>"Jobs"</dt>
                                        <dd>{format!("{} in total, {} waiting", status.jobs_total, status.jobs_queued)}</dd>
                                        <dt>"Model"</dt>
                                        <dd>{status.model_label}</dd>
                                        <dt>"Runs on"</dt>
                                        <dd>{status.execution_device}</dd>
                                    </dl>
                                }
                                    .into_any()
                            }
                            Err(e) => view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any(),
                        })
                }}
            </div>
        </section>
    }
}

//! Buttons that change a job: cancel, retry, re-run with another preset, delete. Used by the
//! detail view and the history; the work is done by the server's job queue.

use leptos::prelude::*;

use crate::error::AppError;

use crate::jobs::JobStatus;
use leptos_router::hooks::use_navigate;

use super::upload::list_presets;

#[server(endpoint = "cancel_job")]
pub async fn cancel_job(id: String) -> Result<(), AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    server_context()?
        .jobs
        .cancel(&principal()?, &id)
        .await
        .map_err(job_error)
}

#[server(endpoint = "retry_job")]
pub async fn retry_job(id: String) -> Result<(), AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    server_context()?
        .jobs
        .retry(&principal()?, &id)
        .await
        .map_err(job_error)
}

/// Colorizes the same original again with `preset`, and with another installed `model` and
/// input `size` when given (empty: the preset's); answers the new job's id.
#[server(endpoint = "rerun_job")]
pub async fn rerun_job(
    id: String,
    preset: String,
    model: Option<String>,
    size: Option<String>,
) -> Result<String, AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    let size =
        match size.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(text) => Some(text.parse::<u32>().map_err(|_| {
                AppError::refused("the input size must be a whole number, e.g. 512")
            })?),
            None => None,
        };
    let model = model.filter(|m| !m.is_empty());
    server_context()?
        .jobs
        .rerun(&principal()?, &id, &preset, model.as_deref(), size)
        .await
        .map_err(job_error)
}

/// An installed model, as a person picks one.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ModelChoice {
    pub name: String,
    pub label: String,
    pub family: String,
    pub default_input_size: u32,
}

/// The options of every model picker: the preset's own model first, then each installed model
/// with its family and the input size it runs at.
#[component]
pub fn ModelOptions(models: Vec<ModelChoice>) -> impl IntoView {
    view! {
        <option value="">"the preset's model"</option>
        {models
            .into_iter()
            .map(|m| {
                let text = format!("{} ({}, {} px)", m.label, m.family, m.default_input_size);
                view! { <option value=m.name>{text}</option> }
            })
            .collect_view()}
    }
}

/// The installed models anyone signed in may colorize with.
#[server(endpoint = "installed_models")]
pub async fn installed_models() -> Result<Vec<ModelChoice>, AppError> {
    use crate::context::{internal, server_context};
    crate::auth::principal()?;
    let models = server_context()?
        .engine
        .registry()
        .list()
        .map_err(|e| internal("the models could not be listed", e))?;
    Ok(models
        .into_iter()
        .map(|m| ModelChoice {
            label: m.label().to_string(),
            family: m.manifest.family.label().to_string(),
            default_input_size: m.manifest.default_input_size,
            name: m.manifest.name,
        })
        .collect())
}

#[server(endpoint = "delete_job")]
pub async fn delete_job(id: String) -> Result<(), AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    server_context()?
        .jobs
        .delete(&principal()?, &id)
        .await
        .map_err(job_error)
}

/// Cancel (while waiting) or retry (after a failure); `changed` runs after either succeeds.
#[component]
pub fn QueueButtons(id: String, status: JobStatus, changed: Callback<()>) -> impl IntoView {
    let cancel = ServerAction::<CancelJob>::new();
    let retry = ServerAction::<RetryJob>::new();
    Effect::new(move |_| {
        if matches!(cancel.value().get(), Some(Ok(())))
            || matches!(retry.value().get(), Some(Ok(())))
        {
            changed.run(());
        }
    });
    let button = match status {
        JobStatus::Queued => Some(
            view! {
                <ActionForm action=cancel attr:class="inline">
                    <input type="hidden" name="id" value=id.clone()/>
                    <button class="button small" type="submit" data-testid="cancel-job">"Cancel"</button>
                </ActionForm>
            }
            .into_any(),
        ),
        JobStatus::Failed | JobStatus::Cancelled => Some(
            view! {
                <ActionForm action=retry attr:class="inline">
                    <input type="hidden" name="id" value=id.clone()/>
                    <button class="button small" type="submit" data-testid="retry-job">"Retry"</button>
                </ActionForm>
            }
            .into_any(),
        ),
        _ => None,
    };
    view! {
        {button}
        {move || match (cancel.value().get(), retry.value().get()) {
            (Some(Err(e)), _) | (_, Some(Err(e))) => Some(view! { <span class="error" role="alert">{super::login::server_message(&e)}</span> }),
            _ => None,
        }}
    }
}

/// Re-run with another preset and delete, for the detail view.
#[component]
pub fn ResultActions(id: String, status: JobStatus, preset: String) -> impl IntoView {
    let rerun = ServerAction::<RerunJob>::new();
    let delete = ServerAction::<DeleteJob>::new();
    let presets = Resource::new(|| (), |_| list_presets());
    let models = Resource::new(|| (), |_| installed_models());
    let confirming = RwSignal::new(false);
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(new_id)) = rerun.value().get() {
            navigate(&format!("/gallery/{new_id}"), Default::default());
        } else if let Some(Ok(())) = delete.value().get() {
            navigate("/gallery", Default::default());
        }
    });
    let running = status == JobStatus::Running;
    let current = preset;
    let rerun_id = id.clone();
    let delete_id = id;
    view! {
        <section class="card actions" data-testid="result-actions">
            <h2>"Do more with it"</h2>
            <Suspense>
                {move || Suspend::new({
                    let (id, current) = (rerun_id.clone(), current.clone());
                    async move {
                        let presets = presets.await.unwrap_or_default();
                        let models = models.await.unwrap_or_default();
                        // Offer the first other preset: re-running with the same one is rarely meant.
                        let pick = presets.iter().find(|p| p.name != current).map(|p| p.name.clone());
                        view! {
                            <ActionForm action=rerun attr:class="inline">
                                <input type="hidden" name="id" value=id/>
                                <label>
                                    "Colorize again with "
                                    <select name="preset" data-testid="rerun-preset">
                                        {presets
                                            .into_iter()
                                            .map(|p| {
                                                let selected = pick.as_deref() == Some(p.name.as_str());
                                                view! { <option value=p.name.clone() selected=selected>{p.title}</option> }
                                            })
                                            .collect_view()}
                                    </select>
                                </label>
                                " "
                                <label>
                                    "on "
                                    <select name="model" data-testid="rerun-model">
                                        <ModelOptions models/>
                                    </select>
                                </label>
                                " "
                                <label>
                                    "at "
                                    <input name="size" inputmode="numeric" size="5" placeholder="its size" data-testid="rerun-size" aria-label="Model input size in pixels (empty: the model's or preset's)"/>
                                    " px"
                                </label>
                                " "
                                <button class="button" type="submit" data-testid="rerun-job">"Re-run"</button>
                                <span class="meta">" Try another model or size: a new version of this photo, compared side by side with the others; this result stays."</span>
                            </ActionForm>
                        }
                    }
                })}
            </Suspense>
            <p>
                <Show when=move || !running && !confirming.get()>
                    <button class="button danger" type="button" data-testid="delete-job"
                        on:click=move |_| confirming.set(true)>"Delete this result…"</button>
                </Show>
                <Show when=move || confirming.get()>
                    {
                        let id = delete_id.clone();
                        view! {
                            <ActionForm action=delete attr:class="inline">
                                <input type="hidden" name="id" value=id/>
                                <span>"The colour version and its previews are removed; the original stays while another job uses it. "</span>
                                <button class="button danger" type="submit" data-testid="confirm-delete">"Delete"</button>
                                " "
                                <button class="button" type="button" on:click=move |_| confirming.set(false)>"Keep it"</button>
                            </ActionForm>
                        }
                    }
                </Show>
            </p>
            {move || {
                let rerun_failed = rerun.value().get().and_then(Result::err);
                let delete_failed = delete.value().get().and_then(Result::err);
                rerun_failed.or(delete_failed).map(|e| view! { <p class="error">{crate::pages::login::server_message(&e)}</p> })
            }}
        </section>
    }
}

//! The models on the Admin page: installed ones (make default, remove), the catalogue
//! (download with live progress, cancel), each with its licence and checksum.

use leptos::prelude::*;

use crate::error::AppError;

use crate::models::{human_bytes, DownloadState, DownloadStatus, ModelsReport};
use crate::pages::login::server_message;

#[cfg(feature = "ssr")]
fn models_service() -> Result<crate::models::service::ModelService, AppError> {
    crate::auth::require(|p| p.is_admin())?;
    Ok(crate::context::server_context()?.models)
}

#[cfg(feature = "ssr")]
fn model_error(error: crate::models::service::ModelError) -> AppError {
    if error.is_user_error() {
        AppError::refused(error.to_string())
    } else {
        crate::context::internal("the models could not be changed", error)
    }
}

#[server(name = ModelsReportFn, endpoint = "models_report")]
pub async fn models_report() -> Result<ModelsReport, AppError> {
    models_service()?.report().map_err(model_error)
}

/// Starts downloading a catalogue model; `sha256` is the administrator's checksum for an
/// entry whose publisher gives none.
#[server(endpoint = "download_model")]
pub async fn download_model(name: String, sha256: Option<String>) -> Result<(), AppError> {
    let sha256 = sha256.filter(|s| !s.trim().is_empty());
    models_service()?
        .start_download(&name, sha256)
        .map_err(model_error)
}

#[server(endpoint = "cancel_model_download")]
pub async fn cancel_model_download(name: String) -> Result<(), AppError> {
    models_service()?
        .cancel_download(&name)
        .map_err(model_error)
}

#[server(endpoint = "set_default_model")]
pub async fn set_default_model(name: String) -> Result<(), AppError> {
    models_service()?.set_default(&name).map_err(model_error)
}

#[server(endpoint = "remove_model")]
pub async fn remove_model(name: String) -> Result<(), AppError> {
    models_service()?.remove(&name).await.map_err(model_error)
}

#[component]
pub fn ModelsSection() -> impl IntoView {
    let download = ServerAction::<DownloadModel>::new();
    let cancel = ServerAction::<CancelModelDownload>::new();
    let make_default = ServerAction::<SetDefaultModel>::new();
    let remove = ServerAction::<RemoveModel>::new();
    // Bumped while a download runs, so the progress is read again.
    let poll = RwSignal::new(0u32);
    let report = Resource::new(
        move || {
            (
                poll.get(),
                download.version().get(),
                cancel.version().get(),
                make_default.version().get(),
                remove.version().get(),
            )
        },
        |_| models_report(),
    );
    Effect::new(move |_| {
        let running = report.get().and_then(Result::ok).is_some_and(|r| {
            r.downloads
                .iter()
                .any(|d| d.state == DownloadState::Running)
        });
        if running {
            set_timeout(
                move || poll.update(|n| *n += 1),
                std::time::Duration::from_millis(700),
            );
        }
    });
    let installed_error = move || {
        [
            make_default.value().get().and_then(Result::err),
            remove.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <p class="error" role="alert" data-testid="installed-error">{server_message(&e)}</p> })
    };
    let download_error = move || {
        [
            download.value().get().and_then(Result::err),
            cancel.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <p class="error" role="alert" data-testid="download-error">{server_message(&e)}</p> })
    };
    view! {
        <section class="card" data-testid="models-section">
            <h2>"Models"</h2>
            <Transition fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    report.await.map(|report| view! {
                        <InstalledModels report=report.clone() make_default remove/>
                        {installed_error}
                        <Downloads downloads=report.downloads.clone() cancel/>
                        <h3 id="catalogue-heading">"Catalogue"</h3>
                        <p class="hint">
                            {match &report.mirror {
                                Some(mirror) => format!("Downloads come from the mirror {mirror}."),
                                None => "Downloads come from each model's publisher; each file's size and SHA-256 are checked before it is installed. The same from a terminal: tinct models pull NAME.".to_string(),
                            }}
                        </p>
                        {report.catalogue_error.clone().map(|e| view! { <p class="error">{e}</p> })}
                        {download_error}
                        <CatalogueTable report download/>
                    })
                })}
            </Transition>
        </section>
    }
}

#[component]
fn InstalledModels(
    report: ModelsReport,
    make_default: ServerAction<SetDefaultModel>,
    remove: ServerAction<RemoveModel>,
) -> impl IntoView {
    let default_fixed = report.default_fixed;
    view! {
        <h3>"Installed"</h3>
        {default_fixed.then(|| view! {
            <p class="hint">"The default model is set by the server's configuration (--default-model)."</p>
        })}
        <div class="table-scroll" tabindex="0" role="region" aria-label="Installed models">
            <table class="models" data-testid="models">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"Family"</th>
                        <th>"Input size"</th>
                        <th>"SHA-256"</th>
                        <th>"Origin"</th>
                        <th>"Licence"</th>
                        <th>"Actions"</th>
                    </tr>
                </thead>
                <tbody>
                    {report.installed.into_iter().map(|m| {
                        let name = m.name.clone();
                        let remove_name = m.name.clone();
                        let label = m.label.clone();
                        view! {
                            <tr data-model=m.name.clone()>
                                <td>
                                    {m.label}
                                    {m.is_default.then_some(view! { <span class="badge">"default"</span> })}
                                    <br/><code class="small">{m.name.clone()}</code>
                                </td>
                                <td>{m.family}</td>
                                <td>{m.default_input_size}</td>
                                <td><code class="checksum" title=m.sha256.clone()>{m.sha256.chars().take(16).collect::<String>()}"…"</code></td>
                                <td>
                                    {if m.builtin { "shipped" } else { "installed here" }}
                                    {m.variant.map(|v| view! {
                                        <p class="hint" data-testid="variant">
                                            "variant of " <code>{v.parent}</code>
                                            " (sha256 " {v.parent_sha256.chars().take(12).collect::<String>()} "…): "
                                            {v.method} "; calibration: " {v.calibration}
                                        </p>
                                    })}
                                </td>
                                <td class="licence">{m.licence}</td>
                                <td>
                                    {(!m.is_default && !default_fixed).then(|| view! {
                                        <ActionForm action=make_default attr:class="inline">
                                            <input type="hidden" name="name" value=name/>
                                            <button class="button small" type="submit" aria-label=format!("Make default: {label}")>"Make default"</button>
                                        </ActionForm>
                                    })}
                                    {(!m.builtin && !m.is_default).then(|| view! {
                                        <ActionForm action=remove attr:class="inline">
                                            <input type="hidden" name="name" value=remove_name.clone()/>
                                            <button class="button small danger" type="submit" aria-label=format!("Remove {remove_name}")>"Remove"</button>
                                        </ActionForm>
                                    })}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn Downloads(
    downloads: Vec<DownloadStatus>,
    cancel: ServerAction<CancelModelDownload>,
) -> impl IntoView {
    view! {
        <ul class="downloads" data-testid="downloads" aria-live="polite">
            {downloads.into_iter().map(|d| {
                let name = d.name.clone();
                let amount = match d.total {
                    Some(total) => format!("{} of {}", human_bytes(d.done), human_bytes(total)),
                    None => human_bytes(d.done),
                };
                let state = match &d.state {
                    DownloadState::Running => format!("Downloading {name}: {amount}"),
                    DownloadState::Installed => format!("{name} was downloaded, verified and installed."),
                    DownloadState::Cancelled => format!("The download of {name} was cancelled."),
                    DownloadState::Failed(reason) => format!("The download of {name} failed: {reason}"),
                };
                let failed = matches!(d.state, DownloadState::Failed(_));
                let running = d.state == DownloadState::Running;
                let key = name.clone();
                view! {
                    <li data-download=key class:error=failed>
                        <span role="status">{state}</span>
                        {running.then(move || view! {
                            <progress
                                max=d.total.unwrap_or(0).to_string()
                                value=d.done.to_string()
                                aria-label=format!("Download of {name}")
                            >{d.percent().map(|p| format!("{p} %"))}</progress>
                            <ActionForm action=cancel attr:class="inline">
                                <input type="hidden" name="name" value=name.clone()/>
                                <button class="button small" type="submit">"Cancel"</button>
                            </ActionForm>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

#[component]
fn CatalogueTable(report: ModelsReport, download: ServerAction<DownloadModel>) -> impl IntoView {
    let running: Vec<String> = report
        .downloads
        .iter()
        .filter(|d| d.state == DownloadState::Running)
        .map(|d| d.name.clone())
        .collect();
    view! {
        <div class="table-scroll" tabindex="0" role="region" aria-labelledby="catalogue-heading">
            <table class="models" data-testid="catalogue">
                <thead>
                    <tr>
                        <th>"Model"</th>
                        <th>"Family"</th>
                        <th>"Size"</th>
                        <th>"Input size"</th>
                        <th>"Licence"</th>
                        <th>"SHA-256"</th>
                        <th>"Download"</th>
                    </tr>
                </thead>
                <tbody>
                    {report.catalogue.into_iter().map(|e| {
                        let busy = running.contains(&e.name);
                        let sha_id = format!("sha-{}", e.name);
                        let key = e.name.clone();
                        view! {
                            <tr data-entry=key>
                                <td>
                                    {e.label.clone()}<br/><code class="small">{e.name.clone()}</code>
                                    <p class="hint">{e.note.clone()}" "{e.precision.clone()}"."</p>
                                </td>
                                <td>{e.family.clone()}</td>
                                <td>{e.size.map_or("not published".to_string(), human_bytes)}</td>
                                <td>{e.input_sizes.clone()}</td>
                                <td class="licence">{e.licence.clone()}</td>
                                <td>
                                    {match e.sha256.clone() {
                                        Some(sha) => view! { <code class="checksum" title=sha.clone()>{sha.chars().take(16).collect::<String>()}"…"</code> }.into_any(),
                                        None => view! { <span>"not published"</span> }.into_any(),
                                    }}
                                    <p class="hint">{e.checksum_source.clone()}</p>
                                </td>
                                <td>
                                    {if e.installed {
                                        view! { <span class="badge">"installed"</span> }.into_any()
                                    } else if busy {
                                        view! { <span>"downloading…"</span> }.into_any()
                                    } else {
                                        let needs_sha = e.sha256.is_none();
                                        view! {
                                            <ActionForm action=download attr:class="stacked">
                                                <input type="hidden" name="name" value=e.name.clone()/>
                                                {needs_sha.then(|| view! {
                                                    <label for=sha_id.clone()>"SHA-256 you trust"</label>
                                                    <input id=sha_id.clone() name="sha256" required pattern="[0-9a-fA-F]{64}" size="20" autocomplete="off"/>
                                                })}
                                                <button class="button small primary" type="submit" aria-label=format!("Download {}", e.label)>"Download"</button>
                                            </ActionForm>
                                        }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

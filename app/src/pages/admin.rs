//! Administration: the models and where inference runs.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

use super::users::UsersSection;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ModelRow {
    pub name: String,
    pub label: String,
    pub default_input_size: u32,
    pub sha256_prefix: String,
    pub builtin: bool,
    pub is_default: bool,
    pub licence: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct EngineReport {
    pub provider: String,
    pub device: String,
    pub models: Vec<ModelRow>,
    /// Who signs results with Content Credentials, in words; `None` when nobody does.
    pub signer: Option<String>,
}

#[server(endpoint = "engine_status")]
pub async fn engine_status() -> Result<EngineReport, ServerFnError> {
    use crate::context::{internal, server_context};
    crate::auth::require(|p| p.is_admin())?;
    let ctx = server_context()?;
    let engine = ctx.engine.clone();
    let default = engine
        .model(None)
        .map_err(|e| internal("the default model is not available", e))?;
    let models = engine
        .registry()
        .list()
        .map_err(|e| internal("the model registry could not be read", e))?
        .into_iter()
        .map(|m| ModelRow {
            label: m.label().to_string(),
            is_default: m.manifest.name == engine.registry().default_name(),
            name: m.manifest.name,
            default_input_size: m.manifest.default_input_size,
            sha256_prefix: m.manifest.sha256.chars().take(12).collect(),
            builtin: m.builtin,
            licence: m.manifest.licence,
        })
        .collect();
    Ok(EngineReport {
        provider: default.execution.provider.clone(),
        device: default.execution.device.clone(),
        models,
        signer: ctx.signer.as_ref().map(|s| s.to_string()),
    })
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let report = Resource::new(|| (), |_| engine_status());
    view! {
        <h1>"Admin"</h1>
        <UsersSection/>
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
                            <section class="card">
                                <h2>"Models"</h2>
                                <p>
                                    "Import a real DDColor export for archive-quality results: "
                                    <code>"tinct models import ddcolor_paper_tiny.onnx --name ddcolor_paper_tiny"</code>
                                </p>
                                <table class="models" data-testid="models">
                                    <thead>
                                        <tr>
                                            <th>"Name"</th>
                                            <th>"Input size"</th>
                                            <th>"Checksum"</th>
                                            <th>"Origin"</th>
                                            <th>"Licence"</th>
                                        </tr>
                                    </thead>
                                    <tbody>
                                        {report
                                            .models
                                            .into_iter()
                                            .map(|m| {
                                                view! {
                                                    <tr>
                                                        <td>
                                                            {m.label}
                                                            {m.is_default.then_some(view! { <span class="badge">"default"</span> })}
                                                        </td>
                                                        <td>{m.default_input_size}</td>
                                                        <td><code>{m.sha256_prefix}</code></td>
                                                        <td>{if m.builtin { "shipped" } else { "imported" }}</td>
                                                        <td>{m.licence}</td>
                                                    </tr>
                                                }
                                            })
                                            .collect_view()}
                                    </tbody>
                                </table>
                            </section>
                        }
                            .into_any()
                    }
                    Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

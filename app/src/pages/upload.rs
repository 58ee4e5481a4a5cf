//! The upload page: presets and where the work goes.

use leptos::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PresetInfo {
    pub name: String,
    pub title: String,
    pub description: String,
    pub input_size: u32,
}

/// The presets defined by the workflow files in `workflows/`.
#[server(endpoint = "list_presets")]
pub async fn list_presets() -> Result<Vec<PresetInfo>, ServerFnError> {
    use crate::context::{internal, server_context};
    let ctx = server_context()?;
    let presets = engine::presets::load_presets(&ctx.workflows_dir)
        .map_err(|e| internal("the presets could not be read", e))?;
    Ok(presets
        .into_iter()
        .map(|p| PresetInfo {
            name: p.name,
            title: p.title,
            description: p.description,
            input_size: p.input_size,
        })
        .collect())
}

#[component]
pub fn UploadPage() -> impl IntoView {
    let presets = Resource::new(|| (), |_| list_presets());
    view! {
        <h1>"Upload"</h1>
        <section class="card">
            <h2>"Presets"</h2>
            <p>"Each preset is a workflow file in the workflows folder; adding a file there adds a preset."</p>
            <Suspense fallback=|| view! { <p>"Loading presets…"</p> }>
                {move || Suspend::new(async move {
                    match presets.await {
                        Ok(presets) => {
                            view! {
                                <ul class="presets" data-testid="presets">
                                    {presets
                                        .into_iter()
                                        .map(|p| {
                                            view! {
                                                <li>
                                                    <strong>{p.title}</strong>
                                                    <span class="meta">{format!(" · {} px model input", p.input_size)}</span>
                                                    <p>{p.description}</p>
                                                </li>
                                            }
                                        })
                                        .collect_view()}
                                </ul>
                            }
                                .into_any()
                        }
                        Err(e) => view! { <p class="error">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="empty-state" data-testid="empty-state">
            <h2>"Uploading from the browser is on its way"</h2>
            <p>
                "Until the upload form lands, colorize scans from the command line on the server: "
                <code>"tinct colorize SCANS/ --out RESULTS/ --preset portrait"</code>
                ". It shows a progress bar and lists any file it could not read."
            </p>
        </section>
    }
}

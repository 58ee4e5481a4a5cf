//! A photo's versions: the list (with the chosen one), and the comparison of any two of them or
//! of the original and one, with the slider or side by side.

use leptos::prelude::*;

use crate::error::AppError;

use crate::jobs::{JobRow, JobStatus};

/// Every version of the photo that job `id` belongs to, oldest first.
#[server(endpoint = "photo_versions")]
pub async fn photo_versions(id: String) -> Result<Vec<JobRow>, AppError> {
    use crate::context::{internal, server_context};
    let who = crate::auth::require(|p| p.can_read())?;
    crate::jobs::read::versions(&server_context()?.db, &who, &id)
        .await
        .map_err(|e| internal("the versions could not be read", e))
}

/// Makes version `id` its photo's chosen one.
#[server(endpoint = "choose_version")]
pub async fn choose_version(id: String) -> Result<(), AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    server_context()?
        .jobs
        .choose(&principal()?, &id)
        .await
        .map_err(job_error)
}

/// How a version is named in lists: "Version 2 · corrected: 3 hints, strength 80 %".
pub fn version_name(number: usize, job: &JobRow) -> String {
    let how = match super::correct::summary(job.correction.as_deref()) {
        Some(summary) => format!("corrected: {summary}"),
        None => format!("{}, {}, {} px", job.model, job.preset, job.input_size),
    };
    format!("Version {number} · {how}")
}

/// What one side of the comparison shows: the original, or a version's result.
#[derive(Debug, Clone, PartialEq)]
enum Side {
    Original,
    Version(String),
}

impl Side {
    fn parse(value: &str) -> Side {
        match value {
            "original" => Side::Original,
            id => Side::Version(id.to_string()),
        }
    }

    /// The preview's address: 1600 px, or at full size for the 100 % zoom.
    fn src(&self, any_job: &str, full: bool) -> String {
        let size = if full { "?size=full" } else { "" };
        match self {
            Side::Original => format!("/api/v1/jobs/{any_job}/preview/original{size}"),
            Side::Version(id) => format!("/api/v1/jobs/{id}/preview/result{size}"),
        }
    }
}

/// The comparison: the original (or a version) on the left, a version on the right.
#[component]
pub fn Compare(job: JobRow, versions: Resource<Result<Vec<JobRow>, AppError>>) -> impl IntoView {
    if job.status != JobStatus::Done {
        return ().into_any();
    }
    let position = RwSignal::new(50u8);
    let left = RwSignal::new(Side::Original);
    let right = RwSignal::new(Side::Version(job.id.clone()));
    let side_by_side = RwSignal::new(false);
    // `fit`: the whole photo on the screen; `full`: 100 %, one image pixel per screen pixel,
    // panned by scrolling the viewport (mouse, touch or the arrow keys).
    let zoom = RwSignal::new("fit".to_string());
    let full = move || zoom.get() == "full";
    let (width, height) = (
        job.width.unwrap_or(1600).max(1),
        job.height.unwrap_or(1200).max(1),
    );
    // Fitted, a tall scan is as high as the screen allows, not taller.
    let sized = move || match full() {
        true => format!("width: {width}px; max-width: none"),
        false => format!("max-width: min(100%, calc(80vh * {width} / {height}))"),
    };
    let id = job.id.clone();
    view! {
        <Suspense fallback=|| view! { <p>"Loading the comparison…"</p> }>
            {move || {
                let id = id.clone();
                Suspend::new(async move {
                    // Finished versions, numbered as in the list of versions.
                    let done: Vec<(String, String)> = versions
                        .await
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                        .filter(|(_, v)| v.status == JobStatus::Done)
                        .map(|(i, v)| (v.id.clone(), version_name(i + 1, v)))
                        .collect();
                    let label_of = {
                        let done = done.clone();
                        move |side: &Side| match side {
                            Side::Original => "Original".to_string(),
                            Side::Version(vid) => done
                                .iter()
                                .find(|(id, _)| id == vid)
                                .map(|(_, name)| name.split(" · ").next().unwrap_or_default().to_string())
                                .unwrap_or_else(|| "This version".into()),
                        }
                    };
                    let picker = |label: &'static str, testid: &'static str, side: RwSignal<Side>| {
                        let options = done
                            .iter()
                            .map(|(vid, name)| {
                                let chosen = Side::Version(vid.clone());
                                view! {
                                    <option value=vid.clone() selected=move || side.get() == chosen>{name.clone()}</option>
                                }
                            })
                            .collect_view();
                        view! {
                            <label>
                                {label}
                                " "
                                <select data-testid=testid on:change=move |ev| side.set(Side::parse(&event_target_value(&ev)))>
                                    <option value="original" selected=move || side.get() == Side::Original>"Original"</option>
                                    {options}
                                </select>
                            </label>
                        }
                    };
                    let (left_label, right_label) = (label_of.clone(), label_of);
                    let (left_id, right_id) = (id.clone(), id);
                    view! {
                        <section class="compare-tools" aria-label="Compare versions">
                            {picker("Left", "compare-left", left)}
                            {picker("Right", "compare-right", right)}
                            <label>
                                <input type="checkbox" data-testid="side-by-side"
                                    prop:checked=move || side_by_side.get()
                                    on:change=move |ev| side_by_side.set(event_target_checked(&ev))/>
                                " Side by side"
                            </label>
                            <label>
                                "Zoom "
                                <select data-testid="zoom" on:change=move |ev| zoom.set(event_target_value(&ev))>
                                    <option value="fit">"fit to the screen"</option>
                                    <option value="full">{format!("100 % ({width} × {height} px)")}</option>
                                </select>
                            </label>
                        </section>
                        <div class="compare-viewport" class:zoomed=full tabindex="0" role="region"
                            aria-label="The comparison; at 100 % scroll or use the arrow keys to pan" data-testid="compare-viewport">
                        <div
                            class=move || if side_by_side.get() { "compare side-by-side" } else { "compare" }
                            data-testid="compare"
                            style=move || format!("--pos: {}%; {}", position.get(), sized())
                        >
                            <img src=move || left.get().src(&left_id, full()) alt={let f = left_label.clone(); move || f(&left.get())} data-testid="compare-left-image"/>
                            <img class="after" src=move || right.get().src(&right_id, full()) alt={let f = right_label.clone(); move || f(&right.get())} data-testid="compare-right-image"/>
                            <span class="compare-label left">{move || left_label(&left.get())}</span>
                            <span class="compare-label right">{move || right_label(&right.get())}</span>
                            <input
                                type="range"
                                min="0"
                                max="100"
                                aria-label="Compare the left and the right image"
                                data-testid="compare-slider"
                                prop:value=move || position.get().to_string()
                                on:input=move |ev| position.set(event_target_value(&ev).parse().unwrap_or(50))
                            />
                        </div>
                        </div>
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// The photo's versions, oldest first, with the chosen one marked; staff choose another.
#[component]
pub fn VersionList(
    current: String,
    versions: Resource<Result<Vec<JobRow>, AppError>>,
    may_edit: bool,
) -> impl IntoView {
    let choose = ServerAction::<ChooseVersion>::new();
    Effect::new(move |_| {
        if matches!(choose.value().get(), Some(Ok(()))) {
            versions.refetch();
        }
    });
    view! {
        <section class="card" data-testid="versions">
            <h2>"Versions"</h2>
            <p class="meta">"The chosen version is the one the gallery shows and the approved downloads hold."</p>
            <Suspense fallback=|| view! { <p>"Loading the versions…"</p> }>
                {move || {
                    let current = current.clone();
                    Suspend::new(async move {
                        let all = match versions.await {
                            Ok(all) => all,
                            Err(e) => return view! { <p class="error">{crate::pages::login::server_message(&e)}</p> }.into_any(),
                        };
                        view! {
                            <ol class="versions">
                                {all
                                    .into_iter()
                                    .enumerate()
                                    .map(|(i, v)| {
                                        let here = v.id == current;
                                        let name = version_name(i + 1, &v);
                                        let by = v.submitted_by.clone().unwrap_or_default();
                                        let can_choose = may_edit && v.status == JobStatus::Done && !v.chosen;
                                        let id = v.id.clone();
                                        view! {
                                            <li class:current=here data-testid="version">
                                                {if here {
                                                    view! { <strong aria-current="page">{name}</strong> }.into_any()
                                                } else {
                                                    view! { <a href=format!("/gallery/{}", v.id)>{name}</a> }.into_any()
                                                }}
                                                <span class="meta">{format!(" · {} · {} · {}", v.status.as_str(), by, v.created_at)}</span>
                                                {v.chosen.then(|| view! { <span class="badge" data-testid="chosen">" chosen"</span> })}
                                                {can_choose.then(|| view! {
                                                    " "
                                                    <button class="button small" type="button" data-testid="choose-version"
                                                        on:click=move |_| { choose.dispatch(ChooseVersion { id: id.clone() }); }>
                                                        "Choose this version"
                                                    </button>
                                                })}
                                            </li>
                                        }
                                    })
                                    .collect_view()}
                            </ol>
                        }
                        .into_any()
                    })
                }}
            </Suspense>
            {move || choose.value().get().and_then(Result::err).map(|e| view! { <p class="error" role="alert">{crate::pages::login::server_message(&e)}</p> })}
        </section>
    }
}

//! Correcting a version's colours: a strength control and colour hints placed on the image,
//! with a live preview rendered by the server from the kept model colours, undo/redo, and
//! "apply", which queues the correction as a new version at full resolution.

use leptos::html;
use leptos::prelude::*;

use crate::error::AppError;
use serde::{Deserialize, Serialize};

use crate::jobs::JobRow;

/// A hint as the page edits it; the same JSON as the engine's `Hint`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditHint {
    pub x: f32,
    pub y: f32,
    #[serde(default = "default_radius")]
    pub radius: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub srgb: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab: Option<Vec<f32>>,
}

fn default_radius() -> f32 {
    0.01
}

/// A correction as the page edits it; the same JSON as the engine's `Correction`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EditCorrection {
    #[serde(default = "full_strength")]
    pub strength: f32,
    #[serde(default)]
    pub hints: Vec<EditHint>,
}

fn full_strength() -> f32 {
    1.0
}

impl Default for EditCorrection {
    fn default() -> Self {
        EditCorrection {
            strength: 1.0,
            hints: Vec::new(),
        }
    }
}

impl EditCorrection {
    /// "3 hints, strength 80 %", as the result's XMP says it.
    pub fn summary(&self) -> String {
        let hints = match self.hints.len() {
            0 => "no hints".to_string(),
            1 => "1 hint".to_string(),
            n => format!("{n} hints"),
        };
        format!(
            "{hints}, strength {} %",
            (self.strength * 100.0).round() as i32
        )
    }
}

/// The summary of a stored correction (JSON), if the version has one.
pub fn summary(correction: Option<&str>) -> Option<String> {
    correction
        .and_then(|json| serde_json::from_str::<EditCorrection>(json).ok())
        .map(|c| c.summary())
}

/// Queues `correction` (JSON: `strength`, `hints`) applied to version `id` as a new version;
/// answers its id.
#[server(endpoint = "apply_correction")]
pub async fn apply_correction(id: String, correction: String) -> Result<String, AppError> {
    use crate::auth::principal;
    use crate::context::{job_error, server_context};
    let correction: engine::correct::Correction = serde_json::from_str(&correction)
        .map_err(|e| AppError::refused(format!("the correction could not be read: {e}")))?;
    server_context()?
        .jobs
        .correct(&principal()?, &id, &correction)
        .await
        .map_err(job_error)
}

/// Colours archive photographs often need, as a starting palette.
const PALETTE: [(&str, &str); 10] = [
    ("#8b2a1e", "brick red"),
    ("#6d1f2f", "wine"),
    ("#c28a2c", "ochre"),
    ("#7a5230", "wood brown"),
    ("#d9a88a", "light skin"),
    ("#2e7d32", "leaf green"),
    ("#3d5a2a", "dark green"),
    ("#6fa8dc", "sky blue"),
    ("#1f3a68", "navy"),
    ("#8a8f98", "slate grey"),
];

/// What a click on the image does.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Tool {
    Add,
    Move,
    Pick,
}

#[component]
pub fn CorrectionEditor(
    job: JobRow,
    versions: Resource<Result<Vec<JobRow>, AppError>>,
) -> impl IntoView {
    // Editing starts from this version's correction (corrections apply to the model's colours,
    // so a corrected version is refined, not corrected twice).
    let initial: EditCorrection = job
        .correction
        .as_deref()
        .and_then(|json| serde_json::from_str(json).ok())
        .unwrap_or_default();
    let history = RwSignal::new(vec![initial.clone()]);
    let at = RwSignal::new(0usize);
    let current = move || history.with(|h| h.get(at.get()).cloned().unwrap_or_default());
    let push = move |next: EditCorrection| {
        history.update(|h| {
            h.truncate(at.get_untracked() + 1);
            h.push(next);
        });
        at.set(history.with_untracked(|h| h.len() - 1));
    };
    let edit = move |change: &dyn Fn(&mut EditCorrection)| {
        let mut next = current();
        change(&mut next);
        push(next);
    };
    let colour = RwSignal::new(PALETTE[0].0.to_string());
    let selected = RwSignal::new(None::<usize>);
    let tool = RwSignal::new(Tool::Add);
    let strength_shown = RwSignal::new((initial.strength * 100.0).round() as i32);
    let loading = RwSignal::new(false);
    let picked = RwSignal::new(None::<String>);
    let image: NodeRef<html::Img> = NodeRef::new();

    let id = job.id.clone();
    let edited = {
        let initial = initial.clone();
        Memo::new(move |_| current() != initial)
    };
    let preview_src = {
        let id = id.clone();
        Memo::new(move |_| {
            if edited.get() {
                let json = serde_json::to_string(&current()).unwrap_or_default();
                let query: String = form_urlencoded::byte_serialize(json.as_bytes()).collect();
                format!("/api/v1/jobs/{id}/correction-preview?c={query}")
            } else {
                format!("/api/v1/jobs/{id}/preview/result")
            }
        })
    };
    // A new preview is loading whenever the address changes.
    Effect::new(move |previous: Option<String>| {
        let src = preview_src.get();
        if previous.is_some_and(|p| p != src) {
            loading.set(true);
        }
        src
    });

    // Where the pointer went down: released elsewhere on the image, it paints a short stroke
    // (and the click that may follow adds nothing more).
    let pressed = RwSignal::new(None::<(f32, f32)>);
    let stroked = RwSignal::new(false);
    let position = move |ev: &leptos::ev::MouseEvent| {
        let img = image.get_untracked()?;
        let (w, h) = (
            img.client_width().max(1) as f32,
            img.client_height().max(1) as f32,
        );
        Some((
            (ev.offset_x() as f32 / w).clamp(0.0, 1.0),
            (ev.offset_y() as f32 / h).clamp(0.0, 1.0),
        ))
    };
    let add_hints = move |points: Vec<(f32, f32)>| {
        let srgb = colour.get_untracked();
        edit(&|c| {
            c.hints.extend(points.iter().map(|&(x, y)| EditHint {
                x,
                y,
                radius: default_radius(),
                srgb: Some(srgb.clone()),
                lab: None,
            }))
        });
        selected.set(Some(current().hints.len().saturating_sub(1)));
    };
    let on_release = move |ev: leptos::ev::PointerEvent| {
        let (Some(from), Some(to)) = (pressed.get_untracked(), position(&ev)) else {
            return;
        };
        let points = stroke(from, to);
        if tool.get_untracked() == Tool::Add && points.len() > 1 {
            add_hints(points);
            stroked.set(true);
        }
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let Some(img) = image.get_untracked() else {
            return;
        };
        let Some((x, y)) = position(&ev) else {
            return;
        };
        if stroked.get_untracked() {
            stroked.set(false);
            return;
        }
        match tool.get_untracked() {
            Tool::Add => add_hints(vec![(x, y)]),
            Tool::Move => {
                if let Some(i) = selected.get_untracked() {
                    edit(&|c| {
                        if let Some(hint) = c.hints.get_mut(i) {
                            hint.x = x;
                            hint.y = y;
                        }
                    });
                }
            }
            Tool::Pick => {
                if let Some(srgb) = pick_colour(&img, x, y) {
                    colour.set(srgb.clone());
                    picked.set(Some(srgb));
                }
                tool.set(Tool::Add);
            }
        }
    };

    let apply = ServerAction::<ApplyCorrection>::new();
    Effect::new(move |_| {
        if matches!(apply.value().get(), Some(Ok(_))) {
            versions.refetch();
        }
    });
    let apply_id = id.clone();
    let markers = move || {
        current()
            .hints
            .into_iter()
            .enumerate()
            .map(|(i, hint)| {
                let swatch = hint.srgb.clone().unwrap_or_else(|| "#808080".into());
                view! {
                    <button
                        type="button"
                        class="hint-marker"
                        class:selected=move || selected.get() == Some(i)
                        style=format!("left: {}%; top: {}%; background: {swatch}", hint.x * 100.0, hint.y * 100.0)
                        aria-label=format!("Hint {}: select it to move or change it", i + 1)
                        on:click=move |_| selected.set(Some(i))
                    ></button>
                }
            })
            .collect_view()
    };
    let hint_list = move || {
        current()
            .hints
            .into_iter()
            .enumerate()
            .map(|(i, hint)| {
                let value = hint.srgb.clone().unwrap_or_else(|| "#808080".into());
                let described = match (&hint.srgb, &hint.lab) {
                    (Some(hex), _) => hex.clone(),
                    (None, Some(lab)) => format!("Lab {lab:?}"),
                    _ => "–".into(),
                };
                view! {
                    <li class:selected=move || selected.get() == Some(i) data-testid="hint">
                        <span class="swatch" style=format!("background: {value}") aria-hidden="true"></span>
                        {format!(" Hint {} at {:.0} %, {:.0} % · {described} ", i + 1, hint.x * 100.0, hint.y * 100.0)}
                        <label class="inline">
                            <span class="visually-hidden">{format!("Colour of hint {}", i + 1)}</span>
                            <input type="color" prop:value=value.clone()
                                on:change=move |ev| {
                                    let srgb = event_target_value(&ev);
                                    edit(&|c| if let Some(h) = c.hints.get_mut(i) {
                                        h.srgb = Some(srgb.clone());
                                        h.lab = None;
                                    });
                                }/>
                        </label>
                        <button class="button small" type="button" on:click=move |_| {
                            selected.set(Some(i));
                            tool.set(Tool::Move);
                        }>"Move"</button>
                        <button class="button small" type="button" data-testid="remove-hint"
                            aria-label=format!("Remove hint {}", i + 1)
                            on:click=move |_| {
                                edit(&|c| { if i < c.hints.len() { c.hints.remove(i); } });
                                selected.set(None);
                            }>"Remove"</button>
                    </li>
                }
            })
            .collect_view()
    };
    let tool_button = move |which: Tool, label: &'static str, testid: &'static str| {
        view! {
            <button type="button" class="button small" data-testid=testid
                class:primary=move || tool.get() == which
                aria-pressed=move || (tool.get() == which).to_string()
                on:click=move |_| tool.set(which)>{label}</button>
        }
    };
    view! {
        <section class="card" data-testid="correct">
            <h2>"Correct the colours"</h2>
            <p class="meta">
                "Click the image to place a colour hint, or drag a short stroke: its colour spreads over "
                "the area it belongs to "
                "and stops at strong edges. The preview is rendered from the model's colours kept with this "
                "version; “Apply” makes a new version at full resolution and keeps this one."
            </p>
            <div class="hint-canvas">
                <img
                    node_ref=image
                    src=move || preview_src.get()
                    alt="Preview of the correction"
                    data-testid="correction-preview"
                    draggable="false"
                    on:pointerdown=move |ev| {
                        stroked.set(false);
                        pressed.set(position(&ev));
                    }
                    on:pointerup=on_release
                    on:click=on_click
                    on:load=move |_| loading.set(false)
                    on:error=move |_| loading.set(false)
                />
                {markers}
            </div>
            <p class="meta" aria-live="polite" data-testid="preview-state">
                {move || match (loading.get(), edited.get()) {
                    (true, _) => "Rendering the preview…".to_string(),
                    (false, true) => format!("Preview of your correction ({}), not saved yet", current().summary()),
                    (false, false) => "Showing this version".to_string(),
                }}
            </p>
            <div class="correct-tools" role="group" aria-label="What a click on the image does">
                {tool_button(Tool::Add, "Add hint", "tool-add")}
                {tool_button(Tool::Move, "Move selected hint", "tool-move")}
                {tool_button(Tool::Pick, "Pick colour from the image", "tool-pick")}
            </div>
            <div class="palette" role="group" aria-label="Palette">
                {PALETTE
                    .iter()
                    .map(|(hex, name)| {
                        let hex = hex.to_string();
                        let pick = hex.clone();
                        view! {
                            <button type="button" class="swatch-button" style=format!("background: {hex}")
                                aria-label=format!("Use {name} ({hex})")
                                aria-pressed=move || (colour.get() == hex).to_string()
                                on:click=move |_| colour.set(pick.clone())></button>
                        }
                    })
                    .collect_view()}
                <label>
                    " Colour "
                    <input type="color" data-testid="hint-colour" prop:value=move || colour.get()
                        on:input=move |ev| colour.set(event_target_value(&ev))/>
                </label>
                {move || picked.get().map(|c| view! { <span class="meta">{format!(" picked {c}")}</span> })}
                {move || selected.get().map(|i| view! {
                    " "
                    <button type="button" class="button small" data-testid="recolour-hint"
                        on:click=move |_| {
                            let srgb = colour.get_untracked();
                            edit(&|c| if let Some(h) = c.hints.get_mut(i) {
                                h.srgb = Some(srgb.clone());
                                h.lab = None;
                            });
                        }>{format!("Give hint {} this colour", i + 1)}</button>
                })}
            </div>
            <label class="stacked">
                {move || format!("Colour strength: {} % of the model's", strength_shown.get())}
                <input type="range" min="0" max="150" step="5" data-testid="strength"
                    prop:value=move || strength_shown.get().to_string()
                    on:input=move |ev| strength_shown.set(event_target_value(&ev).parse().unwrap_or(100))
                    on:change=move |ev| {
                        let percent: i32 = event_target_value(&ev).parse().unwrap_or(100);
                        edit(&|c| c.strength = percent as f32 / 100.0);
                    }/>
            </label>
            <ol class="hints" aria-label="Hints">{hint_list}</ol>
            <p class="hero-actions">
                <button class="button" type="button" data-testid="undo"
                    disabled=move || at.get() == 0
                    on:click=move |_| {
                        at.update(|a| *a = a.saturating_sub(1));
                        strength_shown.set((current().strength * 100.0).round() as i32);
                    }>"Undo"</button>
                <button class="button" type="button" data-testid="redo"
                    disabled={move || at.get() + 1 >= history.with(Vec::len)}
                    on:click=move |_| {
                        at.update(|a| *a += 1);
                        strength_shown.set((current().strength * 100.0).round() as i32);
                    }>"Redo"</button>
                <button class="button primary" type="button" data-testid="apply-correction"
                    disabled=move || !edited.get() || apply.pending().get()
                    on:click=move |_| {
                        let correction = serde_json::to_string(&current()).unwrap_or_default();
                        apply.dispatch(ApplyCorrection { id: apply_id.clone(), correction });
                    }>"Apply as a new version"</button>
            </p>
            {move || apply.value().get().map(|outcome| match outcome {
                Ok(new_id) => view! {
                    <p role="status" data-testid="applied">
                        "Queued as a new version; it appears in the list of versions when it is ready. "
                        <a href=format!("/gallery/{new_id}")>"Open it"</a>
                    </p>
                }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{crate::pages::login::server_message(&e)}</p> }.into_any(),
            })}
        </section>
    }
}

/// Hints along a short stroke from `from` to `to` (fractions of the image), one every 1.5 % of
/// the image's side, at most 20; a click without a drag is one hint.
fn stroke(from: (f32, f32), to: (f32, f32)) -> Vec<(f32, f32)> {
    let length = (to.0 - from.0).hypot(to.1 - from.1);
    if length < 0.01 {
        return vec![to];
    }
    let steps = ((length / 0.015).ceil() as usize).clamp(1, 19);
    (0..=steps)
        .map(|i| {
            let t = i as f32 / steps as f32;
            (from.0 + (to.0 - from.0) * t, from.1 + (to.1 - from.1) * t)
        })
        .collect()
}

/// The colour of the shown image at (x, y) (fractions), drawn into a canvas: the eyedropper.
#[cfg(feature = "hydrate")]
fn pick_colour(img: &web_sys::HtmlImageElement, x: f32, y: f32) -> Option<String> {
    use wasm_bindgen::JsCast;
    let (w, h) = (img.natural_width(), img.natural_height());
    if w == 0 || h == 0 {
        return None;
    }
    let canvas: web_sys::HtmlCanvasElement = web_sys::window()?
        .document()?
        .create_element("canvas")
        .ok()?
        .dyn_into()
        .ok()?;
    canvas.set_width(1);
    canvas.set_height(1);
    let context: web_sys::CanvasRenderingContext2d =
        canvas.get_context("2d").ok()??.dyn_into().ok()?;
    let (sx, sy) = (
        (x * w as f32).min(w as f32 - 1.0) as f64,
        (y * h as f32).min(h as f32 - 1.0) as f64,
    );
    context
        .draw_image_with_html_image_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(
            img, sx, sy, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0,
        )
        .ok()?;
    let data = context.get_image_data(0.0, 0.0, 1.0, 1.0).ok()?.data();
    Some(format!("#{:02x}{:02x}{:02x}", data[0], data[1], data[2]))
}

/// On the server there is no image to pick from.
#[cfg(not(feature = "hydrate"))]
fn pick_colour<T>(_img: &T, _x: f32, _y: f32) -> Option<String> {
    None
}

#[cfg(test)]
mod tests {
    use super::stroke;

    #[test]
    fn a_click_is_one_hint_and_a_drag_a_row_of_them() {
        assert_eq!(stroke((0.5, 0.5), (0.505, 0.5)), [(0.505, 0.5)]);
        let row = stroke((0.1, 0.2), (0.4, 0.2));
        assert_eq!(row.len(), 20);
        assert_eq!((row[0], row[19]), ((0.1, 0.2), (0.4, 0.2)));
        assert!(row.windows(2).all(|w| w[1].0 > w[0].0 && w[1].1 == 0.2));
    }
}

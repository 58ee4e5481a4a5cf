//! The review-state filter of the gallery and the history: a `review` field in their GET forms,
//! showing the state the address asks for.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::jobs::ReviewState;

#[component]
pub fn ReviewFilter(testid: &'static str) -> impl IntoView {
    let query = use_query_map();
    let shown =
        move |value: &'static str| move || query.read().get("review").unwrap_or_default() == value;
    view! {
        <label>
            "Review "
            <select name="review" data-testid=testid>
                <option value="" selected=shown("")>"Any"</option>
                {ReviewState::ALL
                    .into_iter()
                    .map(|state| {
                        let label = state.label();
                        let title = label[..1].to_uppercase() + &label[1..];
                        view! { <option value=state.as_str() selected=shown(state.as_str())>{title}</option> }
                    })
                    .collect_view()}
            </select>
        </label>
    }
}

//! The batch filter of the gallery and the history: a `batch` field in their GET forms, listing
//! batches by name and showing the one the address asks for.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

#[component]
pub fn BatchFilter(testid: &'static str) -> impl IntoView {
    let query = use_query_map();
    let batches = Resource::new(|| (), |_| crate::pages::list_batches());
    view! {
        <Suspense>
            {move || Suspend::new(async move {
                let batches = batches.await.unwrap_or_default();
                let current = query.read_untracked().get("batch").unwrap_or_default();
                view! {
                    <label>
                        "Batch "
                        <select name="batch" data-testid=testid>
                            <option value="">"all batches"</option>
                            {batches
                                .into_iter()
                                .map(|b| {
                                    let selected = b.id == current;
                                    view! { <option value=b.id selected=selected>{b.name}</option> }
                                })
                                .collect_view()}
                        </select>
                    </label>
                }
            })}
        </Suspense>
    }
}

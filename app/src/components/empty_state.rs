use leptos::prelude::*;

/// What a page shows when it has nothing yet: what this place is for and what to do first.
#[component]
pub fn EmptyState(
    title: &'static str,
    children: Children,
    #[prop(optional)] action: Option<(&'static str, &'static str)>,
) -> impl IntoView {
    view! {
        <section class="empty-state" data-testid="empty-state">
            <h2>{title}</h2>
            <div class="empty-state-body">{children()}</div>
            {action.map(|(href, label)| view! { <a class="button" href=href>{label}</a> })}
        </section>
    }
}

//! The frame around every page: header with navigation, footer with the version.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_location;

use crate::auth::Role;
use crate::pages::{current_user, SignOutButton};

#[component]
pub fn Header() -> impl IntoView {
    // Asked again on every navigation, so signing in or out shows at once.
    let location = use_location();
    let user = Resource::new(move || location.pathname.get(), |_| current_user());
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true"></span>
                "Tinct"
            </a>
            <Suspense>
                {move || Suspend::new(async move {
                    user.await.ok().flatten().map(|who| {
                        let admin = who.role == Role::Admin;
                        let staff = who.role != Role::Viewer;
                        view! {
                            <nav aria-label="Main">
                                {staff.then(|| view! { <A href="/upload">"Upload"</A> })}
                                <A href="/batches">"Batches"</A>
                                <A href="/gallery">"Gallery"</A>
                                <A href="/history">"History"</A>
                                {admin.then(|| view! { <A href="/admin">"Admin"</A> })}
                            </nav>
                            <span class="who" data-testid="signed-in-as">
                                <A href="/account">{format!("{} ({})", who.name, who.role.as_str())}</A>
                                " "
                                <SignOutButton/>
                            </span>
                        }
                    })
                })}
            </Suspense>
        </header>
    }
}

#[component]
pub fn Footer() -> impl IntoView {
    view! {
        <footer class="site-footer">
            <span>"Tinct " {env!("CARGO_PKG_VERSION")}</span>
            <span>"Colour versions are AI-assisted colorizations, never the original record."</span>
        </footer>
    }
}

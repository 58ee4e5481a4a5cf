//! The frame around every page: header with navigation, footer with the version.

use leptos::prelude::*;
use leptos_router::components::A;

#[component]
pub fn Header() -> impl IntoView {
    view! {
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true"></span>
                "Tinct"
            </a>
            <nav aria-label="Main">
                <A href="/upload">"Upload"</A>
                <A href="/gallery">"Gallery"</A>
                <A href="/history">"History"</A>
                <A href="/admin">"Admin"</A>
            </nav>
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

//! Tinct's user interface: pages, components and the server functions they call.
//! Rendered on the server (`ssr`) and hydrated in the browser (`hydrate`).
#![recursion_limit = "256"]

pub mod auth;
#[cfg(feature = "ssr")]
pub mod bundle;
pub mod components;
#[cfg(feature = "ssr")]
pub mod context;
#[cfg(feature = "ssr")]
pub mod db;
pub mod error;
pub mod jobs;
pub mod models;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod storage;

use leptos::prelude::*;
#[cfg(feature = "ssr")]
use leptos_meta::MetaTags;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use components::layout::{Footer, Header};
use pages::{
    AccountPage, AdminPage, BatchesPage, GalleryPage, HistoryPage, HomePage, JobDetailPage,
    LoginPage, NotFound, UploadPage,
};

/// The file name (without extension) of the wasm bundle and stylesheet under `/pkg`.
pub const OUTPUT_NAME: &str = "tinct";

/// The HTML document around the app, rendered on the server only.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    content_security_policy();
    let stylesheet = bundle::stylesheet_href(&options);
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <link rel="icon" type="image/svg+xml" href="/pkg/favicon.svg"/>
                <link rel="stylesheet" href=stylesheet/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy: scripts only from this site, plus the hydration
/// script carrying this response's nonce.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    use leptos::nonce::use_nonce;
    let Some(nonce) = use_nonce() else { return };
    let Some(response) = use_context::<leptos_axum::ResponseOptions>() else {
        return;
    };
    let policy = format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval' 'nonce-{nonce}'; \
         style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; connect-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    );
    if let Ok(value) = http::HeaderValue::from_str(&policy) {
        response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this marks the page as hydrated (used by browser tests).
    Effect::new(|_| {
        #[cfg(feature = "hydrate")]
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title text="Tinct"/>
        <Router>
            <Header/>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("") view=HomePage/>
                    <Route path=path!("upload") view=UploadPage/>
                    <Route path=path!("batches") view=BatchesPage/>
                    <Route path=path!("gallery") view=GalleryPage/>
                    <Route path=path!("gallery/:id") view=JobDetailPage/>
                    <Route path=path!("history") view=HistoryPage/>
                    <Route path=path!("admin") view=AdminPage/>
                    <Route path=path!("account") view=AccountPage/>
                    <Route path=path!("login") view=LoginPage/>
                </Routes>
            </main>
            <Footer/>
        </Router>
    }
}

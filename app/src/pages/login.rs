//! Signing in and out. The session cookie is rotated at sign-in; signing out deletes the
//! session from the store, so the cookie is worthless everywhere afterwards.

use leptos::prelude::*;

use crate::error::AppError;
use leptos_router::hooks::use_query_map;

use crate::auth::Principal;

/// The session key holding the signed-in user's id.
pub const SESSION_USER: &str = "user_id";
/// The session key holding the account's session epoch at sign-in (see `store::session_epoch`).
pub const SESSION_EPOCH: &str = "epoch";

/// Only a path on this site: never another origin (`//evil.example`, `https://…`). Browsers
/// drop tabs and newlines from addresses (`/\t/evil.example` is `//evil.example` to them), so
/// anything but visible ASCII sends the person to `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p.contains('\\')
                && p.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            p.to_string()
        }
        _ => "/".to_string(),
    }
}

#[server(endpoint = "login")]
pub async fn login(name: String, password: String, next: Option<String>) -> Result<(), AppError> {
    use crate::auth::store;
    use crate::context::{internal, server_context};
    use axum::extract::ConnectInfo;
    use http::{header, HeaderValue, StatusCode};
    use leptos_axum::ResponseOptions;
    let ctx = server_context()?;
    let address = leptos_axum::extract::<ConnectInfo<std::net::SocketAddr>>()
        .await
        .map(|info| info.0.ip().to_string())
        .unwrap_or_else(|_| "local".into());
    if let Err(wait) = ctx.login_throttle.attempt(&address, name.trim()) {
        let seconds = wait.as_secs().max(1);
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(StatusCode::TOO_MANY_REQUESTS);
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.insert_header(header::RETRY_AFTER, value);
            }
        }
        return Err(AppError::refused(format!(
            "Too many sign-in attempts; wait {seconds} s and try again."
        )));
    }
    let principal = store::authenticate(&ctx.db, name.trim(), &password)
        .await
        .map_err(|e| internal("signing in failed", e))?;
    let Some(principal) = principal else {
        // The person's mistake, not the server's: 401 with the sentence.
        if let Some(response) = use_context::<ResponseOptions>() {
            response.set_status(StatusCode::UNAUTHORIZED);
        }
        return Err(AppError::refused("Wrong name or password."));
    };
    let epoch = store::session_epoch(&ctx.db, principal.user_id)
        .await
        .map_err(|e| internal("signing in failed", e))?;
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| internal("the session is not available", e))?;
    // A new session id at every sign-in: an id planted before it is worthless after it.
    session
        .cycle_id()
        .await
        .map_err(|e| internal("the session could not be renewed", e))?;
    session
        .insert(SESSION_USER, principal.user_id)
        .await
        .map_err(|e| internal("the session could not be saved", e))?;
    session
        .insert(SESSION_EPOCH, epoch)
        .await
        .map_err(|e| internal("the session could not be saved", e))?;
    tracing::info!(user = %principal.name, "signed in");
    leptos_axum::redirect(&local_path(next.as_deref()));
    Ok(())
}

#[server(endpoint = "logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::context::internal;
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| internal("the session is not available", e))?;
    session
        .flush()
        .await
        .map_err(|e| internal("the session could not be ended", e))?;
    leptos_axum::redirect("/login");
    Ok(())
}

/// Who is signed in, if anyone.
#[server(endpoint = "current_user")]
pub async fn current_user() -> Result<Option<Principal>, AppError> {
    Ok(crate::auth::principal().ok())
}

#[component]
pub fn LoginPage() -> impl IntoView {
    let login = ServerAction::<Login>::new();
    let query = use_query_map();
    let next = move || query.read().get("next").unwrap_or_else(|| "/".into());
    view! {
        <section class="card login">
            <h1>"Sign in"</h1>
            <p class="meta">"Tinct is for the archive's staff. Ask an administrator for an account."</p>
            <ActionForm action=login attr:data-testid="login-form">
                <input type="hidden" name="next" value=next/>
                <label>"Name" <input name="name" autocomplete="username" required/></label>
                <label>"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <button class="button primary" type="submit">"Sign in"</button>
            </ActionForm>
            {move || match login.value().get() {
                Some(Err(e)) => Some(view! { <p class="error" data-testid="login-error">{server_message(&e)}</p> }),
                _ => None,
            }}
        </section>
    }
}

/// The sentence a server function's error says to the person.
pub fn server_message(error: &AppError) -> String {
    error.message.clone()
}

#[component]
pub fn SignOutButton() -> impl IntoView {
    let logout = ServerAction::<Logout>::new();
    view! {
        <ActionForm action=logout attr:class="inline">
            <button class="button small" type="submit" data-testid="sign-out">"Sign out"</button>
        </ActionForm>
    }
}

#[cfg(test)]
mod tests {
    use super::local_path;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(local_path(Some("/gallery?x=1")), "/gallery?x=1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(None), "/");
        assert_eq!(local_path(Some("/\t/evil.example")), "/");
        assert_eq!(local_path(Some("/\n/evil.example")), "/");
        assert_eq!(local_path(Some("/caf\u{e9}")), "/");
    }
}

//! The signed-in person's own page: their personal API tokens (create, shown once; revoke).

use leptos::prelude::*;

use crate::error::AppError;

use crate::components::local_time::LocalTime;

use super::login::server_message;
use crate::auth::TokenRow;

#[server(endpoint = "list_tokens")]
pub async fn list_tokens() -> Result<Vec<TokenRow>, AppError> {
    use crate::auth::{require, store};
    use crate::context::{internal, server_context};
    let who = require(|p| p.scopes.is_none())?;
    store::list_tokens(&server_context()?.db, who.user_id)
        .await
        .map_err(|e| internal("the tokens could not be read", e))
}

/// Creates a token and answers it; it is not stored and cannot be shown again.
#[server(endpoint = "create_token")]
pub async fn create_token(
    name: String,
    scope_submit: Option<String>,
    scope_read: Option<String>,
    scope_admin: Option<String>,
    expires_in_days: Option<String>,
) -> Result<String, AppError> {
    use crate::auth::{require, store, Role, Scope};
    use crate::context::{internal, server_context};
    // Tokens are made from a browser session by admins and staff, never by another token.
    let who = require(|p| p.scopes.is_none() && p.role != Role::Viewer)?;
    let mut scopes = Vec::new();
    for (wanted, scope) in [
        (scope_submit, Scope::Submit),
        (scope_read, Scope::Read),
        (scope_admin, Scope::Admin),
    ] {
        if wanted.is_some() {
            if scope == Scope::Admin && who.role != Role::Admin {
                return Err(AppError::refused(
                    "only an admin can give a token the admin scope",
                ));
            }
            scopes.push(scope);
        }
    }
    let days = match expires_in_days.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(d) => Some(
            d.parse::<u32>()
                .ok()
                .filter(|d| (1..=3650).contains(d))
                .ok_or_else(|| {
                    AppError::refused("the expiry is a number of days from 1 to 3650, or empty")
                })?,
        ),
    };
    let (token, _) = store::create_token(&server_context()?.db, who.user_id, &name, &scopes, days)
        .await
        .map_err(|e| {
            if e.is_user_error() {
                AppError::refused(e.to_string())
            } else {
                internal("the token could not be created", e)
            }
        })?;
    Ok(token)
}

#[server(endpoint = "revoke_token")]
pub async fn revoke_token(id: String) -> Result<(), AppError> {
    use crate::auth::{require, store};
    use crate::context::{internal, server_context};
    let who = require(|p| p.scopes.is_none())?;
    match store::revoke_token(&server_context()?.db, who.user_id, &id).await {
        Ok(true) => {
            crate::context::account_changed();
            Ok(())
        }
        Ok(false) => Err(AppError::refused("no such live token of yours")),
        Err(e) => Err(internal("the token could not be revoked", e)),
    }
}

/// Changes the signed-in person's own password. Every other session and every token of theirs
/// ends; this session carries on.
#[server(endpoint = "change_password")]
pub async fn change_password(current: String, new_password: String) -> Result<(), AppError> {
    use crate::auth::{require, store};
    use crate::context::{internal, server_context};
    use crate::pages::login::SESSION_EPOCH;
    let who = require(|p| p.scopes.is_none())?;
    if new_password.chars().count() < 10 {
        return Err(AppError::refused(
            "the new password needs at least 10 characters",
        ));
    }
    let db = server_context()?.db;
    let right = store::check_password(&db, who.user_id, &current)
        .await
        .map_err(|e| internal("the password could not be checked", e))?;
    if !right {
        return Err(AppError::refused("the current password is not right"));
    }
    let epoch = store::set_password(&db, who.user_id, &new_password, None)
        .await
        .map_err(|e| internal("the password could not be changed", e))?;
    crate::context::account_changed();
    let session = leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map_err(|e| internal("the session is not available", e))?;
    session
        .insert(SESSION_EPOCH, epoch)
        .await
        .map_err(|e| internal("the session could not be saved", e))?;
    Ok(())
}

#[component]
pub fn AccountPage() -> impl IntoView {
    let change = ServerAction::<ChangePassword>::new();
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );
    view! {
        <h1>"Your account"</h1>
        <section class="card">
            <h2>"API tokens"</h2>
            <p class="meta">
                "Scripts and back-end systems use a token instead of your password: "
                <code>"Authorization: Bearer <token>"</code>
                ". A token can do what you can, narrowed to its scopes."
            </p>
            <ActionForm action=create attr:class="token-form" attr:data-testid="token-form">
                <label>"Name " <input name="name" placeholder="e.g. nightly batch" required/></label>
                <label><input type="checkbox" name="scope_submit" checked/>" submit"</label>
                <label><input type="checkbox" name="scope_read" checked/>" read"</label>
                <label><input type="checkbox" name="scope_admin"/>" admin"</label>
                <label>"Expires after " <input name="expires_in_days" inputmode="numeric" size="4" placeholder="never"/>" days"</label>
                <button class="button primary" type="submit">"Create token"</button>
            </ActionForm>
            {move || match create.value().get() {
                Some(Ok(token)) => view! {
                    <p class="notice" data-testid="new-token">
                        "Copy it now; it is not shown again: " <code>{token}</code>
                    </p>
                }.into_any(),
                Some(Err(e)) => view! { <p class="error">{server_message(&e)}</p> }.into_any(),
                None => ().into_any(),
            }}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Ok(tokens) if tokens.is_empty() => view! { <p>"No tokens yet."</p> }.into_any(),
                        Ok(tokens) => view! { <TokenTable tokens revoke/> }.into_any(),
                        Err(e) => view! { <p class="error">{server_message(&e)}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
        <section class="card">
            <h2>"Password"</h2>
            <p class="meta">"Changing it signs you out everywhere else and revokes your tokens."</p>
            <ActionForm action=change attr:data-testid="password-form">
                <label>"Current password " <input type="password" name="current" autocomplete="current-password" required/></label>
                <label>"New password " <input type="password" name="new_password" autocomplete="new-password" minlength="10" required/></label>
                <button class="button" type="submit">"Change password"</button>
            </ActionForm>
            {move || match change.value().get() {
                Some(Ok(())) => view! { <p class="notice" role="status">"Your password was changed."</p> }.into_any(),
                Some(Err(e)) => view! { <p class="error" role="alert">{server_message(&e)}</p> }.into_any(),
                None => ().into_any(),
            }}
        </section>
    }
}

#[component]
fn TokenTable(tokens: Vec<TokenRow>, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    view! {
        <div class="table-scroll" role="region" aria-label="API tokens" tabindex="0">
        <table class="jobs" data-testid="tokens-table">
            <thead>
                <tr><th>"Name"</th><th>"Scopes"</th><th>"Created"</th><th>"Expires"</th><th>"Last used"</th><th>"Actions"</th></tr>
            </thead>
            <tbody>
                {tokens
                    .into_iter()
                    .map(|t| {
                        let live = t.revoked_at.is_none();
                        view! {
                            <tr>
                                <td>{t.name}</td>
                                <td>{t.scopes}</td>
                                <td><LocalTime iso=t.created_at/></td>
                                <td>{match t.expires_at {
                                    Some(at) => view! { <LocalTime iso=at/> }.into_any(),
                                    None => "never".into_any(),
                                }}</td>
                                <td>{match t.last_used_at {
                                    Some(at) => view! { <LocalTime iso=at/> }.into_any(),
                                    None => "never".into_any(),
                                }}</td>
                                <td>
                                    {if live {
                                        view! {
                                            <ActionForm action=revoke attr:class="inline">
                                                <input type="hidden" name="id" value=t.id/>
                                                <button class="button small danger" type="submit">"Revoke"</button>
                                            </ActionForm>
                                        }
                                            .into_any()
                                    } else {
                                        view! { <span class="meta">"revoked"</span> }.into_any()
                                    }}
                                </td>
                            </tr>
                        }
                    })
                    .collect_view()}
            </tbody>
        </table>
        </div>
    }
}

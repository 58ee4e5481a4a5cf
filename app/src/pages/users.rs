//! User management on the Admin page: list, add, change role, disable, reset password, delete.

use leptos::prelude::*;

use crate::error::AppError;

use super::login::server_message;
use crate::auth::{Role, UserRow};

#[cfg(feature = "ssr")]
fn account_error(e: crate::auth::store::AccountError) -> AppError {
    if e.is_user_error() {
        AppError::refused(e.to_string())
    } else {
        crate::context::internal("the accounts could not be changed", e)
    }
}

#[cfg(feature = "ssr")]
fn admin() -> Result<crate::db::Db, AppError> {
    crate::auth::require(|p| p.is_admin())?;
    Ok(crate::context::server_context()?.db)
}

#[cfg(feature = "ssr")]
fn parse_role(role: &str) -> Result<Role, AppError> {
    Role::parse(role).ok_or_else(|| AppError::refused("a role is admin, staff or viewer"))
}

#[server(endpoint = "list_users")]
pub async fn list_users() -> Result<Vec<UserRow>, AppError> {
    crate::auth::store::list_users(&admin()?)
        .await
        .map_err(account_error)
}

/// Adds a user; with no password given, one is generated and answered (shown once).
#[server(endpoint = "add_user")]
pub async fn add_user(
    name: String,
    role: String,
    password: Option<String>,
) -> Result<String, AppError> {
    let db = admin()?;
    let password = password
        .filter(|p| !p.is_empty())
        .unwrap_or_else(crate::auth::passwords::generate);
    crate::auth::store::add_user(&db, name.trim(), parse_role(&role)?, &password)
        .await
        .map_err(account_error)?;
    crate::context::account_changed();
    Ok(password)
}

#[server(endpoint = "set_user_role")]
pub async fn set_user_role(id: i64, role: String) -> Result<(), AppError> {
    crate::auth::store::set_role(&admin()?, id, parse_role(&role)?)
        .await
        .map_err(account_error)?;
    crate::context::account_changed();
    Ok(())
}

#[server(endpoint = "set_user_disabled")]
pub async fn set_user_disabled(id: i64, disabled: bool) -> Result<(), AppError> {
    crate::auth::store::set_disabled(&admin()?, id, disabled)
        .await
        .map_err(account_error)?;
    crate::context::account_changed();
    Ok(())
}

/// Sets a new generated password and answers it (shown once).
#[server(endpoint = "reset_password")]
pub async fn reset_password(id: i64) -> Result<String, AppError> {
    let password = crate::auth::passwords::generate();
    // Every session and token of that user ends; an admin resetting their own password keeps
    // the token making the request, if any (a session of theirs must sign in again).
    let who = crate::auth::principal()?;
    let keep = if who.user_id == id {
        who.token_id
    } else {
        None
    };
    crate::auth::store::set_password(&admin()?, id, &password, keep.as_deref())
        .await
        .map_err(account_error)?;
    crate::context::account_changed();
    Ok(password)
}

#[server(endpoint = "delete_user")]
pub async fn delete_user(id: i64) -> Result<(), AppError> {
    crate::auth::store::delete_user(&admin()?, id)
        .await
        .map_err(account_error)?;
    crate::context::account_changed();
    Ok(())
}

#[component]
pub fn UsersSection() -> impl IntoView {
    let add = ServerAction::<AddUser>::new();
    let role = ServerAction::<SetUserRole>::new();
    let disable = ServerAction::<SetUserDisabled>::new();
    let reset = ServerAction::<ResetPassword>::new();
    let delete = ServerAction::<DeleteUser>::new();
    let users = Resource::new(
        move || {
            (
                add.version().get(),
                role.version().get(),
                disable.version().get(),
                reset.version().get(),
                delete.version().get(),
            )
        },
        |_| list_users(),
    );
    let error = move || {
        [
            add.value().get().and_then(Result::err),
            role.value().get().and_then(Result::err),
            disable.value().get().and_then(Result::err),
            reset.value().get().and_then(Result::err),
            delete.value().get().and_then(Result::err),
        ]
        .into_iter()
        .flatten()
        .next()
        .map(|e| view! { <p class="error" data-testid="users-error">{server_message(&e)}</p> })
    };
    // A password typed for a new user does not stay in the form once the user exists.
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            #[cfg(feature = "hydrate")]
            if let Some(form) = document()
                .query_selector("[data-testid=add-user]")
                .ok()
                .flatten()
                .and_then(|f| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlFormElement>(f).ok())
            {
                form.reset();
            }
        }
    });
    let shown_password = move || {
        add.value()
            .get()
            .and_then(Result::ok)
            .or_else(|| reset.value().get().and_then(Result::ok))
            .map(|p| {
                view! {
                    <p class="notice" data-testid="new-password">
                        "The password, shown once — pass it on safely: " <code>{p}</code>
                    </p>
                }
            })
    };
    view! {
        <section class="card" data-testid="users">
            <h2>"Users"</h2>
            <ActionForm action=add attr:class="inline" attr:data-testid="add-user">
                <label>"Name " <input name="name" required/></label>
                <label>
                    "Role "
                    <select name="role">
                        <option value="staff">"staff"</option>
                        <option value="viewer">"viewer"</option>
                        <option value="admin">"admin"</option>
                    </select>
                </label>
                <label>"Password " <input type="password" name="password" placeholder="generate one" autocomplete="new-password"/></label>
                <button class="button primary" type="submit">"Add user"</button>
            </ActionForm>
            {shown_password}
            {error}
            <Suspense fallback=|| view! { <p>"Loading…"</p> }>
                {move || Suspend::new(async move {
                    users.await.map(|users| view! {
                        <div class="table-scroll" tabindex="0" role="region" aria-label="Users">
                            <table class="jobs" data-testid="users-table">
                                <thead>
                                    <tr><th>"Name"</th><th>"Role"</th><th>"State"</th><th>"Since"</th><th>"Actions"</th></tr>
                                </thead>
                                <tbody>
                                    {users.into_iter().map(|u| view! { <UserRowView user=u role disable reset delete/> }).collect_view()}
                                </tbody>
                            </table>
                        </div>
                    })
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn UserRowView(
    user: UserRow,
    role: ServerAction<SetUserRole>,
    disable: ServerAction<SetUserDisabled>,
    reset: ServerAction<ResetPassword>,
    delete: ServerAction<DeleteUser>,
) -> impl IntoView {
    let id = user.id.to_string();
    let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
    let current = user.role.clone();
    let name = user.name.clone();
    let role_label = format!("Role of {}", user.name);
    view! {
        <tr data-user=name>
            <td>{user.name}</td>
            <td>
                <ActionForm action=role attr:class="inline">
                    <input type="hidden" name="id" value=id1/>
                    <select name="role" aria-label=role_label>
                        {Role::ALL
                            .into_iter()
                            .map(|r| view! { <option value=r.as_str() selected=r.as_str() == current>{r.as_str()}</option> })
                            .collect_view()}
                    </select>
                    <button class="button small" type="submit">"Save"</button>
                </ActionForm>
            </td>
            <td>{if user.disabled { "disabled" } else { "active" }}</td>
            <td>{user.created_at}</td>
            <td>
                <ActionForm action=disable attr:class="inline">
                    <input type="hidden" name="id" value=id2/>
                    <input type="hidden" name="disabled" value=(!user.disabled).to_string()/>
                    <button class="button small" type="submit">{if user.disabled { "Enable" } else { "Disable" }}</button>
                </ActionForm>
                <ActionForm action=reset attr:class="inline">
                    <input type="hidden" name="id" value=id3/>
                    <button class="button small" type="submit">"Reset password"</button>
                </ActionForm>
                <ActionForm action=delete attr:class="inline">
                    <input type="hidden" name="id" value=id/>
                    <button class="button small danger" type="submit">"Delete"</button>
                </ActionForm>
            </td>
        </tr>
    }
}

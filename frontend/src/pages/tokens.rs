//! `/admin/tokens`: API tokens for a host's own systems. A new token is
//! shown once, with a copy button; the list shows who made each, when it
//! expires and when it was last used, and revokes it.
use leptos::prelude::*;

use super::admin::{Gate, change, change_empty, fetch, use_session};
use crate::api::{ApiToken, NewApiToken, Problem, Role};
use crate::browser;
use crate::i18n::tr;

#[component]
pub fn TokensPage() -> impl IntoView {
    view! { <Gate><Tokens/></Gate> }
}

#[component]
fn Tokens() -> impl IntoView {
    let t = tr();
    let session = use_session();
    let is_admin = move || session.0.with(|m| m.as_ref().is_some_and(|m| m.role == Role::Admin));
    let tokens = RwSignal::new(Vec::<ApiToken>::new());
    let reload = move || {
        fetch::<Vec<ApiToken>>("/api/admin/tokens".into(), move |r| {
            if let Ok(all) = r {
                tokens.set(all);
            }
        })
    };
    super::in_browser(reload);
    let name = RwSignal::new(String::new());
    let role = RwSignal::new("viewer".to_owned());
    let days = RwSignal::new("90".to_owned());
    let made = RwSignal::new(None::<NewApiToken>);
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        let body = serde_json::json!({
            "name": name.get_untracked(),
            "role": role.get_untracked(),
            "expires_in_days": days.get_untracked().trim().parse::<u32>().unwrap_or(0),
        });
        change("POST", "/api/admin/tokens".into(), Some(body), move |r: Result<NewApiToken, Problem>| match r {
            Ok(token) => {
                name.set(String::new());
                made.set(Some(token));
                reload();
            }
            Err(p) => error.set(Some(if p.detail.is_empty() { tr()().request_failed.to_owned() } else { p.detail })),
        });
    };
    let revoke = move |id: i64| {
        change_empty::<()>("DELETE", format!("/api/admin/tokens/{id}"), None, move |_| reload());
    };
    view! {
        <section class="card" data-testid="tokens">
            <h1>{move || t().api_tokens}</h1>
            <p class="hint">{move || t().tokens_hint}</p>
            <Show when=is_admin>
                <form class="token-form" on:submit=submit data-testid="new-token">
                    <label>{move || t().token_name}
                        <input name="name" maxlength="64" required bind:value=name/>
                    </label>
                    <label>{move || t().token_role}
                        <select name="role" bind:value=role>
                            <option value="viewer">{move || t().role_viewer}</option>
                            <option value="admin">{move || t().role_admin}</option>
                        </select>
                    </label>
                    <label>{move || t().token_days}
                        <input name="expires_in_days" type="number" min="1" max="365" required bind:value=days/>
                    </label>
                    {move || error.get().map(|e| view! { <p class="feedback error" role="alert">{e}</p> })}
                    <button type="submit" class="primary">{move || t().token_create}</button>
                </form>
            </Show>
            {move || made.get().map(|m| view! {
                <div class="new-token" role="status">
                    <p><strong>{m.name}</strong>": "{move || t().token_shown_once}</p>
                    <code data-testid="new-token-value">{m.token.clone()}</code>
                    <super::CopyButton text=m.token label=|t| t.copy/>
                </div>
            })}
            <Show when=move || tokens.with(|all| !all.is_empty())
                fallback=move || view! { <p>{move || t().no_tokens}</p> }>
                <table class="audit tokens">
                    <thead><tr>
                        <th scope="col">{move || t().token_name}</th>
                        <th scope="col">{move || t().token_role}</th>
                        <th scope="col">{move || t().who}</th>
                        <th scope="col">{move || t().token_expires}</th>
                        <th scope="col">{move || t().token_last_used}</th>
                        <th scope="col">{move || t().token_revoke}</th>
                    </tr></thead>
                    <tbody>
                        <For each=move || tokens.get() key=|k| (k.id, k.revoked_at.is_some()) let:k>
                            <TokenRow token=k revoke=revoke can_revoke=is_admin()/>
                        </For>
                    </tbody>
                </table>
            </Show>
        </section>
    }
}

#[component]
fn TokenRow(token: ApiToken, revoke: impl Fn(i64) + Copy + 'static, can_revoke: bool) -> impl IntoView {
    let t = tr();
    let id = token.id;
    let expired = (token.expires_at.timestamp_millis() as f64) < browser::now_ms();
    let revoked = token.revoked_at.is_some();
    let state = move || {
        if revoked {
            Some(t().token_revoked)
        } else if expired {
            Some(t().token_expired)
        } else {
            None
        }
    };
    let role = token.role;
    let last = token.last_used_at;
    view! {
        <tr data-testid="token-row" class:inactive=revoked || expired>
            <td>{token.name.clone()}</td>
            <td>{move || if role == Role::Admin { t().role_admin } else { t().role_viewer }}</td>
            <td>{token.created_by.clone()}</td>
            <td>{browser::local_datetime(&token.expires_at)}" "{move || state().map(|s| format!("({s})"))}</td>
            <td>{move || last.map_or_else(|| t().never.to_owned(), |at| browser::local_datetime(&at))}</td>
            <td>
                {(can_revoke && !revoked && !expired).then(|| view! {
                    <button type="button" class="danger" on:click=move |_| revoke(id)>{move || t().token_revoke}</button>
                })}
            </td>
        </tr>
    }
}

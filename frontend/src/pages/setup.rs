//! `/admin/setup?token=…`: the first admin of a new installation picks a
//! username and password, from the one-time link `urna serve` printed.
use crate::html::PageTitle;
use leptos::prelude::*;

use super::admin::refusal;
use crate::api::{Me, Problem};
use crate::i18n::tr;

#[component]
pub fn SetupPage() -> impl IntoView {
    let t = tr();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let navigate = leptos_router::hooks::use_navigate();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.set(None);
        busy.set(true);
        let body = serde_json::json!({
            "token": crate::browser::query_param("token").unwrap_or_default(),
            "username": username.get_untracked(),
            "password": password.get_untracked(),
        });
        let navigate = navigate.clone();
        let done = move |r: Result<Me, Problem>| {
            busy.set(false);
            match r {
                Ok(_) => navigate("/admin", Default::default()),
                Err(p) if p.code == "setup-link-invalid" => error.set(Some(tr()().setup_link_invalid.to_owned())),
                Err(p) if p.code == "invalid-body" => error.set(Some(p.detail)),
                Err(p) => error.set(Some(refusal(&p))),
            }
        };
        #[cfg(feature = "hydrate")]
        leptos::task::spawn_local(async move {
            done(crate::api::send("POST", "/api/admin/setup", Some(&body), "").await);
        });
        #[cfg(not(feature = "hydrate"))]
        let _ = (body, done);
    };
    view! {
        <PageTitle text=move || format!("{} · urna", t().setup_title)/>
        <form class="card login" on:submit=submit data-testid="setup">
            <h1>{move || t().setup_title}</h1>
            <p class="hint">{move || t().setup_hint}</p>
            <label>{move || t().username}
                <input name="username" autocomplete="username" maxlength="64" required bind:value=username/>
            </label>
            <label>{move || t().new_password}
                <input name="password" type="password" autocomplete="new-password" minlength="12" required bind:value=password/>
            </label>
            {move || error.get().map(|e| view! { <p class="feedback error" role="alert">{e}</p> })}
            <button type="submit" class="primary" disabled=move || busy.get()>{move || t().setup_create}</button>
        </form>
    }
}

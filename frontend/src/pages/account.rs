//! `/admin/account`: the logged-in user's password and two-step login.
use leptos::prelude::*;

use super::admin::{Gate, change_empty, refusal, use_session};
use crate::api::{Problem, TotpSetup};
use crate::i18n::tr;

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <Gate>
            <ChangePassword/>
            <TwoStep/>
        </Gate>
    }
}

/// `Ok(message)` or `Err(message)` under a form.
fn feedback(result: RwSignal<Option<Result<String, String>>>) -> impl IntoView {
    move || {
        result.get().map(|r| match r {
            Ok(m) => view! { <p class="feedback ok" role="status">{m}</p> }.into_any(),
            Err(m) => view! { <p class="feedback error" role="alert">{m}</p> }.into_any(),
        })
    }
}

#[component]
fn ChangePassword() -> impl IntoView {
    let t = tr();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let result = RwSignal::new(None::<Result<String, String>>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body =
            serde_json::json!({ "current_password": current.get_untracked(), "new_password": new.get_untracked() });
        change_empty("POST", "/api/admin/password".into(), Some(body), move |r: Result<(), Problem>| {
            current.set(String::new());
            result.set(Some(match r {
                Ok(()) => {
                    new.set(String::new());
                    Ok(tr()().password_changed.to_owned())
                }
                Err(p) => Err(refusal(&p)),
            }));
        });
    };
    view! {
        <form class="card" on:submit=submit data-testid="change-password">
            <h1>{move || t().change_password}</h1>
            <label>{move || t().current_password}
                <input name="current_password" type="password" autocomplete="current-password" required bind:value=current/>
            </label>
            <label>{move || t().new_password}
                <input name="new_password" type="password" autocomplete="new-password" minlength="12" required bind:value=new/>
            </label>
            {feedback(result)}
            <button type="submit" class="primary">{move || t().change_password}</button>
        </form>
    }
}

#[component]
fn TwoStep() -> impl IntoView {
    let t = tr();
    let session = use_session();
    let on = move || session.0.with(|m| m.as_ref().is_some_and(|m| m.totp_enabled));
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let setup = RwSignal::new(None::<TotpSetup>);
    let result = RwSignal::new(None::<Result<String, String>>);
    let set_enabled = move |enabled: bool| {
        session.0.update(|m| {
            if let Some(m) = m {
                m.totp_enabled = enabled;
            }
        })
    };
    // Step 1 (off): the password, for a new secret. Step 2: a code from it.
    // On: the password turns it off.
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        result.set(None);
        if on() {
            let body = serde_json::json!({ "password": password.get_untracked() });
            change_empty("POST", "/api/admin/totp/disable".into(), Some(body), move |r: Result<(), Problem>| {
                password.set(String::new());
                match r {
                    Ok(()) => set_enabled(false),
                    Err(p) => result.set(Some(Err(refusal(&p)))),
                }
            });
        } else if setup.with_untracked(Option::is_some) {
            let body = serde_json::json!({ "code": code.get_untracked() });
            change_empty("POST", "/api/admin/totp/enable".into(), Some(body), move |r: Result<(), Problem>| {
                code.set(String::new());
                match r {
                    Ok(()) => {
                        setup.set(None);
                        set_enabled(true);
                    }
                    Err(p) => result.set(Some(Err(refusal(&p)))),
                }
            });
        } else {
            start_setup(password.get_untracked(), move |r| {
                password.set(String::new());
                match r {
                    Ok(s) => setup.set(Some(s)),
                    Err(p) => result.set(Some(Err(refusal(&p)))),
                }
            });
        }
    };
    view! {
        <form class="card" on:submit=submit data-testid="two-step">
            <h1>{move || t().two_step}</h1>
            <p data-testid="two-step-state">{move || if on() { t().two_step_on } else { t().two_step_off }}</p>
            {move || match setup.get() {
                Some(s) => view! {
                    <p>{move || t().two_step_scan}</p>
                    <img class="qr" src=s.qr alt="QR code" width="200" height="200"/>
                    <p>{move || t().two_step_key}": "<code data-testid="totp-secret">{s.secret}</code></p>
                    <label>{move || t().one_time_code}
                        <input name="code" inputmode="numeric" autocomplete="one-time-code" required bind:value=code/>
                    </label>
                }.into_any(),
                None => view! {
                    <label>{move || t().current_password}
                        <input name="password" type="password" autocomplete="current-password" required bind:value=password/>
                    </label>
                }.into_any(),
            }}
            {feedback(result)}
            <button type="submit" class="primary">
                {move || if on() { t().two_step_disable } else if setup.with(Option::is_some) { t().two_step_enable } else { t().two_step_start }}
            </button>
        </form>
    }
}

/// `POST /api/admin/totp`: a new secret for this account.
#[allow(unused_variables)]
fn start_setup(password: String, done: impl FnOnce(Result<TotpSetup, Problem>) + 'static) {
    #[cfg(feature = "hydrate")]
    {
        let csrf = use_session().csrf();
        let body = serde_json::json!({ "password": password });
        leptos::task::spawn_local(async move {
            done(crate::api::send("POST", "/api/admin/totp", Some(&body), &csrf).await);
        });
    }
}

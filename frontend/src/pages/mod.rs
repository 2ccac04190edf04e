//! One module per page family, and the pieces they share.
pub mod account;
pub mod admin;
pub mod home;
pub mod live;
pub mod present;
pub mod setup;
pub mod tokens;
pub mod verify;
pub mod vote;

use leptos::prelude::*;

use crate::api::PollStatus;
use crate::i18n::{Texts, tr};

/// Runs `f` in the browser once the page is live (never on the server).
pub fn in_browser(f: impl Fn() + 'static) {
    Effect::new(move |prev: Option<()>| {
        if prev.is_none() {
            f();
        }
    });
}

/// A button that puts `text` on the clipboard, and says when it did.
#[component]
pub fn CopyButton(
    text: String,
    label: fn(&'static Texts) -> &'static str,
    #[prop(optional)] class: &'static str,
) -> impl IntoView {
    let t = tr();
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let text = text.clone();
        leptos::task::spawn_local(async move { copied.set(crate::browser::copy_text(&text).await) });
    };
    view! {
        <button type="button" class=class on:click=copy>{move || label(t())}</button>
        <span role="status" class="hint">{move || copied.get().then(|| t().copied)}</span>
    }
}

/// A poll's status as a coloured label.
#[component]
pub fn StatusBadge(#[prop(into)] status: Signal<PollStatus>) -> impl IntoView {
    let t = tr();
    view! {
        <span class=move || format!("badge status-{}", status.get().as_str()) data-testid="poll-status">
            {move || status_text(t(), status.get())}
        </span>
    }
}

pub fn status_text(t: &'static Texts, status: PollStatus) -> &'static str {
    match status {
        PollStatus::Draft => t.status_draft,
        PollStatus::Scheduled => t.status_scheduled,
        PollStatus::Open => t.status_open,
        PollStatus::Closed => t.status_closed,
    }
}

/// The slug in the address (`/p/:slug/…`).
pub fn slug_param() -> impl Fn() -> String + Copy + Send + Sync + 'static {
    let params = leptos_router::hooks::use_params_map();
    move || params.read().get("slug").unwrap_or_default()
}

/// A page about the poll in the address: `page` renders it once loaded,
/// or the reader is told there is no such poll.
pub fn poll_page<V: IntoView + 'static>(page: fn(crate::api::Poll) -> V) -> impl IntoView {
    let poll = Resource::new(slug_param(), |s| crate::api::sendable(crate::api::load_poll(s)));
    let t = tr();
    view! {
        <Suspense fallback=move || view! { <p class="loading">{move || t().loading}</p> }>
            {move || Suspend::new(async move {
                match poll.await {
                    Ok(p) => page(p).into_any(),
                    Err(_) => view! { <PollMissing/> }.into_any(),
                }
            })}
        </Suspense>
    }
}

/// No poll at this address (or a draft, which the public cannot see).
#[component]
pub fn PollMissing() -> impl IntoView {
    let t = tr();
    answer_not_found();
    view! {
        <section class="card">
            <h1>{move || t().not_found}</h1>
            <p>{move || t().poll_not_found}</p>
        </section>
    }
}

/// A track's name as a heading: `voto-da-torcida` → "Voto da torcida".
pub fn track_title(name: &str) -> String {
    let spaced = name.replace(['-', '_'], " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// Makes the server's answer a 404 while it renders a "not found" page.
pub fn answer_not_found() {
    #[cfg(feature = "ssr")]
    if let Some(res) = use_context::<leptos_actix::ResponseOptions>() {
        res.set_status(actix_web::http::StatusCode::NOT_FOUND);
    }
}

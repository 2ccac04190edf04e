//! The web UI of urna: the voting page, the live results dashboard and the
//! admin dashboard, rendered by the `urna` binary (feature `ssr`) and
//! hydrated in the browser (feature `hydrate`, built to wasm).
//!
//! # Layout
//! - `api`: the JSON the pages read; on the server from the binary's memory
//!   through [`api::Backend`], in the browser over the HTTP API.
//! - `i18n`: pt-BR and English texts, and the language switch's state.
//! - `browser`: what only exists in a browser (timers, storage, cookies).
//! - `chart`: SVG bars and the vote curve.
//! - `html`: escaping for the text that reaches HTML outside `view!`
//!   (the `<title>`).
//! - `pages::{home, vote, live, admin, account}`: one module per page family.
#![recursion_limit = "256"]
pub mod api;
pub mod browser;
pub mod chart;
pub mod html;
pub mod i18n;
pub mod pages;

use leptos::prelude::*;
use leptos_meta::provide_meta_context;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::path;

use crate::i18n::{Lang, Locale, tr};

/// The marker browser tests wait for: set once the page is interactive.
pub const HYDRATED_ATTR: &str = "data-hydrated";

/// The whole HTML document, rendered on the server.
#[cfg(feature = "ssr")]
pub fn shell(options: LeptosOptions) -> impl IntoView {
    use leptos_meta::MetaTags;
    let locale = server_locale();
    let pkg = format!("/{}", options.site_pkg_dir);
    view! {
        <!DOCTYPE html>
        <html lang=locale.tag()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="stylesheet" href="/pkg/urna.css"/>
                <link rel="icon" href="data:,"/>
                // What Leptos's <HydrationScripts> does, from a file
                // (assets/boot.js): one inline script fewer under the CSP.
                <link rel="modulepreload" href=format!("{pkg}/urna.js")/>
                <link rel="preload" href=format!("{pkg}/urna.wasm") r#as="fetch" r#type="application/wasm" crossorigin=""/>
                <script type="module" src=format!("{pkg}/boot.js")></script>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The reader's language on the server: the `urna_lang` cookie, else the
/// first language of `Accept-Language`.
#[cfg(feature = "ssr")]
fn server_locale() -> Locale {
    let Some(req) = use_context::<leptos_actix::Request>() else { return Locale::PtBr };
    let req = req.into_inner();
    if let Some(c) = req.cookie(i18n::LANG_COOKIE) {
        return Locale::from_tag(c.value());
    }
    req.headers()
        .get("accept-language")
        .and_then(|v| v.to_str().ok())
        .map(Locale::from_accept_language)
        .unwrap_or(Locale::PtBr)
}

/// The language the server rendered in, read back from `<html lang>`.
#[cfg(not(feature = "ssr"))]
fn server_locale() -> Locale {
    browser::document_lang().map(|l| Locale::from_tag(&l)).unwrap_or(Locale::PtBr)
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let lang = RwSignal::new(server_locale());
    provide_context(Lang(lang));
    view! {
        <html::PageTitle text="urna".to_owned()/>
        <Router>
            <header class="topbar">
                <a class="brand" href="/">"urna"</a>
                <LanguageSwitch/>
            </header>
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=pages::home::HomePage/>
                    <Route path=path!("/p/:slug") view=pages::vote::VotePage/>
                    <Route path=path!("/p/:slug/live") view=pages::live::LivePage/>
                    <Route path=path!("/p/:slug/verify") view=pages::verify::VerifyPage/>
                    <Route path=path!("/admin") view=pages::admin::AdminHome/>
                    <Route path=path!("/admin/audit") view=pages::admin::AuditPage/>
                    <Route path=path!("/admin/account") view=pages::account::AccountPage/>
                    <Route path=path!("/admin/tokens") view=pages::tokens::TokensPage/>
                    <Route path=path!("/admin/setup") view=pages::setup::SetupPage/>
                    <Route path=path!("/admin/polls/new") view=pages::admin::NewPollPage/>
                    <Route path=path!("/admin/polls/:id") view=pages::admin::PollAdminPage/>
                </Routes>
            </main>
        </Router>
    }
}

/// Switches pt-BR ⇄ English in place and remembers the choice in a cookie.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let lang = i18n::use_lang();
    let t = tr();
    let switch = move |_| {
        let next = lang.get_untracked().other();
        browser::remember_language(next.tag());
        lang.set(next);
    };
    view! {
        <button type="button" class="lang" on:click=switch lang=move || lang.get().other().tag() data-testid="lang-switch">
            {move || t().switch_language}
        </button>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    let t = tr();
    pages::answer_not_found();
    view! {
        <section class="card">
            <h1>{move || t().not_found}</h1>
        </section>
    }
}

/// Entry point of the wasm bundle.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    hydrate_body(App);
    browser::mark_hydrated();
}

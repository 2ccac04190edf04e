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

/// Where the site's files the page names are: content-hashed names from
/// the build's manifest (the server reads it), or the plain names. (The
/// bundle itself is named by boot.js.)
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssetNames {
    pub css: String,
    pub boot: String,
    pub pow_worker: String,
}

impl Default for AssetNames {
    fn default() -> Self {
        AssetNames { css: "/pkg/urna.css".into(), boot: "/pkg/boot.js".into(), pow_worker: "/pkg/pow-worker.js".into() }
    }
}

/// The whole HTML document, rendered on the server.
#[cfg(feature = "ssr")]
pub fn shell(assets: AssetNames) -> impl IntoView {
    use leptos_meta::MetaTags;
    let locale = server_locale();
    view! {
        <!DOCTYPE html>
        <html lang=locale.tag()>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="stylesheet" href=assets.css/>
                <link rel="icon" href="data:,"/>
                // What Leptos's <HydrationScripts> does, from a file
                // (assets/boot.js): one inline script fewer under the CSP.
                // No preload of the bundle: boot.js fetches it once the page
                // is painted (see there).
                <script type="module" src=assets.boot></script>
                <MetaTags/>
            </head>
            <body data-pow-worker=assets.pow_worker>
                <App/>
            </body>
        </html>
    }
}

/// The reader's language on the server ([`request_locale`]).
#[cfg(feature = "ssr")]
fn server_locale() -> Locale {
    let Some(req) = use_context::<leptos_actix::Request>() else { return Locale::PtBr };
    request_locale(&req.into_inner())
}

/// The language a request gets a page in: its `?lang=`, else the one the
/// server chose for the page ([`i18n::PageLanguage`]: a poll's own), else
/// its `urna_lang` cookie, else the first language of its
/// `Accept-Language`, else pt-BR. (The server's page cache keys on it.)
#[cfg(feature = "ssr")]
pub fn request_locale(req: &actix_web::HttpRequest) -> Locale {
    if let Some(l) = i18n::query_lang(req.query_string()) {
        return l;
    }
    if let Some(i18n::PageLanguage(l)) = actix_web::HttpMessage::extensions(req).get::<i18n::PageLanguage>().copied() {
        return l;
    }
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
    // The reader's remembered choice, on a page whose address names no
    // language: the server rendered a poll's page in the poll's own (so
    // that a shared cache holds one copy), the browser switches it here.
    Effect::new(move |_| {
        if browser::query_param("lang").is_none()
            && let Some(chosen) = browser::chosen_language().map(|t| Locale::from_tag(&t))
            && chosen != lang.get_untracked()
        {
            browser::show_language(chosen.tag());
            lang.set(chosen);
        }
    });
    view! {
        <html::PageTitle text="urna".to_owned()/>
        <Router>
            <TopBar/>
            <main>
                <AppRoutes/>
            </main>
        </Router>
    }
}

/// Every page.
#[cfg(not(feature = "vote-only"))]
#[component]
fn AppRoutes() -> impl IntoView {
    view! {
        <Routes fallback=NotFound>
            <Route path=path!("/") view=pages::home::HomePage/>
            <Route path=path!("/p/:slug") view=pages::vote::VotePage/>
            <Route path=path!("/p/:slug/live") view=pages::live::LivePage/>
            <Route path=path!("/p/:slug/verify") view=pages::verify::VerifyPage/>
            <Route path=path!("/p/:slug/embed") view=pages::vote::EmbedPage/>
            <Route path=path!("/p/:slug/present") view=pages::present::PresentPage/>
            <Route path=path!("/admin") view=pages::admin::AdminHome/>
            <Route path=path!("/admin/audit") view=pages::admin::AuditPage/>
            <Route path=path!("/admin/account") view=pages::account::AccountPage/>
            <Route path=path!("/admin/tokens") view=pages::tokens::TokensPage/>
            <Route path=path!("/admin/setup") view=pages::setup::SetupPage/>
            <Route path=path!("/admin/polls/new") view=pages::admin::NewPollPage/>
            <Route path=path!("/admin/polls/:id") view=pages::admin::PollAdminPage/>
        </Routes>
    }
}

/// Whether `path` is a page of the `vote` bundle: `/p/{slug}` or
/// `/p/{slug}/embed` (boot.js picks that bundle by the same rule).
pub fn in_vote_bundle(path: &str) -> bool {
    let Some(rest) = path.strip_prefix("/p/") else { return false };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    match rest.split_once('/') {
        None => !rest.is_empty(),
        Some((slug, page)) => !slug.is_empty() && page == "embed",
    }
}

/// The voting page and its embed alone: the bundle a voter's first visit
/// downloads (`vote.wasm`, chosen by boot.js). The browser follows a link
/// to any other page itself ([`browser::follow_links_elsewhere`]), so the
/// server renders it and starts the bundle with every page.
#[cfg(feature = "vote-only")]
#[component]
fn AppRoutes() -> impl IntoView {
    view! {
        <Routes fallback=NotFound>
            <Route path=path!("/p/:slug") view=pages::vote::VotePage/>
            <Route path=path!("/p/:slug/embed") view=pages::vote::EmbedPage/>
        </Routes>
    }
}

/// The site's bar (brand, language), except on pages made to be framed or
/// shown on a big screen.
#[component]
fn TopBar() -> impl IntoView {
    let location = leptos_router::hooks::use_location();
    let bare = move || location.pathname.with(|p| p.ends_with("/embed") || p.ends_with("/present"));
    view! {
        <Show when=move || !bare()>
            <header class="topbar">
                <a class="brand" href="/">"urna"</a>
                <LanguageSwitch/>
            </header>
        </Show>
    }
}

/// A link to this page in the other language (`?lang=`, which works
/// without JavaScript); with it, switches pt-BR ⇄ English in place, puts
/// `?lang=` in the address (a reload or a shared link keeps it) and
/// remembers the choice in a cookie.
#[component]
fn LanguageSwitch() -> impl IntoView {
    let lang = i18n::use_lang();
    let t = tr();
    let location = leptos_router::hooks::use_location();
    let href = move || format!("{}?lang={}", location.pathname.get(), lang.get().other().tag());
    let switch = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        let next = lang.get_untracked().other();
        browser::remember_language(next.tag());
        lang.set(next);
    };
    view! {
        <a class="button lang" href=href on:click=switch hreflang=move || lang.get().other().tag()
            lang=move || lang.get().other().tag() data-testid="lang-switch">
            {move || t().switch_language}
        </a>
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
    #[cfg(feature = "vote-only")]
    browser::follow_links_elsewhere(in_vote_bundle);
    hydrate_body(App);
    browser::mark_hydrated();
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_vote_bundle_has_the_voting_page_and_its_embed() {
        for path in ["/p/bbb", "/p/bbb/", "/p/bbb/embed", "/p/bbb/embed/"] {
            assert!(super::in_vote_bundle(path), "{path}");
        }
        for path in ["/", "/p/", "/p/bbb/live", "/p/bbb/verify", "/p/bbb/present", "/admin", "/p//embed", "/pbbb"] {
            assert!(!super::in_vote_bundle(path), "{path}");
        }
    }
}

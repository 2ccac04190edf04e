//! The pages everyone opens at once — a poll's voting page, its embed and
//! its live dashboard — rendered once per poll state and language and then
//! served from memory, the same bytes for every reader, with an `ETag`
//! (`304` to `If-None-Match`): browsers revalidate each time, and
//! `CDN-Cache-Control` lets a shared cache keep them a second and serve
//! them stale while it asks again.
//!
//! Nothing in these pages is per reader, and the address alone decides
//! their bytes (the answer `Vary`s on `Accept-Encoding` only): a poll's
//! pages are in the poll's own language, or in the one `?lang=` names (the
//! key has it); never the reader's cookie or `Accept-Language` (the browser
//! applies a remembered choice itself). A voter cookie comes from the
//! poll's API answer or the voting form, never from the page. Leptos marks
//! its inline scripts with a per-render nonce; a cached page has its nonces
//! taken out and its policy names each inline script by its SHA-256
//! instead.
//!
//! Only `GET`s without a query string, or with `lang=` alone, are cached
//! (`?outcome=` and the like render each time), and only `200` answers
//! that set no cookie.
//!
//! A page's body is given [`RENDER_DEADLINE`] to finish. Leptos streams a
//! page as its `Suspense`s resolve, and has had rare races in which one never
//! does (leptos-rs/leptos#4851, #4698); a reader once waited a whole minute
//! for such a page here (CI, 2026-11-30). Past the deadline the render is
//! dropped and the reader gets `503 page-stalled` with `Retry-After`; the
//! next reader renders afresh.
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use base64::Engine;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::PollStatus;
use crate::read::{PollEntry, public_visibility};
use crate::state::AppState;

/// A browser asks again each time (a `304` while the page is the same):
/// kept even a second, a reload right after a poll closes would still say
/// it is open, and a browser may serve stale content while it revalidates.
const CACHE_CONTROL: &str = "public, no-cache";
/// A CDN (RFC 9213's targeted field) keeps a page a second and serves it
/// stale for five more while it asks again: the opening rush lands there.
const CDN_CACHE_CONTROL: &str = "public, max-age=1, stale-while-revalidate=5";
/// How long a page may take to render (it takes milliseconds).
const RENDER_DEADLINE: std::time::Duration = std::time::Duration::from_secs(5);

/// What a page's bytes depend on besides its path and language.
#[derive(Clone, Debug, PartialEq, Eq)]
struct State {
    version: i64,
    status: PollStatus,
    /// The live dashboard only: the results it was rendered with.
    results: Option<(Option<DateTime<Utc>>, i64, bool)>,
}

/// A rendered page, ready to send.
struct Page {
    state: State,
    body: Bytes,
    /// The same compressed, once, when rendered.
    br: Option<Bytes>,
    gzip: Option<Bytes>,
    etag: String,
    csp: String,
    content_type: header::HeaderValue,
}

/// The newest rendering of each (path, language); an older state is
/// replaced, so the map holds at most pages × languages per poll.
#[derive(Clone, Default)]
pub struct PageCache(Arc<Mutex<HashMap<Key, Arc<Page>>>>);

/// A page's path and language.
type Key = (String, &'static str);

impl PageCache {
    fn get(&self, key: &Key, state: &State) -> Option<Arc<Page>> {
        let pages = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pages.get(key).filter(|p| p.state == *state).cloned()
    }

    fn put(&self, key: Key, page: Arc<Page>) {
        let mut pages = self.0.lock().unwrap_or_else(|p| p.into_inner());
        pages.insert(key, page);
    }
}

/// Whether a poll page's path is one of the cached pages, and whether it is
/// the live dashboard: `/p/{slug}` and `/p/{slug}/embed` (`false`),
/// `/p/{slug}/live` (`true`).
fn cacheable(path: &str) -> Option<bool> {
    let rest = path.strip_prefix("/p/")?;
    match rest.split_once('/').map_or("", |(_, page)| page) {
        "" | "embed" => Some(false),
        "live" => Some(true),
        _ => None,
    }
}

/// The state a (published) poll's page would be rendered in now.
fn state_of(entry: &PollEntry, live: bool) -> State {
    let def = &entry.def;
    let results = live.then(|| {
        let published = entry.shared.results();
        (published.snapshot.as_of, published.snapshot.total_votes, public_visibility(def).is_ok())
    });
    State { version: def.version, status: def.effective_status(Utc::now()), results }
}

/// The slug of a poll page's path (`/p/{slug}` and below).
fn poll_slug(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/p/")?;
    rest.split('/').next().filter(|s| !s.is_empty())
}

/// Whether a query string leaves a page cacheable: none, or `lang=` alone
/// naming a language.
fn cacheable_query(query: &str) -> bool {
    query.is_empty() || (!query.contains('&') && frontend::i18n::query_lang(query).is_some())
}

/// Middleware: tells a poll's pages their language (the poll's own unless
/// `?lang=` names one), and answers cacheable pages from memory, rendering
/// on a miss.
pub async fn serve(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    // The poll whose page this is, looked up once. A draft is not there
    // for the public: it is neither cached nor does its 404 page speak its
    // language (the reader's does).
    let poll = poll_slug(req.path())
        .and_then(|slug| req.app_data::<web::Data<AppState>>()?.registry.get(slug))
        .filter(|e| e.def.status != PollStatus::Draft);
    if let Some(e) = &poll {
        actix_web::HttpMessage::extensions_mut(&req).insert(frontend::i18n::PageLanguage(e.def.language.into()));
    }
    let target = poll.filter(|_| req.method() == Method::GET && cacheable_query(req.query_string())).and_then(|e| {
        let live = cacheable(req.path())?;
        let cache = req.app_data::<web::Data<PageCache>>()?;
        Some((state_of(&e, live), cache.get_ref().clone()))
    });
    let Some((page_state, cache)) = target else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let key = (req.path().to_owned(), frontend::request_locale(req.request()).tag());
    if let Some(page) = cache.get(&key, &page_state) {
        let (req, _) = req.into_parts();
        let res = answer(&req, &page);
        return Ok(ServiceResponse::new(req, res));
    }
    let res = next.call(req).await?;
    if res.status() != StatusCode::OK || res.headers().contains_key(header::SET_COOKIE) {
        return Ok(res.map_into_boxed_body());
    }
    let (req, res) = res.into_parts();
    let csp = res.headers().get(header::CONTENT_SECURITY_POLICY).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let content_type = res
        .headers()
        .get(header::CONTENT_TYPE)
        .cloned()
        .unwrap_or_else(|| header::HeaderValue::from_static("text/html; charset=utf-8"));
    let body = match tokio::time::timeout(RENDER_DEADLINE, actix_web::body::to_bytes(res.into_body())).await {
        Ok(body) => body.map_err(|e| actix_web::error::ErrorInternalServerError(e.into().to_string()))?,
        Err(_) => {
            metrics::counter!("urna_page_render_stalls_total").increment(1);
            tracing::warn!(path = req.path(), "a page render stalled and was dropped");
            let res = actix_web::ResponseError::error_response(&crate::http::ApiError::PageStalled);
            return Ok(ServiceResponse::new(req, res));
        }
    };
    let (body, csp) = without_nonces(&body, csp.as_deref().unwrap_or_default());
    let etag = format!("\"{}\"", hex::encode(Sha256::digest(&body).get(..12).unwrap_or_default()));
    let (br, gzip) = crate::http::encoding::compressed(&body);
    let page = Arc::new(Page { state: page_state, body, br, gzip, etag, csp, content_type });
    cache.put(key, page.clone());
    let res = answer(&req, &page);
    Ok(ServiceResponse::new(req, res))
}

/// A cached page, or `304` when the reader has these bytes already.
fn answer(req: &actix_web::HttpRequest, page: &Page) -> HttpResponse {
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|tags| tags.split(',').any(|t| t.trim() == page.etag || t.trim() == "*"));
    let mut res = if fresh { HttpResponse::NotModified() } else { HttpResponse::Ok() };
    res.insert_header((header::ETAG, page.etag.as_str()))
        .insert_header((header::CACHE_CONTROL, CACHE_CONTROL))
        .insert_header(("CDN-Cache-Control", CDN_CACHE_CONTROL))
        .insert_header((header::VARY, "Accept-Encoding"))
        .insert_header((header::CONTENT_SECURITY_POLICY, page.csp.as_str()));
    if fresh {
        return res.finish();
    }
    res.insert_header((header::CONTENT_TYPE, page.content_type.clone()));
    let body = crate::http::encoding::encoded(req, &mut res, &page.body, page.br.as_ref(), page.gzip.as_ref());
    res.body(body)
}

/// The page without its scripts' nonce, and its policy naming each inline
/// script by hash (`'sha256-…'`) where it named the nonce.
fn without_nonces(html: &[u8], csp: &str) -> (Bytes, String) {
    let text = String::from_utf8_lossy(html);
    let nonce = csp.split("'nonce-").nth(1).and_then(|r| r.split('\'').next()).unwrap_or_default();
    if nonce.is_empty() {
        return (Bytes::copy_from_slice(html), csp.to_owned());
    }
    let text = text.replace(&format!(" nonce=\"{nonce}\""), "");
    let hashes: Vec<String> = inline_scripts(&text)
        .map(|s| format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s.as_bytes()))))
        .collect();
    let csp = csp.replace(&format!("'nonce-{nonce}'"), &hashes.join(" "));
    (Bytes::from(text), csp)
}

/// The text of each `<script>` without `src`.
fn inline_scripts(html: &str) -> impl Iterator<Item = &str> {
    html.split("<script").skip(1).filter_map(|rest| {
        let (tag, after) = rest.split_once('>')?;
        if tag.contains("src=") {
            return None;
        }
        after.split_once("</script>").map(|(body, _)| body)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_become_hashes_of_exactly_the_inline_scripts() {
        let html = br#"<html><head><script type="module" src="/pkg/boot.js" nonce="abc"></script></head><body><script nonce="abc">window.a=1</script><p>x</p><script nonce="abc">b()</script></body></html>"#;
        let csp = "default-src 'self'; script-src 'self' 'nonce-abc' 'wasm-unsafe-eval'; object-src 'none'";
        let (body, policy) = without_nonces(html, csp);
        let body = String::from_utf8(body.to_vec()).unwrap();
        assert!(!body.contains("nonce"), "{body}");
        let hash =
            |s: &str| format!("'sha256-{}'", base64::engine::general_purpose::STANDARD.encode(Sha256::digest(s)));
        assert_eq!(
            policy,
            format!(
                "default-src 'self'; script-src 'self' {} {} 'wasm-unsafe-eval'; object-src 'none'",
                hash("window.a=1"),
                hash("b()")
            )
        );
        assert_eq!(cacheable("/p/bbb"), Some(false));
        assert_eq!(cacheable("/p/bbb/live"), Some(true));
        assert_eq!(cacheable("/p/bbb/verify"), None);
        assert_eq!(cacheable("/admin"), None);
    }

    #[test]
    fn only_a_language_of_its_own_keeps_a_query_cacheable() {
        assert!(cacheable_query(""));
        assert!(cacheable_query("lang=en") && cacheable_query("lang=pt-BR"));
        assert!(!cacheable_query("lang=fr"), "an unknown language renders (in the poll's own) each time");
        assert!(!cacheable_query("lang=en&outcome=recorded"));
        assert!(!cacheable_query("outcome=recorded"));
        assert_eq!(poll_slug("/p/bbb"), Some("bbb"));
        assert_eq!(poll_slug("/p/bbb/verify"), Some("bbb"));
        assert_eq!(poll_slug("/p/"), None);
        assert_eq!(poll_slug("/admin"), None);
    }
}

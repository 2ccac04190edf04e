//! What only exists in a browser. On the server every function here is an
//! inert stand-in, so components can call them unconditionally.

#[cfg(feature = "hydrate")]
mod imp {
    use chrono::{DateTime, Utc};
    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;

    fn document() -> Option<web_sys::Document> {
        web_sys::window()?.document()
    }

    pub fn document_lang() -> Option<String> {
        document()?.document_element()?.get_attribute("lang")
    }

    pub fn mark_hydrated() {
        if let Some(body) = document().and_then(|d| d.body()) {
            let _ = body.set_attribute(crate::HYDRATED_ATTR, "");
        }
    }

    /// Lets the browser itself follow a click on a link to a page that
    /// `has_page` says this bundle cannot show (its router would render "not
    /// found"): the server renders that page and starts the bundle that has
    /// it. A listener in the capture phase on the window runs before the
    /// router's, and stops the click from reaching it.
    pub fn follow_links_elsewhere(has_page: fn(&str) -> bool) {
        let Some(w) = web_sys::window() else { return };
        let origin = w.location().origin().ok();
        let handler = Closure::<dyn Fn(web_sys::Event)>::new(move |ev: web_sys::Event| {
            let link = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .and_then(|e| e.closest("a[href]").ok().flatten())
                .and_then(|a| a.dyn_into::<web_sys::HtmlAnchorElement>().ok());
            if let Some(a) = link
                && Some(a.origin()) == origin
                && !has_page(&a.pathname())
            {
                ev.stop_immediate_propagation();
            }
        });
        let _ = w.add_event_listener_with_callback_and_bool("click", handler.as_ref().unchecked_ref(), true);
        handler.forget();
    }

    /// Says the page is now in language `tag` (`<html lang>`).
    pub fn show_language(tag: &str) {
        if let Some(html) = document().and_then(|d| d.document_element()) {
            let _ = html.set_attribute("lang", tag);
        }
    }

    /// The reader switched to language `tag`: the page says so, the
    /// address carries it (`?lang=`, the rest of the query kept) and a
    /// cookie remembers it for pages whose address names none.
    pub fn remember_language(tag: &str) {
        show_language(tag);
        if let Some(doc) = document().and_then(|d| d.dyn_into::<web_sys::HtmlDocument>().ok()) {
            let cookie = format!("{}={tag}; path=/; max-age=31536000; samesite=lax", crate::i18n::LANG_COOKIE);
            let _ = doc.set_cookie(&cookie);
        }
        replace_query(|params| params.set("lang", tag));
    }

    /// Changes the address's query in place (no new history entry).
    fn replace_query(change: impl FnOnce(&web_sys::UrlSearchParams)) {
        let Some(w) = web_sys::window() else { return };
        let loc = w.location();
        let (Ok(path), Ok(search)) = (loc.pathname(), loc.search()) else { return };
        let Ok(params) = web_sys::UrlSearchParams::new_with_str(&search) else { return };
        change(&params);
        let rest: String = params.to_string().into();
        let url = if rest.is_empty() { path } else { format!("{path}?{rest}") };
        if let Ok(h) = w.history() {
            let _ = h.replace_state_with_url(&JsValue::NULL, "", Some(&url));
        }
    }

    /// The language the reader chose last (the `urna_lang` cookie).
    pub fn chosen_language() -> Option<String> {
        let cookies = document()?.dyn_into::<web_sys::HtmlDocument>().ok()?.cookie().ok()?;
        let prefix = format!("{}=", crate::i18n::LANG_COOKIE);
        cookies.split(';').find_map(|c| c.trim().strip_prefix(prefix.as_str()).map(str::to_owned))
    }

    fn storage() -> Option<web_sys::Storage> {
        web_sys::window()?.local_storage().ok()?
    }

    /// Puts `text` on the clipboard; whether the browser took it.
    pub async fn copy_text(text: &str) -> bool {
        let Some(window) = web_sys::window() else { return false };
        let promise = window.navigator().clipboard().write_text(text);
        wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
    }

    pub fn stored(key: &str) -> Option<String> {
        storage()?.get_item(key).ok()?
    }

    pub fn store(key: &str, value: &str) {
        if let Some(s) = storage() {
            let _ = s.set_item(key, value);
        }
    }

    fn session() -> Option<web_sys::Storage> {
        web_sys::window()?.session_storage().ok()?
    }

    /// A value kept for this visit (tab) only.
    pub fn session_value(key: &str) -> Option<String> {
        session()?.get_item(key).ok()?
    }

    /// Moves a query parameter of the address into this visit's storage
    /// under `key` and removes it from the address bar (an invite code
    /// should not stay in the history or a shared link).
    pub fn keep_param_for_visit(name: &str, key: &str) {
        let Some(value) = query_param(name) else { return };
        if let Some(s) = session() {
            let _ = s.set_item(key, &value);
        }
        replace_query(|params| params.delete(name));
    }

    fn blob_url(text: &str, mime: &str) -> Option<String> {
        let parts = js_sys::Array::of1(&JsValue::from_str(text));
        let bag = web_sys::BlobPropertyBag::new();
        bag.set_type(mime);
        let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &bag).ok()?;
        web_sys::Url::create_object_url_with_blob(&blob).ok()
    }

    /// Hands `text` to the browser as a file download named `name`.
    pub fn save_file(text: &str, mime: &str, name: &str) {
        let Some(url) = blob_url(text, mime) else { return };
        let Some(doc) = web_sys::window().and_then(|w| w.document()) else { return };
        if let Ok(a) = doc.create_element("a")
            && let Ok(a) = a.dyn_into::<web_sys::HtmlAnchorElement>()
        {
            a.set_href(&url);
            a.set_download(name);
            a.click();
        }
    }

    /// Opens an HTML document (a printable sheet) in a new tab.
    pub fn open_document(html: &str) {
        if let (Some(url), Some(w)) = (blob_url(html, "text/html"), web_sys::window()) {
            let _ = w.open_with_url_and_target(&url, "_blank");
        }
    }

    /// Solves a proof-of-work challenge in a Web Worker (its hashed file
    /// named by `<body data-pow-worker>`), so the page stays responsive;
    /// the number, or `None` if none fits.
    pub async fn solve_pow(salt: &str, challenge: &str, maxnumber: u64) -> Option<u64> {
        let script = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.body())
            .and_then(|b| b.get_attribute("data-pow-worker"))
            .unwrap_or_else(|| "/pkg/pow-worker.js".into());
        let worker = web_sys::Worker::new(&script).ok()?;
        let promise = js_sys::Promise::new(&mut |resolve, reject| {
            worker.set_onmessage(Some(&resolve));
            worker.set_onerror(Some(&reject));
        });
        let msg = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&msg, &JsValue::from_str(k), &v).is_ok();
        let ok = set("salt", salt.into())
            && set("challenge", challenge.into())
            && set("maxnumber", (maxnumber as f64).into());
        if !ok || worker.post_message(&msg).is_err() {
            worker.terminate();
            return None;
        }
        let event = wasm_bindgen_futures::JsFuture::from(promise).await;
        worker.terminate();
        let data = event.ok()?.dyn_into::<web_sys::MessageEvent>().ok()?.data();
        js_sys::Reflect::get(&data, &JsValue::from_str("number")).ok()?.as_f64().map(|n| n as u64)
    }

    /// A query parameter of the current address.
    pub fn query_param(name: &str) -> Option<String> {
        let search = web_sys::window()?.location().search().ok()?;
        let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
        params.get(name)
    }

    pub fn origin() -> Option<String> {
        web_sys::window()?.location().origin().ok()
    }

    /// Milliseconds since the epoch, from the browser's clock.
    pub fn now_ms() -> f64 {
        js_sys::Date::now()
    }

    /// Waits `ms` milliseconds without blocking the page.
    pub async fn sleep(ms: u32) {
        let promise = js_sys::Promise::new(&mut |resolve, _| {
            if let Some(w) = web_sys::window() {
                let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms as i32);
            }
        });
        let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    }

    /// An RFC 3339 instant as the reader's local wall-clock time.
    pub fn local_time(at: &DateTime<Utc>) -> String {
        let iso = &super::iso(at);
        let d = js_sys::Date::new(&JsValue::from_str(iso));
        if d.get_time().is_nan() {
            return iso.to_owned();
        }
        format!("{:02}:{:02}:{:02}", d.get_hours(), d.get_minutes(), d.get_seconds())
    }

    /// An RFC 3339 instant as local date and time, `YYYY-MM-DD HH:MM`.
    pub fn local_datetime(at: &DateTime<Utc>) -> String {
        let iso = &super::iso(at);
        let d = js_sys::Date::new(&JsValue::from_str(iso));
        if d.get_time().is_nan() {
            return iso.to_owned();
        }
        format!(
            "{:04}-{:02}-{:02} {:02}:{:02}",
            d.get_full_year(),
            d.get_month() + 1,
            d.get_date(),
            d.get_hours(),
            d.get_minutes()
        )
    }

    /// An RFC 3339 instant as the value of a `datetime-local` input.
    pub fn to_input_value(at: &DateTime<Utc>) -> String {
        local_datetime(at).replace(' ', "T")
    }

    /// A `datetime-local` input's value (local time) as an RFC 3339 instant.
    pub fn from_input_value(value: &str) -> Option<String> {
        if value.is_empty() {
            return None;
        }
        let d = js_sys::Date::new(&JsValue::from_str(value));
        if d.get_time().is_nan() { None } else { d.to_iso_string().as_string() }
    }
}

#[cfg(not(feature = "hydrate"))]
mod imp {
    use chrono::{DateTime, Utc};

    pub fn document_lang() -> Option<String> {
        None
    }
    pub fn mark_hydrated() {}
    pub fn show_language(_tag: &str) {}
    pub fn remember_language(_tag: &str) {}
    pub fn chosen_language() -> Option<String> {
        None
    }
    pub fn stored(_key: &str) -> Option<String> {
        None
    }
    pub fn store(_key: &str, _value: &str) {}
    pub async fn copy_text(_text: &str) -> bool {
        false
    }
    pub fn session_value(_key: &str) -> Option<String> {
        None
    }
    pub fn keep_param_for_visit(_name: &str, _key: &str) {}
    pub fn save_file(_text: &str, _mime: &str, _name: &str) {}
    pub fn open_document(_html: &str) {}
    pub async fn solve_pow(_salt: &str, _challenge: &str, _maxnumber: u64) -> Option<u64> {
        None
    }
    pub fn query_param(_name: &str) -> Option<String> {
        None
    }
    pub fn origin() -> Option<String> {
        None
    }
    pub fn now_ms() -> f64 {
        0.0
    }
    pub async fn sleep(_ms: u32) {}
    /// On the server: the UTC time of day, marked as such; the browser
    /// replaces it with local time as soon as it has results of its own.
    pub fn local_time(at: &DateTime<Utc>) -> String {
        let iso = &super::iso(at);
        iso.get(11..19).map(|t| format!("{t} UTC")).unwrap_or_else(|| iso.to_owned())
    }
    pub fn local_datetime(at: &DateTime<Utc>) -> String {
        let iso = &super::iso(at);
        iso.get(..16).map(|t| format!("{} UTC", t.replace('T', " "))).unwrap_or_else(|| iso.to_owned())
    }
    pub fn to_input_value(at: &DateTime<Utc>) -> String {
        let iso = &super::iso(at);
        iso.get(..16).unwrap_or_default().to_owned()
    }
    pub fn from_input_value(value: &str) -> Option<String> {
        (!value.is_empty()).then(|| format!("{value}:00Z"))
    }
}

pub use imp::*;

use chrono::{DateTime, SecondsFormat, Utc};

/// An instant as the API spells it (RFC 3339, UTC, `Z`).
fn iso(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// A live subscription to an SSE endpoint's `results` events that
/// reconnects on its own: the browser retries a dropped connection itself,
/// and when it gives up (the stream answered an error) this opens a new one
/// two seconds later. Each connection's listeners are removed and freed
/// when the next one replaces it, so a page that reconnects all night holds
/// one stream and two listeners. Dropping it closes the stream for good.
pub struct LiveStream {
    #[cfg(feature = "hydrate")]
    inner: std::rc::Rc<std::cell::RefCell<stream::Inner>>,
}

impl LiveStream {
    /// `on_event` gets each event's data; `on_state` whether the stream is
    /// connected.
    pub fn open(url: String, on_event: impl Fn(String) + 'static, on_state: impl Fn(bool) + 'static) -> LiveStream {
        #[cfg(feature = "hydrate")]
        {
            let inner = std::rc::Rc::new(std::cell::RefCell::new(stream::Inner {
                source: None,
                listeners: None,
                closed: false,
                url,
                on_event: std::rc::Rc::new(on_event),
                on_state: std::rc::Rc::new(on_state),
            }));
            stream::connect(&inner);
            LiveStream { inner }
        }
        #[cfg(not(feature = "hydrate"))]
        {
            let _ = (url, on_event, on_state);
            LiveStream {}
        }
    }
}

impl Drop for LiveStream {
    fn drop(&mut self) {
        #[cfg(feature = "hydrate")]
        {
            let mut inner = self.inner.borrow_mut();
            inner.closed = true;
            stream::disconnect(&mut inner);
        }
    }
}

#[cfg(feature = "hydrate")]
mod stream {
    use std::cell::RefCell;
    use std::rc::Rc;

    use wasm_bindgen::JsCast;
    use wasm_bindgen::prelude::*;
    use web_sys::{EventSource, MessageEvent};

    pub struct Inner {
        pub source: Option<EventSource>,
        /// The listeners of `source`, owned here (never leaked).
        pub listeners: Option<Listeners>,
        pub closed: bool,
        pub url: String,
        pub on_event: Rc<dyn Fn(String)>,
        pub on_state: Rc<dyn Fn(bool)>,
    }

    pub struct Listeners {
        on_msg: Closure<dyn Fn(MessageEvent)>,
        /// Held so that it lives exactly as long as its stream.
        _on_error: Closure<dyn Fn(web_sys::Event)>,
    }

    const RECONNECT_MS: u32 = 2000;

    /// Closes the current stream and detaches its listeners. They are freed
    /// on the next turn of the event loop: one of them may be running now.
    pub fn disconnect(inner: &mut Inner) {
        let listeners = inner.listeners.take();
        if let Some(source) = inner.source.take() {
            source.set_onerror(None);
            if let Some(l) = &listeners {
                let _ = source.remove_event_listener_with_callback("results", l.on_msg.as_ref().unchecked_ref());
            }
            source.close();
        }
        if listeners.is_some() {
            wasm_bindgen_futures::spawn_local(async move { drop(listeners) });
        }
    }

    pub fn connect(inner: &Rc<RefCell<Inner>>) {
        disconnect(&mut inner.borrow_mut());
        let (url, on_event, on_state) = {
            let i = inner.borrow();
            (i.url.clone(), i.on_event.clone(), i.on_state.clone())
        };
        let Ok(source) = EventSource::new(&url) else { return };
        let on_msg = {
            let on_state = on_state.clone();
            Closure::<dyn Fn(MessageEvent)>::new(move |e: MessageEvent| {
                on_state(true);
                if let Some(data) = e.data().as_string() {
                    on_event(data);
                }
            })
        };
        let _ = source.add_event_listener_with_callback("results", on_msg.as_ref().unchecked_ref());
        let on_error = {
            let weak = Rc::downgrade(inner);
            Closure::<dyn Fn(web_sys::Event)>::new(move |e: web_sys::Event| {
                on_state(false);
                let closed = e
                    .target()
                    .and_then(|t| t.dyn_into::<EventSource>().ok())
                    .is_none_or(|s| s.ready_state() == EventSource::CLOSED);
                if !closed {
                    return; // the browser is already retrying
                }
                let weak = weak.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    super::sleep(RECONNECT_MS).await;
                    if let Some(inner) = weak.upgrade()
                        && !inner.borrow().closed
                    {
                        connect(&inner);
                    }
                });
            })
        };
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let mut inner = inner.borrow_mut();
        inner.source = Some(source);
        inner.listeners = Some(Listeners { on_msg, _on_error: on_error });
    }
}

//! The JSON the pages read, and how they read it: on the server straight
//! from the in-memory state the `urna` binary provides (no HTTP hop, no
//! database read), in the browser from the public and admin HTTP API.
use serde::{Deserialize, Serialize};

/// `GET /api/polls/{slug}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Poll {
    pub id: i64,
    pub slug: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub status: String,
    pub results_visibility: String,
    pub ack: String,
    pub voter_identity: String,
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    pub closed_at: Option<String>,
    pub options: Vec<PollOption>,
    pub tracks: Vec<Track>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PollOption {
    pub id: i64,
    pub label: String,
    pub image_url: Option<String>,
    pub position: i32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Track {
    pub id: i64,
    pub name: String,
    pub dedupe: String,
    pub weight: i32,
    pub position: i32,
}

/// `GET /api/polls/{slug}/results` and each event of its stream.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Results {
    pub poll: String,
    pub title: String,
    pub status: String,
    pub as_of: Option<String>,
    pub total_votes: i64,
    pub tracks: Vec<TrackResults>,
    pub weighted: Vec<WeightedOption>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrackResults {
    pub id: i64,
    pub name: String,
    pub dedupe: String,
    pub weight: i32,
    pub total: i64,
    pub options: Vec<OptionCount>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OptionCount {
    pub option_id: i64,
    pub label: String,
    pub votes: i64,
    pub percent: f64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WeightedOption {
    pub option_id: i64,
    pub label: String,
    pub percent: f64,
}

/// `GET …/timeseries`: votes committed per bucket of `bucket_secs`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timeseries {
    pub bucket_secs: i64,
    /// `(unix seconds of the bucket's start, votes in it)`, oldest first.
    pub points: Vec<(i64, i64)>,
}

/// A poll as the admin API returns it: the public view, its live results
/// and the admin-only fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdminPoll {
    #[serde(flatten)]
    pub poll: Poll,
    pub webhook_url: Option<String>,
    pub results: Results,
}

/// `GET /api/admin/me`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Me {
    pub username: String,
    pub role: String,
    pub csrf_token: String,
}

/// One line of `GET /api/admin/audit`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    #[serde(default)]
    pub detail: serde_json::Value,
}

/// `GET /api/admin/ops`: the live operating figures.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Ops {
    pub window_secs: f64,
    pub requests_per_sec: f64,
    pub error_rate: f64,
    pub p99_ms: Option<f64>,
    pub votes_per_sec: f64,
    pub queue_depth: i64,
    pub sse_viewers: i64,
    pub redis: String,
}

/// An API answer that was not a success: its status, the problem's stable
/// `code`, and what the problem said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Problem {
    pub status: u16,
    pub code: String,
    pub detail: String,
    /// Seconds, from `Retry-After` on 429 and 503.
    pub retry_after: Option<u32>,
    /// When a not-yet-open poll opens.
    pub opens_at: Option<String>,
}

impl Problem {
    pub fn new(status: u16, code: &str) -> Self {
        Problem { status, code: code.into(), detail: String::new(), retry_after: None, opens_at: None }
    }
}

/// What the server side hands the pages; implemented by the `urna` binary
/// over its registry, provided as context to every render.
#[cfg(feature = "ssr")]
pub trait Backend: Send + Sync + 'static {
    /// The public view of a poll; `None` for unknown polls and drafts.
    fn poll(&self, slug: &str) -> Option<Poll>;
    /// The poll's results if the public may see them now.
    fn results(&self, slug: &str) -> Result<Results, Problem>;
    /// A `Set-Cookie` value for the voting page, when the poll identifies
    /// voters by cookie and this reader has none yet.
    fn voter_cookie(&self, req: &actix_web::HttpRequest, slug: &str) -> Option<String>;
}

/// The `Backend` of the current render.
#[cfg(feature = "ssr")]
pub fn backend() -> Option<std::sync::Arc<dyn Backend>> {
    leptos::prelude::use_context::<std::sync::Arc<dyn Backend>>()
}

#[cfg(feature = "hydrate")]
pub use client::*;

#[cfg(feature = "hydrate")]
mod client {
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use wasm_bindgen::{JsCast, JsValue};
    use wasm_bindgen_futures::JsFuture;
    use web_sys::{RequestCredentials, RequestInit, Response};

    use super::Problem;

    fn network_error(_: JsValue) -> Problem {
        Problem::new(0, "network")
    }

    /// One HTTP call to the API. `csrf` goes into `X-CSRF-Token`; every
    /// request carries the same-origin cookies.
    pub async fn call(method: &str, url: &str, body: Option<String>, csrf: Option<&str>, extra: &[(&str, &str)]) -> Result<Response, Problem> {
        let init = RequestInit::new();
        init.set_method(method);
        init.set_credentials(RequestCredentials::SameOrigin);
        let headers = web_sys::Headers::new().map_err(network_error)?;
        headers.set("Accept", "application/json").map_err(network_error)?;
        if let Some(body) = body {
            headers.set("Content-Type", "application/json").map_err(network_error)?;
            init.set_body(&JsValue::from_str(&body));
        }
        if let Some(token) = csrf {
            headers.set("X-CSRF-Token", token).map_err(network_error)?;
        }
        for (k, v) in extra {
            headers.set(k, v).map_err(network_error)?;
        }
        init.set_headers(&headers);
        let window = web_sys::window().ok_or_else(|| Problem::new(0, "network"))?;
        let res = JsFuture::from(window.fetch_with_str_and_init(url, &init)).await.map_err(network_error)?;
        res.dyn_into::<Response>().map_err(network_error)
    }

    async fn text(res: &Response) -> String {
        match res.text() {
            Ok(p) => JsFuture::from(p).await.ok().and_then(|v| v.as_string()).unwrap_or_default(),
            Err(_) => String::new(),
        }
    }

    /// The problem+json of a failed answer, with its `Retry-After`.
    pub async fn problem(res: &Response) -> Problem {
        let status = res.status();
        let body: serde_json::Value = serde_json::from_str(&text(res).await).unwrap_or_default();
        let field = |k: &str| body.get(k).and_then(|v| v.as_str()).map(str::to_owned);
        Problem {
            status,
            code: field("code").unwrap_or_else(|| format!("http-{status}")),
            detail: field("detail").unwrap_or_default(),
            retry_after: res.headers().get("Retry-After").ok().flatten().and_then(|v| v.trim().parse().ok()),
            opens_at: field("opens_at"),
        }
    }

    /// Decodes a 2xx JSON answer, or the problem of any other.
    pub async fn json<T: DeserializeOwned>(res: Response) -> Result<T, Problem> {
        if !res.ok() {
            return Err(problem(&res).await);
        }
        serde_json::from_str(&text(&res).await).map_err(|e| Problem { detail: e.to_string(), ..Problem::new(0, "decode") })
    }

    pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, Problem> {
        json(call("GET", url, None, None, &[]).await?).await
    }

    /// A state-changing admin call, with the session's CSRF token.
    pub async fn send<B: Serialize, T: DeserializeOwned>(method: &str, url: &str, body: Option<&B>, csrf: &str) -> Result<T, Problem> {
        let body = body.map(|b| serde_json::to_string(b).unwrap_or_default());
        json(call(method, url, body, Some(csrf), &[]).await?).await
    }

    /// Like `send`, for answers without a body (204).
    pub async fn send_empty(method: &str, url: &str, csrf: &str) -> Result<(), Problem> {
        let res = call(method, url, None, Some(csrf), &[]).await?;
        if res.ok() { Ok(()) } else { Err(problem(&res).await) }
    }
}

/// The poll for a page: from the server's memory while rendering there, over
/// HTTP in the browser.
pub async fn load_poll(slug: String) -> Result<Poll, Problem> {
    #[cfg(feature = "ssr")]
    {
        backend().and_then(|b| b.poll(&slug)).ok_or_else(|| Problem::new(404, "not-found"))
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        get(&format!("/api/polls/{slug}")).await
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = slug;
        Err(Problem::new(0, "network"))
    }
}

/// The poll's results, as `load_poll` does.
pub async fn load_results(slug: String) -> Result<Results, Problem> {
    #[cfg(feature = "ssr")]
    {
        backend().ok_or_else(|| Problem::new(404, "not-found")).and_then(|b| b.results(&slug))
    }
    #[cfg(all(feature = "hydrate", not(feature = "ssr")))]
    {
        get(&format!("/api/polls/{slug}/results")).await
    }
    #[cfg(not(any(feature = "ssr", feature = "hydrate")))]
    {
        let _ = slug;
        Err(Problem::new(0, "network"))
    }
}

/// Resources need `Send` futures; the browser's are not, and never leave
/// its one thread.
#[cfg(feature = "hydrate")]
pub fn sendable<F: std::future::Future>(f: F) -> send_wrapper::SendWrapper<F> {
    send_wrapper::SendWrapper::new(f)
}

#[cfg(not(feature = "hydrate"))]
pub fn sendable<F: std::future::Future>(f: F) -> F {
    f
}

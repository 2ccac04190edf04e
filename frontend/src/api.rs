//! The JSON the pages read, and how they read it: on the server straight
//! from the in-memory state the `urna` binary provides (no HTTP hop, no
//! database read), in the browser from the public and admin HTTP API.

pub use api::count::{InstantRunoff, Round};
pub use api::{
    AckMode, AdminPoll, ApiToken, AuditEntry, Challenge, Dedupe, EMBED_SIZE, InviteStats, Me, NewApiToken, NewInvites,
    Ops, OptionCount, Poll, PollKind, PollOption, PollStatus, Pow, PowSolution, Problem, Results, Role, Timeseries,
    TotpSetup, Track, TrackResults, Visibility, VoteAnswer, VoterIdentity, WeightedOption, embed_iframe,
};

/// What the server side hands the pages; implemented by the `urna` binary
/// over its registry, provided as context to every render.
#[cfg(feature = "ssr")]
pub trait Backend: Send + Sync + 'static {
    /// The public view of a poll; `None` for unknown polls and drafts.
    fn poll(&self, slug: &str) -> Option<Poll>;
    /// The poll's results if the public may see them now.
    fn results(&self, slug: &str) -> Result<Results, Problem>;
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
    pub async fn call(
        method: &str,
        url: &str,
        body: Option<String>,
        csrf: Option<&str>,
        extra: &[(&str, &str)],
    ) -> Result<Response, Problem> {
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
        // A proxy's error page is no problem+json: keep its status.
        let mut p = serde_json::from_str::<Problem>(&text(res).await)
            .unwrap_or_else(|_| Problem::new(status, &format!("http-{status}")));
        p.status = status;
        p.retry_after = res.headers().get("Retry-After").ok().flatten().and_then(|v| v.trim().parse().ok());
        p
    }

    /// Decodes a 2xx JSON answer, or the problem of any other.
    pub async fn json<T: DeserializeOwned>(res: Response) -> Result<T, Problem> {
        if !res.ok() {
            return Err(problem(&res).await);
        }
        serde_json::from_str(&text(&res).await)
            .map_err(|e| Problem { detail: e.to_string(), ..Problem::new(0, "decode") })
    }

    pub async fn get<T: DeserializeOwned>(url: &str) -> Result<T, Problem> {
        json(call("GET", url, None, None, &[]).await?).await
    }

    /// A state-changing admin call, with the session's CSRF token.
    pub async fn send<B: Serialize, T: DeserializeOwned>(
        method: &str,
        url: &str,
        body: Option<&B>,
        csrf: &str,
    ) -> Result<T, Problem> {
        let body = body.map(|b| serde_json::to_string(b).unwrap_or_default());
        json(call(method, url, body, Some(csrf), &[]).await?).await
    }

    /// Like `send`, for answers that are not JSON (CSV, HTML): the body as text.
    pub async fn send_for_text<B: Serialize>(method: &str, url: &str, body: &B, csrf: &str) -> Result<String, Problem> {
        let res = call(method, url, Some(serde_json::to_string(body).unwrap_or_default()), Some(csrf), &[]).await?;
        if res.ok() { Ok(text(&res).await) } else { Err(problem(&res).await) }
    }

    /// Like `send`, for answers without a body (204).
    pub async fn send_empty<B: Serialize>(
        method: &str,
        url: &str,
        body: Option<&B>,
        csrf: &str,
    ) -> Result<(), Problem> {
        let body = body.map(|b| serde_json::to_string(b).unwrap_or_default());
        let res = call(method, url, body, Some(csrf), &[]).await?;
        if res.ok() { Ok(()) } else { Err(problem(&res).await) }
    }
}

/// The poll for a page: from the server's memory while rendering there, over
/// HTTP in the browser.
pub async fn load_poll(slug: String) -> Result<Poll, Problem> {
    #[cfg(feature = "ssr")]
    {
        backend().and_then(|b| b.poll(&slug)).ok_or_else(|| Problem::new(404, "poll-not-found"))
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
        backend().ok_or_else(|| Problem::new(404, "poll-not-found")).and_then(|b| b.results(&slug))
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
pub fn sendable<F: Future>(f: F) -> send_wrapper::SendWrapper<F> {
    send_wrapper::SendWrapper::new(f)
}

#[cfg(not(feature = "hydrate"))]
pub fn sendable<F: Future>(f: F) -> F {
    f
}

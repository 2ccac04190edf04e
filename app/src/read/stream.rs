//! Results: the latest published snapshot, as JSON or as a live SSE stream.
//! Neither touches the database.
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, HttpResponse, web};
use bytes::Bytes;
use chrono::Utc;
use tokio::sync::watch;

use super::model::Published;
use super::polls::public_poll;
use super::registry::PollEntry;
use crate::admin;
use crate::domain::{PollDef, PollStatus, Visibility};
use crate::http::ApiError;
use crate::state::AppState;

/// At most this many SSE events per second per viewer.
const STREAM_MIN_GAP: Duration = Duration::from_millis(100);
/// A comment line this often keeps proxies from closing an idle stream.
const STREAM_KEEPALIVE: Duration = Duration::from_secs(15);

pub async fn visible_entry(req: &HttpRequest, state: &AppState, slug: &str) -> Result<PollEntry, ApiError> {
    let entry = match public_poll(state, slug) {
        Ok(e) => e,
        // Admins may look at drafts too.
        Err(e) => match state.registry.get(slug) {
            Some(e) if admin::current_admin(req, state).await?.is_some() => return Ok(e),
            _ => return Err(e),
        },
    };
    check_visibility(req, state, &entry.def).await?;
    Ok(entry)
}

async fn check_visibility(req: &HttpRequest, state: &AppState, def: &PollDef) -> Result<(), ApiError> {
    match public_visibility(def) {
        Err(ApiError::ResultsHiddenUntilVote) if has_voted(req, state, def) => Ok(()),
        Err(_) if admin::current_admin(req, state).await?.is_some() => Ok(()),
        other => other,
    }
}

/// Whether the request carries this poll's proof of a vote (the cookie a
/// vote's answer set).
fn has_voted(req: &HttpRequest, state: &AppState, def: &PollDef) -> bool {
    req.cookie(&crate::vote::voted_cookie_name(def.id))
        .is_some_and(|c| state.server_key.verify_voted_mark(def.id, c.value()))
}

/// Whether anyone may see the poll's results now, and if not, why.
pub fn public_visibility(def: &PollDef) -> Result<(), ApiError> {
    let now = Utc::now();
    if def.revealed_at.is_some_and(|at| at <= now) {
        return Ok(());
    }
    match def.results_visibility {
        Visibility::Live => Ok(()),
        // Once a poll closes, what was hidden until then is public.
        Visibility::AfterClose | Visibility::AfterVote if def.effective_status(now) == PollStatus::Closed => Ok(()),
        Visibility::AfterClose => Err(ApiError::ResultsHiddenUntilClose),
        Visibility::AfterVote => Err(ApiError::ResultsHiddenUntilVote),
        Visibility::AdminOnly => Err(ApiError::ResultsAdminOnly),
    }
}

/// `GET /api/polls/{slug}/results`.
#[utoipa::path(
    get,
    path = "/api/polls/{slug}/results",
    tag = "results",
    params(("slug" = String, Path, description = "The poll's address")),
    responses(
        (status = 200, description = "Totals per option and track, the weighted result, and as_of", body = api::Results),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn get_results(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = visible_entry(&req, &state, &path).await?;
    let published = entry.shared.results();
    let mut res = HttpResponse::Ok();
    res.content_type("application/json")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("Vary", "Accept-Encoding"));
    let (br, gzip) = published.compressed_json();
    let body = crate::http::encoding::encoded(&req, &mut res, &published.json, br, gzip);
    Ok(res.body(body))
}

struct StreamState {
    rx: watch::Receiver<Arc<Published>>,
    shutdown: watch::Receiver<bool>,
    first: bool,
    _viewer: Viewer,
}

/// Counts a live viewer in `urna_sse_subscribers` while its stream lives.
struct Viewer;

static VIEWERS: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Live SSE viewers on this instance.
pub fn viewers() -> i64 {
    VIEWERS.load(std::sync::atomic::Ordering::Relaxed)
}

impl Viewer {
    fn new() -> Self {
        metrics::gauge!("urna_sse_subscribers").increment(1.0);
        VIEWERS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Viewer
    }
}

impl Drop for Viewer {
    fn drop(&mut self) {
        metrics::gauge!("urna_sse_subscribers").decrement(1.0);
        VIEWERS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// `GET /api/polls/{slug}/results/stream`: the snapshot now, then again after
/// every change, at most ten times a second.
#[utoipa::path(
    get,
    path = "/api/polls/{slug}/results/stream",
    tag = "results",
    params(("slug" = String, Path, description = "The poll's address")),
    responses(
        (status = 200, description = "Server-Sent Events: `event: results` with the same JSON as GET …/results, on change, at most 10 per second", body = api::Results, content_type = "text/event-stream"),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn stream_results(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = visible_entry(&req, &state, &path).await?;
    let init = StreamState {
        rx: entry.shared.subscribe(),
        shutdown: state.shutdown.clone(),
        first: true,
        _viewer: Viewer::new(),
    };
    let stream = futures_util::stream::unfold(init, |mut s| async move {
        if *s.shutdown.borrow() {
            return None;
        }
        if !s.first {
            tokio::time::sleep(STREAM_MIN_GAP).await;
            tokio::select! {
                changed = s.rx.changed() => if changed.is_err() { return None },
                _ = s.shutdown.changed() => return None,
                _ = tokio::time::sleep(STREAM_KEEPALIVE) => {
                    return Some((Ok::<_, Infallible>(Bytes::from_static(b": keep-alive\n\n")), s));
                }
            }
        }
        s.first = false;
        let event = s.rx.borrow_and_update().sse.clone();
        Some((Ok(event), s))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream))
}

/// `GET /api/polls/{slug}/timeseries`: the vote curve, under the same
/// visibility rules as the results.
#[utoipa::path(
    get,
    path = "/api/polls/{slug}/timeseries",
    tag = "results",
    params(("slug" = String, Path, description = "The poll's address")),
    responses(
        (status = 200, description = "Votes committed per time bucket", body = api::Timeseries),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 404, response = crate::http::responses::NotFound)
    )
)]
pub async fn get_timeseries(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let entry = visible_entry(&req, &state, &path).await?;
    super::curve::timeseries_of(&state.curves, &state.db, entry.def.id).await
}

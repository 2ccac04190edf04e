//! Observability: Prometheus metrics, a request id and a tracing span per
//! request, and the log format.
//!
//! Metrics (all prefixed `urna_`): `http_requests_total{route,method,status}`,
//! `http_request_duration_seconds{route}`, `votes_total{outcome}`,
//! `flush_batch_votes`, `flush_duration_seconds`, `flush_failures_total`,
//! `pending_votes` (the actors' queue depth), `sse_subscribers`,
//! `redis_errors_total`, `db_errors_total`.
use std::borrow::Cow;
use std::sync::OnceLock;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Instrument;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

const SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0];
const VOTES: &[f64] = &[1.0, 10.0, 50.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0];

/// The process-wide metrics recorder, installed on first use (tests start
/// several applications in one process; they share it).
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets(SECONDS)
            .and_then(|b| b.set_buckets_for_metric(Matcher::Full("urna_flush_batch_votes".into()), VOTES));
        match builder.and_then(|b| b.install_recorder()) {
            Ok(handle) => handle,
            Err(e) => {
                // Another recorder is installed: build one that is not global.
                tracing::warn!(error = %e, "metrics recorder not installed");
                PrometheusBuilder::new().build_recorder().handle()
            }
        }
    })
}

fn request_id(req: &ServiceRequest) -> String {
    // Accept a caller's id only if it is short and plain.
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
        .map(str::to_owned)
        .unwrap_or_else(|| hex::encode(crate::keys::random_bytes::<8>()))
}

/// Middleware: request id (echoed in `X-Request-Id`), a span for the
/// request's logs, and the HTTP metrics by route pattern.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let id = request_id(&req);
    let method = req.method().to_string();
    // The path, not the route's pattern: the pattern is known once routed.
    let span = tracing::info_span!("request", request_id = %id, method = %method, path = %req.path());
    let res = next.call(req).instrument(span).await;
    let (status, route) = match &res {
        Ok(r) => (r.status().as_u16(), route(r.request())),
        Err(e) => (e.as_response_error().status_code().as_u16(), Cow::Borrowed("unmatched")),
    };
    metrics::counter!("urna_http_requests_total", "route" => route.clone(), "method" => method, "status" => status.to_string()).increment(1);
    let elapsed = start.elapsed().as_secs_f64();
    metrics::histogram!("urna_http_request_duration_seconds", "route" => route).record(elapsed);
    crate::ops::record_request(elapsed * 1000.0, status >= 500);
    res.map(|mut r| {
        if let Ok(v) = HeaderValue::from_str(&id) {
            r.headers_mut().insert(REQUEST_ID, v);
        }
        r
    })
}

/// The pattern of the route a request reached: the one `http::resource`
/// left (no second match), else matched again (the pages, the assets),
/// else `unmatched`.
fn route(req: &actix_web::HttpRequest) -> Cow<'static, str> {
    match req.app_data::<crate::http::RoutePattern>() {
        Some(p) => Cow::Borrowed(p.0),
        None => req.match_pattern().map_or(Cow::Borrowed("unmatched"), Cow::Owned),
    }
}

/// Log output: human-readable locally, JSON lines in production.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl LogFormat {
    /// JSON on fly.io (FLY_APP_NAME set), pretty elsewhere, unless
    /// URNA_LOG_FORMAT says otherwise.
    pub fn from_env() -> Self {
        match std::env::var("URNA_LOG_FORMAT").as_deref() {
            Ok("json") => LogFormat::Json,
            Ok("pretty") => LogFormat::Pretty,
            _ if std::env::var_os("FLY_APP_NAME").is_some() => LogFormat::Json,
            _ => LogFormat::Pretty,
        }
    }
}

/// Installs the tracing subscriber (RUST_LOG filters, default `info`).
pub fn init_logs(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let fmt = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Json => fmt.json().with_current_span(true).init(),
        LogFormat::Pretty => fmt.init(),
    }
}

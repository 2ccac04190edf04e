//! Operations: health and readiness, Prometheus metrics and request
//! logging, and the last minute's figures for the admin's panel.
//!
//! # Layout
//! - `health`: `/healthz`, `/readyz`, `/metrics`.
//! - `metrics`: the Prometheus recorder, the request middleware (request
//!   ids, latency), the log format.
//! - `panel`: this instance's last minute (votes/s, errors, p99).
mod health;
mod metrics;
mod panel;

pub use health::redis_status;
pub use metrics::{LogFormat, REQUEST_ID, init_logs, metrics, observe};
pub use panel::{Window, record_request, record_vote, window};

use actix_web::web;

use crate::http::resource;

/// The operations routes' part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(health::healthz, health::readyz, health::metrics))]
pub struct Api;

/// Registers `/healthz`, `/readyz` and `/metrics`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/healthz").route(web::get().to(health::healthz)))
        .service(resource("/readyz").route(web::get().to(health::readyz)))
        .service(resource("/metrics").route(web::get().to(health::metrics)));
}

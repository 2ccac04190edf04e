use std::sync::atomic::Ordering;

use actix_web::{HttpResponse, web};

use crate::state::AppState;

/// Alive. Also the HTTP ceiling in the benchmark: it does nothing else.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses(
        (status = 200, description = "The process is alive")
    )
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// `GET /metrics`: Prometheus text format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain")
    )
)]
pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    metrics::gauge!("urna_pending_votes").set(state.registry.pending_votes() as f64);
    metrics::gauge!("urna_redis_up").set(match state.registry.bus() {
        Some(bus) if bus.healthy() => 1.0,
        _ => 0.0,
    });
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(crate::ops::metrics().render())
}

/// Ready for traffic: storage reachable and not shutting down.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Database reachable and not draining; reports Redis as ok, degraded or disabled", body = Object),
        (status = 503, description = "Database unreachable or draining", body = Object)
    )
)]
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let draining = state.draining.load(Ordering::Relaxed);
    let database = crate::db::ping(&state.db).await;
    // Redis is not on the durability path: without it this instance still
    // takes votes, so it stays ready and reports the degradation.
    let redis = redis_status(&state);
    let body = serde_json::json!({
        "ready": database && !draining,
        "database": if database { "ok" } else { "unreachable" },
        "redis": redis,
        "draining": draining,
        "pending_votes": state.registry.pending_votes(),
    });
    if database && !draining { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}

/// `disabled` without Redis, else whether the fan-out is connected.
pub fn redis_status(state: &AppState) -> &'static str {
    match state.registry.bus() {
        None => "disabled",
        Some(bus) if bus.healthy() => "ok",
        Some(_) => "degraded",
    }
}

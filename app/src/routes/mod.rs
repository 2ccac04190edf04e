//! HTTP routes, one module per resource.
//!
//! # Layout
//! - `health`: `/healthz`, `/readyz`, `/metrics`.
//! - `polls`: `GET /api/polls/{slug}` and the public view of a poll.
//! - `votes`: `POST /api/polls/{slug}/votes`, the write path.
//! - `results`: `GET …/results`, the SSE stream `…/results/stream`, and
//!   the vote curve `…/timeseries`.
//! - `admin`: login, poll management, reports (curve, CSV, ops), audit log.
pub mod admin;
pub mod health;
pub mod polls;
pub mod results;
pub mod votes;

use actix_web::error::{JsonPayloadError, PathError, QueryPayloadError};
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::ApiError;

/// Largest JSON body accepted anywhere: a vote is ~50 bytes, a poll with 50
/// options a few KB.
pub const MAX_JSON_BYTES: usize = 64 * 1024;
/// Largest vote body.
pub const MAX_VOTE_BYTES: usize = 2 * 1024;

/// Maps the JSON extractor's failures to problem+json with the right 4xx.
pub fn json_error(err: JsonPayloadError, _req: &HttpRequest) -> actix_web::Error {
    let api = match &err {
        JsonPayloadError::OverflowKnownLength { limit, .. } | JsonPayloadError::Overflow { limit } => {
            ApiError::PayloadTooLarge(*limit)
        }
        JsonPayloadError::ContentType => {
            ApiError::UnsupportedMediaType("send the body as Content-Type: application/json".into())
        }
        JsonPayloadError::Deserialize(e) if e.is_data() => ApiError::Unprocessable(e.to_string()),
        JsonPayloadError::Deserialize(e) => ApiError::BadRequest(format!("malformed JSON: {e}")),
        other => ApiError::BadRequest(other.to_string()),
    };
    api.into()
}

fn path_error(err: PathError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::NotFound(format!("no such resource ({err})")).into()
}

fn query_error(err: QueryPayloadError, _req: &HttpRequest) -> actix_web::Error {
    ApiError::BadRequest(err.to_string()).into()
}

async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound("no such route".into()))
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    let body = serde_json::json!({
        "type": "https://urna.dev/problems/method-not-allowed",
        "title": "Method not allowed",
        "status": 405,
        "code": "method-not-allowed",
        "detail": format!("{} is not allowed on {}", req.method(), req.path()),
    });
    HttpResponse::MethodNotAllowed().content_type("application/problem+json").json(body)
}

/// Every path registered through [`resource`], for the test that holds the
/// OpenAPI document to the routes that really exist.
static REGISTERED: std::sync::Mutex<std::collections::BTreeSet<&'static str>> = std::sync::Mutex::new(std::collections::BTreeSet::new());

/// The paths of every route registered so far.
pub fn registered_paths() -> Vec<&'static str> {
    REGISTERED.lock().map(|r| r.iter().copied().collect()).unwrap_or_default()
}

/// A route's resource: other methods get a 405 problem, and the path is
/// recorded for [`registered_paths`].
pub fn resource(path: &'static str) -> actix_web::Resource {
    if let Ok(mut r) = REGISTERED.lock() {
        r.insert(path);
    }
    web::resource(path).default_service(web::to(method_not_allowed))
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let json = |limit: usize| web::JsonConfig::default().limit(limit).error_handler(json_error);
    cfg.app_data(web::PathConfig::default().error_handler(path_error))
        .app_data(web::QueryConfig::default().error_handler(query_error))
        .app_data(json(MAX_JSON_BYTES))
        // The vote route first: routes are tried in order, and each dynamic
        // one costs a pattern match.
        .service(
            resource("/api/polls/{slug}/votes")
                .app_data(json(MAX_VOTE_BYTES))
                .route(web::post().to(votes::cast_vote)),
        )
        .service(resource("/healthz").route(web::get().to(health::healthz)))
        .service(resource("/readyz").route(web::get().to(health::readyz)))
        .service(resource("/metrics").route(web::get().to(health::metrics)))
        .service(resource("/api/polls/{slug}").route(web::get().to(polls::get_poll)))
        .service(resource("/api/polls/{slug}/results").route(web::get().to(results::get_results)))
        .service(resource("/api/polls/{slug}/results/stream").route(web::get().to(results::stream_results)))
        .service(resource("/api/polls/{slug}/timeseries").route(web::get().to(results::get_timeseries)))
        .service(resource("/api/admin/login").route(web::post().to(admin::session::login)))
        .service(resource("/api/admin/logout").route(web::post().to(admin::session::logout)))
        .service(resource("/api/admin/me").route(web::get().to(admin::session::me)))
        .service(
            resource("/api/admin/polls")
                .route(web::get().to(admin::polls::list))
                .route(web::post().to(admin::polls::create)),
        )
        .service(
            resource("/api/admin/polls/{id}")
                .route(web::get().to(admin::polls::get))
                .route(web::patch().to(admin::polls::update))
                .route(web::delete().to(admin::polls::delete)),
        )
        .service(resource("/api/admin/polls/{id}/open").route(web::post().to(admin::polls::open)))
        .service(resource("/api/admin/polls/{id}/close").route(web::post().to(admin::polls::close)))
        .service(resource("/api/admin/polls/{id}/timeseries").route(web::get().to(admin::reports::timeseries)))
        .service(resource("/api/admin/polls/{id}/export.csv").route(web::get().to(admin::reports::export_csv)))
        .service(resource("/api/admin/ops").route(web::get().to(admin::reports::ops)))
        .service(resource("/api/admin/audit").route(web::get().to(admin::audit::list)))
        .service(crate::openapi::browser())
        .default_service(web::to(not_found));
}

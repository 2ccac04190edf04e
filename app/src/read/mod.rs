//! The read side: every poll held in memory, its results as a read model
//! fed by commits (this instance's, and others' through Redis), and the
//! routes that serve them without touching the database.
//!
//! # Layout
//! - `registry`: every poll's definition, its actor, its published results.
//! - `model`: the read model and the snapshot readers get.
//! - `fanout`: cross-instance fan-out through Redis pub/sub.
//! - `polls`: `GET /api/polls/{slug}`, the public view of a poll.
//! - `stream`: `GET …/results`, the SSE stream, and the public vote curve.
//! - `curve`: the vote curve, read from the ledger at most every few seconds.
mod curve;
mod fanout;
mod model;
mod polls;
mod registry;
mod stream;

pub use curve::{CurveCache, timeseries_of};
pub use fanout::{Bus, Incoming};
pub use model::{Published, ReadModel};
pub use polls::{poll_view, public_poll, voter_cookie};
pub use registry::{PollEntry, Registry};
pub use stream::{public_visibility, viewers};

use actix_web::web;

use crate::http::resource;

/// The read side's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(polls::get_poll, stream::get_results, stream::stream_results, stream::get_timeseries))]
pub struct Api;

/// Registers the public read routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/polls/{slug}").route(web::get().to(polls::get_poll)))
        .service(resource("/api/polls/{slug}/results").route(web::get().to(stream::get_results)))
        .service(resource("/api/polls/{slug}/results/stream").route(web::get().to(stream::stream_results)))
        .service(resource("/api/polls/{slug}/timeseries").route(web::get().to(stream::get_timeseries)));
}

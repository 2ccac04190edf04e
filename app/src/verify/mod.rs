//! A count anyone can check: the public ledger's routes, and `urna
//! verify`, which checks a poll from the outside through them. The format
//! itself (`api::ledger`) is shared with the batch transaction that writes
//! it (`crate::vote`) and with the browser's verify page.
//!
//! # Layout
//! - `http`: `GET …/ledger` and `GET …/ledger/heads`.
//! - `cli`: `urna verify`: walks every chain, checks every link and hash,
//!   recomputes the totals, compares them with the results API, and checks
//!   receipts.
mod cli;
mod http;

pub use cli::{check, run};

use actix_web::web;

use crate::http::resource;

/// The ledger's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(http::get_ledger, http::get_heads))]
pub struct Api;

/// Registers the public ledger's routes.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(resource("/api/polls/{slug}/ledger").route(web::get().to(http::get_ledger)))
        .service(resource("/api/polls/{slug}/ledger/heads").route(web::get().to(http::get_heads)));
}

//! The HTTP boundary shared by every room: problem+json errors, route
//! registration, and the OpenAPI document.
//!
//! # Layout
//! - `problem`: [`ApiError`], one variant per refusal, each with its stable
//!   `code`, answered as `application/problem+json`.
//! - `body`: [`SmallJson`], the vote's JSON body read in place.
//! - `resource`: body limits, extractor errors, 404/405, and [`resource`].
//! - `routes`: [`configure`], every API route in the order they are tried.
//! - `openapi`: the document at `/api/openapi.json`, merged from each
//!   room's part, and the Swagger UI.
//! - `headers`: the security headers on every answer (CSP, HSTS, …).
//! - `client`: who is asking: the client's IP and network.
//! - `encoding`: bodies compressed once and sent as a request accepts.
mod body;
mod client;
pub mod encoding;
mod headers;
mod openapi;
mod problem;
mod resource;
mod routes;

pub use body::SmallJson;
pub use client::{client_ip, client_network};
pub use headers::{content_security_policy, frame_options, security_headers};
pub use problem::{ApiError, Problem, RETRY_AFTER_SECS, responses};
pub use resource::{MAX_JSON_BYTES, MAX_VOTE_BYTES, Object, RoutePattern, json_error, registered_paths, resource};
pub use routes::configure;

//! urna: a voting system for very large public votes that acknowledges a
//! vote only once it is durable, counts every vote exactly, and shows the
//! results live.
//!
//! # Layout
//! - `settings`: the command line and typed settings.
//! - `startup`: `Application::build` / `run_until_stopped`, background upkeep.
//! - `domain`: validated domain types (`PollSlug`, `PollDef`, phases).
//! - `registry`: every poll in memory, its actor and its published results.
//! - `actor`: the per-poll actor that buffers votes and group-commits them.
//! - `outbox`: per-worker coalescing of votes on their way to an actor.
//! - `results`: the read model and the snapshot readers get.
//! - `bus`: cross-instance fan-out through Redis pub/sub.
//! - `export`: webhook export of committed batches, adaptive concurrency.
//! - `db`: queries, admin mutations, and the batch ledger transaction.
//! - `voter`: voter tokens, anonymous cookies, keyed hashes.
//! - `auth`: admin passwords, sessions, CSRF.
//! - `ratelimit`: per-IP and per-voter limits, shared through Redis.
//! - `routes`: the HTTP API; `error`: its problem+json errors; `openapi`:
//!   its OpenAPI document and browsable UI.
//! - `state`: what every worker shares.
//! - `telemetry`: metrics, request ids, log format; `ops`: the last
//!   minute's figures for the admin dashboard's operations panel.
//! - `web`: the Leptos pages of `frontend`, their site files, QR codes and
//!   the no-JavaScript voting form.
pub mod actor;
pub mod auth;
pub mod bus;
pub mod db;
pub mod domain;
pub mod error;
pub mod export;
pub mod openapi;
pub mod ops;
pub mod outbox;
pub mod ratelimit;
pub mod registry;
pub mod results;
pub mod routes;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod voter;
pub mod web;

pub use settings::Settings;
pub use startup::Application;

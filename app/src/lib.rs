//! urna: a voting system for very large public votes that acknowledges a
//! vote only once it is durable, counts every vote exactly, and shows the
//! results live.
//!
//! # Path of a vote
//! 1. **HTTP in** ([`vote`]'s `http`): `POST /api/polls/{slug}/votes` is
//!    checked against the poll held in memory by the [`read::Registry`] —
//!    open, option and track exist — with no database read.
//! 2. **Credentials and limits** ([`vote`]'s `credentials`, `ratelimit`):
//!    one-per-voter tracks need a voter token or a signed voter cookie, kept
//!    only as a keyed hash; per-IP and per-voter limits answer `429`.
//! 3. **Per-worker coalescing** ([`vote`]'s `coalesce`): the votes one HTTP
//!    worker parses in one turn of its event loop travel to the poll's actor
//!    as one message; backpressure answers `503` past a bound.
//! 4. **The poll's actor** ([`vote::PollActor`]): one per poll on one shared
//!    arbiter; it buffers votes and flushes at N votes or T ms, one flush in
//!    flight at a time.
//! 5. **The batch commit and its ledger** ([`vote`]'s `ledger`): one
//!    transaction checks the poll row, inserts one-per-voter marks, adds the
//!    deltas to this instance's counter rows and writes the ledger row keyed
//!    by instance, boot, poll and sequence, with its entry in the poll and
//!    instance's hash chain (the Merkle root of its votes). Only after
//!    `COMMIT` does each waiting request get `200`, with its receipt.
//! 6. **The read model** ([`read`]'s `model`): the actor reports the new
//!    totals through [`vote::CommitSink`]; the registry folds them into the
//!    poll's snapshot.
//! 7. **Fan-out across instances** ([`read::Bus`]): the totals go to Redis
//!    pub/sub; other instances fold them into their own read models (or read
//!    them from the database while Redis is away).
//! 8. **The stream out** ([`read`]'s `stream`): `GET …/results` and the SSE
//!    stream serve the latest snapshot, never a query per viewer.
//!
//! Beside the path: [`admin`] (sessions, poll management, reports, audit),
//! [`export`] (webhooks of committed batches), [`verify`] (the public
//! ledger and `urna verify`), [`ops`] (health, metrics, the operations
//! panel) and [`web`] (the Leptos pages).
//!
//! # Layout
//! - [`settings`]: the command line and typed settings, with every
//!   configuration type.
//! - [`startup`]: `Application::build` / `run_until_stopped`, upkeep.
//! - [`state`]: what every HTTP worker shares.
//! - [`domain`]: validated domain types (`PollSlug`, `PollDef`, phases).
//! - [`keys`]: randomness for secrets, and comparing them in constant time.
//! - [`qr`]: QR codes as SVG (voting page, invite cards, two-step login).
//! - [`vote`]: the write side, steps 1–5.
//! - [`read`]: the read side, steps 6–8.
//! - [`admin`], [`export`], [`verify`], [`ops`], [`web`]: beside the path.
//! - [`http`]: what every route shares: problem+json errors, route
//!   registration, the OpenAPI document.
//! - [`db`]: queries and admin-side mutations.
//!
//! Dependencies between files point one way: the poll's actor knows
//! nothing of results or Redis (it reports commits through
//! [`vote::CommitSink`]), the Redis subscriber hands what it hears to the
//! registry over a channel, configuration types live in [`settings`], and
//! no room knows [`startup`], which wires them together.
pub mod admin;
pub mod db;
pub mod domain;
pub mod export;
pub mod http;
pub mod keys;
pub mod ops;
pub mod qr;
pub mod read;
pub mod settings;
pub mod startup;
pub mod state;
pub mod verify;
pub mod vote;
pub mod web;

pub use settings::Settings;
pub use startup::Application;

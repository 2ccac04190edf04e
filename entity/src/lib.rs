//! SeaORM entities for urna's tables, in generated style: no custom logic
//! lives here (see `app::db` for queries and mutations).
//!
//! # Layout
//! - `polls`, `poll_options`, `tracks`: a poll and what can be voted on.
//! - `counters`, `ballots`, `batches`, `voter_marks`: the write side (sharded
//!   counters, distinct ballots of multiple and ranked polls, the batch
//!   ledger, one-per-voter dedupe marks).
//! - `admins`, `sessions`, `audit_log`, `app_secrets`, `login_throttle`:
//!   administration; `api_tokens` (bearer tokens for a host's systems) and
//!   `setup_tokens` (first-run links).
//! - `webhook_cursors`: how far each poll's webhook export got.
//! - `pow_spent`, `idempotency_keys`, `invites`: what tells people from
//!   scripts and retries from new votes.
pub mod admins;
pub mod api_tokens;
pub mod app_secrets;
pub mod audit_log;
pub mod ballots;
pub mod batches;
pub mod counters;
pub mod idempotency_keys;
pub mod invites;
pub mod login_throttle;
pub mod poll_options;
pub mod polls;
pub mod pow_spent;
pub mod sessions;
pub mod setup_tokens;
pub mod tracks;
pub mod voter_marks;
pub mod webhook_cursors;

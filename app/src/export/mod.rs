//! Export of committed batches to a poll's webhook, with adaptive
//! concurrency and a lease so that one instance delivers each poll.
//!
//! # Layout
//! - `webhook`: the exporter task and its delivery loop.
mod webhook;

pub use webhook::Exporter;

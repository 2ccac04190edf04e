//! Export of committed batches to a poll's webhook, with adaptive
//! concurrency and a lease so that one instance delivers each poll.
//!
//! # Layout
//! - `webhook`: the exporter task and its delivery loop.
//! - `signing`: Standard Webhooks signatures and `whsec_` secrets.
//! - `client`: the https client that refuses targets that are not public.
mod client;
mod signing;
mod webhook;

pub use client::build as https_client;
pub use signing::new_signing_secret;
pub use webhook::Exporter;

//! urna's schema, as SeaORM migrations. Run by `urna migrate`, and at start-up
//! for the embedded SQLite default.
//!
//! # Layout
//! - `m20261121_110000_create_polls`: polls, their options and tracks.
//! - `m20261121_110100_create_counters`: the write side — sharded counter rows,
//!   the batch ledger and one-per-voter dedupe marks.
//! - `m20261121_110200_create_admins`: admins, sessions, the audit log and
//!   server-generated secrets.
//! - `m20261121_120000_add_poll_version`: a per-poll change counter.
//! - `m20261121_123000_create_webhooks`: per-poll webhook URL and export cursor.
//! - `m20261122_090000_create_vote_guards`: spent proof-of-work challenges,
//!   idempotency keys and invite codes.
//! - `m20261122_120000_harden_edges`: two-step login, idle session expiry,
//!   login throttling, and the webhooks' signing secrets.
//! - `m20261130_100000_public_ledger`: receipts on polls, and each batch's
//!   entry in its poll and shard's hash chain.
//! - `m20261130_140000_admin_tokens`: admin API tokens and first-run setup
//!   links.
//! - `m20261130_150000_embed_and_reveal`: the sites allowed to frame a poll,
//!   and when its hidden results were revealed on the presenter screens.
pub use sea_orm_migration::prelude::*;

mod m20261121_110000_create_polls;
mod m20261121_110100_create_counters;
mod m20261121_110200_create_admins;
mod m20261121_120000_add_poll_version;
mod m20261121_123000_create_webhooks;
mod m20261122_090000_create_vote_guards;
mod m20261122_120000_harden_edges;
mod m20261130_100000_public_ledger;
mod m20261130_140000_admin_tokens;
mod m20261130_150000_embed_and_reveal;
mod m20261130_170000_poll_kinds;
mod m20261201_090000_poll_language;

pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261121_110000_create_polls::Migration),
            Box::new(m20261121_110100_create_counters::Migration),
            Box::new(m20261121_110200_create_admins::Migration),
            Box::new(m20261121_120000_add_poll_version::Migration),
            Box::new(m20261121_123000_create_webhooks::Migration),
            Box::new(m20261122_090000_create_vote_guards::Migration),
            Box::new(m20261122_120000_harden_edges::Migration),
            Box::new(m20261130_100000_public_ledger::Migration),
            Box::new(m20261130_140000_admin_tokens::Migration),
            Box::new(m20261130_150000_embed_and_reveal::Migration),
            Box::new(m20261130_170000_poll_kinds::Migration),
            Box::new(m20261201_090000_poll_language::Migration),
        ]
    }
}

//! The write side: the path of a vote from its HTTP request to its commit.
//!
//! # Layout
//! - `http`: `POST /api/polls/{slug}/votes`, checked against the poll held
//!   in memory; the voting form of the web UI casts through [`cast`] too.
//! - `credentials`: voter tokens, anonymous voter cookies, keyed hashes.
//! - `ratelimit`: per-IP and per-voter limits, shared through Redis.
//! - `coalesce`: per-worker coalescing of votes on their way to an actor.
//! - `poll_actor`: one actor per poll that buffers votes and group-commits.
//! - `pow`: proof-of-work challenges (ALTCHA's SHA-256 format), their
//!   check, and `auto` difficulty.
//! - `ledger`: the batch transaction: client keys, invites, spent
//!   challenges, voter marks, counters, ledger row.
mod coalesce;
mod credentials;
mod http;
mod ledger;
mod poll_actor;
mod pow;
mod ratelimit;

pub use credentials::{ServerKey, VOTER_COOKIE, VoterKind, mint_token, site_cookie, voted_cookie_name};
pub use http::{TrackRef, VoteBody, cast, normalize_invite, outcome};
pub use ledger::{BatchVote, Faults, Outcome};
pub use poll_actor::{ActorDeps, CommitSink, Drain, PollActor};
pub use pow::{PowGuard, phone_secs};
pub use ratelimit::RateLimiter;

use actix_web::web;

use crate::http::resource;

/// The vote route's part of the OpenAPI document.
#[derive(utoipa::OpenApi)]
#[openapi(paths(http::cast_vote, http::get_challenge))]
pub struct Api;

/// Registers the vote route, with its own body limit.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        // The body's limit is `MAX_VOTE_BYTES`, in its extractor's type.
        resource("/api/polls/{slug}/votes").route(web::post().to(http::cast_vote)),
    )
    .service(resource("/api/polls/{slug}/challenge").route(web::get().to(http::get_challenge)));
}

//! `POST /api/polls/{slug}/votes`: validated against the poll held in memory,
//! handed to the poll's actor, answered after the batch commits.
use std::sync::atomic::Ordering;

use std::net::IpAddr;

use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use serde::{Deserialize, Serialize};
use tokio::sync::oneshot;

use crate::actor::VoteOutcome;
use crate::db::ledger::BatchVote;
use crate::domain::{AckMode, Dedupe, Phase, PollDef, TrackDef, VoterIdentity};
use crate::error::ApiError;
use crate::outbox;
use crate::ratelimit::{Key, Limited};
use crate::routes::polls::public_poll;
use crate::state::AppState;
use crate::voter::{self, CredentialError, VOTER_COOKIE, VOTER_TOKEN_HEADER, VoterKind};

/// A track named or numbered.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TrackRef {
    Id(i64),
    Name(String),
}

#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    pub option_id: i64,
    #[serde(default)]
    pub track: Option<TrackRef>,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct VoteAnswer<'a> {
    status: &'static str,
    poll: &'a str,
    option_id: i64,
    track: &'a str,
}

fn resolve_track<'a>(def: &'a PollDef, track: Option<&TrackRef>) -> Result<&'a TrackDef, ApiError> {
    match track {
        None if def.tracks.len() == 1 => Ok(&def.tracks[0]),
        None => Err(ApiError::Unprocessable(format!(
            "this poll has {} tracks; say which one in \"track\"",
            def.tracks.len()
        ))),
        Some(TrackRef::Id(id)) => def.track_by_id(*id).ok_or_else(|| ApiError::NotFound(format!("no track {id} in this poll"))),
        Some(TrackRef::Name(n)) => def.track_by_name(n).ok_or_else(|| ApiError::NotFound(format!("no track {n:?} in this poll"))),
    }
}

/// The client's IP: from the trusted proxy header when one is configured,
/// else the peer address.
fn client_ip(req: &HttpRequest, state: &AppState) -> Option<IpAddr> {
    state
        .client_ip_header
        .as_ref()
        .and_then(|h| req.headers().get(h))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| req.peer_addr().map(|a| a.ip()))
}

/// The voter a request names: by its token when it sends one (an invalid
/// token is an error, never a fall-back to the cookie), else by a valid
/// voter cookie; the keyed hash and where it came from.
fn presented_voter(req: &HttpRequest, state: &AppState) -> Result<Option<(VoterKind, [u8; 32])>, CredentialError> {
    if let Some(token) = req.headers().get(VOTER_TOKEN_HEADER) {
        let token = token.to_str().map_err(|_| CredentialError::Malformed)?;
        let id = voter::verify_token(state.voter_token_secret.as_ref(), token, Utc::now().timestamp())?;
        return Ok(Some((VoterKind::Token, state.server_key.voter_hash(VoterKind::Token, &id))));
    }
    Ok(req
        .cookie(VOTER_COOKIE)
        .and_then(|c| state.server_key.verify_cookie(c.value()))
        .map(|id| (VoterKind::Cookie, state.server_key.voter_hash(VoterKind::Cookie, &id))))
}

fn limit(state: &AppState, key: Key, limit: u32, what: &'static str) -> Result<(), ApiError> {
    state.rate_limiter.check(key, limit).map_err(|Limited(secs)| ApiError::RateLimited(what, secs))
}

/// The keyed hash of the voter, for one-per-voter tracks: a token always
/// counts, a voter cookie only where the poll identifies voters by cookie.
fn voter_hash(req: &HttpRequest, state: &AppState, def: &PollDef) -> Result<[u8; 32], ApiError> {
    match presented_voter(req, state).map_err(|e| ApiError::Unauthorized(e.to_string()))? {
        Some((VoterKind::Token, h)) => Ok(h),
        Some((VoterKind::Cookie, h)) if def.voter_identity == VoterIdentity::Cookie => Ok(h),
        _ if def.voter_identity == VoterIdentity::Token => Err(ApiError::Unauthorized(format!(
            "this track allows one vote per voter: send a voter token in {VOTER_TOKEN_HEADER}"
        ))),
        _ => Err(ApiError::Unauthorized(format!(
            "this track allows one vote per voter: load the poll first (GET /api/polls/{}) to get a voter cookie",
            def.slug
        ))),
    }
}

fn phase_error(phase: Phase, def: &PollDef) -> ApiError {
    match phase {
        Phase::NotOpenYet => ApiError::NotOpenYet { opens_at: def.opens_at },
        _ => ApiError::PollClosed,
    }
}

/// `POST /api/polls/{slug}/votes`, counted in `urna_votes_total{outcome}`.
#[utoipa::path(
    post,
    path = "/api/polls/{slug}/votes",
    tag = "votes",
    params(
        ("slug" = String, Path, description = "The poll's address"),
        ("x-voter-token" = Option<String>, Header, description = "Voter token from the host's login system, for one-per-voter tracks"),
    ),
    request_body = VoteBody,
    responses(
        (status = 200, description = "Recorded: the vote is committed to the database", body = VoteAnswer),
        (status = 202, description = "Accepted (fast-mode polls): queued, committed within one flush interval", body = VoteAnswer),
        (status = 400, description = "malformed request", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "no session, or a missing or invalid voter credential", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 404, description = "unknown poll, option or track", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 409, description = "conflict: poll not open, closed, already voted, or a change not allowed in this state", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "invalid fields", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 429, description = "rate-limited; see Retry-After", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 503, description = "overloaded, storage down or draining; see Retry-After", body = crate::error::Problem, content_type = "application/problem+json")
    )
)]
pub async fn cast_vote(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Json<VoteBody>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    cast(&req, &path, body.into_inner(), &state).await
}

/// Casts one vote and counts it in the votes metric: the JSON route and the
/// voting page's form both come here.
pub async fn cast(req: &HttpRequest, slug: &str, body: VoteBody, state: &AppState) -> Result<HttpResponse, ApiError> {
    let res = vote(req, slug, body, state).await;
    metrics::counter!("urna_votes_total", "outcome" => outcome(&res)).increment(1);
    if res.is_ok() {
        crate::ops::record_vote();
    }
    res
}

/// A vote's outcome in one word: `recorded`, `accepted`, or the error's code.
pub fn outcome(res: &Result<HttpResponse, ApiError>) -> &'static str {
    match res {
        Ok(r) if r.status() == actix_web::http::StatusCode::ACCEPTED => "accepted",
        Ok(_) => "recorded",
        Err(e) => e.code(),
    }
}

async fn vote(req: &HttpRequest, slug: &str, body: VoteBody, state: &AppState) -> Result<HttpResponse, ApiError> {
    let entry = public_poll(state, slug)?;
    let def = &entry.def;
    if def.option(body.option_id).is_none() {
        return Err(ApiError::NotFound(format!("no option {} in this poll", body.option_id)));
    }
    let track = resolve_track(def, body.track.as_ref())?;
    match def.phase_at(Utc::now()) {
        Phase::Open => {}
        other => return Err(phase_error(other, def)),
    }
    if state.draining.load(Ordering::Relaxed) {
        return Err(ApiError::Unavailable("this instance is shutting down; retry".into()));
    }
    let limits = state.rate_limiter.limits();
    if limits.per_ip > 0
        && let Some(ip) = client_ip(req, state)
    {
        limit(state, Key::ip(ip), limits.per_ip, "IP address")?;
    }
    let voter = match track.dedupe {
        Dedupe::OnePerVoter => Some(voter_hash(req, state, def)?),
        Dedupe::Unlimited => None,
    };
    if limits.per_voter > 0
        // On unlimited tracks a credential is optional; a valid one still limits its voter.
        && let Some(v) = voter.or_else(|| presented_voter(req, state).ok().flatten().map(|(_, h)| h))
    {
        limit(state, Key::Voter(v), limits.per_voter, "voter")?;
    }

    // Backpressure: a bounded number of votes per poll may wait in memory.
    let pending = &entry.shared.pending;
    if pending.fetch_add(1, Ordering::AcqRel) >= state.registry.max_pending() {
        pending.fetch_sub(1, Ordering::AcqRel);
        return Err(ApiError::Unavailable("too many votes in flight; retry shortly".into()));
    }
    let fast = def.ack == AckMode::Fast;
    let (tx, rx) = if fast { (None, None) } else {
        let (tx, rx) = oneshot::channel();
        (Some(tx), Some(rx))
    };
    let vote = BatchVote { option_id: body.option_id, track_id: track.id, voter };
    outbox::submit(&state.registry, &entry, vote, tx);
    let answer = |status| VoteAnswer { status, poll: &def.slug, option_id: body.option_id, track: &track.name };
    let Some(rx) = rx else {
        return Ok(HttpResponse::Accepted().json(answer("accepted")));
    };
    match rx.await {
        Ok(VoteOutcome::Recorded) => Ok(HttpResponse::Ok().json(answer("recorded"))),
        Ok(VoteOutcome::Duplicate) => Err(ApiError::AlreadyVoted),
        Ok(VoteOutcome::NotOpen(phase)) => Err(phase_error(phase, def)),
        Ok(VoteOutcome::Unavailable) | Err(_) => {
            Err(ApiError::Unavailable("the vote could not be stored; it was not counted, retry".into()))
        }
    }
}

//! `POST /api/polls/{slug}/votes`: validated against the poll held in memory,
//! handed to the poll's actor, answered after the batch commits.
use std::sync::LazyLock;
use std::sync::atomic::Ordering;

use std::borrow::Cow;

use actix_web::http::header::{CONTENT_TYPE, COOKIE, HeaderName, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use api::{VoteAnswer, VoteStatus};
use chrono::Utc;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;

use super::coalesce;
use super::credentials::{self as voter, CredentialError, VOTER_COOKIE, VOTER_TOKEN_HEADER, VoterKind};
use super::ledger::{Ballot, BatchVote, IdemRequest, Refusal, SpentPow};
use super::poll_actor::{Leaf, VoteOutcome};
use super::pow::PowError;
use super::ratelimit::{Key, Limited};
use crate::domain::{AckMode, Dedupe, Phase, PollDef, PollKind, TrackDef, VoterIdentity};
use crate::http::ApiError;
use crate::read::{PollEntry, public_poll};
use crate::state::AppState;

/// A track named or numbered.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum TrackRef {
    Id(#[serde(deserialize_with = "api::whole::deserialize")] i64),
    Name(String),
}

/// A ballot: `option_id` on a `single` poll, `option_ids` (a set) on a
/// `multiple` poll, `ranking` (most preferred first) on a `ranked` poll.
#[derive(Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    #[serde(default, deserialize_with = "api::whole::option")]
    pub option_id: Option<i64>,
    /// `multiple` polls: the options chosen, each once.
    #[serde(default, deserialize_with = "api::whole::list")]
    #[schema(max_items = 50)]
    pub option_ids: Option<Vec<i64>>,
    /// `ranked` polls: options in order of preference, each once; a
    /// partial ranking is fine within the poll's `min_choices`.
    #[serde(default, deserialize_with = "api::whole::list")]
    #[schema(max_items = 50)]
    pub ranking: Option<Vec<i64>>,
    #[serde(default)]
    pub track: Option<TrackRef>,
    /// A voter cookie made for this very request, standing in for the
    /// cookie it did not send: the no-JavaScript form's first vote on a
    /// poll that identifies voters by cookie (the cookie comes back with
    /// its redirect). Never read from a body.
    #[serde(skip)]
    pub fresh_cookie: Option<String>,
}

impl VoteBody {
    /// A vote for one option.
    pub fn single(option_id: i64, track: Option<TrackRef>) -> Self {
        Self { option_id: Some(option_id), track, ..Self::default() }
    }
}

/// What a body votes for: the option of a `single` poll, or the first
/// choice and the whole canonical ballot of the others.
fn ballot_of(def: &PollDef, body: &VoteBody) -> Result<(i64, Option<Ballot>), ApiError> {
    let kind = def.ballot.kind;
    let choices = match (kind, body.option_id, &body.option_ids, &body.ranking) {
        (PollKind::Single, Some(id), None, None) => {
            return match def.option(id) {
                Some(_) => Ok((id, None)),
                None => Err(ApiError::OptionNotFound(id)),
            };
        }
        (PollKind::Multiple, None, Some(ids), None) | (PollKind::Ranked, None, None, Some(ids)) => ids,
        // Nothing chosen (a form with no box ticked): too few choices.
        (PollKind::Multiple | PollKind::Ranked, None, None, None) => &Vec::new(),
        _ => return Err(ApiError::WrongBallotKind(kind)),
    };
    let ids: Vec<i64> = def.options.iter().map(|o| o.id).collect();
    let choices = api::count::canonical_ballot(kind, choices, &ids, (def.ballot.min, def.ballot.max))
        .map_err(ApiError::BadBallot)?;
    let first = choices.first().copied().unwrap_or_default();
    Ok((first, Some(Ballot { kind, choices })))
}

fn resolve_track<'a>(def: &'a PollDef, track: Option<&TrackRef>) -> Result<&'a TrackDef, ApiError> {
    match track {
        None => match def.tracks.as_slice() {
            [only] => Ok(only),
            several => Err(ApiError::TrackRequired(several.len())),
        },
        Some(TrackRef::Id(id)) => def.track_by_id(*id).ok_or_else(|| ApiError::TrackNotFound(id.to_string())),
        Some(TrackRef::Name(n)) => def.track_by_name(n).ok_or_else(|| ApiError::TrackNotFound(format!("{n:?}"))),
    }
}

/// The voter a request names: by its token when it sends one (an invalid
/// token is an error, never a fall-back to the cookie), else by a valid
/// voter cookie; the keyed hash and where it came from.
fn presented_voter(
    req: &HttpRequest,
    state: &AppState,
    fresh_cookie: Option<&str>,
) -> Result<Option<(VoterKind, [u8; 32])>, CredentialError> {
    if let Some(token) = req.headers().get(&*TOKEN_NAME) {
        let token = token.to_str().map_err(|_| CredentialError::Malformed)?;
        let id = voter::verify_token(state.voter_token_secret.as_ref(), token, Utc::now().timestamp())?;
        return Ok(Some((VoterKind::Token, state.server_key.voter_hash(VoterKind::Token, &id))));
    }
    // `cookie()` parses every cookie into the request's extensions (two
    // allocations): only when there is a Cookie header to parse.
    let sent = if req.headers().contains_key(COOKIE) { req.cookie(VOTER_COOKIE) } else { None };
    Ok(sent
        .as_ref()
        .map(|c| c.value())
        .or(fresh_cookie)
        .and_then(|c| state.server_key.verify_cookie(c))
        .map(|id| (VoterKind::Cookie, state.server_key.voter_hash(VoterKind::Cookie, &id))))
}

fn limit(state: &AppState, key: Key, limit: u32, what: &'static str) -> Result<(), ApiError> {
    state.rate_limiter.check(key, limit).map_err(|Limited(secs)| ApiError::RateLimited(what, secs))
}

/// Header carrying a solved proof-of-work challenge.
pub const POW_HEADER: &str = "x-urna-pow";
/// Header carrying an invite code.
pub const INVITE_HEADER: &str = "x-urna-invite";
/// Header carrying the client's key for exactly-once retries.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";
// The headers a vote may carry as `HeaderName`s, made once: a lookup by
// `&str` parses the name on every call, and every vote looks up four.
static TOKEN_NAME: LazyLock<HeaderName> = LazyLock::new(|| HeaderName::from_static(VOTER_TOKEN_HEADER));
static POW_NAME: LazyLock<HeaderName> = LazyLock::new(|| HeaderName::from_static(POW_HEADER));
static INVITE_NAME: LazyLock<HeaderName> = LazyLock::new(|| HeaderName::from_static(INVITE_HEADER));
static IDEMPOTENCY_NAME: LazyLock<HeaderName> = LazyLock::new(|| HeaderName::from_static(IDEMPOTENCY_HEADER));

/// Longest invite code read.
const MAX_INVITE_LEN: usize = 64;

/// The keyed hash of the invite code a request carries, if any.
fn presented_invite(req: &HttpRequest, state: &AppState) -> Result<Option<[u8; 32]>, ApiError> {
    let Some(v) = req.headers().get(&*INVITE_NAME) else { return Ok(None) };
    let code = v.to_str().map(str::trim).unwrap_or_default();
    if code.is_empty() || code.len() > MAX_INVITE_LEN {
        return Err(ApiError::InviteInvalid);
    }
    Ok(Some(state.server_key.voter_hash(VoterKind::Invite, &normalize_invite(code))))
}

/// Invite codes are read without regard to case, spaces or dashes, as a
/// person types them from paper.
pub fn normalize_invite(code: &str) -> String {
    code.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect()
}

/// The client's `Idempotency-Key`: 1–64 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    let Some(v) = req.headers().get(&*IDEMPOTENCY_NAME) else { return Ok(None) };
    let key = v.to_str().unwrap_or_default();
    if key.is_empty() || key.len() > 64 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::IdempotencyKeyInvalid);
    }
    Ok(Some(key.to_owned()))
}

/// The proof of work a poll asks for, checked; `None` when it asks none.
fn checked_pow(req: &HttpRequest, state: &AppState, def: &PollDef) -> Result<Option<SpentPow>, ApiError> {
    let now = Utc::now();
    if state.pow.difficulty(def.id, def.pow, now).is_none() {
        return Ok(None);
    }
    let challenge_url = format!("/api/polls/{}/challenge", def.slug);
    let Some(header) = req.headers().get(&*POW_NAME) else {
        return Err(ApiError::PowRequired { challenge_url });
    };
    let header = header.to_str().map_err(|_| ApiError::PowInvalid(PowError::Malformed.to_string()))?;
    let v = state.pow.verify(def.id, header, now).map_err(|e| ApiError::PowInvalid(e.to_string()))?;
    Ok(Some(SpentPow { challenge: v.challenge, expires_at: v.expires_at }))
}

/// A recorded vote's answer, with its receipt when the poll gives them:
/// the receipt's JSON is written straight from its batch's hex (see
/// `Leaf::write_receipt`), the rest by serde.
fn recorded(
    answer: &VoteAnswer<'_>,
    leaf: Option<&Leaf>,
    vote: (i64, i64, Option<&[i64]>),
) -> Result<HttpResponse, ApiError> {
    // An answer with its receipt is about a kilobyte: one allocation.
    let mut body = Vec::with_capacity(if leaf.is_some() { 1536 } else { 128 });
    serde_json::to_writer(&mut body, answer).map_err(|e| ApiError::Internal(e.into()))?;
    let mut body = String::from_utf8(body).map_err(|e| ApiError::Internal(e.into()))?;
    // `receipt` is the answer's last field: it goes inside the closing brace.
    if let Some(leaf) = leaf
        && body.pop() == Some('}')
    {
        body.push_str(",\"receipt\":");
        leaf.write_receipt(&answer.poll, vote, &mut body);
        body.push('}');
    }
    Ok(HttpResponse::Ok().insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json"))).body(body))
}

/// The answer a refused or replayed vote gets.
fn refusal(r: Refusal) -> Result<HttpResponse, ApiError> {
    match r {
        Refusal::PowReused => Err(ApiError::PowReused),
        Refusal::InviteInvalid => Err(ApiError::InviteInvalid),
        Refusal::KeyReused => Err(ApiError::IdempotencyKeyReused),
        Refusal::Replay { status, answer } if (200..300).contains(&status) => {
            let status = actix_web::http::StatusCode::from_u16(status).unwrap_or(actix_web::http::StatusCode::OK);
            Ok(HttpResponse::build(status).content_type("application/json").body(answer))
        }
        // A refusal's stored answer is its error code.
        Refusal::Replay { answer, .. } => Err([ApiError::AlreadyVoted, ApiError::PowReused, ApiError::InviteInvalid]
            .into_iter()
            .find(|e| e.code() == answer)
            .unwrap_or_else(|| ApiError::Internal(anyhow::anyhow!("stored answer {answer:?} for an idempotency key")))),
    }
}

/// The keyed hash of the voter, for one-per-voter tracks: a token always
/// counts, a voter cookie only where the poll identifies voters by cookie.
fn voter_hash(
    req: &HttpRequest,
    state: &AppState,
    def: &PollDef,
    invite: Option<[u8; 32]>,
    fresh_cookie: Option<&str>,
) -> Result<[u8; 32], ApiError> {
    if def.voter_identity == VoterIdentity::Invite {
        return invite.ok_or_else(|| {
            ApiError::VoterCredentialRequired(format!(
                "this track allows one vote per invite: send your invite code in {INVITE_HEADER}"
            ))
        });
    }
    match presented_voter(req, state, fresh_cookie).map_err(|e| ApiError::VoterTokenInvalid(e.to_string()))? {
        Some((VoterKind::Token, h)) => Ok(h),
        Some((VoterKind::Cookie, h)) if def.voter_identity == VoterIdentity::Cookie => Ok(h),
        _ if def.voter_identity == VoterIdentity::Token => Err(ApiError::VoterCredentialRequired(format!(
            "this track allows one vote per voter: send a voter token in {VOTER_TOKEN_HEADER}"
        ))),
        _ => Err(ApiError::VoterCredentialRequired(format!(
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

/// `GET /api/polls/{slug}/challenge`: a new proof-of-work challenge at the
/// poll's difficulty now. Stateless: nothing is stored until it is spent.
#[utoipa::path(
    get,
    path = "/api/polls/{slug}/challenge",
    tag = "votes",
    params(("slug" = String, Path, description = "The poll's address")),
    responses(
        (status = 200, description = "A signed challenge, valid for 10 minutes, for this poll only", body = api::Challenge),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 409, response = crate::http::responses::Conflict)
    )
)]
pub async fn get_challenge(path: web::Path<String>, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let entry = public_poll(&state, &path)?;
    let now = Utc::now();
    let Some(difficulty) = state.pow.difficulty(entry.def.id, entry.def.pow, now) else {
        return Err(ApiError::PowNotRequired);
    };
    Ok(HttpResponse::Ok().insert_header(("Cache-Control", "no-store")).json(state.pow.challenge(
        entry.def.id,
        difficulty,
        now,
    )))
}

/// `POST /api/polls/{slug}/votes`, counted in `urna_votes_total{outcome}`.
#[utoipa::path(
    post,
    path = "/api/polls/{slug}/votes",
    tag = "votes",
    params(
        ("slug" = String, Path, description = "The poll's address"),
        ("x-voter-token" = Option<String>, Header, description = "Voter token from the host's login system, for one-per-voter tracks"),
        ("x-urna-pow" = Option<String>, Header, description = "A solved challenge (GET …/challenge): base64 of the ALTCHA payload JSON; required when the poll has proof of work"),
        ("x-urna-invite" = Option<String>, Header, description = "An invite code; the voter's identity on invite polls"),
        ("idempotency-key" = Option<String>, Header, description = "1-64 visible ASCII characters: every retry with it gets the first answer, and the vote counts at most once"),
    ),
    request_body = VoteBody,
    responses(
        (status = 200, description = "Recorded: the vote is committed to the database", body = VoteAnswer),
        (status = 202, description = "Accepted (fast-mode polls): queued, committed within one flush interval", body = VoteAnswer),
        (status = 400, response = crate::http::responses::BadRequest),
        (status = 403, response = crate::http::responses::Forbidden),
        (status = 401, response = crate::http::responses::Unauthorized),
        (status = 404, response = crate::http::responses::NotFound),
        (status = 409, response = crate::http::responses::Conflict),
        (status = 413, response = crate::http::responses::PayloadTooLarge),
        (status = 415, response = crate::http::responses::UnsupportedMediaType),
        (status = 422, response = crate::http::responses::Unprocessable),
        (status = 429, response = crate::http::responses::TooManyRequests),
        (status = 503, response = crate::http::responses::Unavailable)
    )
)]
pub async fn cast_vote(
    req: HttpRequest,
    body: crate::http::SmallJson<VoteBody, { crate::http::MAX_VOTE_BYTES }>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    // The slug as the router decoded it, borrowed (`web::Path<String>`
    // would copy it).
    let slug = req.match_info().get("slug").unwrap_or_default();
    cast(&req, slug, body.0, &state).await
}

/// Casts one vote and counts it in the votes metric: the JSON route and the
/// voting page's form both come here.
pub async fn cast(req: &HttpRequest, slug: &str, body: VoteBody, state: &AppState) -> Result<HttpResponse, ApiError> {
    let res = match public_poll(state, slug) {
        Ok(entry) => vote(req, &entry, body, state).await.and_then(|answer| mark_voted(answer, state, &entry.def)),
        Err(e) => Err(e),
    };
    count_outcome(outcome(&res));
    if res.is_ok() {
        crate::ops::record_vote();
    }
    res
}

/// Counts a vote in `urna_votes_total{outcome}`. The two outcomes of nearly
/// every vote keep their counter's handle: `counter!` with a label builds
/// its key and looks it up in the registry on every call.
fn count_outcome(outcome: &'static str) {
    static RECORDED: LazyLock<metrics::Counter> =
        LazyLock::new(|| metrics::counter!("urna_votes_total", "outcome" => "recorded"));
    static ACCEPTED: LazyLock<metrics::Counter> =
        LazyLock::new(|| metrics::counter!("urna_votes_total", "outcome" => "accepted"));
    match outcome {
        "recorded" => RECORDED.increment(1),
        "accepted" => ACCEPTED.increment(1),
        other => metrics::counter!("urna_votes_total", "outcome" => other).increment(1),
    }
}

/// For a poll whose results a voter sees once they have voted: the answer
/// carries the cookie that says this browser voted here (read by the
/// results routes).
fn mark_voted(mut answer: HttpResponse, state: &AppState, def: &PollDef) -> Result<HttpResponse, ApiError> {
    if def.results_visibility == crate::domain::Visibility::AfterVote {
        let cookie = voter::site_cookie(
            voter::voted_cookie_name(def.id),
            state.server_key.voted_mark(def.id),
            state.secure_cookies,
            actix_web::cookie::time::Duration::days(90),
        );
        answer.add_cookie(&cookie).map_err(|e| anyhow::anyhow!("voted cookie: {e}"))?;
    }
    Ok(answer)
}

/// A vote's outcome in one word: `recorded`, `accepted`, or the error's code.
pub fn outcome(res: &Result<HttpResponse, ApiError>) -> &'static str {
    match res {
        Ok(r) if r.status() == actix_web::http::StatusCode::ACCEPTED => "accepted",
        Ok(_) => "recorded",
        Err(e) => e.code(),
    }
}

async fn vote(
    req: &HttpRequest,
    entry: &PollEntry,
    body: VoteBody,
    state: &AppState,
) -> Result<HttpResponse, ApiError> {
    let def = &entry.def;
    let (option_id, ballot) = ballot_of(def, &body)?;
    let choices = ballot.as_ref().map(|b| b.choices.as_slice());
    let track = resolve_track(def, body.track.as_ref())?;
    match def.phase_at(Utc::now()) {
        Phase::Open => {}
        other => return Err(phase_error(other, def)),
    }
    if state.draining.load(Ordering::Relaxed) {
        return Err(ApiError::Draining);
    }
    let idem_key = idempotency_key(req)?;
    let limits = state.rate_limiter.limits();
    let ip = crate::http::client_ip(req, state.client_ip_header.as_ref());
    let limited = match ip {
        Some(ip) if limits.per_ip > 0 => limit(state, Key::ip(ip), limits.per_ip, "IP address"),
        _ => Ok(()),
    };
    if def.pow == crate::domain::Pow::Auto {
        state.pow.observe(def.id, ip, limited.is_err(), Utc::now());
    }
    limited?;
    let pow = checked_pow(req, state, def)?;
    let invite = presented_invite(req, state)?;
    let voter = match track.dedupe {
        Dedupe::OnePerVoter => Some(voter_hash(req, state, def, invite, body.fresh_cookie.as_deref())?),
        Dedupe::Unlimited => None,
    };
    if limits.per_voter > 0
        // On unlimited tracks a credential is optional; a valid one still limits its voter.
        && let Some(v) =
            voter.or_else(|| presented_voter(req, state, body.fresh_cookie.as_deref()).ok().flatten().map(|(_, h)| h))
    {
        limit(state, Key::Voter(v), limits.per_voter, "voter")?;
    }

    // Backpressure: a bounded number of votes per poll may wait in memory.
    let pending = &entry.shared.pending;
    if pending.fetch_add(1, Ordering::AcqRel) >= state.registry.max_pending() {
        pending.fetch_sub(1, Ordering::AcqRel);
        return Err(ApiError::Overloaded);
    }
    let fast = def.ack == AckMode::Fast;
    let (tx, rx) = if fast {
        (None, None)
    } else {
        let (tx, rx) = oneshot::channel();
        (Some(tx), Some(rx))
    };
    let answer = |status| VoteAnswer {
        status,
        poll: Cow::Borrowed(&def.slug),
        option_id,
        choices: choices.map(<[i64]>::to_vec),
        track: Cow::Borrowed(&track.name),
        receipt: None,
    };
    let success = if fast { VoteStatus::Accepted } else { VoteStatus::Recorded };
    let idem = idem_key.map(|key| {
        let request = match choices {
            Some(c) => format!("{}:{}:{}", def.id, crate::domain::choices_column(c), track.id),
            None => format!("{}:{}:{}", def.id, option_id, track.id),
        };
        std::sync::Arc::new(IdemRequest {
            key,
            request_hash: Sha256::digest(request.as_bytes()).into(),
            status: if fast { 202 } else { 200 },
            body: serde_json::to_string(&answer(success)).unwrap_or_default(),
        })
    });
    let vote =
        BatchVote { option_id, track_id: track.id, voter, pow, invite, idem, nonce: [0; 16], ballot: ballot.clone() };
    coalesce::submit(&state.registry, entry, vote, tx);
    let Some(rx) = rx else {
        return Ok(HttpResponse::Accepted().json(answer(VoteStatus::Accepted)));
    };
    match rx.await {
        Ok(VoteOutcome::Recorded(leaf)) => {
            recorded(&answer(VoteStatus::Recorded), leaf.as_ref(), (option_id, track.id, choices))
        }
        Ok(VoteOutcome::Duplicate) => Err(ApiError::AlreadyVoted),
        Ok(VoteOutcome::Refused(r)) => refusal(r),
        Ok(VoteOutcome::NotOpen(phase)) => Err(phase_error(phase, def)),
        Ok(VoteOutcome::Unknown) => Err(ApiError::VoteOutcomeUnknown),
        Ok(VoteOutcome::Unavailable) | Err(_) => Err(ApiError::VoteNotStored),
    }
}

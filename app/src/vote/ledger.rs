//! The group-commit transaction: one batch of votes for one poll, applied
//! exactly once.
//!
//! In one transaction: check the poll row (locked `FOR SHARE` on Postgres, so
//! a close waits for batches in flight and batches after a close see it),
//! look up the batch's idempotency key in the ledger, then decide each vote:
//! a client's `Idempotency-Key` seen before replays its first answer, an
//! invite code must exist (and is marked used), a proof-of-work challenge is
//! spent once, a one-per-voter mark is inserted once; the votes left add
//! their deltas to this instance's counter rows (`… RETURNING` the new shard
//! totals), each new client key stores its answer, and the ledger row is
//! written. Every one of these is a row in the same transaction, so it holds
//! across instances and crashes.
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use serde::{Deserialize, Serialize};

use crate::db::Sql;
use crate::domain::{Phase, PollStatus, phase_of};

/// Rows per multi-row INSERT on SQLite: well under its bind limit.
const ROWS_PER_STATEMENT: usize = 500;
/// Rows per JSON parameter on Postgres: a whole batch (see [`is_pg`]).
const PG_ROWS_PER_STATEMENT: usize = 8192;

/// The slices a batch's rows are written in, per backend.
fn chunked<'a, T>(db: &impl ConnectionTrait, rows: &'a [T]) -> std::slice::Chunks<'a, T> {
    rows.chunks(if is_pg(db) { PG_ROWS_PER_STATEMENT } else { ROWS_PER_STATEMENT })
}

/// On Postgres a batch's rows go in as one JSON parameter read with
/// `jsonb_to_recordset`: the statement's text is the same for every batch,
/// so it is prepared once. A `VALUES` list with hundreds of parameters is a
/// new statement per batch size, and Postgres spent ~17 ms planning each
/// one (psql: PREPARE 3.8 ms, first EXECUTE 16.9 ms for 400 rows).
///
/// Over TCP a large statement also waits for Postgres's delayed ACK (about
/// 40 ms): sqlx sets no TCP_NODELAY, so Nagle's algorithm holds the end of
/// the message. Keyed votes ran 3.5× faster over the Unix socket than over
/// 127.0.0.1, and slower still when their rows were split into more,
/// smaller statements; so each kind of row is one statement per batch.
fn is_pg(db: &impl ConnectionTrait) -> bool {
    db.get_database_backend() == DbBackend::Postgres
}

/// A vote as the ledger sees it.
#[derive(Clone, Debug)]
pub struct BatchVote {
    pub option_id: i64,
    pub track_id: i64,
    /// Keyed hash of the voter, for one-per-voter tracks.
    pub voter: Option<[u8; 32]>,
    /// The proof-of-work challenge this vote spends (once per poll).
    pub pow: Option<SpentPow>,
    /// Keyed hash of the invite code the vote came with; it must exist.
    pub invite: Option<[u8; 32]>,
    /// The client's `Idempotency-Key`, with the answer this vote gets if it
    /// is recorded.
    pub idem: Option<Arc<IdemRequest>>,
}

impl BatchVote {
    /// A vote with no credential, challenge or key.
    pub fn plain(option_id: i64, track_id: i64) -> Self {
        Self { option_id, track_id, voter: None, pow: None, invite: None, idem: None }
    }
}

/// A solved proof-of-work challenge: remembered until it expires.
#[derive(Clone, Copy, Debug)]
pub struct SpentPow {
    pub challenge: [u8; 32],
    pub expires_at: DateTime<Utc>,
}

/// A client's `Idempotency-Key` on a vote.
#[derive(Clone, Debug)]
pub struct IdemRequest {
    pub key: String,
    /// SHA-256 of what the request asked for: a reused key with another
    /// request is refused.
    pub request_hash: [u8; 32],
    /// The status and body this vote is answered with if it counts.
    pub status: u16,
    pub body: String,
}

/// Why a vote in a committed batch was not counted, besides a duplicate
/// voter (see [`Outcome::rejected`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// Its proof-of-work challenge was spent already.
    PowReused,
    /// Its invite code does not exist.
    InviteInvalid,
    /// Its `Idempotency-Key` came before with another request.
    KeyReused,
    /// Its `Idempotency-Key` came before with this request: the first
    /// answer, again. `answer` is the body of a success, else the error code.
    Replay { status: u16, answer: String },
}

impl Refusal {
    /// What a client key stores for a vote refused this way (status and
    /// error code); none for a key that came before.
    fn stored_answer(&self) -> Option<(u16, String)> {
        match self {
            Refusal::PowReused => Some((403, "pow-reused".into())),
            Refusal::InviteInvalid => Some((401, "invite-invalid".into())),
            Refusal::KeyReused | Refusal::Replay { .. } => None,
        }
    }
}

/// Identifies a batch across retries: instance, boot, poll, sequence.
#[derive(Clone, Debug)]
pub struct BatchKey {
    pub poll_id: i64,
    pub shard: String,
    pub epoch: i64,
    pub seq: u64,
}

impl BatchKey {
    pub fn idem_key(&self) -> String {
        format!("{}:{}:{}:{}", self.shard, self.epoch, self.poll_id, self.seq)
    }
}

/// What a committed batch decided, as stored in the ledger row.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
    /// Positions in the batch of votes refused as duplicates.
    pub rejected: Vec<u32>,
    /// Positions of votes refused for another reason, or replayed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub refused: Vec<(u32, Refusal)>,
    /// `(option_id, track_id, delta)` added to the counters.
    pub deltas: Vec<(i64, i64, i64)>,
}

/// A batch that is durably in the database.
#[derive(Clone, Debug)]
pub struct Committed {
    pub outcome: Outcome,
    /// This shard's new totals for the counters the batch touched.
    pub shard_totals: Vec<(i64, i64, i64)>,
    pub committed_at: DateTime<Utc>,
    /// True when an earlier attempt had committed and this one only read it.
    pub replayed: bool,
}

/// Why a batch did not commit.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// The database says the poll takes no votes now; nothing was written.
    #[error("poll is not open ({0:?})")]
    NotOpen(Phase),
    #[error(transparent)]
    Db(#[from] DbErr),
    #[error("injected fault: {0}")]
    Injected(&'static str),
}

/// Test hooks that make the next commits fail, to prove retries are safe.
#[derive(Debug, Default)]
pub struct Faults {
    /// Fail this many commits *after* COMMIT succeeded (an ambiguous commit).
    pub fail_after_commit: AtomicU32,
    /// Fail this many commits before COMMIT (the transaction rolls back).
    pub fail_before_commit: AtomicU32,
}

impl Faults {
    fn take(counter: &AtomicU32) -> bool {
        counter.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    }
}

struct PollCheck {
    phase: Phase,
    now: DateTime<Utc>,
    prior: Option<String>,
}

async fn check_poll(txn: &impl ConnectionTrait, poll_id: i64, idem_key: &str) -> Result<Option<PollCheck>, DbErr> {
    let backend = txn.get_database_backend();
    let mut sql = Sql::new(backend);
    let pg = backend == DbBackend::Postgres;
    sql.push("SELECT p.status, p.opens_at, p.closes_at, ")
        .push(if pg { "now() AS db_now, " } else { "" })
        .push("(SELECT b.outcome FROM batches b WHERE b.idem_key = ")
        .bind(idem_key)
        .push(") AS prior FROM polls p WHERE p.id = ")
        .bind(poll_id)
        .push(if pg { " FOR SHARE OF p" } else { "" });
    let Some(row) = txn.query_one_raw(sql.build()).await? else {
        return Ok(None);
    };
    let status: String = row.try_get("", "status")?;
    let status = PollStatus::parse(&status).map_err(DbErr::Custom)?;
    let opens_at: Option<DateTime<Utc>> = row.try_get("", "opens_at")?;
    let closes_at: Option<DateTime<Utc>> = row.try_get("", "closes_at")?;
    let now: DateTime<Utc> = if pg { row.try_get("", "db_now")? } else { Utc::now() };
    Ok(Some(PollCheck { phase: phase_of(status, opens_at, closes_at, now), now, prior: row.try_get("", "prior")? }))
}

async fn shard_totals(txn: &impl ConnectionTrait, poll_id: i64, shard: &str) -> Result<Vec<(i64, i64, i64)>, DbErr> {
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT option_id, track_id, votes FROM counters WHERE poll_id = ")
        .bind(poll_id)
        .push(" AND shard = ")
        .bind(shard);
    txn.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|r| Ok((r.try_get("", "option_id")?, r.try_get("", "track_id")?, r.try_get("", "votes")?)))
        .collect()
}

/// Inserts the voter marks of the votes at `positions` and returns the
/// positions of duplicates: votes whose voter already voted on that track,
/// in the database or earlier in this batch.
async fn insert_marks(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    votes: &[BatchVote],
    positions: &[u32],
) -> Result<Vec<u32>, DbErr> {
    let mut rejected = Vec::new();
    let mut first: BTreeMap<(i64, [u8; 32]), u32> = BTreeMap::new();
    for &i in positions {
        let Some(v) = votes.get(i as usize) else { continue };
        if let Some(h) = v.voter {
            match first.entry((v.track_id, h)) {
                std::collections::btree_map::Entry::Occupied(_) => rejected.push(i),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(i);
                }
            }
        }
    }
    // Sorted keys: concurrent batches lock marks in the same order.
    let keys: Vec<(i64, [u8; 32])> = first.keys().copied().collect();
    let mut inserted: HashSet<(i64, Vec<u8>)> = HashSet::with_capacity(keys.len());
    for chunk in chunked(txn, &keys) {
        let mut sql = Sql::new(txn.get_database_backend());
        if is_pg(txn) {
            let rows: Vec<serde_json::Value> =
                chunk.iter().map(|(t, h)| serde_json::json!({ "t": t, "h": hex::encode(h) })).collect();
            sql.push("INSERT INTO voter_marks (poll_id, track_id, voter_hash) SELECT ")
                .bind(poll_id)
                .push(", x.t, decode(x.h, 'hex') FROM jsonb_to_recordset(")
                .bind(serde_json::Value::Array(rows).to_string())
                .push("::jsonb) AS x(t bigint, h text)");
        } else {
            sql.push("INSERT INTO voter_marks (poll_id, track_id, voter_hash) VALUES ");
            for (n, (track, hash)) in chunk.iter().enumerate() {
                sql.push(if n == 0 { "(" } else { ", (" })
                    .bind(poll_id)
                    .push(", ")
                    .bind(*track)
                    .push(", ")
                    .bind(hash.to_vec())
                    .push(")");
            }
        }
        sql.push(" ON CONFLICT DO NOTHING RETURNING track_id, voter_hash");
        for row in txn.query_all_raw(sql.build()).await? {
            inserted.insert((row.try_get("", "track_id")?, row.try_get("", "voter_hash")?));
        }
    }
    for ((track, hash), idx) in first {
        if !inserted.contains(&(track, hash.to_vec())) {
            rejected.push(idx);
        }
    }
    rejected.sort_unstable();
    Ok(rejected)
}

/// Client keys of the batch: a key seen earlier in the batch follows its
/// first vote; a key already stored replays its answer or, for another
/// request, is refused. Returns the refusals and, for votes that follow an
/// earlier vote of the batch, the position they follow.
async fn check_client_keys(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    votes: &[BatchVote],
) -> Result<(Vec<(u32, Refusal)>, Vec<(u32, u32)>), DbErr> {
    let mut first: BTreeMap<&str, (u32, [u8; 32])> = BTreeMap::new();
    let (mut refused, mut follows) = (Vec::new(), Vec::new());
    for (i, v) in votes.iter().enumerate() {
        let Some(idem) = &v.idem else { continue };
        match first.get(idem.key.as_str()) {
            Some((at, hash)) if *hash == idem.request_hash => follows.push((i as u32, *at)),
            Some(_) => refused.push((i as u32, Refusal::KeyReused)),
            None => {
                first.insert(&idem.key, (i as u32, idem.request_hash));
            }
        }
    }
    let keys: Vec<&str> = first.keys().copied().collect();
    for chunk in chunked(txn, &keys) {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("SELECT key, request_hash, status, answer FROM idempotency_keys WHERE poll_id = ").bind(poll_id);
        if is_pg(txn) {
            // `= ANY(ARRAY(…))` looks each key up in the primary key; an
            // `IN (SELECT …)` was planned as a hash join over every key of
            // the poll, slower with every vote.
            sql.push(" AND key = ANY(ARRAY(SELECT jsonb_array_elements_text(")
                .bind(serde_json::json!(chunk).to_string())
                .push("::jsonb)))");
        } else {
            sql.push(" AND key IN (");
            for (n, k) in chunk.iter().enumerate() {
                sql.push(if n == 0 { "" } else { ", " }).bind(*k);
            }
            sql.push(")");
        }
        for row in txn.query_all_raw(sql.build()).await? {
            let key: String = row.try_get("", "key")?;
            let hash: Vec<u8> = row.try_get("", "request_hash")?;
            let status: i32 = row.try_get("", "status")?;
            let Some((at, mine)) = first.get(key.as_str()) else { continue };
            let refusal = if hash == mine.to_vec() {
                Refusal::Replay { status: u16::try_from(status).unwrap_or(500), answer: row.try_get("", "answer")? }
            } else {
                Refusal::KeyReused
            };
            refused.push((*at, refusal));
        }
    }
    Ok((refused, follows))
}

/// Marks the invite codes of the votes at `positions` used; returns the
/// positions whose code does not exist.
async fn use_invites(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    votes: &[BatchVote],
    positions: &[u32],
    now: DateTime<Utc>,
) -> Result<Vec<u32>, DbErr> {
    let codes: Vec<[u8; 32]> = {
        let set: std::collections::BTreeSet<[u8; 32]> =
            positions.iter().filter_map(|&i| votes.get(i as usize).and_then(|v| v.invite)).collect();
        set.into_iter().collect()
    };
    let mut known: HashSet<Vec<u8>> = HashSet::with_capacity(codes.len());
    for chunk in chunked(txn, &codes) {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("UPDATE invites SET used_at = COALESCE(used_at, ").bind(now).push(") WHERE poll_id = ").bind(poll_id);
        if is_pg(txn) {
            let hexes: Vec<String> = chunk.iter().map(hex::encode).collect();
            sql.push(" AND code_hash = ANY(ARRAY(SELECT decode(jsonb_array_elements_text(")
                .bind(serde_json::json!(hexes).to_string())
                .push("::jsonb), 'hex')))");
        } else {
            sql.push(" AND code_hash IN (");
            for (n, c) in chunk.iter().enumerate() {
                sql.push(if n == 0 { "" } else { ", " }).bind(c.to_vec());
            }
            sql.push(")");
        }
        sql.push(" RETURNING code_hash");
        for row in txn.query_all_raw(sql.build()).await? {
            known.insert(row.try_get("", "code_hash")?);
        }
    }
    Ok(positions
        .iter()
        .copied()
        .filter(|&i| votes.get(i as usize).and_then(|v| v.invite).is_some_and(|c| !known.contains(c.as_slice())))
        .collect())
}

/// Spends the proof-of-work challenges of the votes at `positions`; returns
/// the positions whose challenge was spent before (here or earlier in the
/// batch).
async fn spend_pow(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    votes: &[BatchVote],
    positions: &[u32],
) -> Result<Vec<u32>, DbErr> {
    let mut reused = Vec::new();
    let mut first: BTreeMap<[u8; 32], (u32, DateTime<Utc>)> = BTreeMap::new();
    for &i in positions {
        let Some(p) = votes.get(i as usize).and_then(|v| v.pow) else { continue };
        match first.entry(p.challenge) {
            std::collections::btree_map::Entry::Occupied(_) => reused.push(i),
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert((i, p.expires_at));
            }
        }
    }
    type Spend = ([u8; 32], (u32, DateTime<Utc>));
    let all: Vec<Spend> = first.into_iter().collect();
    for chunk in chunked(txn, &all) {
        let mut sql = Sql::new(txn.get_database_backend());
        if is_pg(txn) {
            let rows: Vec<serde_json::Value> = chunk
                .iter()
                .map(|(c, (_, exp))| serde_json::json!({ "h": hex::encode(c), "e": exp.to_rfc3339() }))
                .collect();
            sql.push("INSERT INTO pow_spent (poll_id, challenge_hash, expires_at) SELECT ")
                .bind(poll_id)
                .push(", decode(x.h, 'hex'), x.e FROM jsonb_to_recordset(")
                .bind(serde_json::Value::Array(rows).to_string())
                .push("::jsonb) AS x(h text, e timestamptz)");
        } else {
            sql.push("INSERT INTO pow_spent (poll_id, challenge_hash, expires_at) VALUES ");
            for (n, (c, (_, exp))) in chunk.iter().enumerate() {
                sql.push(if n == 0 { "(" } else { ", (" })
                    .bind(poll_id)
                    .push(", ")
                    .bind(c.to_vec())
                    .push(", ")
                    .bind(*exp)
                    .push(")");
            }
        }
        sql.push(" ON CONFLICT DO NOTHING RETURNING challenge_hash");
        let mut inserted: HashSet<Vec<u8>> = HashSet::new();
        for row in txn.query_all_raw(sql.build()).await? {
            inserted.insert(row.try_get("", "challenge_hash")?);
        }
        reused.extend(chunk.iter().filter(|(c, _)| !inserted.contains(c.as_slice())).map(|(_, (i, _))| *i));
    }
    Ok(reused)
}

/// Stores the answer of each vote that carried a new client key.
async fn store_client_keys(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    answers: &[(&IdemRequest, u16, String)],
    now: DateTime<Utc>,
) -> Result<(), DbErr> {
    for chunk in chunked(txn, answers) {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("INSERT INTO idempotency_keys (poll_id, key, request_hash, status, answer, created_at) ");
        if is_pg(txn) {
            let rows: Vec<serde_json::Value> = chunk
                .iter()
                .map(|(idem, status, answer)| {
                    serde_json::json!({ "k": idem.key, "h": hex::encode(idem.request_hash), "s": status, "a": answer })
                })
                .collect();
            sql.push("SELECT ")
                .bind(poll_id)
                .push(", x.k, decode(x.h, 'hex'), x.s, x.a, ")
                .bind(now)
                .push(" FROM jsonb_to_recordset(")
                .bind(serde_json::Value::Array(rows).to_string())
                .push("::jsonb) AS x(k text, h text, s integer, a text)");
        } else {
            sql.push("VALUES ");
            for (n, (idem, status, answer)) in chunk.iter().enumerate() {
                sql.push(if n == 0 { "(" } else { ", (" })
                    .bind(poll_id)
                    .push(", ")
                    .bind(idem.key.as_str())
                    .push(", ")
                    .bind(idem.request_hash.to_vec())
                    .push(", ")
                    .bind(i32::from(*status))
                    .push(", ")
                    .bind(answer.as_str())
                    .push(", ")
                    .bind(now)
                    .push(")");
            }
        }
        txn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// Decides every vote of the batch: which count, which are refused and why.
async fn decide(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    votes: &[BatchVote],
    now: DateTime<Utc>,
) -> Result<(Vec<u32>, Vec<(u32, Refusal)>), DbErr> {
    let (mut refused, follows) = check_client_keys(txn, poll_id, votes).await?;
    let following: HashSet<u32> = follows.iter().map(|f| f.0).collect();
    let open = |refused: &[(u32, Refusal)]| -> Vec<u32> {
        let settled: HashSet<u32> = refused.iter().map(|r| r.0).collect();
        (0..votes.len() as u32).filter(|i| !settled.contains(i) && !following.contains(i)).collect()
    };
    for i in use_invites(txn, poll_id, votes, &open(&refused), now).await? {
        refused.push((i, Refusal::InviteInvalid));
    }
    for i in spend_pow(txn, poll_id, votes, &open(&refused)).await? {
        refused.push((i, Refusal::PowReused));
    }
    let rejected = insert_marks(txn, poll_id, votes, &open(&refused)).await?;
    let duplicates: HashSet<u32> = rejected.iter().copied().collect();

    // The answer a vote's client key stores: none for a key that came
    // before (its vote replays or is refused).
    let stored = |i: u32| -> Option<(u16, String)> {
        let idem = votes.get(i as usize)?.idem.as_deref()?;
        match refused.iter().find(|r| r.0 == i) {
            Some((_, r)) => r.stored_answer(),
            None if duplicates.contains(&i) => Some((409, "already-voted".into())),
            None => Some((idem.status, idem.body.clone())),
        }
    };
    let answers: Vec<(&IdemRequest, u16, String)> = (0..votes.len() as u32)
        .filter(|i| !following.contains(i))
        .filter_map(|i| {
            let idem = votes.get(i as usize)?.idem.as_deref()?;
            stored(i).map(|(status, answer)| (idem, status, answer))
        })
        .collect();
    store_client_keys(txn, poll_id, &answers, now).await?;

    // A vote that repeats an earlier key of the batch gets that vote's answer.
    let repeats: Vec<(u32, Refusal)> = follows
        .into_iter()
        .map(|(i, at)| {
            let answer = stored(at).map(|(status, answer)| Refusal::Replay { status, answer });
            let earlier = || refused.iter().find(|r| r.0 == at).map(|r| r.1.clone());
            (i, answer.or_else(earlier).unwrap_or(Refusal::KeyReused))
        })
        .collect();
    refused.extend(repeats);
    refused.sort_by_key(|r| r.0);
    Ok((rejected, refused))
}

/// Adds the deltas to this shard's counter rows; returns the new totals.
async fn add_deltas(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    shard: &str,
    deltas: &[(i64, i64, i64)],
) -> Result<Vec<(i64, i64, i64)>, DbErr> {
    let mut totals = Vec::with_capacity(deltas.len());
    for chunk in deltas.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("INSERT INTO counters (poll_id, option_id, track_id, shard, votes) VALUES ");
        for (n, (option, track, d)) in chunk.iter().enumerate() {
            sql.push(if n == 0 { "(" } else { ", (" })
                .bind(poll_id)
                .push(", ")
                .bind(*option)
                .push(", ")
                .bind(*track)
                .push(", ")
                .bind(shard)
                .push(", ")
                .bind(*d)
                .push(")");
        }
        sql.push(
            " ON CONFLICT (poll_id, option_id, track_id, shard) \
             DO UPDATE SET votes = counters.votes + excluded.votes \
             RETURNING option_id, track_id, votes",
        );
        for row in txn.query_all_raw(sql.build()).await? {
            totals.push((row.try_get("", "option_id")?, row.try_get("", "track_id")?, row.try_get("", "votes")?));
        }
    }
    Ok(totals)
}

/// Commits one batch, or finds that an earlier attempt with the same key
/// already did. Safe to call again with the same key and votes after any
/// error: the ledger row makes it apply at most once.
pub async fn commit_batch(
    db: &DatabaseConnection,
    key: &BatchKey,
    votes: &[BatchVote],
    faults: &Faults,
) -> Result<Committed, CommitError> {
    let idem_key = key.idem_key();
    let txn = db.begin().await?;
    let Some(check) = check_poll(&txn, key.poll_id, &idem_key).await? else {
        // The poll was deleted: nothing can be counted for it.
        return Err(CommitError::NotOpen(Phase::Closed));
    };
    if let Some(prior) = check.prior {
        let outcome: Outcome = serde_json::from_str(&prior)
            .map_err(|e| DbErr::Custom(format!("ledger outcome of {idem_key} unreadable: {e}")))?;
        let shard_totals = shard_totals(&txn, key.poll_id, &key.shard).await?;
        txn.commit().await?;
        return Ok(Committed { outcome, shard_totals, committed_at: check.now, replayed: true });
    }
    if check.phase != Phase::Open {
        txn.rollback().await?;
        return Err(CommitError::NotOpen(check.phase));
    }
    let (rejected, refused) = decide(&txn, key.poll_id, votes, check.now).await?;
    let not_counted: HashSet<u32> = rejected.iter().copied().chain(refused.iter().map(|r| r.0)).collect();
    let mut deltas: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for (i, v) in votes.iter().enumerate() {
        if !not_counted.contains(&(i as u32)) {
            *deltas.entry((v.option_id, v.track_id)).or_default() += 1;
        }
    }
    let deltas: Vec<(i64, i64, i64)> = deltas.into_iter().map(|((o, t), d)| (o, t, d)).collect();
    let shard_totals = add_deltas(&txn, key.poll_id, &key.shard, &deltas).await?;
    let accepted: i64 = deltas.iter().map(|d| d.2).sum();
    let outcome = Outcome { rejected, refused, deltas };
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("INSERT INTO batches (idem_key, poll_id, shard, votes, outcome, committed_at) VALUES (")
        .bind(idem_key.as_str())
        .push(", ")
        .bind(key.poll_id)
        .push(", ")
        .bind(key.shard.as_str())
        .push(", ")
        .bind(accepted)
        .push(", ")
        .bind(serde_json::to_string(&outcome).map_err(|e| DbErr::Custom(e.to_string()))?)
        .push(", ")
        .bind(check.now)
        .push(")");
    txn.execute_raw(sql.build()).await?;
    if Faults::take(&faults.fail_before_commit) {
        txn.rollback().await?;
        return Err(CommitError::Injected("before commit"));
    }
    txn.commit().await?;
    if Faults::take(&faults.fail_after_commit) {
        return Err(CommitError::Injected("after commit"));
    }
    Ok(Committed { outcome, shard_totals, committed_at: check.now, replayed: false })
}

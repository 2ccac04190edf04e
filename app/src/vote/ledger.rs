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
//! written with its entry in the poll and shard's hash chain (the Merkle
//! root of the counted votes, the deltas, the link to the entry before:
//! `api::ledger`). Every one of these is a row in the same transaction, so
//! it holds across instances and crashes.
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use api::PollKind;
use api::ledger::{self as chain, BallotDelta, Delta, Hash, Tree};
use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use serde::{Deserialize, Serialize};

use crate::db::Sql;
use crate::domain::{BallotTotal, Phase, PollStatus, choices_column, parse_choices, phase_of};

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
    /// The random nonce of its leaf in the batch's Merkle tree, drawn when
    /// the batch forms (so that every retry builds the same tree).
    pub nonce: [u8; 16],
    /// In `multiple` and `ranked` polls, the whole ballot (`option_id` is
    /// its first choice).
    pub ballot: Option<Ballot>,
}

/// A ballot of several options, canonical (`api::count::canonical_ballot`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ballot {
    pub kind: PollKind,
    pub choices: Vec<i64>,
}

impl Ballot {
    /// The options whose counters it adds one to (`api::count::counted_options`).
    fn counted_options(&self) -> &[i64] {
        api::count::counted_options(self.kind, &self.choices)
    }
}

impl BatchVote {
    /// A vote with no credential, challenge or key.
    pub fn plain(option_id: i64, track_id: i64) -> Self {
        Self { option_id, track_id, voter: None, pow: None, invite: None, idem: None, nonce: [0; 16], ballot: None }
    }

    fn leaf(&self) -> Hash {
        match &self.ballot {
            Some(b) => chain::ballot_leaf_hash(&self.nonce, self.track_id, &b.choices),
            None => chain::leaf_hash(&self.nonce, self.option_id, self.track_id),
        }
    }

    fn choices(&self) -> Option<&[i64]> {
        self.ballot.as_ref().map(|b| b.choices.as_slice())
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
    /// `multiple` and `ranked` polls: `(track_id, choices, delta)` for each
    /// distinct ballot counted, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ballots: Vec<BallotTotal>,
}

impl Outcome {
    /// The ballots as the public ledger shows them.
    pub fn ballot_deltas(&self) -> Vec<BallotDelta> {
        self.ballots
            .iter()
            .map(|(track_id, choices, delta)| BallotDelta {
                track_id: *track_id,
                choices: choices.clone(),
                delta: *delta,
            })
            .collect()
    }
}

/// A committed batch's Merkle tree, for its votes' receipts.
///
/// Every hash a receipt shows is put in hex once, here, for the whole
/// batch: each of the batch's votes names about a dozen of them, and
/// encoding them vote by vote was the largest part of a vote's own work.
#[derive(Debug, PartialEq, Eq)]
pub struct BatchTree {
    pub shard: String,
    /// The batch's entry in its chain.
    pub seq: i64,
    /// Over the counted votes, in batch order.
    pub tree: Tree,
    /// The root in hex.
    pub root_hex: String,
    /// Each level below the root in hex, its nodes end to end (64 digits
    /// each), the leaves first.
    levels_hex: Vec<String>,
    /// The shard as a JSON string, quotes and all.
    shard_json: String,
}

/// Hex digits of a hash.
const HASH_HEX: usize = 64;

impl BatchTree {
    fn new(shard: &str, seq: i64, tree: Tree) -> Self {
        let below_root = tree.levels().len().saturating_sub(1);
        let levels_hex = (tree.levels().iter().take(below_root))
            .map(|level| {
                let mut hex = String::with_capacity(level.len() * HASH_HEX);
                level.iter().for_each(|h| chain::push_hex(h, &mut hex));
                hex
            })
            .collect();
        Self {
            shard: shard.to_owned(),
            seq,
            root_hex: chain::to_hex(&tree.root()),
            shard_json: serde_json::to_string(shard).unwrap_or_else(|_| "\"\"".to_owned()),
            levels_hex,
            tree,
        }
    }

    /// The audit path of leaf `index` in hex, from the leaf up.
    fn path_hex(&self, index: usize) -> impl Iterator<Item = &str> {
        self.tree.path_nodes(index).filter_map(|(level, i, _)| {
            self.levels_hex.get(level).and_then(|hex| hex.get(i * HASH_HEX..(i + 1) * HASH_HEX))
        })
    }
}

/// A batch that is durably in the database.
#[derive(Clone, Debug)]
pub struct Committed {
    pub outcome: Outcome,
    /// For a poll with receipts: the tree whose leaves are the counted
    /// votes, in batch order.
    pub tree: Option<Arc<BatchTree>>,
    /// This shard's new totals for the counters the batch touched.
    pub shard_totals: Vec<(i64, i64, i64)>,
    /// This shard's new counts of the ballots the batch counted.
    pub ballot_totals: Vec<BallotTotal>,
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
    /// COMMIT failed: it may have landed. A retry with the same key finds
    /// out; if none can run, the votes' outcome is unknown.
    #[error("commit outcome unknown: {0}")]
    Ambiguous(DbErr),
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
    receipts: bool,
    /// Whether the poll's ballots name several options (its entries hash
    /// their ballots).
    has_ballots: bool,
    /// This batch's row, when an earlier attempt committed it.
    prior: Option<Prior>,
    /// The chain's last entry: its `seq` and `entry_hash`.
    head: Option<(i64, Vec<u8>)>,
}

/// What an earlier attempt of this batch stored.
struct Prior {
    outcome: String,
    seq: Option<i64>,
    root: Option<Vec<u8>>,
}

async fn check_poll(txn: &impl ConnectionTrait, key: &BatchKey, idem_key: &str) -> Result<Option<PollCheck>, DbErr> {
    let backend = txn.get_database_backend();
    let mut sql = Sql::new(backend);
    let pg = backend == DbBackend::Postgres;
    // The chain's head, by the unique index (poll, shard, chain_seq).
    let head = |sql: &mut Sql, column: &str| {
        sql.push("(SELECT h.")
            .push(column)
            .push(" FROM batches h WHERE h.poll_id = p.id AND h.shard = ")
            .bind(key.shard.as_str())
            .push(" AND h.chain_seq IS NOT NULL ORDER BY h.chain_seq DESC LIMIT 1) AS head_")
            .push(column)
            .push(", ");
    };
    sql.push("SELECT p.status, p.opens_at, p.closes_at, p.receipts, p.kind, ").push(if pg {
        "now() AS db_now, "
    } else {
        ""
    });
    head(&mut sql, "chain_seq");
    head(&mut sql, "entry_hash");
    sql.push("b.outcome, b.chain_seq, b.root FROM polls p LEFT JOIN batches b ON b.idem_key = ")
        .bind(idem_key)
        .push(" WHERE p.id = ")
        .bind(key.poll_id)
        .push(if pg { " FOR SHARE OF p" } else { "" });
    let Some(row) = txn.query_one_raw(sql.build()).await? else {
        return Ok(None);
    };
    let status: String = row.try_get("", "status")?;
    let status = PollStatus::parse(&status).map_err(DbErr::Custom)?;
    let opens_at: Option<DateTime<Utc>> = row.try_get("", "opens_at")?;
    let closes_at: Option<DateTime<Utc>> = row.try_get("", "closes_at")?;
    let now: DateTime<Utc> = if pg { row.try_get("", "db_now")? } else { Utc::now() };
    let outcome: Option<String> = row.try_get("", "outcome")?;
    let head_seq: Option<i64> = row.try_get("", "head_chain_seq")?;
    let head_hash: Option<Vec<u8>> = row.try_get("", "head_entry_hash")?;
    Ok(Some(PollCheck {
        phase: phase_of(status, opens_at, closes_at, now),
        now,
        receipts: row.try_get("", "receipts")?,
        has_ballots: PollKind::parse(&row.try_get::<String>("", "kind")?).map_err(DbErr::Custom)?.has_ballots(),
        prior: match outcome {
            Some(outcome) => {
                Some(Prior { outcome, seq: row.try_get("", "chain_seq")?, root: row.try_get("", "root")? })
            }
            None => None,
        },
        head: head_seq.zip(head_hash),
    }))
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

/// This shard's counts of every ballot of the poll (a replay's answer).
async fn shard_ballots(txn: &impl ConnectionTrait, poll_id: i64, shard: &str) -> Result<Vec<BallotTotal>, DbErr> {
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push("SELECT track_id, choices, votes FROM ballots WHERE poll_id = ")
        .bind(poll_id)
        .push(" AND shard = ")
        .bind(shard);
    txn.query_all_raw(sql.build())
        .await?
        .iter()
        .map(|r| {
            let choices: String = r.try_get("", "choices")?;
            Ok((r.try_get("", "track_id")?, parse_choices(&choices).map_err(DbErr::Custom)?, r.try_get("", "votes")?))
        })
        .collect()
}

/// Adds the batch's distinct ballots to this shard's rows; returns their
/// new counts.
async fn add_ballots(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    shard: &str,
    ballots: &[BallotTotal],
) -> Result<Vec<BallotTotal>, DbErr> {
    let mut totals = Vec::with_capacity(ballots.len());
    for chunk in chunked(txn, ballots) {
        let mut sql = Sql::new(txn.get_database_backend());
        sql.push("INSERT INTO ballots (poll_id, track_id, shard, choices, votes) ");
        if is_pg(txn) {
            let rows: Vec<serde_json::Value> =
                chunk.iter().map(|(t, c, d)| serde_json::json!({ "t": t, "c": choices_column(c), "d": d })).collect();
            sql.push("SELECT ")
                .bind(poll_id)
                .push(", x.t, ")
                .bind(shard)
                .push(", x.c, x.d FROM jsonb_to_recordset(")
                .bind(serde_json::Value::Array(rows).to_string())
                .push("::jsonb) AS x(t bigint, c text, d bigint)");
        } else {
            sql.push("VALUES ");
            for (n, (track, choices, d)) in chunk.iter().enumerate() {
                sql.push(if n == 0 { "(" } else { ", (" })
                    .bind(poll_id)
                    .push(", ")
                    .bind(*track)
                    .push(", ")
                    .bind(shard)
                    .push(", ")
                    .bind(choices_column(choices))
                    .push(", ")
                    .bind(*d)
                    .push(")");
            }
        }
        sql.push(
            " ON CONFLICT (poll_id, track_id, shard, choices) \
             DO UPDATE SET votes = ballots.votes + excluded.votes \
             RETURNING track_id, choices, votes",
        );
        for row in txn.query_all_raw(sql.build()).await? {
            let choices: String = row.try_get("", "choices")?;
            totals.push((
                row.try_get("", "track_id")?,
                parse_choices(&choices).map_err(DbErr::Custom)?,
                row.try_get("", "votes")?,
            ));
        }
    }
    Ok(totals)
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
    answers: &[(&IdemRequest, u16, &str)],
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
                    .bind(*answer)
                    .push(", ")
                    .bind(now)
                    .push(")");
            }
        }
        txn.execute_raw(sql.build()).await?;
    }
    Ok(())
}

/// What [`decide`] settled: duplicates, refusals, and the answers the
/// votes' new client keys store (position, status, body), which the caller
/// completes with receipts and stores.
struct Decided {
    rejected: Vec<u32>,
    refused: Vec<(u32, Refusal)>,
    answers: Vec<(u32, u16, String)>,
    /// Votes that repeat an earlier key of the batch: (position, the
    /// position whose answer they get).
    follows: Vec<(u32, u32)>,
}

/// Decides every vote of the batch: which count, which are refused and why.
async fn decide(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    votes: &[BatchVote],
    now: DateTime<Utc>,
) -> Result<Decided, DbErr> {
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
    let answers: Vec<(u32, u16, String)> = (0..votes.len() as u32)
        .filter(|i| !following.contains(i))
        .filter_map(|i| stored(i).map(|(status, answer)| (i, status, answer)))
        .collect();

    // A vote that repeats an earlier key of the batch gets that vote's answer.
    let repeats: Vec<(u32, Refusal)> = follows
        .iter()
        .map(|&(i, at)| {
            let answer = stored(at).map(|(status, answer)| Refusal::Replay { status, answer });
            let earlier = || refused.iter().find(|r| r.0 == at).map(|r| r.1.clone());
            (i, answer.or_else(earlier).unwrap_or(Refusal::KeyReused))
        })
        .collect();
    refused.extend(repeats);
    refused.sort_by_key(|r| r.0);
    Ok(Decided { rejected, refused, answers, follows })
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

/// The counted votes' positions, in batch order.
fn counted(votes: &[BatchVote], outcome: &Outcome) -> Vec<usize> {
    let not_counted: HashSet<u32> =
        outcome.rejected.iter().copied().chain(outcome.refused.iter().map(|r| r.0)).collect();
    (0..votes.len()).filter(|i| !not_counted.contains(&(*i as u32))).collect()
}

/// The Merkle tree over the counted votes.
fn tree_of(votes: &[BatchVote], counted: &[usize]) -> Tree {
    Tree::new(counted.iter().filter_map(|&i| votes.get(i)).map(BatchVote::leaf).collect())
}

/// A stored vote answer with its receipt added, so that a retry with the
/// same `Idempotency-Key` gets the receipt too.
fn with_receipt(body: &str, batch: &BatchTree, index: usize, vote: &BatchVote) -> String {
    let Ok(mut answer) = serde_json::from_str::<serde_json::Value>(body) else { return body.to_owned() };
    let poll = answer.get("poll").and_then(|p| p.as_str()).unwrap_or_default().to_owned();
    let receipt = receipt(batch, index, &vote.nonce, (vote.option_id, vote.track_id, vote.choices()), poll);
    if let (Some(map), Ok(r)) = (answer.as_object_mut(), serde_json::to_value(receipt)) {
        map.insert("receipt".into(), r);
    }
    answer.to_string()
}

/// The receipt of the counted vote at leaf `index` of a batch: its
/// option, track and, for a ballot of several, its choices.
pub fn receipt(
    batch: &BatchTree,
    index: usize,
    nonce: &[u8; 16],
    (option_id, track_id, choices): (i64, i64, Option<&[i64]>),
    poll: String,
) -> chain::Receipt {
    chain::Receipt {
        poll,
        shard: batch.shard.clone(),
        seq: batch.seq,
        index: index as u64,
        size: batch.tree.size() as u64,
        nonce: chain::to_hex(nonce),
        option_id,
        track_id,
        choices: choices.map(<[i64]>::to_vec),
        root: batch.root_hex.clone(),
        proof: batch.path_hex(index).map(str::to_owned).collect(),
    }
}

/// `s` as a JSON string: as it is between quotes when nothing in it needs
/// escaping (a slug never does), else by serde.
fn push_json_str(s: &str, out: &mut String) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::to_string(s).unwrap_or_default());
    }
}

/// [`receipt`] as JSON, appended to `out`: the same bytes as serde's, from
/// the batch's hex without a `Receipt` in between (one is answered for
/// every vote).
pub fn write_receipt(
    batch: &BatchTree,
    index: usize,
    nonce: &[u8; 16],
    (option_id, track_id, choices): (i64, i64, Option<&[i64]>),
    poll: &str,
    out: &mut String,
) {
    // Integers by itoa, not `write!`: the formatting machinery was ~2 % of
    // a vote's instructions (callgrind). Serializing a str cannot fail.
    let mut n = itoa::Buffer::new();
    out.push_str("{\"poll\":");
    push_json_str(poll, out);
    out.push_str(",\"shard\":");
    out.push_str(&batch.shard_json);
    out.push_str(",\"seq\":");
    out.push_str(n.format(batch.seq));
    out.push_str(",\"index\":");
    out.push_str(n.format(index));
    out.push_str(",\"size\":");
    out.push_str(n.format(batch.tree.size()));
    out.push_str(",\"nonce\":\"");
    chain::push_hex(nonce, out);
    out.push_str("\",\"option_id\":");
    out.push_str(n.format(option_id));
    out.push_str(",\"track_id\":");
    out.push_str(n.format(track_id));
    if let Some(choices) = choices {
        out.push_str(",\"choices\":");
        out.push_str(&serde_json::to_string(choices).unwrap_or_default());
    }
    out.push_str(",\"root\":\"");
    out.push_str(&batch.root_hex);
    out.push_str("\",\"proof\":[");
    for (i, hex) in batch.path_hex(index).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('"');
        out.push_str(hex);
        out.push('"');
    }
    out.push_str("]}");
}

/// A batch that committed before: its outcome, and its tree rebuilt from
/// the same votes and nonces (checked against the stored root).
async fn replay(
    txn: sea_orm::DatabaseTransaction,
    key: &BatchKey,
    votes: &[BatchVote],
    prior: Prior,
    now: DateTime<Utc>,
) -> Result<Committed, CommitError> {
    let idem_key = key.idem_key();
    let outcome: Outcome = serde_json::from_str(&prior.outcome)
        .map_err(|e| DbErr::Custom(format!("ledger outcome of {idem_key} unreadable: {e}")))?;
    let shard_totals = shard_totals(&txn, key.poll_id, &key.shard).await?;
    let ballot_totals =
        if outcome.ballots.is_empty() { Vec::new() } else { shard_ballots(&txn, key.poll_id, &key.shard).await? };
    txn.commit().await?;
    let tree = match (prior.seq, prior.root) {
        (Some(seq), Some(root)) => {
            let tree = tree_of(votes, &counted(votes, &outcome));
            if tree.size() > 0 && tree.root().as_slice() == root.as_slice() {
                Some(Arc::new(BatchTree::new(&key.shard, seq, tree)))
            } else {
                None
            }
        }
        _ => None,
    };
    Ok(Committed { outcome, tree, shard_totals, ballot_totals, committed_at: now, replayed: true })
}

/// Commits one batch, or finds that an earlier attempt with the same key
/// already did. Safe to call again with the same key and votes after any
/// error: the ledger row makes it apply at most once.
pub async fn commit_batch(
    db: &DatabaseConnection,
    key: &BatchKey,
    votes: &[BatchVote],
    faults: &Faults,
    deadline: tokio::time::Instant,
) -> Result<Committed, CommitError> {
    let idem_key = key.idem_key();
    // Waiting for a connection is bounded by the batch's deadline: while the
    // database is away the pool would keep trying for its whole acquire
    // timeout. Nothing is written before BEGIN, so giving up here is clean;
    // once the transaction runs it is never cut short (a COMMIT cut short
    // could have landed).
    let txn = match tokio::time::timeout_at(deadline, db.begin()).await {
        Ok(txn) => txn?,
        Err(_) => return Err(CommitError::Db(DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout))),
    };
    let Some(check) = check_poll(&txn, key, &idem_key).await? else {
        // The poll was deleted: nothing can be counted for it.
        return Err(CommitError::NotOpen(Phase::Closed));
    };
    if let Some(prior) = check.prior {
        return replay(txn, key, votes, prior, check.now).await;
    }
    if check.phase != Phase::Open {
        txn.rollback().await?;
        return Err(CommitError::NotOpen(check.phase));
    }
    let decided = decide(&txn, key.poll_id, votes, check.now).await?;
    let mut outcome =
        Outcome { rejected: decided.rejected, refused: decided.refused, deltas: Vec::new(), ballots: Vec::new() };
    let counted = counted(votes, &outcome);
    let mut deltas: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    let mut ballots: BTreeMap<(i64, &[i64]), i64> = BTreeMap::new();
    for v in counted.iter().filter_map(|&i| votes.get(i)) {
        match &v.ballot {
            Some(b) => {
                for &o in b.counted_options() {
                    *deltas.entry((o, v.track_id)).or_default() += 1;
                }
                *ballots.entry((v.track_id, &b.choices)).or_default() += 1;
            }
            None => *deltas.entry((v.option_id, v.track_id)).or_default() += 1,
        }
    }
    outcome.deltas = deltas.into_iter().map(|((o, t), d)| (o, t, d)).collect();
    outcome.ballots = ballots.into_iter().map(|((t, c), d)| (t, c.to_vec(), d)).collect();

    // The batch's entry in its chain.
    let (seq, prev) = match &check.head {
        Some((seq, hash)) => (seq + 1, hash.clone()),
        None => (1, chain::GENESIS.to_vec()),
    };
    let prev: Hash = prev.try_into().map_err(|_| DbErr::Custom(format!("chain head of {idem_key} is not 32 bytes")))?;
    let tree = check.receipts.then(|| Arc::new(BatchTree::new(&key.shard, seq, tree_of(votes, &counted))));
    let root = tree.as_ref().map_or_else(chain::empty_root, |t| t.tree.root());
    let size = tree.as_ref().map_or(0, |t| t.tree.size()) as i64;
    let chain_deltas: Vec<Delta> = outcome.deltas.iter().copied().map(Delta::from).collect();
    let ballot_deltas = check.has_ballots.then(|| outcome.ballot_deltas());
    let entry_hash = chain::entry_hash(&prev, seq, &root, &chain_deltas, ballot_deltas.as_deref());
    let salt = crate::keys::random_bytes::<16>();

    // Client keys store their answers, with the receipt.
    let mut answers: Vec<(u32, u16, String)> = decided.answers;
    if let Some(t) = &tree {
        for (i, _, body) in &mut answers {
            // `counted` is in batch order: a vote's leaf is its place there.
            if let (Ok(leaf), Some(v)) = (counted.binary_search(&(*i as usize)), votes.get(*i as usize)) {
                *body = with_receipt(body, t, leaf, v);
            }
        }
        // A repeat of a key within the batch gets the first answer, whole.
        for (i, at) in &decided.follows {
            let Some((_, status, body)) = answers.iter().find(|a| a.0 == *at) else { continue };
            if let Some(r) = outcome.refused.iter_mut().find(|r| r.0 == *i) {
                r.1 = Refusal::Replay { status: *status, answer: body.clone() };
            }
        }
    }
    let to_store: Vec<(&IdemRequest, u16, &str)> = answers
        .iter()
        .filter_map(|(i, status, body)| {
            let idem = votes.get(*i as usize)?.idem.as_deref()?;
            Some((idem, *status, body.as_str()))
        })
        .collect();
    store_client_keys(&txn, key.poll_id, &to_store, check.now).await?;

    let shard_totals = add_deltas(&txn, key.poll_id, &key.shard, &outcome.deltas).await?;
    let ballot_totals = add_ballots(&txn, key.poll_id, &key.shard, &outcome.ballots).await?;
    let accepted = counted.len() as i64;
    let mut sql = Sql::new(txn.get_database_backend());
    sql.push(
        "INSERT INTO batches (idem_key, poll_id, shard, votes, outcome, committed_at, \
         chain_seq, prev_hash, root, size, salt, entry_hash) VALUES (",
    )
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
    .push(", ")
    .bind(seq)
    .push(", ")
    .bind(prev.to_vec())
    .push(", ")
    .bind(root.to_vec())
    .push(", ")
    .bind(size)
    .push(", ")
    .bind(salt.to_vec())
    .push(", ")
    .bind(entry_hash.to_vec())
    .push(")");
    txn.execute_raw(sql.build()).await?;
    if Faults::take(&faults.fail_before_commit) {
        txn.rollback().await?;
        return Err(CommitError::Injected("before commit"));
    }
    txn.commit().await.map_err(CommitError::Ambiguous)?;
    if Faults::take(&faults.fail_after_commit) {
        return Err(CommitError::Injected("after commit"));
    }
    Ok(Committed { outcome, tree, shard_totals, ballot_totals, committed_at: check.now, replayed: false })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The receipt written straight into an answer is serde's, byte for
    /// byte, for every leaf of trees of odd and even sizes, with a shard and
    /// a poll that need escaping, with and without a ballot of several; its
    /// path is the tree's.
    #[test]
    fn a_written_receipt_is_the_serialized_one() {
        for size in [1usize, 2, 3, 5, 8, 13] {
            let leaves: Vec<Hash> = (0..size).map(|i| [i as u8 + 1; 32]).collect();
            let batch = BatchTree::new("shard \"é\"\n", 7, Tree::new(leaves));
            for index in 0..size {
                let nonce = [index as u8; 16];
                for vote in [(3, 4, None), (3, 4, Some(&[3i64, 1, 2][..]))] {
                    let mut written = String::from("{");
                    write_receipt(&batch, index, &nonce, vote, "poll/\u{1}", &mut written);
                    let receipt = receipt(&batch, index, &nonce, vote, "poll/\u{1}".to_owned());
                    assert_eq!(written, format!("{{{}", serde_json::to_string(&receipt).unwrap()));
                    let path: Vec<String> = batch.tree.path(index).iter().map(|h| chain::to_hex(h)).collect();
                    assert_eq!(receipt.proof, path, "size {size}, leaf {index}");
                }
            }
        }
    }
}

//! The group-commit transaction: one batch of votes for one poll, applied
//! exactly once.
//!
//! In one transaction: check the poll row (locked `FOR SHARE` on Postgres, so
//! a close waits for batches in flight and batches after a close see it),
//! look up the batch's idempotency key in the ledger, insert the one-per-voter
//! marks, add the per-option deltas to this instance's counter rows
//! (`… RETURNING` the new shard totals), and write the ledger row.
use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};

use chrono::{DateTime, Utc};
use sea_orm::{ConnectionTrait, DatabaseConnection, DbBackend, DbErr, TransactionTrait};
use serde::{Deserialize, Serialize};

use super::Sql;
use crate::domain::{Phase, PollStatus, phase_of};

/// Rows per multi-row INSERT: well under both backends' bind limits.
const ROWS_PER_STATEMENT: usize = 500;

/// A vote as the ledger sees it.
#[derive(Clone, Debug)]
pub struct BatchVote {
    pub option_id: i64,
    pub track_id: i64,
    /// Keyed hash of the voter, for one-per-voter tracks.
    pub voter: Option<[u8; 32]>,
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

async fn check_poll(
    txn: &impl ConnectionTrait,
    poll_id: i64,
    idem_key: &str,
) -> Result<Option<PollCheck>, DbErr> {
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
    Ok(Some(PollCheck {
        phase: phase_of(status, opens_at, closes_at, now),
        now,
        prior: row.try_get("", "prior")?,
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

/// Inserts the voter marks and returns the positions of duplicates: votes
/// whose voter already voted on that track, in the database or earlier in
/// this batch.
async fn insert_marks(txn: &impl ConnectionTrait, poll_id: i64, votes: &[BatchVote]) -> Result<Vec<u32>, DbErr> {
    let mut rejected = Vec::new();
    let mut first: BTreeMap<(i64, [u8; 32]), u32> = BTreeMap::new();
    for (i, v) in votes.iter().enumerate() {
        if let Some(h) = v.voter {
            match first.entry((v.track_id, h)) {
                std::collections::btree_map::Entry::Occupied(_) => rejected.push(i as u32),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(i as u32);
                }
            }
        }
    }
    // Sorted keys: concurrent batches lock marks in the same order.
    let keys: Vec<(i64, [u8; 32])> = first.keys().copied().collect();
    let mut inserted: HashSet<(i64, Vec<u8>)> = HashSet::with_capacity(keys.len());
    for chunk in keys.chunks(ROWS_PER_STATEMENT) {
        let mut sql = Sql::new(txn.get_database_backend());
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
    let rejected = insert_marks(&txn, key.poll_id, votes).await?;
    let mut deltas: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    let mut skip = rejected.iter().peekable();
    for (i, v) in votes.iter().enumerate() {
        if skip.peek() == Some(&&(i as u32)) {
            skip.next();
            continue;
        }
        *deltas.entry((v.option_id, v.track_id)).or_default() += 1;
    }
    let deltas: Vec<(i64, i64, i64)> = deltas.into_iter().map(|((o, t), d)| (o, t, d)).collect();
    let shard_totals = add_deltas(&txn, key.poll_id, &key.shard, &deltas).await?;
    let accepted: i64 = deltas.iter().map(|d| d.2).sum();
    let outcome = Outcome { rejected, deltas };
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

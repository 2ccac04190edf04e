//! One actor per poll, on one shared arbiter: it buffers votes and flushes
//! them by group commit.
//!
//! A vote is answered only after the batch holding it has committed. At most
//! one flush is in flight per poll: while it commits, new votes gather in the
//! buffer and go out together as soon as it returns, so batches grow with the
//! load and an idle poll waits at most `interval` before writing.
use std::sync::Arc;
use std::time::Duration;

use actix::prelude::*;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::{mpsc, oneshot};

use super::ledger::{self, BatchKey, BatchTree, BatchVote, CommitError, Committed, Faults, Refusal};
use crate::domain::{BallotTotal, Phase};
use crate::settings::FlushConfig;

/// Waits between attempts of one batch; after the last, its votes get `503`.
const RETRY_BACKOFF_MS: [u64; 5] = [0, 25, 100, 250, 600];
/// How long a vote's batch may wait for a database connection, counted
/// from when the oldest vote of the batch arrived, all attempts together:
/// while the database is away, votes get `503` + `Retry-After` within
/// about this, instead of hanging on the pool (votes that arrived while the
/// batch before failed do not wait for a second budget of their own).
const CONNECT_BUDGET: Duration = Duration::from_millis(1500);
/// The least a batch gets to reach the database, however long its votes
/// waited behind the batch before: a healthy pool answers in well under it.
const CONNECT_FLOOR: Duration = Duration::from_millis(200);

/// How a vote ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VoteOutcome {
    /// Counted; with its leaf in the batch's tree when the poll has receipts.
    Recorded(Option<Leaf>),
    Duplicate,
    NotOpen(Phase),
    /// Not stored: nothing of it was written.
    Unavailable,
    /// Its COMMIT may have landed, and no retry could find out.
    Unknown,
    /// Committed, but not counted for this reason (or replayed).
    Refused(Refusal),
}

/// A counted vote's place in its batch's Merkle tree: what its receipt is
/// made of (the tree is shared by the batch's votes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaf {
    pub batch: Arc<BatchTree>,
    pub index: usize,
    pub nonce: [u8; 16],
}

impl Leaf {
    /// The receipt of this vote, for `option_id` on `track_id` in `poll`
    /// (and for a ballot of several, its choices), as JSON appended to `out`.
    pub fn write_receipt(&self, poll: &str, vote: (i64, i64, Option<&[i64]>), out: &mut String) {
        ledger::write_receipt(&self.batch, self.index, &self.nonce, vote, poll, out);
    }
}

/// Buffer votes; `reply` (absent in fast mode) hears how each ended, in
/// order. The votes of one message always go out in the same batch.
#[derive(Message)]
#[rtype(result = "()")]
pub struct CastVotes {
    pub votes: Vec<BatchVote>,
    pub reply: Option<oneshot::Sender<Vec<VoteOutcome>>>,
}

/// Flush everything buffered and answer when nothing is left in flight.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Drain(pub oneshot::Sender<()>);

/// Where a poll's actor reports what became of its votes: the read side
/// implements it, so the write side knows nothing of results or Redis.
pub trait CommitSink: Send + Sync + 'static {
    /// A batch committed: this shard's new totals for the counters it
    /// touched (and the ballots it counted), as of the commit's time.
    fn committed(&self, shard: &str, totals: Vec<(i64, i64, i64)>, ballots: Vec<BallotTotal>, at: DateTime<Utc>);
    /// `n` votes left the actor, committed or not: the backpressure gauge
    /// falls by as many.
    fn released(&self, n: usize);
}

/// What the actor needs besides its poll.
#[derive(Clone)]
pub struct ActorDeps {
    pub db: DatabaseConnection,
    pub shard: Arc<str>,
    pub epoch: i64,
    pub flush: FlushConfig,
    pub faults: Arc<Faults>,
    /// Asks for a poll to be re-read when the database says it has changed.
    pub refresh: mpsc::UnboundedSender<i64>,
}

type Reply = (usize, Option<oneshot::Sender<Vec<VoteOutcome>>>);

pub struct PollActor {
    poll_id: i64,
    deps: ActorDeps,
    sink: Arc<dyn CommitSink>,
    seq: u64,
    buffer: Vec<BatchVote>,
    /// When the oldest vote in the buffer arrived.
    oldest: Option<tokio::time::Instant>,
    /// One entry per `CastVotes` in the buffer: how many votes, who to tell.
    replies: Vec<Reply>,
    flushing: bool,
    timer: Option<SpawnHandle>,
    drains: Vec<oneshot::Sender<()>>,
}

impl PollActor {
    pub fn new(poll_id: i64, deps: ActorDeps, sink: Arc<dyn CommitSink>) -> Self {
        let cap = deps.flush.max_batch.min(4096);
        Self {
            poll_id,
            deps,
            sink,
            seq: 0,
            buffer: Vec::with_capacity(cap),
            oldest: None,
            replies: Vec::new(),
            flushing: false,
            timer: None,
            drains: Vec::new(),
        }
    }

    fn schedule(&mut self, ctx: &mut Context<Self>) {
        if self.timer.is_none() && !self.flushing {
            self.timer = Some(ctx.run_later(self.deps.flush.interval, |act, ctx| {
                act.timer = None;
                act.flush(ctx);
            }));
        }
    }

    fn flush(&mut self, ctx: &mut Context<Self>) {
        if self.flushing || self.buffer.is_empty() {
            return;
        }
        if let Some(t) = self.timer.take() {
            ctx.cancel_future(t);
        }
        self.flushing = true;
        self.seq += 1;
        let key = BatchKey {
            poll_id: self.poll_id,
            shard: self.deps.shard.to_string(),
            epoch: self.deps.epoch,
            seq: self.seq,
        };
        let mut votes = std::mem::take(&mut self.buffer);
        let now = tokio::time::Instant::now();
        let deadline = (self.oldest.take().unwrap_or(now) + CONNECT_BUDGET).max(now + CONNECT_FLOOR);
        // Each vote's leaf nonce, drawn once per batch so that every retry
        // builds the same tree: one read of the OS's randomness.
        let mut nonces = vec![0u8; votes.len() * 16];
        crate::keys::fill_random(&mut nonces);
        for (v, n) in votes.iter_mut().zip(nonces.chunks_exact(16)) {
            v.nonce.copy_from_slice(n);
        }
        let replies = std::mem::take(&mut self.replies);
        let db = self.deps.db.clone();
        let faults = self.deps.faults.clone();
        let fut = async move {
            let started = std::time::Instant::now();
            let res = commit_with_retry(&db, &key, &votes, &faults, deadline).await;
            metrics::histogram!("urna_flush_duration_seconds").record(started.elapsed().as_secs_f64());
            metrics::histogram!("urna_flush_batch_votes").record(votes.len() as f64);
            (res, votes)
        };
        ctx.spawn(fut.into_actor(self).map(move |(res, votes), act, ctx| {
            act.flushing = false;
            act.finish(res, replies, &votes);
            act.sink.released(votes.len());
            if act.buffer.is_empty() {
                for d in act.drains.drain(..) {
                    let _ = d.send(());
                }
            } else {
                // Votes that arrived during the commit have waited long
                // enough already: send them now.
                act.flush(ctx);
            }
        }));
    }

    fn finish(&mut self, res: Result<Committed, CommitError>, replies: Vec<Reply>, votes: &[BatchVote]) {
        let n: usize = replies.iter().map(|r| r.0).sum();
        let outcomes: Vec<VoteOutcome> = match res {
            Ok(c) => {
                self.sink.committed(&self.deps.shard, c.shard_totals, c.ballot_totals, c.committed_at);
                let mut outcomes = vec![VoteOutcome::Recorded(None); n];
                for i in c.outcome.rejected {
                    if let Some(o) = outcomes.get_mut(i as usize) {
                        *o = VoteOutcome::Duplicate;
                    }
                }
                for (i, r) in c.outcome.refused {
                    if let Some(o) = outcomes.get_mut(i as usize) {
                        *o = VoteOutcome::Refused(r);
                    }
                }
                // The counted votes are the tree's leaves, in batch order.
                if let Some(batch) = c.tree {
                    let counted = outcomes.iter_mut().zip(votes).filter(|(o, _)| matches!(o, VoteOutcome::Recorded(_)));
                    for (index, (o, v)) in counted.enumerate() {
                        *o = VoteOutcome::Recorded(Some(Leaf { batch: batch.clone(), index, nonce: v.nonce }));
                    }
                }
                outcomes
            }
            Err(e) => {
                let outcome = match e {
                    CommitError::NotOpen(phase) => {
                        let _ = self.deps.refresh.send(self.poll_id);
                        VoteOutcome::NotOpen(phase)
                    }
                    CommitError::Ambiguous(_) => VoteOutcome::Unknown,
                    _ => VoteOutcome::Unavailable,
                };
                let fast: usize = replies.iter().filter(|r| r.1.is_none()).map(|r| r.0).sum();
                if fast > 0 {
                    tracing::error!(poll = self.poll_id, votes = fast, ?outcome, "fast-mode votes dropped");
                }
                vec![outcome; n]
            }
        };
        let mut rest = outcomes.as_slice();
        for (n, reply) in replies {
            let (mine, tail) = rest.split_at(n.min(rest.len()));
            rest = tail;
            if let Some(r) = reply {
                let _ = r.send(mine.to_vec());
            }
        }
    }
}

/// Commits a batch, retrying with the same key: an attempt whose COMMIT
/// succeeded but whose answer was lost is found in the ledger, not redone.
async fn commit_with_retry(
    db: &DatabaseConnection,
    key: &BatchKey,
    votes: &[BatchVote],
    faults: &Faults,
    deadline: tokio::time::Instant,
) -> Result<Committed, CommitError> {
    let mut last = None;
    let mut ambiguous = None;
    for (attempt, wait) in RETRY_BACKOFF_MS.iter().enumerate() {
        if *wait > 0 {
            tokio::time::sleep(Duration::from_millis(*wait)).await;
        }
        // No connection within the budget: the database is away; waiting
        // on would only hold the voters.
        if attempt > 0 && tokio::time::Instant::now() >= deadline {
            break;
        }
        match ledger::commit_batch(db, key, votes, faults, deadline).await {
            Ok(c) => {
                if c.replayed {
                    tracing::warn!(key = %key.idem_key(), "batch had committed before; answered from the ledger");
                }
                return Ok(c);
            }
            Err(e @ CommitError::NotOpen(_)) => return Err(e),
            Err(e) => {
                metrics::counter!("urna_flush_failures_total").increment(1);
                metrics::counter!("urna_db_errors_total").increment(1);
                tracing::warn!(key = %key.idem_key(), attempt, error = %e, "flush failed");
                match e {
                    CommitError::Ambiguous(db) => ambiguous = Some(db),
                    e => last = Some(e),
                }
            }
        }
    }
    // A COMMIT that may have landed, and no later attempt that found out.
    if let Some(db) = ambiguous {
        tracing::error!(key = %key.idem_key(), votes = votes.len(), "flush gave up after an unanswered COMMIT; answering 503, outcome unknown");
        return Err(CommitError::Ambiguous(db));
    }
    tracing::error!(key = %key.idem_key(), votes = votes.len(), "flush gave up; answering 503");
    Err(last.unwrap_or(CommitError::Injected("no attempt made")))
}

impl Actor for PollActor {
    type Context = Context<Self>;
}

impl Handler<CastVotes> for PollActor {
    type Result = ();

    fn handle(&mut self, msg: CastVotes, ctx: &mut Self::Context) {
        self.replies.push((msg.votes.len(), msg.reply));
        if self.buffer.is_empty() {
            self.oldest = Some(tokio::time::Instant::now());
        }
        self.buffer.extend(msg.votes);
        if self.buffer.len() >= self.deps.flush.max_batch {
            self.flush(ctx);
        } else {
            self.schedule(ctx);
        }
    }
}

impl Handler<Drain> for PollActor {
    type Result = ();

    fn handle(&mut self, msg: Drain, ctx: &mut Self::Context) {
        if self.buffer.is_empty() && !self.flushing {
            let _ = msg.0.send(());
        } else {
            self.drains.push(msg.0);
            self.flush(ctx);
        }
    }
}

//! Per-worker coalescing of votes on their way to a poll's actor.
//!
//! Sending each vote to the actor on its own costs a cross-thread wake-up per
//! vote, and at tens of thousands of votes a second that wake-up was the
//! biggest single cost of the vote path. Instead, the votes an HTTP worker
//! parses during one turn of its event loop wait in a thread-local parcel per
//! poll; a task that yields once (letting the rest of that turn run) sends
//! the parcel as one `CastVotes` message and hands the single answer back to
//! each request on the same thread. Every vote still goes to the one actor of
//! its poll; a parcel adds no timer, only the rest of the current turn.
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::oneshot;

use super::ledger::BatchVote;
use super::poll_actor::{CastVotes, VoteOutcome};
use crate::read::{PollEntry, Registry};

#[derive(Default)]
struct Parcel {
    votes: Vec<BatchVote>,
    waiters: Vec<Option<oneshot::Sender<VoteOutcome>>>,
}

thread_local! {
    static PARCELS: RefCell<HashMap<i64, Parcel>> = RefCell::new(HashMap::new());
}

/// Queues a vote for its poll's actor. The caller has already counted it in
/// the poll's `pending` gauge; `reply` (absent in fast mode) hears the outcome.
pub fn submit(
    registry: &Arc<Registry>,
    entry: &PollEntry,
    vote: BatchVote,
    reply: Option<oneshot::Sender<VoteOutcome>>,
) {
    let poll_id = entry.def.id;
    let first = PARCELS.with(|p| {
        let mut parcels = p.borrow_mut();
        let parcel = parcels.entry(poll_id).or_default();
        parcel.votes.push(vote);
        parcel.waiters.push(reply);
        parcel.votes.len() == 1
    });
    if first {
        actix_web::rt::spawn(deliver(registry.clone(), entry.clone()));
    }
}

async fn deliver(registry: Arc<Registry>, entry: PollEntry) {
    // Let the other requests of this turn join the parcel.
    tokio::task::yield_now().await;
    let Some(parcel) = PARCELS.with(|p| p.borrow_mut().remove(&entry.def.id)) else {
        return;
    };
    let n = parcel.votes.len();
    let wants_reply = parcel.waiters.iter().any(Option::is_some);
    let (tx, rx) = if wants_reply {
        let (tx, rx) = oneshot::channel();
        (Some(tx), Some(rx))
    } else {
        (None, None)
    };
    if registry.actor(&entry).try_send(CastVotes { votes: parcel.votes, reply: tx }).is_err() {
        entry.shared.pending.fetch_sub(n, Ordering::AcqRel);
        for w in parcel.waiters.into_iter().flatten() {
            let _ = w.send(VoteOutcome::Unavailable);
        }
        return;
    }
    let Some(rx) = rx else { return };
    let outcomes = rx.await.unwrap_or_default();
    let mut outcomes = outcomes.into_iter();
    for w in parcel.waiters {
        let outcome = outcomes.next().unwrap_or(VoteOutcome::Unavailable);
        if let Some(w) = w {
            let _ = w.send(outcome);
        }
    }
}

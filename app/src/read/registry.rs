//! The poll registry: every poll's definition held in memory, its actor, and
//! its published results. Built once at start-up and shared by all HTTP
//! workers, so a vote costs no database read and each poll has one actor.
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use actix::prelude::*;
use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use tokio::sync::{oneshot, watch};

use super::fanout::{Bus, Incoming};
use super::model::{Published, ReadModel};
use crate::db::query;
use crate::domain::{BallotTotal, PollDef};
use crate::vote::{ActorDeps, CommitSink, Drain, PollActor};

/// Mailbox room beyond `max_pending`, for `Drain` and other control messages.
const MAILBOX_SLACK: usize = 1024;

/// State of a poll that outlives edits of its definition.
pub struct PollShared {
    poll_id: i64,
    def: RwLock<Arc<PollDef>>,
    actor: OnceLock<Addr<PollActor>>,
    read: Mutex<ReadModel>,
    results: watch::Sender<Arc<Published>>,
    /// Votes buffered or in flight in the actor: the backpressure gauge.
    pub pending: AtomicUsize,
    /// A recount of a stale runoff is scheduled (see [`Self::recount_later`]).
    recount_due: AtomicBool,
}

impl PollShared {
    fn def(&self) -> Arc<PollDef> {
        self.def.read().map(|d| d.clone()).unwrap_or_else(|p| p.into_inner().clone())
    }

    fn read_model(&self) -> std::sync::MutexGuard<'_, ReadModel> {
        self.read.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Rebuilds the snapshot and hands it to every reader.
    fn republish(&self, read: &mut ReadModel) {
        let snapshot = read.snapshot(&self.def(), Utc::now());
        self.results.send_replace(Arc::new(Published::new(snapshot)));
    }

    /// Called by the actor after each commit with its shard's new totals.
    pub fn publish_commit(
        &self,
        shard: &str,
        totals: Vec<(i64, i64, i64)>,
        ballots: Vec<BallotTotal>,
        at: DateTime<Utc>,
    ) {
        let mut read = self.read_model();
        read.set_counts(shard, totals);
        read.set_ballots(shard, ballots);
        read.advance_as_of(Some(at));
        self.republish(&mut read);
    }

    /// Folds in another instance's totals, received through Redis.
    pub fn apply_remote(
        &self,
        shard: &str,
        totals: Vec<(i64, i64, i64)>,
        ballots: Vec<BallotTotal>,
        at: DateTime<Utc>,
    ) {
        let mut read = self.read_model();
        let changed = read.set_counts(shard, totals) | read.set_ballots(shard, ballots) | read.advance_as_of(Some(at));
        if changed {
            self.republish(&mut read);
        }
    }

    /// When the last snapshot reused a runoff older than its ballots (a
    /// ranked poll counted again within `RUNOFF_EVERY`), publishes a fresh
    /// one once that has passed: the runoff trails the counts by a quarter
    /// second at most, and is recounted at most four times a second.
    pub fn recount_later(self: &Arc<Self>) {
        if !self.read_model().runoff_is_stale() || self.recount_due.swap(true, Ordering::AcqRel) {
            return;
        }
        let shared = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(super::model::RUNOFF_EVERY).await;
            shared.recount_due.store(false, Ordering::Release);
            let mut read = shared.read_model();
            if read.expire_stale_runoff() {
                shared.republish(&mut read);
            }
        });
    }

    /// Latest published results.
    pub fn results(&self) -> Arc<Published> {
        self.results.borrow().clone()
    }

    /// A receiver that wakes on every publish, for live streams.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Published>> {
        self.results.subscribe()
    }
}

/// What a poll's actor reports to: the poll's read model, and the other
/// instances through Redis.
struct PollSink {
    shared: Arc<PollShared>,
    bus: Option<Bus>,
}

impl CommitSink for PollSink {
    fn committed(&self, shard: &str, totals: Vec<(i64, i64, i64)>, ballots: Vec<BallotTotal>, at: DateTime<Utc>) {
        if let Some(bus) = &self.bus {
            bus.results(self.shared.poll_id, &totals, &ballots, at);
        }
        self.shared.publish_commit(shard, totals, ballots, at);
        self.shared.recount_later();
    }

    fn released(&self, n: usize) {
        self.shared.pending.fetch_sub(n, Ordering::AcqRel);
    }
}

/// A poll as the HTTP layer sees it.
#[derive(Clone)]
pub struct PollEntry {
    pub def: Arc<PollDef>,
    pub shared: Arc<PollShared>,
}

#[derive(Default)]
struct Maps {
    by_slug: HashMap<String, PollEntry>,
    by_id: HashMap<i64, String>,
}

pub struct Registry {
    maps: RwLock<Maps>,
    deps: ActorDeps,
    /// Cross-instance fan-out, when Redis is configured.
    bus: Option<Bus>,
    arbiter: ArbiterHandle,
}

impl Registry {
    /// Loads every poll (from the Redis cache when there is one, else from
    /// the database) and its counters from the database.
    pub async fn load(deps: ActorDeps, bus: Option<Bus>, arbiter: ArbiterHandle) -> anyhow::Result<Arc<Self>> {
        let reg = Arc::new(Self { maps: RwLock::new(Maps::default()), deps, bus, arbiter });
        let cached = match &reg.bus {
            Some(bus) => bus.cached_polls().await.unwrap_or_else(|e| {
                tracing::info!(error = %e, "no poll cache in Redis; reading polls from the database");
                Vec::new()
            }),
            None => Vec::new(),
        };
        let defs = if cached.is_empty() { query::all_polls(&reg.deps.db).await? } else { cached };
        for def in defs {
            reg.upsert(def);
        }
        for entry in reg.all() {
            reg.refresh_counters(&entry, true).await?;
        }
        Ok(reg)
    }

    pub fn bus(&self) -> Option<&Bus> {
        self.bus.as_ref()
    }

    /// Applies what other instances announce through Redis, in order,
    /// until the subscriber ends.
    pub async fn follow(self: Arc<Self>, mut incoming: tokio::sync::mpsc::Receiver<Incoming>) {
        while let Some(msg) = incoming.recv().await {
            match msg {
                Incoming::Results { poll, shard, totals, ballots, at } => {
                    if let Some(entry) = self.get_by_id(poll) {
                        entry.shared.apply_remote(&shard, totals, ballots, at);
                        entry.shared.recount_later();
                    }
                }
                Incoming::PollChanged(id) => {
                    if let Err(e) = self.reload(id).await {
                        tracing::warn!(error = %e, poll = id, "reloading a changed poll failed");
                    }
                }
                Incoming::Reconnected => {
                    if let Err(e) = self.catch_up().await {
                        tracing::warn!(error = %e, "catching up after reconnect failed");
                    }
                }
            }
        }
    }

    pub fn db(&self) -> &DatabaseConnection {
        &self.deps.db
    }

    /// Votes that may wait in memory per poll before new ones get `503`.
    pub fn max_pending(&self) -> usize {
        self.deps.flush.max_pending
    }

    pub fn shard(&self) -> &str {
        &self.deps.shard
    }

    fn maps(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(|p| p.into_inner())
    }

    fn maps_mut(&self) -> std::sync::RwLockWriteGuard<'_, Maps> {
        self.maps.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, slug: &str) -> Option<PollEntry> {
        self.maps().by_slug.get(slug).cloned()
    }

    pub fn get_by_id(&self, id: i64) -> Option<PollEntry> {
        let maps = self.maps();
        maps.by_id.get(&id).and_then(|s| maps.by_slug.get(s)).cloned()
    }

    pub fn all(&self) -> Vec<PollEntry> {
        let mut v: Vec<PollEntry> = self.maps().by_slug.values().cloned().collect();
        v.sort_by_key(|e| e.def.id);
        v
    }

    /// Inserts or replaces a poll's definition, keeping its actor and counts.
    /// A definition older than the one held (two reloads finishing out of
    /// order) is ignored.
    pub fn upsert(&self, def: PollDef) {
        let def = Arc::new(def);
        let mut maps = self.maps_mut();
        let held = maps.by_id.get(&def.id).and_then(|s| maps.by_slug.get(s));
        if held.is_some_and(|e| e.def.version > def.version) {
            return;
        }
        let existing = held.map(|e| e.shared.clone());
        let shared = match existing {
            Some(shared) => {
                *shared.def.write().unwrap_or_else(|p| p.into_inner()) = def.clone();
                shared
            }
            None => {
                let mut read = ReadModel::default();
                let (tx, _) = watch::channel(Arc::new(Published::new(read.snapshot(&def, Utc::now()))));
                Arc::new(PollShared {
                    poll_id: def.id,
                    def: RwLock::new(def.clone()),
                    actor: OnceLock::new(),
                    read: Mutex::new(read),
                    results: tx,
                    pending: AtomicUsize::new(0),
                    recount_due: AtomicBool::new(false),
                })
            }
        };
        if let Some(old_slug) = maps.by_id.insert(def.id, def.slug.clone()) {
            maps.by_slug.remove(&old_slug);
        }
        maps.by_slug.insert(def.slug.clone(), PollEntry { def: def.clone(), shared: shared.clone() });
        drop(maps);
        if let Some(bus) = &self.bus {
            bus.cache(def);
        }
        shared.republish(&mut shared.read_model());
    }

    pub fn remove(&self, id: i64) {
        let mut maps = self.maps_mut();
        if let Some(slug) = maps.by_id.remove(&id) {
            maps.by_slug.remove(&slug);
        }
        drop(maps);
        if let Some(bus) = &self.bus {
            bus.uncache(id);
        }
    }

    /// Re-reads a poll this instance just changed in the database and tells
    /// the other instances to do the same.
    pub async fn announce(&self, id: i64) -> anyhow::Result<()> {
        self.reload(id).await?;
        if let Some(bus) = &self.bus {
            bus.poll_changed(id);
        }
        Ok(())
    }

    /// Re-reads whatever may have been missed while Redis was away: changed
    /// polls and other instances' counts.
    pub async fn catch_up(&self) -> anyhow::Result<()> {
        self.sync().await?;
        self.refresh_open_counters().await;
        Ok(())
    }

    /// Re-reads other instances' counts of every open poll from the
    /// database; a poll that fails is logged and left for next time.
    pub async fn refresh_open_counters(&self) {
        let now = Utc::now();
        for entry in self.all().iter().filter(|e| e.def.phase_at(now) == crate::domain::Phase::Open) {
            if let Err(e) = self.refresh_counters(entry, false).await {
                tracing::warn!(error = %e, poll = entry.def.id, "refreshing counters failed");
            }
        }
    }

    /// Publishes the runoff of every ranked poll whose last snapshot
    /// reused an older one (see `ReadModel::snapshot`): called each tick,
    /// so a runoff never trails its counts for longer than that.
    pub fn recount_stale_runoffs(&self) {
        for entry in self.all() {
            let mut read = entry.shared.read_model();
            if read.expire_stale_runoff() {
                entry.shared.republish(&mut read);
            }
        }
    }

    /// Re-reads one poll from the database.
    pub async fn reload(&self, id: i64) -> anyhow::Result<()> {
        match query::poll_by_id(&self.deps.db, id).await? {
            Some(def) => self.upsert(def),
            None => self.remove(id),
        }
        Ok(())
    }

    /// Brings every poll changed elsewhere (another instance, the scheduler)
    /// up to date: compares versions with what is held. Only polls held
    /// before the query are candidates for removal, so a poll that arrives
    /// through Redis meanwhile is not dropped.
    pub async fn sync(&self) -> anyhow::Result<()> {
        let known: HashMap<i64, i64> = self.maps().by_slug.values().map(|e| (e.def.id, e.def.version)).collect();
        let versions = query::poll_versions(&self.deps.db).await?;
        for (id, version) in &versions {
            if known.get(id).is_none_or(|v| v < version) {
                self.reload(*id).await?;
            }
        }
        let live: std::collections::HashSet<i64> = versions.iter().map(|v| v.0).collect();
        for id in known.keys().filter(|id| !live.contains(id)) {
            self.remove(*id);
        }
        Ok(())
    }

    /// Reads the counters of a poll from the database. Other instances'
    /// shards always; this instance's own only at load, since afterwards its
    /// commits report them first-hand.
    pub async fn refresh_counters(&self, entry: &PollEntry, include_own: bool) -> anyhow::Result<()> {
        let mut counts = query::poll_counts(&self.deps.db, entry.def.id).await?;
        if !include_own {
            counts.by_shard.remove(&*self.deps.shard);
            counts.ballots_by_shard.remove(&*self.deps.shard);
        }
        let mut read = entry.shared.read_model();
        if read.apply(counts) {
            entry.shared.republish(&mut read);
        }
        Ok(())
    }

    /// The poll's actor, started on the shared arbiter on first use.
    pub fn actor(&self, entry: &PollEntry) -> Addr<PollActor> {
        entry
            .shared
            .actor
            .get_or_init(|| {
                let deps = self.deps.clone();
                let sink: Arc<dyn CommitSink> =
                    Arc::new(PollSink { shared: entry.shared.clone(), bus: self.bus.clone() });
                let poll_id = entry.shared.poll_id;
                // The mailbox gets its capacity before the first message can
                // arrive: `start_in_arbiter` would open it at actix's default
                // of 16 until the actor runs, and a burst of votes right
                // after the actor's start would find it full.
                let (tx, rx) = dev::channel::channel(deps.flush.max_pending + MAILBOX_SLACK);
                self.arbiter.spawn_fn(move || {
                    let ctx = Context::with_receiver(rx);
                    let fut = ctx.into_future(PollActor::new(poll_id, deps, sink));
                    actix::spawn(fut);
                });
                Addr::new(tx)
            })
            .clone()
    }

    /// Flushes every actor and waits until nothing is in flight.
    pub async fn drain(&self) {
        let actors: Vec<Addr<PollActor>> = self.all().iter().filter_map(|e| e.shared.actor.get().cloned()).collect();
        for a in actors {
            let (tx, rx) = oneshot::channel();
            if a.try_send(Drain(tx)).is_ok() {
                let _ = rx.await;
            }
        }
    }

    /// Votes buffered or in flight across all polls.
    pub fn pending_votes(&self) -> usize {
        self.all().iter().map(|e| e.shared.pending.load(Ordering::Relaxed)).sum()
    }
}

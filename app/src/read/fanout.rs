//! Cross-instance fan-out through Redis pub/sub, when `REDIS_URL` is set.
//!
//! - After each commit an instance publishes its shard's new totals; every
//!   other instance folds them into its read model, so a viewer on instance B
//!   sees votes cast on instance A within milliseconds.
//! - The instance that changes a poll (admin or schedule) publishes its id;
//!   the others re-read that poll from the database, the authority.
//! - Poll definitions are cached in a Redis hash, read by instances at start.
//!
//! Redis is never on the durability path: everything goes through a bounded
//! queue to one publisher task and is dropped when Redis is slow or down.
//! While Redis is unhealthy each instance reads other shards' counts and poll
//! changes from the database instead (see `startup::maintain`), and the
//! subscriber reconnects by itself.
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};
use deadpool_redis::redis::{self, AsyncCommands};
use deadpool_redis::{Config, PoolConfig, Runtime, Timeouts};
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::domain::{BallotTotal, PollDef};

/// Messages waiting for the publisher; past this, new ones are dropped.
const QUEUE: usize = 4096;
/// Pause before reconnecting the subscriber.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);
/// Redis operations slower than this count as failures.
const REDIS_TIMEOUT: Duration = Duration::from_secs(1);

#[derive(Serialize, Deserialize)]
struct ResultsMsg {
    from: String,
    poll: i64,
    shard: String,
    totals: Vec<(i64, i64, i64)>,
    /// The shard's counts of the ballots the batch counted (`multiple` and
    /// `ranked` polls).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ballots: Vec<BallotTotal>,
    at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct PollMsg {
    poll: i64,
    from: String,
}

/// What the subscriber hears from other instances, in order; the registry
/// applies it (see `Registry::follow`).
#[derive(Debug)]
pub enum Incoming {
    /// Another instance's shard has these totals as of `at`.
    Results { poll: i64, shard: String, totals: Vec<(i64, i64, i64)>, ballots: Vec<BallotTotal>, at: DateTime<Utc> },
    /// Another instance changed this poll in the database.
    PollChanged(i64),
    /// The subscription is (re)established: re-read what may have been
    /// missed while it was down.
    Reconnected,
}

enum Outgoing {
    Results(ResultsMsg),
    PollChanged(i64),
    Cache(Arc<PollDef>),
    Uncache(i64),
}

struct Inner {
    tx: mpsc::Sender<Outgoing>,
    healthy: AtomicBool,
    shard: String,
    /// This process: shard plus boot epoch. Messages from it are ignored.
    origin: String,
    results_channel: String,
    polls_channel: String,
    polls_hash: String,
    pool: deadpool_redis::Pool,
    client: redis::Client,
}

/// Handle to the Redis bridge; cheap to clone.
#[derive(Clone)]
pub struct Bus(Arc<Inner>);

impl Bus {
    /// Connects lazily (a Redis that is down at start is retried) and starts
    /// the publisher on the current arbiter.
    pub fn start(url: &str, prefix: &str, shard: &str, epoch: i64) -> anyhow::Result<Self> {
        let mut cfg = Config::from_url(url);
        cfg.pool = Some(PoolConfig {
            max_size: 4,
            timeouts: Timeouts { wait: Some(REDIS_TIMEOUT), create: Some(REDIS_TIMEOUT), recycle: Some(REDIS_TIMEOUT) },
            ..Default::default()
        });
        let pool = cfg.create_pool(Some(Runtime::Tokio1))?;
        let client = redis::Client::open(url)?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let bus = Bus(Arc::new(Inner {
            tx,
            healthy: AtomicBool::new(false),
            shard: shard.to_owned(),
            origin: format!("{shard}:{epoch}"),
            results_channel: format!("{prefix}:results"),
            polls_channel: format!("{prefix}:polls"),
            polls_hash: format!("{prefix}:poll-defs"),
            pool,
            client,
        }));
        actix_web::rt::spawn(bus.clone().publish_loop(rx));
        Ok(bus)
    }

    /// The command pool, for other users of Redis (rate limits).
    pub fn pool(&self) -> deadpool_redis::Pool {
        self.0.pool.clone()
    }

    /// Whether the subscriber is connected and the last publish went through.
    pub fn healthy(&self) -> bool {
        self.0.healthy.load(Ordering::Relaxed)
    }

    fn send(&self, msg: Outgoing) {
        // Full queue: Redis is slow or down; the database fallback covers it.
        let _ = self.0.tx.try_send(msg);
    }

    /// Announces this shard's new totals after a commit.
    pub fn results(&self, poll: i64, totals: &[(i64, i64, i64)], ballots: &[BallotTotal], at: DateTime<Utc>) {
        self.send(Outgoing::Results(ResultsMsg {
            from: self.0.origin.clone(),
            poll,
            shard: self.0.shard.clone(),
            totals: totals.to_vec(),
            ballots: ballots.to_vec(),
            at,
        }));
    }

    /// Tells the other instances that a poll changed in the database.
    pub fn poll_changed(&self, poll: i64) {
        self.send(Outgoing::PollChanged(poll));
    }

    /// Keeps the cached definition of a poll current.
    pub fn cache(&self, def: Arc<PollDef>) {
        self.send(Outgoing::Cache(def));
    }

    pub fn uncache(&self, poll: i64) {
        self.send(Outgoing::Uncache(poll));
    }

    /// Poll definitions cached in Redis, for a fast start.
    pub async fn cached_polls(&self) -> anyhow::Result<Vec<PollDef>> {
        let mut conn = self.0.pool.get().await?;
        let all: Vec<(i64, String)> = tokio::time::timeout(REDIS_TIMEOUT, conn.hgetall(&self.0.polls_hash)).await??;
        all.into_iter().map(|(_, json)| Ok(serde_json::from_str(&json)?)).collect()
    }

    async fn publish_loop(self, mut rx: mpsc::Receiver<Outgoing>) {
        while let Some(msg) = rx.recv().await {
            let inner = &self.0;
            let res: anyhow::Result<()> = async {
                let mut conn = inner.pool.get().await?;
                let op = async {
                    match msg {
                        Outgoing::Results(m) => {
                            conn.publish(&inner.results_channel, serde_json::to_string(&m)?).await?
                        }
                        Outgoing::PollChanged(poll) => {
                            let m = PollMsg { poll, from: inner.origin.clone() };
                            conn.publish(&inner.polls_channel, serde_json::to_string(&m)?).await?
                        }
                        Outgoing::Cache(def) => {
                            conn.hset(&inner.polls_hash, def.id, serde_json::to_string(&*def)?).await?
                        }
                        Outgoing::Uncache(poll) => conn.hdel(&inner.polls_hash, poll).await?,
                    }
                    Ok::<(), anyhow::Error>(())
                };
                tokio::time::timeout(REDIS_TIMEOUT, op).await?
            }
            .await;
            if res.is_err() {
                metrics::counter!("urna_redis_errors_total").increment(1);
            }
            if let Err(e) = res
                && inner.healthy.swap(false, Ordering::Relaxed)
            {
                tracing::warn!(error = %e, "Redis publish failed; falling back to the database");
            }
        }
    }

    /// Receives other instances' results and poll changes and hands them
    /// on, reconnecting on failure; after each (re)connect it first hands on
    /// [`Incoming::Reconnected`]. Ends when the receiver is gone.
    pub async fn subscribe_loop(self, to: mpsc::Sender<Incoming>) {
        let inner = &self.0;
        loop {
            match inner.client.get_async_pubsub().await {
                Ok(mut ps) => {
                    let subscribed = ps.subscribe(&inner.results_channel).await.is_ok()
                        && ps.subscribe(&inner.polls_channel).await.is_ok();
                    if subscribed {
                        tracing::info!("subscribed to Redis fan-out");
                        inner.healthy.store(true, Ordering::Relaxed);
                        if to.send(Incoming::Reconnected).await.is_err() {
                            return;
                        }
                        let mut stream = ps.into_on_message();
                        while let Some(msg) = stream.next().await {
                            let Ok(payload) = msg.get_payload::<String>() else { continue };
                            if let Some(incoming) = self.parse(msg.get_channel_name(), &payload)
                                && to.send(incoming).await.is_err()
                            {
                                return;
                            }
                        }
                    }
                }
                Err(e) => {
                    metrics::counter!("urna_redis_errors_total").increment(1);
                    tracing::debug!(error = %e, "Redis subscribe failed");
                }
            }
            if inner.healthy.swap(false, Ordering::Relaxed) {
                tracing::warn!("lost Redis; falling back to the database until it returns");
            }
            tokio::time::sleep(RECONNECT_AFTER).await;
        }
    }

    /// A message from another instance; this instance's own are ignored.
    fn parse(&self, channel: &str, payload: &str) -> Option<Incoming> {
        let inner = &self.0;
        if channel == inner.results_channel {
            let m = serde_json::from_str::<ResultsMsg>(payload).ok()?;
            (m.from != inner.origin).then_some(Incoming::Results {
                poll: m.poll,
                shard: m.shard,
                totals: m.totals,
                ballots: m.ballots,
                at: m.at,
            })
        } else if channel == inner.polls_channel {
            let m = serde_json::from_str::<PollMsg>(payload).ok()?;
            (m.from != inner.origin).then_some(Incoming::PollChanged(m.poll))
        } else {
            None
        }
    }
}

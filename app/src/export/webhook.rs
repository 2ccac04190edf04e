//! Downstream export: every committed batch of a poll with a webhook is
//! POSTed to it, at least once and in order per poll, with retries.
//!
//! The batch ledger is the source (durable, ordered by id) and a cursor per
//! poll says how far delivery got; it advances only after a 2xx. One
//! instance exports a poll at a time, under a lease in the database.
//!
//! Work goes in rounds. A round sends the next batches of up to `limit`
//! polls at once (one poll's batches one after another, so they stay in
//! order). The limit adapts to the receiver, the way one integrates with a
//! slow legacy system: after a round without errors it grows by 1.5 %, after
//! a round with errors it shrinks by 10 %, and what failed is retried in the
//! next round.
//!
//! Deliveries are signed (see `signing`) and go out through the client of
//! `client`, which speaks https and refuses targets that are not public.
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use sea_orm::DatabaseConnection;
use serde::Serialize;

use super::{client, signing};
use crate::db::{mutation, webhook};
use crate::read::Registry;
use crate::settings::WebhookSettings;
use crate::vote::Outcome;

/// Time between rounds.
const ROUND_EVERY: Duration = Duration::from_millis(200);
/// Lease on a poll's export, renewed every round.
const LEASE: chrono::Duration = chrono::Duration::seconds(10);
/// Batches one poll may send in one round.
const BATCHES_PER_ROUND: u64 = 20;
const DELIVERY_TIMEOUT: Duration = Duration::from_secs(5);
const START_LIMIT: f64 = 4.0;
const MIN_LIMIT: f64 = 1.0;
const MAX_LIMIT: f64 = 256.0;
const GROWTH: f64 = 1.015;
const SHRINK: f64 = 0.9;
/// Limit values kept for inspection.
const HISTORY: usize = 1000;

#[derive(Serialize)]
struct Count {
    option_id: i64,
    track_id: i64,
    delta: i64,
}

/// What a webhook receives for each committed batch.
#[derive(Serialize)]
struct Delivery<'a> {
    poll_id: i64,
    poll: &'a str,
    batch_id: i64,
    idempotency_key: &'a str,
    committed_at: chrono::DateTime<Utc>,
    /// Votes (ballots) the batch counted.
    votes: i64,
    counts: Vec<Count>,
    /// `multiple` and `ranked` polls: each distinct ballot the batch
    /// counted, as the public ledger lists it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    ballots: Vec<api::ledger::BallotDelta>,
}

pub struct Exporter {
    db: DatabaseConnection,
    registry: Arc<Registry>,
    owner: String,
    settings: WebhookSettings,
    /// The limit after each round that had work; the last is the current one.
    history: Mutex<Vec<f64>>,
    delivered: AtomicU64,
}

impl Exporter {
    pub fn new(db: DatabaseConnection, registry: Arc<Registry>, owner: String, settings: WebhookSettings) -> Arc<Self> {
        Arc::new(Self {
            db,
            registry,
            owner,
            settings,
            history: Mutex::new(vec![START_LIMIT]),
            delivered: AtomicU64::new(0),
        })
    }

    /// Checks that the delivery client can be built (the CA file reads),
    /// so that a bad configuration stops the start, not every round.
    pub fn check_config(&self) -> anyhow::Result<()> {
        client::build(&self.settings, DELIVERY_TIMEOUT).map(|_| ())
    }

    /// The current concurrency limit.
    pub fn limit(&self) -> f64 {
        self.history().last().copied().unwrap_or(START_LIMIT)
    }

    /// The limit after each round that had work, oldest first.
    pub fn history(&self) -> Vec<f64> {
        self.lock_history().clone()
    }

    fn lock_history(&self) -> std::sync::MutexGuard<'_, Vec<f64>> {
        self.history.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn delivered(&self) -> u64 {
        self.delivered.load(Ordering::Relaxed)
    }

    fn adapt(&self, had_errors: bool) {
        let mut history = self.lock_history();
        let current = history.last().copied().unwrap_or(START_LIMIT);
        let limit = (current * if had_errors { SHRINK } else { GROWTH }).clamp(MIN_LIMIT, MAX_LIMIT);
        metrics::gauge!("urna_webhook_concurrency_limit").set(limit);
        if history.len() >= HISTORY {
            history.remove(0);
        }
        history.push(limit);
    }

    /// Runs rounds forever (on an actix arbiter: the HTTP client is local).
    pub async fn run(self: Arc<Self>) {
        let client = match client::build(&self.settings, DELIVERY_TIMEOUT) {
            Ok(c) => c,
            Err(e) => {
                tracing::error!(error = %e, "webhook client not built; no webhook is delivered");
                return;
            }
        };
        let mut tick = tokio::time::interval(ROUND_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut offset = 0usize;
        loop {
            tick.tick().await;
            match self.round(&client, offset).await {
                Ok(Some(had_errors)) => self.adapt(had_errors),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "webhook round failed"),
            }
            offset = offset.wrapping_add(1);
        }
    }

    /// One round; `None` when there was nothing to send.
    async fn round(&self, client: &awc::Client, offset: usize) -> anyhow::Result<Option<bool>> {
        let polls: Vec<_> = self.registry.all().into_iter().filter(|e| e.def.webhook_url.is_some()).collect();
        if polls.is_empty() {
            return Ok(None);
        }
        let now = mutation::db_now(&self.db).await?;
        let mut ready = Vec::new();
        for entry in polls {
            if let Some(cursor) = webhook::lease(&self.db, entry.def.id, &self.owner, now, now + LEASE).await? {
                let batches = webhook::batches_after(&self.db, entry.def.id, cursor, BATCHES_PER_ROUND).await?;
                if !batches.is_empty() {
                    ready.push((entry, batches));
                }
            }
        }
        if ready.is_empty() {
            return Ok(None);
        }
        // Rotate so that every poll gets its turn when the limit is small.
        let len = ready.len();
        ready.rotate_left(offset % len);
        ready.truncate((self.limit().floor() as usize).max(1));
        let results = futures_util::future::join_all(
            ready.iter().map(|(entry, batches)| self.deliver_poll(client, entry, batches)),
        )
        .await;
        Ok(Some(results.iter().any(|ok| !ok)))
    }

    /// Sends a poll's batches in order, stopping at the first failure;
    /// returns whether all went through.
    async fn deliver_poll(
        &self,
        client: &awc::Client,
        entry: &crate::read::PollEntry,
        batches: &[entity::batches::Model],
    ) -> bool {
        let Some(url) = entry.def.webhook_url.as_deref() else { return true };
        if let Some(why) = client::refusal(url, &self.settings) {
            tracing::warn!(poll = entry.def.id, why, "webhook target refused; retrying next round");
            metrics::counter!("urna_webhook_deliveries_total", "result" => "refused").increment(1);
            return false;
        }
        let secret = match webhook::signing_secret(&self.db, entry.def.id).await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, poll = entry.def.id, "reading the webhook secret failed");
                return false;
            }
        };
        for b in batches {
            let outcome: Outcome = serde_json::from_str(&b.outcome).unwrap_or_default();
            let delivery = Delivery {
                poll_id: entry.def.id,
                poll: &entry.def.slug,
                batch_id: b.id,
                idempotency_key: &b.idem_key,
                committed_at: b.committed_at,
                votes: b.votes,
                counts: outcome
                    .deltas
                    .iter()
                    .map(|&(option_id, track_id, delta)| Count { option_id, track_id, delta })
                    .collect(),
                ballots: outcome.ballot_deltas(),
            };
            let Ok(body) = serde_json::to_vec(&delivery) else { return false };
            let id = format!("batch_{}", b.id);
            let timestamp = Utc::now().timestamp();
            let mut req = client
                .post(url)
                .content_type("application/json")
                .insert_header(("x-urna-delivery", b.id.to_string()))
                .insert_header(("webhook-id", id.as_str()))
                .insert_header(("webhook-timestamp", timestamp.to_string()));
            // Polls made before webhooks were signed have no secret until
            // an admin rotates it in.
            if let Some(sig) = secret.as_deref().and_then(|s| signing::signature(s, &id, timestamp, &body)) {
                req = req.insert_header(("webhook-signature", sig));
            }
            let sent = req.send_body(body).await;
            match sent {
                Ok(res) if res.status().is_success() => {
                    if let Err(e) = webhook::advance(&self.db, entry.def.id, &self.owner, b.id).await {
                        tracing::warn!(error = %e, poll = entry.def.id, "webhook cursor not saved; the batch will be sent again");
                        return false;
                    }
                    self.delivered.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("urna_webhook_deliveries_total", "result" => "ok").increment(1);
                }
                other => {
                    let why = match other {
                        Ok(res) => format!("status {}", res.status()),
                        Err(e) => e.to_string(),
                    };
                    tracing::debug!(
                        poll = entry.def.id,
                        batch = b.id,
                        why,
                        "webhook delivery failed; retrying next round"
                    );
                    metrics::counter!("urna_webhook_deliveries_total", "result" => "error").increment(1);
                    return false;
                }
            }
        }
        true
    }
}

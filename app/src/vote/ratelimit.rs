//! Per-IP and per-voter rate limits, shared across instances through Redis
//! without a Redis round trip per vote.
//!
//! Each instance counts requests per key in fixed one-minute windows. A sync
//! task pushes the new increments to Redis every `SYNC_EVERY` (`INCRBY` +
//! `EXPIRE`, one pipeline) and reads back each key's global count. A request
//! is refused when the last known global count plus what this instance has
//! not pushed yet reaches the limit, so instances together admit at most the
//! limit plus what they see during one sync period. Without Redis, or while
//! it is away, each instance enforces the limits on its own counts.
//!
//! No crate fits this: `actix-limitation` makes a Redis round trip per
//! request and fails when Redis does; `governor` is local to one process.
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use deadpool_redis::redis;

use crate::settings::RateLimits as Limits;

/// How often counts are exchanged with Redis.
pub const SYNC_EVERY: Duration = Duration::from_millis(100);
const WINDOW_SECS: i64 = 60;

/// What is being limited.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Ip(IpAddr),
    Voter([u8; 32]),
}

impl Key {
    /// An IP, with IPv6 addresses grouped by /64 (one subscriber's network).
    pub fn ip(ip: IpAddr) -> Self {
        Key::Ip(crate::http::client_network(ip))
    }

    fn redis_key(&self, prefix: &str, window: i64) -> String {
        match self {
            Key::Ip(ip) => format!("{prefix}:rl:{window}:ip:{ip}"),
            Key::Voter(h) => format!("{prefix}:rl:{window}:v:{}", hex::encode(&h[..16])),
        }
    }
}

#[derive(Default)]
struct Count {
    /// Last global count Redis reported (includes what we pushed).
    global: u32,
    /// Requests admitted here and not pushed to Redis yet.
    unpushed: u32,
}

#[derive(Default)]
struct Window {
    start: i64,
    counts: HashMap<Key, Count>,
}

pub struct RateLimiter {
    limits: Limits,
    window: Mutex<Window>,
}

/// Refused: retry after this many seconds.
#[derive(Debug, PartialEq, Eq)]
pub struct Limited(pub u64);

impl RateLimiter {
    pub fn new(limits: Limits) -> Arc<Self> {
        Arc::new(Self { limits, window: Mutex::new(Window::default()) })
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Window> {
        self.window.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Counts one request for `key` if it is under `limit` this minute.
    pub fn check(&self, key: Key, limit: u32) -> Result<(), Limited> {
        if limit == 0 {
            return Ok(());
        }
        let now = Utc::now().timestamp();
        let start = now - now.rem_euclid(WINDOW_SECS);
        let mut w = self.lock();
        if w.start != start {
            w.start = start;
            w.counts.clear();
        }
        let c = w.counts.entry(key).or_default();
        if c.global.saturating_add(c.unpushed) >= limit {
            return Err(Limited((start + WINDOW_SECS - now).max(1) as u64));
        }
        c.unpushed += 1;
        Ok(())
    }

    /// Pushes this instance's new counts and learns the global ones.
    async fn sync(&self, pool: &deadpool_redis::Pool, prefix: &str) -> anyhow::Result<()> {
        let (start, deltas): (i64, Vec<(Key, u32)>) = {
            let mut w = self.lock();
            let start = w.start;
            let deltas = w
                .counts
                .iter_mut()
                .filter(|(_, c)| c.unpushed > 0)
                .map(|(k, c)| {
                    let d = std::mem::take(&mut c.unpushed);
                    (k.clone(), d)
                })
                .collect();
            (start, deltas)
        };
        if deltas.is_empty() {
            return Ok(());
        }
        let result: anyhow::Result<Vec<u32>> = async {
            let mut conn = pool.get().await?;
            let mut pipe = redis::pipe();
            for (k, d) in &deltas {
                let key = k.redis_key(prefix, start);
                pipe.incr(&key, *d).expire(&key, WINDOW_SECS * 2).ignore();
            }
            Ok(tokio::time::timeout(Duration::from_secs(1), pipe.query_async(&mut conn)).await??)
        }
        .await;
        let mut w = self.lock();
        if w.start != start {
            return Ok(()); // a new window began meanwhile
        }
        match result {
            Ok(totals) => {
                for ((k, _), total) in deltas.into_iter().zip(totals) {
                    if let Some(c) = w.counts.get_mut(&k) {
                        c.global = c.global.max(total);
                    }
                }
                Ok(())
            }
            Err(e) => {
                // Keep limiting on what this instance knows.
                for (k, d) in deltas {
                    if let Some(c) = w.counts.get_mut(&k) {
                        c.global += d;
                    }
                }
                Err(e)
            }
        }
    }

    /// Runs the exchange with Redis forever.
    pub async fn sync_loop(self: Arc<Self>, pool: deadpool_redis::Pool, prefix: String) {
        let mut tick = tokio::time::interval(SYNC_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = self.sync(&pool, &prefix).await {
                tracing::debug!(error = %e, "rate-limit sync with Redis failed; limiting locally");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_refused_past_its_limit_with_a_retry_after_within_the_minute() {
        let rl = RateLimiter::new(Limits { per_ip: 3, per_voter: 0 });
        let ip = Key::ip("203.0.113.9".parse().unwrap());
        for _ in 0..3 {
            assert_eq!(rl.check(ip.clone(), 3), Ok(()));
        }
        let Err(Limited(secs)) = rl.check(ip, 3) else { panic!("fourth request admitted") };
        assert!((1..=60).contains(&secs));
        assert_eq!(rl.check(Key::ip("203.0.113.10".parse().unwrap()), 3), Ok(()));
        assert_eq!(rl.check(Key::Voter([1; 32]), 0), Ok(()), "limit 0 means off");
    }

    #[test]
    fn ipv6_addresses_of_one_slash_64_share_a_limit() {
        let a = Key::ip("2001:db8:1:2::1".parse().unwrap());
        let b = Key::ip("2001:db8:1:2:ffff::9".parse().unwrap());
        assert_eq!(a, b);
        assert_ne!(a, Key::ip("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(Key::ip("::ffff:198.51.100.7".parse().unwrap()), Key::ip("198.51.100.7".parse().unwrap()));
    }
}

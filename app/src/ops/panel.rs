//! The figures of the admin dashboard's operations panel, for this
//! instance over the last minute: requests and server errors, latency
//! (for p99), and votes taken. Prometheus has the same figures for a whole
//! fleet; this is what an admin sees without one.
//!
//! One slot per second in a ring of relaxed atomics: recording is a few
//! uncontended increments on the request path. A slot is reset by the first
//! request of its new second, so a request racing that reset may be lost
//! from the panel (never from `/metrics` or the vote count).
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Upper bounds of the latency buckets, in milliseconds.
const BOUNDS_MS: [f64; 20] = [
    0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 7.5, 10.0, 15.0, 20.0, 30.0, 50.0, 75.0, 100.0, 150.0, 250.0, 500.0, 1000.0, 2500.0,
    5000.0,
];
const SLOTS: usize = 64;
/// The panel's window, in whole seconds before the current one.
pub const WINDOW_SECS: u64 = 60;

struct Slot {
    second: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    votes: AtomicU64,
    latency: [AtomicU64; BOUNDS_MS.len() + 1],
}

impl Slot {
    const fn new() -> Self {
        Slot {
            second: AtomicU64::new(0),
            requests: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            votes: AtomicU64::new(0),
            latency: [const { AtomicU64::new(0) }; BOUNDS_MS.len() + 1],
        }
    }

    fn counters(&self) -> impl Iterator<Item = &AtomicU64> {
        [&self.requests, &self.errors, &self.votes].into_iter().chain(self.latency.iter())
    }
}

static RING: [Slot; SLOTS] = [const { Slot::new() }; SLOTS];

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

#[allow(clippy::indexing_slicing, reason = "every index is taken modulo, or bounded by, the array's length")]
fn slot(second: u64) -> &'static Slot {
    let s = &RING[(second % SLOTS as u64) as usize];
    let seen = s.second.load(Ordering::Relaxed);
    if seen != second && s.second.compare_exchange(seen, second, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
        s.counters().for_each(|c| c.store(0, Ordering::Relaxed));
    }
    s
}

/// Records one HTTP request: its latency and whether it was a server error.
#[allow(clippy::indexing_slicing, reason = "every index is taken modulo, or bounded by, the array's length")]
pub fn record_request(elapsed_ms: f64, server_error: bool) {
    let s = slot(now_secs());
    s.requests.fetch_add(1, Ordering::Relaxed);
    if server_error {
        s.errors.fetch_add(1, Ordering::Relaxed);
    }
    let bucket = BOUNDS_MS.iter().position(|b| elapsed_ms <= *b).unwrap_or(BOUNDS_MS.len());
    s.latency[bucket].fetch_add(1, Ordering::Relaxed);
}

/// Records one vote taken (recorded or accepted).
pub fn record_vote() {
    slot(now_secs()).votes.fetch_add(1, Ordering::Relaxed);
}

/// The last minute, as the panel shows it.
#[derive(Debug)]
pub struct Window {
    pub window_secs: f64,
    pub requests_per_sec: f64,
    /// Share of requests answered 5xx.
    pub error_rate: f64,
    /// Upper bound of the bucket holding the 99th percentile; `None`
    /// without requests.
    pub p99_ms: Option<f64>,
    pub votes_per_sec: f64,
}

/// Sums the complete seconds of the last minute (the current one is still
/// filling).
#[allow(clippy::indexing_slicing, reason = "every index is taken modulo, or bounded by, the array's length")]
pub fn window() -> Window {
    let now = now_secs();
    let (mut requests, mut errors, mut votes) = (0_u64, 0_u64, 0_u64);
    let mut latency = [0_u64; BOUNDS_MS.len() + 1];
    for second in now.saturating_sub(WINDOW_SECS)..now {
        let s = &RING[(second % SLOTS as u64) as usize];
        if s.second.load(Ordering::Acquire) != second {
            continue;
        }
        requests += s.requests.load(Ordering::Relaxed);
        errors += s.errors.load(Ordering::Relaxed);
        votes += s.votes.load(Ordering::Relaxed);
        for (sum, c) in latency.iter_mut().zip(&s.latency) {
            *sum += c.load(Ordering::Relaxed);
        }
    }
    Window {
        window_secs: WINDOW_SECS as f64,
        requests_per_sec: requests as f64 / WINDOW_SECS as f64,
        error_rate: if requests == 0 { 0.0 } else { errors as f64 / requests as f64 },
        p99_ms: p99(&latency),
        votes_per_sec: votes as f64 / WINDOW_SECS as f64,
    }
}

fn p99(latency: &[u64]) -> Option<f64> {
    let total: u64 = latency.iter().sum();
    if total == 0 {
        return None;
    }
    let rank = (total as f64 * 0.99).ceil() as u64;
    let mut seen = 0;
    for (i, n) in latency.iter().enumerate() {
        seen += n;
        if seen >= rank {
            return Some(BOUNDS_MS.get(i).copied().unwrap_or(f64::INFINITY));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p99_is_the_bucket_holding_the_99th_percentile() {
        let mut latency = [0_u64; BOUNDS_MS.len() + 1];
        latency[2] = 98; // ≤ 1 ms
        latency[11] = 2; // ≤ 50 ms
        assert_eq!(p99(&latency), Some(50.0));
        latency[2] = 990;
        latency[11] = 10;
        assert_eq!(p99(&latency), Some(1.0));
        assert_eq!(p99(&[0; BOUNDS_MS.len() + 1]), None);
    }
}

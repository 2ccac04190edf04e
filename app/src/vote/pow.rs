//! Proof of work per vote, in ALTCHA's SHA-256 format: the voter's device
//! searches for a number, the server checks it with one hash and one HMAC.
//!
//! A challenge is stateless: `salt` carries its poll and expiry, and
//! `signature` is an HMAC of `challenge` with a key derived from the
//! server key, so nothing is stored until a solution is spent. Spent
//! challenges are rows of the batch transaction (`pow_spent`, kept until
//! they expire), so a solution counts once across every instance.
//!
//! `auto` difficulty, per poll and instance: every vote request on the poll
//! is counted per second, with how many were rate-limited and from which
//! network (/24 for IPv4, /64 for IPv6). Once a second the last 10 s are
//! judged: with at least [`AUTO_MIN_REQUESTS`] requests and either a
//! rate-limited share of [`AUTO_LIMITED_SHARE`] or more, or one network
//! sending [`AUTO_NETWORK_SHARE`] or more of them, the difficulty doubles
//! (up to the maximum); after [`AUTO_CALM_SECS`] without either it halves,
//! down to [`AUTO_BASE`].
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;

use api::{Challenge, POW_DIFFICULTY_RANGE, Pow, PowSolution};
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::keys::random_bytes;

type HmacSha256 = hmac::Hmac<Sha256>;

/// How long a challenge may be solved and spent.
pub const CHALLENGE_TTL_SECS: i64 = 600;
/// The difficulty `auto` starts from and returns to.
pub const AUTO_BASE: u32 = 20_000;
/// Requests in the last 10 s below which `auto` judges nothing.
pub const AUTO_MIN_REQUESTS: u64 = 100;
/// Rate-limited share of the last 10 s's requests that counts as abuse.
pub const AUTO_LIMITED_SHARE: f64 = 0.10;
/// Share of the last 10 s's requests from one network that counts as abuse.
pub const AUTO_NETWORK_SHARE: f64 = 0.25;
/// Seconds without signs of abuse before `auto` halves the difficulty.
pub const AUTO_CALM_SECS: i64 = 30;
/// The judged window, in seconds.
const AUTO_WINDOW_SECS: i64 = 10;
/// Hash attempts per second of a mid-range phone solving in the browser
/// (WebCrypto SHA-256 in a Web Worker); see docs/BENCHMARKS.md.
pub const PHONE_HASHES_PER_SEC: f64 = 150_000.0;
/// Longest `X-Urna-Pow` header read.
const MAX_HEADER: usize = 1024;

/// Why a proof of work was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum PowError {
    #[error("malformed proof of work: expected base64 of the ALTCHA payload JSON")]
    Malformed,
    #[error("this challenge is for another poll")]
    OtherPoll,
    #[error("this challenge has expired; fetch a new one")]
    Expired,
    #[error("the solution does not solve the challenge")]
    Wrong,
    #[error("the challenge's signature does not match")]
    BadSignature,
}

/// Signs and checks challenges; tracks `auto` difficulty.
pub struct PowGuard {
    key: [u8; 32],
    auto: Mutex<HashMap<i64, AutoState>>,
}

/// A checked solution, ready to be spent in the batch.
#[derive(Clone, Copy, Debug)]
pub struct Verified {
    pub challenge: [u8; 32],
    pub expires_at: DateTime<Utc>,
}

impl PowGuard {
    pub fn new(server_key: &SecretString) -> Self {
        let mut mac = mac(server_key.expose_secret().as_bytes());
        mac.update(b"urna:pow:v1");
        PowGuard { key: mac.finalize().into_bytes().into(), auto: Mutex::new(HashMap::new()) }
    }

    /// The difficulty a poll asks for now; `None` when it asks for none.
    pub fn difficulty(&self, poll_id: i64, pow: Pow, now: DateTime<Utc>) -> Option<u32> {
        match pow {
            Pow::Off => None,
            Pow::Fixed(n) => Some(n),
            Pow::Auto => Some(self.with_auto(poll_id, |a| a.current(now.timestamp()))),
        }
    }

    /// A new challenge for `poll_id` at `maxnumber`.
    pub fn challenge(&self, poll_id: i64, maxnumber: u32, now: DateTime<Utc>) -> Challenge {
        let expires = now.timestamp() + CHALLENGE_TTL_SECS;
        let salt = format!("{}?poll={poll_id}&expires={expires}", hex::encode(random_bytes::<12>()));
        let number = u64::from_le_bytes(random_bytes::<8>()) % (u64::from(maxnumber) + 1);
        let challenge = hex::encode(Sha256::digest(format!("{salt}{number}")));
        let signature = self.sign(&challenge);
        Challenge { algorithm: "SHA-256".into(), challenge, maxnumber: maxnumber.into(), salt, signature }
    }

    fn sign(&self, challenge: &str) -> String {
        let mut m = mac(&self.key);
        m.update(challenge.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }

    /// Checks an `X-Urna-Pow` header for `poll_id`: one hash and one HMAC.
    pub fn verify(&self, poll_id: i64, header: &str, now: DateTime<Utc>) -> Result<Verified, PowError> {
        if header.len() > MAX_HEADER {
            return Err(PowError::Malformed);
        }
        let json = base64::engine::general_purpose::STANDARD
            .decode(header.trim())
            .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(header.trim()))
            .map_err(|_| PowError::Malformed)?;
        let s: PowSolution = serde_json::from_slice(&json).map_err(|_| PowError::Malformed)?;
        if s.algorithm != "SHA-256" {
            return Err(PowError::Malformed);
        }
        let params = s.salt.split_once('?').map(|(_, q)| q).ok_or(PowError::Malformed)?;
        let param = |name: &str| {
            params.split('&').find_map(|kv| kv.split_once('=').filter(|(k, _)| *k == name).map(|(_, v)| v))
        };
        let poll: i64 = param("poll").and_then(|v| v.parse().ok()).ok_or(PowError::Malformed)?;
        let expires: i64 = param("expires").and_then(|v| v.parse().ok()).ok_or(PowError::Malformed)?;
        let mut challenge = [0u8; 32];
        hex::decode_to_slice(&s.challenge, &mut challenge).map_err(|_| PowError::Malformed)?;
        let signature = hex::decode(&s.signature).map_err(|_| PowError::Malformed)?;
        // The signature first: nothing else of an unsigned challenge counts.
        let mut m = mac(&self.key);
        m.update(s.challenge.as_bytes());
        m.verify_slice(&signature).map_err(|_| PowError::BadSignature)?;
        if poll != poll_id {
            return Err(PowError::OtherPoll);
        }
        if expires <= now.timestamp() {
            return Err(PowError::Expired);
        }
        if Sha256::digest(format!("{}{}", s.salt, s.number)).as_slice() != challenge {
            return Err(PowError::Wrong);
        }
        let expires_at = DateTime::from_timestamp(expires, 0).ok_or(PowError::Malformed)?;
        Ok(Verified { challenge, expires_at })
    }

    /// Counts a vote request on an `auto` poll, for the difficulty rule.
    pub fn observe(&self, poll_id: i64, ip: Option<IpAddr>, limited: bool, now: DateTime<Utc>) {
        self.with_auto(poll_id, |a| a.observe(ip.map(network), limited, now.timestamp()));
    }

    fn with_auto<T>(&self, poll_id: i64, f: impl FnOnce(&mut AutoState) -> T) -> T {
        let mut all = self.auto.lock().unwrap_or_else(|p| p.into_inner());
        f(all.entry(poll_id).or_default())
    }
}

fn mac(key: &[u8]) -> HmacSha256 {
    let Ok(m) = HmacSha256::new_from_slice(key) else { unreachable!("HMAC accepts keys of any length") };
    m
}

/// The network an address belongs to, as `auto` groups them.
fn network(ip: IpAddr) -> u64 {
    match ip {
        IpAddr::V4(v4) => u64::from(u32::from(v4) >> 8),
        IpAddr::V6(v6) => (u128::from(v6) >> 64) as u64 | (1 << 63),
    }
}

/// One second of requests.
#[derive(Default)]
struct Second {
    at: i64,
    total: u64,
    limited: u64,
    networks: HashMap<u64, u64>,
}

/// Networks remembered per second; past this, new ones are not counted
/// (a flood from many networks shows in the rate-limited share instead).
const MAX_NETWORKS_PER_SECOND: usize = 4096;

/// `auto` difficulty of one poll on this instance.
struct AutoState {
    difficulty: u32,
    seconds: VecDeque<Second>,
    judged_at: i64,
    calm_since: i64,
}

impl Default for AutoState {
    fn default() -> Self {
        AutoState { difficulty: AUTO_BASE, seconds: VecDeque::new(), judged_at: 0, calm_since: 0 }
    }
}

impl AutoState {
    fn observe(&mut self, network: Option<u64>, limited: bool, now: i64) {
        self.judge(now);
        if self.seconds.back().is_none_or(|s| s.at != now) {
            self.seconds.push_back(Second { at: now, ..Default::default() });
        }
        if let Some(s) = self.seconds.back_mut() {
            s.total += 1;
            s.limited += u64::from(limited);
            if let Some(n) = network
                && (s.networks.len() < MAX_NETWORKS_PER_SECOND || s.networks.contains_key(&n))
            {
                *s.networks.entry(n).or_default() += 1;
            }
        }
    }

    fn current(&mut self, now: i64) -> u32 {
        self.judge(now);
        self.difficulty
    }

    /// Once a second: the rule of the module's documentation.
    fn judge(&mut self, now: i64) {
        if now <= self.judged_at {
            return;
        }
        self.judged_at = now;
        while self.seconds.front().is_some_and(|s| s.at <= now - AUTO_WINDOW_SECS) {
            self.seconds.pop_front();
        }
        let total: u64 = self.seconds.iter().map(|s| s.total).sum();
        let limited: u64 = self.seconds.iter().map(|s| s.limited).sum();
        let mut per_network: HashMap<u64, u64> = HashMap::new();
        for s in &self.seconds {
            for (n, c) in &s.networks {
                *per_network.entry(*n).or_default() += c;
            }
        }
        let busiest = per_network.values().copied().max().unwrap_or(0);
        let abuse = total >= AUTO_MIN_REQUESTS
            && (limited as f64 >= AUTO_LIMITED_SHARE * total as f64
                || busiest as f64 >= AUTO_NETWORK_SHARE * total as f64);
        if abuse {
            self.difficulty = self.difficulty.saturating_mul(2).min(*POW_DIFFICULTY_RANGE.end());
            self.calm_since = now;
        } else if now - self.calm_since >= AUTO_CALM_SECS && self.difficulty > AUTO_BASE {
            self.difficulty = (self.difficulty / 2).max(AUTO_BASE);
            self.calm_since = now;
        }
    }
}

/// Expected seconds to solve at `difficulty` on a mid-range phone: half the
/// numbers are tried on average.
pub fn phone_secs(difficulty: u32) -> f64 {
    f64::from(difficulty) / 2.0 / PHONE_HASHES_PER_SEC
}

#[cfg(test)]
mod tests {
    use super::*;

    fn guard() -> PowGuard {
        PowGuard::new(&SecretString::from("k"))
    }

    fn solve(c: &Challenge) -> String {
        let number = (0..=c.maxnumber)
            .find(|n| hex::encode(Sha256::digest(format!("{}{n}", c.salt))) == c.challenge)
            .expect("solvable");
        let s = PowSolution {
            algorithm: c.algorithm.clone(),
            challenge: c.challenge.clone(),
            number,
            salt: c.salt.clone(),
            signature: c.signature.clone(),
        };
        base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&s).unwrap())
    }

    #[test]
    fn a_solved_challenge_verifies_for_its_poll_until_it_expires() {
        let g = guard();
        let now = Utc::now();
        let c = g.challenge(7, 1_000, now);
        let header = solve(&c);
        assert!(g.verify(7, &header, now).is_ok());
        assert_eq!(g.verify(8, &header, now).unwrap_err(), PowError::OtherPoll);
        let later = now + chrono::Duration::seconds(CHALLENGE_TTL_SECS + 1);
        assert_eq!(g.verify(7, &header, later).unwrap_err(), PowError::Expired);
        assert_eq!(g.verify(7, "not base64!", now).unwrap_err(), PowError::Malformed);
    }

    #[test]
    fn a_forged_or_wrong_solution_is_refused() {
        let g = guard();
        let now = Utc::now();
        let c = g.challenge(1, 1_000, now);
        let mut s: PowSolution =
            serde_json::from_slice(&base64::engine::general_purpose::STANDARD.decode(solve(&c)).unwrap()).unwrap();
        s.number += 1;
        let wrong = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&s).unwrap());
        assert_eq!(g.verify(1, &wrong, now).unwrap_err(), PowError::Wrong);
        // A challenge signed with another key.
        let other = PowGuard::new(&SecretString::from("other")).challenge(1, 1_000, now);
        assert_eq!(g.verify(1, &solve(&other), now).unwrap_err(), PowError::BadSignature);
    }

    #[test]
    fn auto_doubles_under_a_flood_from_one_network_and_halves_when_calm() {
        let g = guard();
        let t0 = Utc::now();
        assert_eq!(g.difficulty(1, Pow::Auto, t0), Some(AUTO_BASE));
        let ip: IpAddr = "203.0.113.9".parse().unwrap();
        for s in 0..3 {
            for _ in 0..200 {
                g.observe(1, Some(ip), false, t0 + chrono::Duration::seconds(s));
            }
        }
        let raised = g.difficulty(1, Pow::Auto, t0 + chrono::Duration::seconds(3)).unwrap();
        assert!(raised >= AUTO_BASE * 4, "{raised}");
        // Quiet for a while: back down, step by step, never below the base.
        let calm = g.difficulty(1, Pow::Auto, t0 + chrono::Duration::seconds(3 + AUTO_CALM_SECS + 1)).unwrap();
        assert!(calm < raised, "{calm} < {raised}");
        let much_later = (0..40).fold(calm, |_, k| {
            g.difficulty(1, Pow::Auto, t0 + chrono::Duration::seconds(100 + k * AUTO_CALM_SECS)).unwrap()
        });
        assert_eq!(much_later, AUTO_BASE);
    }

    #[test]
    fn many_networks_each_sending_a_little_do_not_raise_auto() {
        let g = guard();
        let t0 = Utc::now();
        for i in 0..500_u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8)));
            g.observe(2, Some(ip), false, t0);
        }
        assert_eq!(g.difficulty(2, Pow::Auto, t0 + chrono::Duration::seconds(1)), Some(AUTO_BASE));
    }
}

//! Login throttling: after `MAX_FAILURES` failed logins in `WINDOW`, for one
//! client network or one username, logins get `429` with `Retry-After`
//! until the window that began with the first failure ends. A success
//! clears both counts.
//!
//! The counts live in the database, so every instance sees them, under
//! keys that are hashes: the table never holds a typed username (which is
//! sometimes a password typed in the wrong field) or an address.
use std::net::IpAddr;

use chrono::{DateTime, Utc};
use sea_orm::DatabaseConnection;
use sha2::{Digest, Sha256};

use crate::db::{accounts, mutation};
use crate::http::ApiError;

pub const MAX_FAILURES: i32 = 10;
pub const WINDOW: chrono::Duration = chrono::Duration::minutes(15);

/// The keys one login attempt counts against.
pub struct Keys {
    keys: Vec<String>,
    ip: Option<IpAddr>,
}

fn key(kind: &str, value: &str) -> String {
    hex::encode(Sha256::digest(format!("urna-login:{kind}:{value}").as_bytes()))
}

/// The key of a username (usernames are matched case-insensitively here,
/// so that changing case does not buy more guesses).
pub fn username_key(username: &str) -> String {
    key("user", &username.to_lowercase())
}

impl Keys {
    /// The client's network (a /64 for IPv6) and the username.
    pub fn new(ip: Option<IpAddr>, username: &str) -> Self {
        let ip = ip.map(crate::http::client_network);
        let mut keys = vec![username_key(username)];
        keys.extend(ip.map(|ip| key("ip", &ip.to_string())));
        Self { keys, ip }
    }

    /// `LoginThrottled` while any key has used up its window.
    pub async fn check(&self, db: &DatabaseConnection, now: DateTime<Utc>) -> Result<(), ApiError> {
        let rows = accounts::login_failures(db, &self.keys, now - WINDOW).await?;
        let wait = rows
            .iter()
            .filter(|r| r.failures >= MAX_FAILURES)
            .map(|r| (r.window_start + WINDOW - now).num_seconds().max(1))
            .max();
        match wait {
            Some(secs) => Err(ApiError::LoginThrottled(secs.unsigned_abs())),
            None => Ok(()),
        }
    }

    /// Counts a failure; the failure that uses up a window is audited.
    pub async fn fail(&self, db: &DatabaseConnection, now: DateTime<Utc>, username: &str) -> Result<(), ApiError> {
        metrics::counter!("urna_login_failures_total").increment(1);
        let rows = accounts::record_login_failure(db, &self.keys, now, now - WINDOW).await?;
        if rows.iter().any(|r| r.failures == MAX_FAILURES) {
            let shown: String = username.chars().take(64).collect();
            mutation::append_audit(
                db,
                "login",
                "admin.login_throttled",
                &format!("login:{shown}"),
                serde_json::json!({ "username": shown, "ip": self.ip.map(|ip| ip.to_string()), "minutes": WINDOW.num_minutes() }),
            )
            .await?;
        }
        Ok(())
    }

    pub async fn clear(&self, db: &DatabaseConnection) -> Result<(), ApiError> {
        Ok(accounts::clear_login_failures(db, &self.keys).await?)
    }
}

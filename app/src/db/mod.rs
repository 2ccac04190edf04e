//! Database access: one layer of small functions taking a connection or a
//! transaction. Handlers call these and never build SQL or `ActiveModel`s
//! themselves; the one exception is the vote path's batch transaction,
//! which lives with the vote in `crate::vote` (its `ledger`) and uses
//! [`Sql`] from here.
//!
//! # Layout
//! - `query`: reads (polls with options and tracks, counters, audit).
//! - `mutation`: admin-side writes (polls, status changes, new admins).
//! - `accounts`: admin sessions, passwords, two-step login, failed logins.
//! - `webhook`: leases and cursors of the webhook export.
//! - `ledger`: the public ledger's chain entries.
//! - `tokens`: admin API tokens and first-run setup links.
pub mod accounts;
pub mod ledger;
pub mod mutation;
pub mod query;
pub mod tokens;
pub mod webhook;

use std::time::Duration;

use anyhow::Context;
use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, Statement, Value};

/// Opens the pool. SQLite gets one connection (it has one writer anyway, and
/// a single connection avoids `SQLITE_BUSY` between our own transactions) in
/// WAL mode with full fsync, so an acknowledged vote survives a crash.
pub async fn connect(url: &str, max_connections: u32) -> anyhow::Result<DatabaseConnection> {
    let mut opts = ConnectOptions::new(url.to_owned());
    let sqlite = url.starts_with("sqlite:");
    opts.max_connections(if sqlite { 1 } else { max_connections })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(3))
        .acquire_timeout(Duration::from_secs(3))
        .sqlx_logging(false);
    let db = Database::connect(opts).await.with_context(|| format!("connecting to {}", redact(url)))?;
    if sqlite {
        db.execute_unprepared("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;")
            .await
            .context("setting SQLite pragmas")?;
    }
    Ok(db)
}

/// A URL fit for logs: the password, if any, replaced.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// Raw SQL with placeholders in the backend's own style (`$1` on Postgres,
/// `?1` on SQLite), for the few statements SeaORM's builders cannot express
/// (`ON CONFLICT … RETURNING` over many rows, `FOR SHARE`).
pub struct Sql {
    backend: DbBackend,
    text: String,
    values: Vec<Value>,
}

impl Sql {
    pub fn new(backend: DbBackend) -> Self {
        Self { backend, text: String::with_capacity(256), values: Vec::new() }
    }

    pub fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Appends a placeholder for `v`.
    pub fn bind(&mut self, v: impl Into<Value>) -> &mut Self {
        self.values.push(v.into());
        let n = self.values.len();
        match self.backend {
            DbBackend::Postgres => self.text.push('$'),
            _ => self.text.push('?'),
        }
        self.text.push_str(&n.to_string());
        self
    }

    pub fn build(self) -> Statement {
        Statement::from_sql_and_values(self.backend, self.text, self.values)
    }
}

/// True when the database is reachable (for `/readyz`).
pub async fn ping(db: &DatabaseConnection) -> bool {
    // While the database is away the pool keeps trying to connect until its
    // acquire timeout; a health check answers sooner than that.
    matches!(tokio::time::timeout(Duration::from_secs(1), db.execute_unprepared("SELECT 1")).await, Ok(Ok(_)))
}

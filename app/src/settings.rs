//! Command line and typed settings, read once at start: flags > env > defaults.
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use secrecy::SecretString;

use crate::domain::Role;

#[derive(Parser, Debug)]
#[command(name = "urna", version, about = "urna: durable, exact, live voting for very large public votes")]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

// Parsed once at start; the size of the serve variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Run the server.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Create an admin (password from URNA_ADMIN_PASSWORD or standard input).
    CreateAdmin(CreateAdminArgs),
    /// Reset an admin who is locked out: a new password (from
    /// URNA_ADMIN_PASSWORD or standard input), two-step login off, every
    /// session ended, failed logins forgotten.
    ResetAdmin(ResetAdminArgs),
    /// Mint a voter token, as a host's login system would (for tests and demos).
    MintVoterToken(MintVoterTokenArgs),
    /// Check a poll's count through its public API: every chain of the
    /// ledger, the totals against the results, and receipts.
    Verify(VerifyArgs),
}

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    /// The urna server, e.g. https://vote.example.com.
    #[arg(long)]
    pub url: String,
    /// The poll's slug.
    #[arg(long)]
    pub poll: String,
    /// A receipt to check (a vote answer's `receipt`, or the whole answer);
    /// repeatable.
    #[arg(long = "receipt")]
    pub receipts: Vec<PathBuf>,
    /// A PEM file of certificate authorities to trust besides the public ones.
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct DbArgs {
    /// Database URL (postgres://… or sqlite://…); default: SQLite under --data-dir.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Where the embedded SQLite database lives.
    #[arg(long, env = "URNA_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
}

impl DbArgs {
    /// The database URL, creating the data directory for the SQLite default.
    pub fn url(&self) -> anyhow::Result<String> {
        match &self.database_url {
            Some(u) => Ok(u.clone()),
            None => {
                std::fs::create_dir_all(&self.data_dir)?;
                Ok(format!("sqlite://{}/urna.db?mode=rwc", self.data_dir.display()))
            }
        }
    }
}

#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, env = "URNA_BIND", default_value = "127.0.0.1:3000")]
    pub bind: String,
    /// Redis URL for cross-instance cache and fan-out; without it both are in process.
    #[arg(long, env = "REDIS_URL", hide_env_values = true)]
    pub redis_url: Option<String>,
    /// Prefix of urna's Redis keys and channels (several deployments may
    /// share one Redis).
    #[arg(long, env = "URNA_REDIS_PREFIX", default_value = "urna")]
    pub redis_prefix: String,
    /// How often each instance re-reads poll changes (and, without Redis,
    /// other instances' counts) from the database.
    #[arg(long, env = "URNA_SYNC_INTERVAL_MS", default_value_t = 1000)]
    pub sync_interval_ms: u64,
    /// Seed an open demo poll (`/p/demo`) if there is none.
    #[arg(long, env = "URNA_DEMO")]
    pub demo: bool,
    /// The built web UI (`pkg/urna.js`, `.wasm`, `.css`), from
    /// `scripts/build-site.sh`; it must come from the same build as this binary.
    #[arg(long, env = "URNA_SITE_ROOT", default_value = "site")]
    pub site_root: String,
    /// Sites allowed to frame urna's pages (CSP `frame-ancestors`), e.g.
    /// `https://www.example.com`; the default forbids framing, so no other
    /// site can trick a voter's click (clickjacking).
    #[arg(long, env = "URNA_FRAME_ANCESTORS", default_value = "'none'")]
    pub frame_ancestors: String,
    /// Run migrations at start (default: yes for SQLite, no for Postgres,
    /// where `urna migrate` runs once per deploy).
    #[arg(long, env = "URNA_AUTO_MIGRATE")]
    pub migrate: Option<bool>,
    /// This instance's counter shard; default FLY_MACHINE_ID, else the host name.
    #[arg(long, env = "URNA_INSTANCE_ID")]
    pub instance_id: Option<String>,
    /// Group commit: flush when this many votes are buffered.
    #[arg(long, env = "URNA_FLUSH_MAX_VOTES", default_value_t = 2048)]
    pub flush_max_votes: usize,
    /// Group commit: flush at most this many ms after the first buffered
    /// vote. 0: as soon as the actor has read the votes that arrived together
    /// (a commit in flight still gathers the next batch); a wait here holds
    /// every voter it gathers while the cores have nothing to do.
    #[arg(long, env = "URNA_FLUSH_INTERVAL_MS", default_value_t = 0)]
    pub flush_interval_ms: u64,
    /// Votes per poll that may wait in memory before new ones get 503.
    #[arg(long, env = "URNA_MAX_PENDING", default_value_t = 50_000)]
    pub max_pending: usize,
    /// HTTP worker threads; default: one per core.
    #[arg(long, env = "URNA_WORKERS")]
    pub workers: Option<usize>,
    /// Postgres pool size.
    #[arg(long, env = "URNA_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Key for voter hashes and cookie signatures; default: generated once
    /// and stored in the database, shared by all instances.
    #[arg(long, env = "URNA_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// Shared secret of the host's login system for voter tokens.
    #[arg(long, env = "URNA_VOTER_TOKEN_SECRET", hide_env_values = true)]
    pub voter_token_secret: Option<String>,
    /// Votes per minute from one IP (IPv6: one /64) across all instances; 0 = off.
    #[arg(long, env = "URNA_RATE_LIMIT_IP_PER_MIN", default_value_t = 1200)]
    pub rate_limit_ip_per_min: u32,
    /// Votes per minute by one voter (token or voter cookie); 0 = off.
    #[arg(long, env = "URNA_RATE_LIMIT_VOTER_PER_MIN", default_value_t = 120)]
    pub rate_limit_voter_per_min: u32,
    /// Header with the client's IP, set by a trusted proxy in front; default
    /// `Fly-Client-IP` on fly.io (FLY_APP_NAME set), else the peer address.
    #[arg(long, env = "URNA_CLIENT_IP_HEADER")]
    pub client_ip_header: Option<String>,
    /// Mark cookies Secure (serve behind TLS): the admin cookie is then
    /// `__Host-urna_session` and answers carry Strict-Transport-Security.
    #[arg(long, env = "URNA_SECURE_COOKIES")]
    pub secure_cookies: bool,
    /// An admin session ends after this many hours without a request.
    #[arg(long, env = "URNA_SESSION_IDLE_HOURS", default_value_t = 12)]
    pub session_idle_hours: u32,
    /// An admin session ends this many days after login, used or not.
    #[arg(long, env = "URNA_SESSION_MAX_DAYS", default_value_t = 7)]
    pub session_max_days: u32,
    /// Deliver webhooks to private, loopback and link-local addresses too
    /// (refused by default: a poll's webhook must not reach the inside of
    /// the network urna runs in).
    #[arg(long, env = "URNA_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// PEM file of extra certificate authorities trusted for https
    /// webhooks (a company's own CA), besides the public ones.
    #[arg(long, env = "URNA_WEBHOOK_CA_FILE")]
    pub webhook_ca_file: Option<PathBuf>,
}

#[derive(Args, Debug, Clone)]
pub struct CreateAdminArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Login name.
    pub username: String,
    #[arg(long, value_parser = Role::parse, default_value = "admin")]
    pub role: Role,
}

#[derive(Args, Debug, Clone)]
pub struct ResetAdminArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Login name.
    pub username: String,
}

#[derive(Args, Debug, Clone)]
pub struct MintVoterTokenArgs {
    /// The voter's id in the host's system.
    pub voter_id: String,
    /// Seconds until the token expires.
    #[arg(long, default_value_t = 3600)]
    pub ttl_secs: i64,
    #[arg(long, env = "URNA_VOTER_TOKEN_SECRET", hide_env_values = true)]
    pub secret: String,
}

/// Everything `Application::build` needs.
#[derive(Clone, Debug)]
pub struct Settings {
    pub bind: String,
    pub database_url: String,
    pub redis_url: Option<String>,
    pub redis_prefix: String,
    pub sync_interval: Duration,
    pub demo: bool,
    pub site_root: String,
    pub frame_ancestors: String,
    pub migrate: bool,
    pub instance_id: String,
    pub flush: FlushConfig,
    pub workers: usize,
    pub db_max_connections: u32,
    pub secret_key: Option<SecretString>,
    pub voter_token_secret: Option<SecretString>,
    pub secure_cookies: bool,
    pub sessions: SessionLimits,
    pub webhooks: WebhookSettings,
    pub rate_limits: RateLimits,
    pub client_ip_header: Option<String>,
}

fn default_instance_id() -> String {
    std::env::var("FLY_MACHINE_ID")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "local".into())
}

impl Settings {
    pub fn from_args(a: ServeArgs) -> anyhow::Result<Self> {
        let database_url = a.db.url()?;
        let sqlite = database_url.starts_with("sqlite:");
        anyhow::ensure!(a.flush_max_votes >= 1, "--flush-max-votes must be at least 1");
        anyhow::ensure!(
            !a.frame_ancestors.is_empty() && a.frame_ancestors.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b';'),
            "--frame-ancestors must be a CSP source list: printable ASCII, without ';'"
        );
        anyhow::ensure!(a.session_idle_hours >= 1, "--session-idle-hours must be at least 1");
        anyhow::ensure!(a.session_max_days >= 1, "--session-max-days must be at least 1");
        Ok(Self {
            bind: a.bind,
            migrate: a.migrate.unwrap_or(sqlite),
            database_url,
            redis_url: a.redis_url,
            redis_prefix: a.redis_prefix,
            sync_interval: Duration::from_millis(a.sync_interval_ms.max(100)),
            demo: a.demo,
            site_root: a.site_root,
            frame_ancestors: a.frame_ancestors,
            instance_id: a.instance_id.unwrap_or_else(default_instance_id),
            flush: FlushConfig {
                max_batch: a.flush_max_votes,
                interval: Duration::from_millis(a.flush_interval_ms),
                max_pending: a.max_pending.max(1),
            },
            workers: a.workers.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)),
            db_max_connections: a.db_max_connections,
            secret_key: a.secret_key.map(SecretString::from),
            voter_token_secret: a.voter_token_secret.map(SecretString::from),
            secure_cookies: a.secure_cookies,
            sessions: SessionLimits {
                idle: chrono::Duration::hours(a.session_idle_hours.into()),
                max: chrono::Duration::days(a.session_max_days.into()),
            },
            webhooks: WebhookSettings { allow_private: a.webhook_allow_private, ca_file: a.webhook_ca_file },
            rate_limits: RateLimits { per_ip: a.rate_limit_ip_per_min, per_voter: a.rate_limit_voter_per_min },
            client_ip_header: a
                .client_ip_header
                .or_else(|| std::env::var_os("FLY_APP_NAME").map(|_| "Fly-Client-IP".to_owned())),
        })
    }

    /// Defaults for tests and embedding: port 0, the given database.
    pub fn for_tests(database_url: &str) -> Self {
        Self {
            bind: "127.0.0.1:0".into(),
            database_url: database_url.into(),
            redis_url: None,
            redis_prefix: "urna".into(),
            sync_interval: Duration::from_secs(1),
            demo: false,
            site_root: "site".into(),
            frame_ancestors: "'none'".into(),
            migrate: true,
            instance_id: "test".into(),
            // A window of 2 ms, unlike `serve`'s 0: a test's concurrent votes
            // then share batches, and the paths within a batch (a key or a
            // voter twice in one batch) run often.
            flush: FlushConfig { max_batch: 2048, interval: Duration::from_millis(2), max_pending: 50_000 },
            workers: 2,
            db_max_connections: 8,
            secret_key: Some(SecretString::from("test-secret-key")),
            voter_token_secret: Some(SecretString::from("test-voter-secret")),
            secure_cookies: false,
            sessions: SessionLimits::default(),
            // Tests deliver to receivers on 127.0.0.1.
            webhooks: WebhookSettings { allow_private: true, ca_file: None },
            rate_limits: RateLimits { per_ip: 0, per_voter: 0 },
            client_ip_header: None,
        }
    }
}

/// Group-commit and backpressure settings.
#[derive(Clone, Debug)]
pub struct FlushConfig {
    /// Flush as soon as this many votes are buffered.
    pub max_batch: usize,
    /// Flush at most this long after the first buffered vote.
    pub interval: Duration,
    /// Votes buffered or in flight per poll before new ones get `503`.
    pub max_pending: usize,
}

/// Limits per minute; 0 turns one off.
#[derive(Clone, Copy, Debug)]
pub struct RateLimits {
    pub per_ip: u32,
    pub per_voter: u32,
}

/// How long an admin session lasts.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    /// Ends after this long without a request.
    pub idle: chrono::Duration,
    /// Ends this long after login.
    pub max: chrono::Duration,
}

impl Default for SessionLimits {
    fn default() -> Self {
        Self { idle: chrono::Duration::hours(12), max: chrono::Duration::days(7) }
    }
}

/// Where webhooks may go and whom they trust.
#[derive(Clone, Debug, Default)]
pub struct WebhookSettings {
    pub allow_private: bool,
    pub ca_file: Option<PathBuf>,
}

//! Building and running the application: the same code path for `urna serve`
//! and for the integration tests.
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use actix::Arbiter;
use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use anyhow::Context;
use migration::{Migrator, MigratorTrait};
use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use tokio::sync::{mpsc, watch};

use crate::db::{self, mutation};
use crate::domain::{AckMode, NewOption, NewPoll, PollSlug, Visibility, VoterIdentity};
use crate::http;
use crate::keys::random_token;
use crate::read::Bus;
use crate::read::Registry;
use crate::settings::Settings;
use crate::state::AppState;
use crate::vote::ActorDeps;
use crate::vote::{Faults, ServerKey};

/// Messages from other instances waiting for the registry; when full, the
/// subscriber waits (Redis buffers meanwhile).
const FANOUT_QUEUE: usize = 4096;
/// Spent challenges past their expiry, and client keys of polls closed
/// long ago, are swept this often (in sync ticks).
const GUARD_SWEEP_TICKS: u64 = 60;
/// Client idempotency keys are kept this long after their poll closes.
const KEEP_CLIENT_KEYS: chrono::Duration = chrono::Duration::hours(24);
/// Expired admin sessions are swept this often (in sync ticks).
const SESSION_SWEEP_TICKS: u64 = 600;
/// With Redis healthy, other instances' counts still get re-read from the
/// database this often (in sync ticks), as a safety net for lost messages.
const COUNTER_RESYNC_TICKS: u64 = 10;

pub struct Application {
    port: u16,
    server: Server,
    state: web::Data<AppState>,
    shutdown: watch::Sender<bool>,
    setup_path: Option<String>,
}

/// Connects and brings the schema up to date (or checks that it is).
pub async fn prepare_database(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    let db = db::connect(&settings.database_url, settings.db_max_connections).await?;
    if settings.migrate {
        Migrator::up(&db, None).await.context("running migrations")?;
    } else {
        let pending = Migrator::get_pending_migrations(&db).await.context("reading migration state")?;
        anyhow::ensure!(
            pending.is_empty(),
            "the database schema is behind ({} migrations pending): run `urna migrate` first",
            pending.len()
        );
    }
    Ok(db)
}

async fn seed_demo(db: &DatabaseConnection) -> anyhow::Result<()> {
    let slug = PollSlug::parse("demo").map_err(anyhow::Error::msg)?;
    if db::query::all_polls(db).await?.iter().any(|p| p.slug == "demo") {
        return Ok(());
    }
    let option = |label: &str| NewOption { label: label.into(), image_url: None };
    let new = NewPoll {
        slug,
        title: "Who should leave the house?".into(),
        description: "A demo poll: vote as often as you like.".into(),
        options: vec![option("Ana"), option("Bruno"), option("Carla")],
        tracks: crate::domain::default_tracks(),
        opens_at: None,
        closes_at: None,
        results_visibility: Visibility::Live,
        ack: AckMode::Durable,
        voter_identity: VoterIdentity::Cookie,
        pow: crate::domain::Pow::Off,
        webhook_url: None,
        webhook_secret: None,
        receipts: true,
        embed_origins: vec![],
        ballot: crate::domain::BallotRule::default(),
        // Its title and description are English.
        language: crate::domain::Language::En,
    };
    let id = mutation::create_poll(db, &new, "demo").await?;
    mutation::open_poll(db, id, "demo").await?;
    tracing::info!("seeded the demo poll at /p/demo");
    Ok(())
}

/// Periodic upkeep: schedules, changes from other instances, other shards'
/// counts, expired sessions. Errors are logged and retried next tick.
async fn maintain(
    registry: Arc<Registry>,
    mut refresh: mpsc::UnboundedReceiver<i64>,
    every: Duration,
    session_idle: chrono::Duration,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ticks: u64 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {
                ticks += 1;
                crate::ops::metrics().run_upkeep();
                registry.recount_stale_runoffs();
                apply_schedules(&registry).await;
                if let Err(e) = registry.sync().await {
                    tracing::warn!(error = %e, "syncing polls failed");
                }
                let fanout_ok = registry.bus().is_some_and(|b| b.healthy());
                if !fanout_ok || ticks.is_multiple_of(COUNTER_RESYNC_TICKS) {
                    registry.refresh_open_counters().await;
                }
                if ticks.is_multiple_of(SESSION_SWEEP_TICKS) {
                    sweep_accounts(registry.db(), session_idle).await;
                }
                if ticks.is_multiple_of(GUARD_SWEEP_TICKS)
                    && let Err(e) = mutation::sweep_vote_guards(registry.db(), chrono::Utc::now(), KEEP_CLIENT_KEYS).await
                {
                    tracing::warn!(error = %e, "sweeping spent challenges and client keys failed");
                }
            }
            Some(id) = refresh.recv() => {
                apply_schedules(&registry).await;
                if let Err(e) = registry.reload(id).await {
                    tracing::warn!(error = %e, poll = id, "reloading poll failed");
                }
            }
        }
    }
}

/// Forgets expired sessions and old failed-login windows.
async fn sweep_accounts(db: &DatabaseConnection, session_idle: chrono::Duration) {
    let now = chrono::Utc::now();
    if let Err(e) = db::accounts::delete_expired_sessions(db, now, session_idle).await {
        tracing::warn!(error = %e, "sweeping sessions failed");
    }
    if let Err(e) = db::accounts::delete_stale_login_failures(db, now - crate::admin::LOGIN_THROTTLE_WINDOW).await {
        tracing::warn!(error = %e, "sweeping failed logins failed");
    }
}

/// Writes down due schedule transitions and announces them.
async fn apply_schedules(registry: &Registry) {
    match mutation::apply_schedules(registry.db()).await {
        Ok(changed) => {
            for id in changed {
                if let Err(e) = registry.announce(id).await {
                    tracing::warn!(error = %e, poll = id, "announcing a schedule change failed");
                }
            }
        }
        Err(e) => tracing::warn!(error = %e, "applying schedules failed"),
    }
}

impl Application {
    /// Connects, migrates, loads every poll and binds the listener (port 0
    /// picks a free port; `port()` tells which). Must run inside an actix
    /// system.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = prepare_database(&settings).await?;
        let server_key = match &settings.secret_key {
            Some(k) => k.clone(),
            None => SecretString::from(mutation::ensure_secret(&db, "server_key", &random_token()).await?),
        };
        if settings.demo {
            seed_demo(&db).await?;
        }
        let faults = Arc::new(Faults::default());
        let (refresh_tx, refresh_rx) = mpsc::unbounded_channel();
        let epoch = chrono::Utc::now().timestamp_millis();
        let bus = match &settings.redis_url {
            Some(url) => Some(
                Bus::start(url, &settings.redis_prefix, &settings.instance_id, epoch).context("configuring Redis")?,
            ),
            None => None,
        };
        let deps = ActorDeps {
            db: db.clone(),
            shard: Arc::from(settings.instance_id.as_str()),
            epoch,
            flush: settings.flush.clone(),
            faults: faults.clone(),
            refresh: refresh_tx,
        };
        // One arbiter (thread) hosts every poll actor, shared by all workers.
        let arbiter = Arbiter::new();
        let registry = Registry::load(deps, bus.clone(), arbiter.handle()).await?;
        actix_web::rt::spawn(maintain(registry.clone(), refresh_rx, settings.sync_interval, settings.sessions.idle));
        if let Some(bus) = bus {
            let (tx, rx) = mpsc::channel(FANOUT_QUEUE);
            actix_web::rt::spawn(bus.subscribe_loop(tx));
            actix_web::rt::spawn(registry.clone().follow(rx));
        }

        let rate_limiter = crate::vote::RateLimiter::new(settings.rate_limits);
        if let Some(bus) = registry.bus() {
            actix_web::rt::spawn(rate_limiter.clone().sync_loop(bus.pool(), settings.redis_prefix.clone()));
        }
        let client_ip_header = match &settings.client_ip_header {
            Some(h) => Some(actix_web::http::header::HeaderName::try_from(h.as_str()).context("--client-ip-header")?),
            None => None,
        };
        let exporter = crate::export::Exporter::new(
            db.clone(),
            registry.clone(),
            format!("{}:{epoch}", settings.instance_id),
            settings.webhooks.clone(),
        );
        exporter.check_config().context("configuring webhooks")?;
        actix_web::rt::spawn(exporter.clone().run());
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let state = web::Data::new(AppState {
            db,
            registry,
            pow: crate::vote::PowGuard::new(&server_key),
            server_key: ServerKey::new(server_key),
            voter_token_secret: settings.voter_token_secret.clone(),
            secure_cookies: settings.secure_cookies,
            sessions: settings.sessions,
            draining: Arc::new(AtomicBool::new(false)),
            shutdown: shutdown_rx,
            faults,
            rate_limiter,
            exporter,
            client_ip_header,
            curves: Default::default(),
        });

        let listener = TcpListener::bind(&settings.bind).with_context(|| format!("binding {}", settings.bind))?;
        let port = listener.local_addr()?.port();
        let data = state.clone();
        crate::ops::metrics();
        let ui = crate::web::Ui::new(&settings.site_root, &settings.frame_ancestors, state.clone())?;
        let (frame_ancestors, tls) = (settings.frame_ancestors.clone(), settings.secure_cookies);
        let server = HttpServer::new(move || {
            let ui = ui.clone();
            App::new()
                .wrap(actix_web::middleware::from_fn(crate::web::page_cache))
                .wrap(http::security_headers(&frame_ancestors, tls))
                .wrap(actix_web::middleware::from_fn(http::frame_options))
                .wrap(actix_web::middleware::from_fn(crate::ops::observe))
                .app_data(data.clone())
                .configure(http::configure)
                .configure(move |cfg| ui.configure(cfg))
        })
        .workers(settings.workers)
        .backlog(4096)
        .disable_signals()
        .shutdown_timeout(10)
        .listen(listener)?
        .run();
        tracing::info!(port, instance = %settings.instance_id, database = %db::redact(&settings.database_url), "urna listening");
        let setup_path = crate::admin::setup_link(&state.db).await?;
        Ok(Self { port, server, state, shutdown: shutdown_tx, setup_path })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// While no admin exists: the path of a one-time setup link
    /// (`/admin/setup?token=…`, an hour), which `urna serve` prints.
    pub fn setup_path(&self) -> Option<&str> {
        self.setup_path.as_deref()
    }

    /// The shared state, for tests that need to reach behind the API.
    pub fn state(&self) -> web::Data<AppState> {
        self.state.clone()
    }

    /// Serves until SIGTERM or Ctrl-C, then shuts down gracefully: stop
    /// taking votes, end live streams, flush every actor so each waiting
    /// request gets its answer, and stop.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        let handle = self.server.handle();
        let state = self.state.clone();
        let shutdown = self.shutdown;
        actix_web::rt::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutting down: draining votes");
            state.draining.store(true, Ordering::SeqCst);
            let _ = shutdown.send(true);
            state.registry.drain().await;
            handle.stop(true).await;
        });
        self.server.await?;
        self.state.registry.drain().await;
        tracing::info!("stopped");
        Ok(())
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {},
                    _ = tokio::signal::ctrl_c() => {},
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

//! State shared by every HTTP worker, built once before the server starts.
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use sea_orm::DatabaseConnection;
use secrecy::SecretString;
use tokio::sync::watch;

use crate::read::Registry;
use crate::vote::Faults;
use crate::vote::ServerKey;

pub struct AppState {
    pub db: DatabaseConnection,
    pub registry: Arc<Registry>,
    pub server_key: ServerKey,
    /// Signs and checks proof-of-work challenges; `auto` difficulty.
    pub pow: crate::vote::PowGuard,
    pub voter_token_secret: Option<SecretString>,
    /// Set cookies with `Secure` (behind TLS in production).
    pub secure_cookies: bool,
    /// How long admin sessions last.
    pub sessions: crate::settings::SessionLimits,
    /// Set on SIGTERM: new votes get 503 and `/readyz` fails.
    pub draining: Arc<AtomicBool>,
    /// Flips to true on shutdown so live streams end.
    pub shutdown: watch::Receiver<bool>,
    pub faults: Arc<Faults>,
    pub rate_limiter: Arc<crate::vote::RateLimiter>,
    pub exporter: Arc<crate::export::Exporter>,
    /// Trusted header carrying the client's IP, if a proxy sets one.
    pub client_ip_header: Option<actix_web::http::header::HeaderName>,
    /// Recent vote curves, so dashboards opening at once share one query.
    pub curves: crate::read::CurveCache,
}

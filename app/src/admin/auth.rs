//! Admin authentication: argon2id passwords (bounded: a few hashes at once),
//! sessions stored in the database (so any instance serves any admin) that
//! expire when idle and at an absolute age, and CSRF protection.
//!
//! The session cookie is HttpOnly and SameSite=Strict; with Secure cookies
//! it is named `__Host-urna_session`, which a browser only accepts from this
//! exact host over TLS with `Path=/`. Every state-changing admin request
//! must also carry the session's CSRF token in `X-CSRF-Token`, which a
//! cross-site page cannot read.
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;
use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use chrono::Utc;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;

use crate::db::{accounts, mutation, tokens};
use crate::domain::Role;
use crate::http::ApiError;
use crate::state::AppState;

/// The session cookie over plain HTTP (a laptop, tests).
pub const SESSION_COOKIE: &str = "urna_session";
/// The session cookie when cookies are Secure.
pub const HOST_SESSION_COOKIE: &str = "__Host-urna_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// Argon2 hashes computed at once. Each takes 19 MiB and tens of
/// milliseconds of one core: without a bound, a burst of logins would take
/// the memory and cores the votes need.
const HASHES_AT_ONCE: usize = 2;
/// How long a login waits for a turn before it gets `503`.
const HASH_WAIT: Duration = Duration::from_secs(2);
static HASHING: Semaphore = Semaphore::const_new(HASHES_AT_ONCE);

pub fn cookie_name(secure: bool) -> &'static str {
    if secure { HOST_SESSION_COOKIE } else { SESSION_COOKIE }
}

/// argon2id with OWASP's first recommended configuration: m = 19 MiB,
/// t = 2 passes, p = 1 lane. Hashes made with other parameters still
/// verify (they carry their own).
fn argon2() -> Argon2<'static> {
    const M_KIB: u32 = 19 * 1024;
    let params = Params::new(M_KIB, 2, 1, None).unwrap_or_default();
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&crate::keys::random_bytes::<16>())
        .map_err(|e| anyhow::anyhow!("encoding salt: {e}"))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

/// Verifies a password; an unknown user is checked against a dummy hash so
/// that timing does not tell which usernames exist.
pub fn verify_password(stored: Option<&str>, password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| hash_password("not a real password").unwrap_or_default());
    let hash = stored.unwrap_or(dummy);
    let ok =
        PasswordHash::new(hash).map(|h| argon2().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false);
    ok && stored.is_some()
}

/// Runs argon2 work off the async workers, at most `HASHES_AT_ONCE` at a
/// time; `LoginBusy` when no turn comes within `HASH_WAIT`.
async fn gated<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T, ApiError> {
    gated_within(HASH_WAIT, work).await
}

async fn gated_within<T: Send + 'static>(
    wait: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    let _turn = tokio::time::timeout(wait, HASHING.acquire())
        .await
        .map_err(|_| {
            metrics::counter!("urna_login_busy_total").increment(1);
            ApiError::LoginBusy
        })?
        .map_err(|e| anyhow::anyhow!("password gate closed: {e}"))?;
    web::block(work).await.map_err(|e| ApiError::Internal(anyhow::anyhow!("password work panicked: {e}")))
}

/// [`verify_password`] through the gate.
pub async fn check_password(stored: Option<String>, password: String) -> Result<bool, ApiError> {
    gated(move || verify_password(stored.as_deref(), &password)).await
}

/// The one rule a new password must meet, wherever it is set (the
/// account page, `urna create-admin`, `urna reset-admin`).
pub fn check_new_password(password: &str) -> Result<(), ApiError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(ApiError::PasswordTooShort(MIN_PASSWORD_CHARS));
    }
    Ok(())
}

/// [`hash_password`] through the gate, refusing passwords that are too short.
pub async fn new_password_hash(password: String) -> Result<String, ApiError> {
    check_new_password(&password)?;
    Ok(gated(move || hash_password(&password)).await??)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The session cookie; it lives as long as the session can.
pub fn session_cookie(token: &str, secure: bool, max_age: chrono::Duration) -> Cookie<'static> {
    Cookie::build(cookie_name(secure), token.to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(actix_web::cookie::time::Duration::seconds(max_age.num_seconds()))
        .finish()
}

pub fn cleared_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie("", secure, chrono::Duration::zero());
    c.make_removal();
    c
}

/// A person logged in with a session cookie.
#[derive(Clone, Debug)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
    pub token_hash: String,
    pub totp_enabled: bool,
}

/// How a request proved who it is.
#[derive(Clone, Debug)]
pub enum Via {
    Session(Account),
    /// `Authorization: Bearer`, an admin API token with this id.
    Token(i64),
}

/// A logged-in admin or viewer, or an API token acting as one.
#[derive(Clone, Debug)]
pub struct AdminUser {
    /// Who the audit log names: the username, or `token:<name>`.
    pub actor: String,
    pub role: Role,
    pub via: Via,
}

/// The prefix of every API token, so that a leaked one is recognisable
/// (secret scanners, logs).
pub const API_TOKEN_PREFIX: &str = "urna_";

/// The token of an `Authorization: Bearer` header; `Err` for an
/// `Authorization` header that is not one.
fn bearer(req: &HttpRequest) -> Result<Option<&str>, ApiError> {
    let Some(value) = req.headers().get(actix_web::http::header::AUTHORIZATION) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ApiError::ApiTokenInvalid)?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Ok(Some(token.trim()))
        }
        _ => Err(ApiError::ApiTokenInvalid),
    }
}

/// Who is behind the request: an `Authorization: Bearer` token (checked
/// first; a bad one is refused, never passed over for a cookie), else the
/// session cookie. Each request a token authenticates is audit-logged with
/// the token's name, its method and path.
pub async fn current_admin(req: &HttpRequest, state: &AppState) -> Result<Option<AdminUser>, ApiError> {
    if let Some(token) = bearer(req)? {
        let found = tokens::live_token(&state.db, &token_hash(token), Utc::now()).await?;
        let token = found.ok_or(ApiError::ApiTokenInvalid)?;
        let role = Role::parse(&token.role).map_err(|e| anyhow::anyhow!("token {}: {e}", token.id))?;
        let actor = format!("token:{}", token.name);
        let detail = serde_json::json!({ "method": req.method().as_str(), "path": req.path() });
        mutation::append_audit(&state.db, &actor, "token.use", &format!("token:{}", token.id), detail).await?;
        return Ok(Some(AdminUser { actor, role, via: Via::Token(token.id) }));
    }
    let Some(cookie) = req.cookie(cookie_name(state.secure_cookies)) else {
        return Ok(None);
    };
    let hash = token_hash(cookie.value());
    let Some((session, admin)) = accounts::live_session(&state.db, &hash, Utc::now(), state.sessions.idle).await?
    else {
        return Ok(None);
    };
    let role = Role::parse(&admin.role).map_err(|e| anyhow::anyhow!("admin {}: {e}", admin.id))?;
    let account = Account {
        id: admin.id,
        username: admin.username,
        role,
        csrf_token: session.csrf_token,
        token_hash: hash,
        totp_enabled: admin.totp_secret.is_some(),
    };
    Ok(Some(AdminUser { actor: account.username.clone(), role, via: Via::Session(account) }))
}

fn state_of(req: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    req.app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("AppState missing")))
}

impl FromRequest for AdminUser {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = state_of(&req)?;
            current_admin(&req, &state).await?.ok_or_else(|| ApiError::NotLoggedIn)
        })
    }
}

/// Checks the CSRF header against the session's token.
pub fn check_csrf(req: &HttpRequest, account: &Account) -> Result<(), ApiError> {
    let sent = req.headers().get(CSRF_HEADER).map(|v| v.as_bytes()).unwrap_or_default();
    if crate::keys::same_secret(sent, account.csrf_token.as_bytes()) { Ok(()) } else { Err(ApiError::CsrfTokenInvalid) }
}

/// A logged-in user (admin or viewer) changing their own account: a
/// session (an API token has no account) and its CSRF token.
#[derive(Clone, Debug)]
pub struct AccountOwner(pub Account);

impl FromRequest for AccountOwner {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AdminUser::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let Via::Session(account) = user.await?.via else {
                return Err(ApiError::SessionRequired);
            };
            check_csrf(&req, &account)?;
            Ok(AccountOwner(account))
        })
    }
}

/// An admin allowed to change state: role `admin`, and with a session its
/// CSRF token (a bearer token is not sent by browsers on their own, so it
/// needs none).
#[derive(Clone, Debug)]
pub struct AdminWriter(pub AdminUser);

impl FromRequest for AdminWriter {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AdminUser::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let user = user.await?;
            if let Via::Session(account) = &user.via {
                check_csrf(&req, account)?;
            }
            if user.role != Role::Admin {
                return Err(ApiError::ReadOnlyRole);
            }
            Ok(AdminWriter(user))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_verifies_against_its_argon2id_hash_only() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{h}");
        assert!(verify_password(Some(&h), "correct horse"));
        assert!(!verify_password(Some(&h), "wrong"));
        assert!(!verify_password(None, "not a real password"));
    }

    #[actix_web::test]
    async fn at_most_two_hashes_run_at_once_and_a_login_that_waits_too_long_gets_503() {
        use std::sync::Arc;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, peak) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
        let work = |now: Arc<AtomicUsize>, peak: Arc<AtomicUsize>, ms| {
            move || {
                peak.fetch_max(now.fetch_add(1, Ordering::SeqCst) + 1, Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(ms));
                now.fetch_sub(1, Ordering::SeqCst);
            }
        };
        let all = (0..8).map(|_| gated_within(Duration::from_secs(5), work(now.clone(), peak.clone(), 30)));
        for r in futures_util::future::join_all(all).await {
            assert!(r.is_ok());
        }
        assert_eq!(peak.load(Ordering::SeqCst), HASHES_AT_ONCE);

        let long =
            (0..HASHES_AT_ONCE).map(|_| gated_within(Duration::from_secs(5), work(now.clone(), peak.clone(), 500)));
        let late = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            gated_within(Duration::from_millis(50), || ()).await
        };
        let (_, late) = tokio::join!(futures_util::future::join_all(long), late);
        assert!(matches!(late, Err(ApiError::LoginBusy)), "{late:?}");
    }

    #[test]
    fn the_session_cookie_takes_the_host_prefix_when_secure() {
        let c = session_cookie("t", true, chrono::Duration::days(7));
        assert_eq!(c.name(), "__Host-urna_session");
        assert_eq!((c.secure(), c.path(), c.domain()), (Some(true), Some("/"), None));
        assert_eq!(session_cookie("t", false, chrono::Duration::days(7)).name(), "urna_session");
    }
}

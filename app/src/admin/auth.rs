//! Admin authentication: argon2id passwords, sessions stored in the database
//! (so any instance serves any admin), and CSRF protection.
//!
//! The session cookie is HttpOnly and SameSite=Strict (Secure in production).
//! Every state-changing admin request must also carry the session's CSRF
//! token in `X-CSRF-Token`, which a cross-site page cannot read.
use std::future::Future;
use std::pin::Pin;
use std::sync::OnceLock;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use chrono::Utc;
use sha2::{Digest, Sha256};

use crate::db::query;
use crate::domain::Role;
use crate::http::ApiError;
use crate::state::AppState;

pub const SESSION_COOKIE: &str = "urna_session";
pub const CSRF_HEADER: &str = "x-csrf-token";
/// How long a login lasts.
pub const SESSION_TTL_HOURS: i64 = 12;

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::encode_b64(&crate::keys::random_bytes::<16>())
        .map_err(|e| anyhow::anyhow!("encoding salt: {e}"))?;
    Argon2::default()
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
    let ok = PasswordHash::new(hash)
        .map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
        .unwrap_or(false);
    ok && stored.is_some()
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

pub fn session_cookie(token: &str, secure: bool) -> Cookie<'static> {
    Cookie::build(SESSION_COOKIE, token.to_owned())
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(CookieDuration::hours(SESSION_TTL_HOURS))
        .finish()
}

pub fn cleared_session_cookie(secure: bool) -> Cookie<'static> {
    let mut c = session_cookie("", secure);
    c.make_removal();
    c
}

/// A logged-in admin or viewer.
#[derive(Clone, Debug)]
pub struct AdminUser {
    pub id: i64,
    pub username: String,
    pub role: Role,
    pub csrf_token: String,
    pub token_hash: String,
}

/// The admin behind the request's session cookie, if any.
pub async fn current_admin(req: &HttpRequest, state: &AppState) -> Result<Option<AdminUser>, ApiError> {
    let Some(cookie) = req.cookie(SESSION_COOKIE) else {
        return Ok(None);
    };
    let hash = token_hash(cookie.value());
    let Some((session, admin)) = query::session(&state.db, &hash, Utc::now()).await? else {
        return Ok(None);
    };
    let role = Role::parse(&admin.role).map_err(|e| anyhow::anyhow!("admin {}: {e}", admin.id))?;
    Ok(Some(AdminUser {
        id: admin.id,
        username: admin.username,
        role,
        csrf_token: session.csrf_token,
        token_hash: hash,
    }))
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

/// An admin allowed to change state: role `admin` and a matching CSRF token.
#[derive(Clone, Debug)]
pub struct AdminWriter(pub AdminUser);

/// Checks the CSRF header against the session's token.
pub fn check_csrf(req: &HttpRequest, user: &AdminUser) -> Result<(), ApiError> {
    let sent = req.headers().get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
    let expected = user.csrf_token.as_bytes();
    let same = sent.len() == expected.len() && sent.bytes().zip(expected).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
    if same { Ok(()) } else { Err(ApiError::CsrfTokenInvalid) }
}

impl FromRequest for AdminWriter {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let user = AdminUser::from_request(req, payload);
        let req = req.clone();
        Box::pin(async move {
            let user = user.await?;
            check_csrf(&req, &user)?;
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
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(Some(&h), "correct horse"));
        assert!(!verify_password(Some(&h), "wrong"));
        assert!(!verify_password(None, "not a real password"));
    }
}

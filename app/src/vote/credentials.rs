//! Voter identity for one-per-voter tracks, and the keyed hashes that are all
//! urna ever stores of a voter.
//!
//! - Voter tokens, minted by the host's login system:
//!   `v1.<voter_id>.<exp_unix>.<hex HMAC-SHA256(secret, "v1.<voter_id>.<exp_unix>")>`.
//! - Anonymous browser cookies (weakest): `<random hex>.<hex HMAC(server key)>`.
use hmac::{KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;

use crate::keys::random_bytes;

type HmacSha256 = hmac::Hmac<Sha256>;

/// Name of the anonymous voter cookie.
pub const VOTER_COOKIE: &str = "urna_voter";
/// Header carrying a voter token.
pub const VOTER_TOKEN_HEADER: &str = "x-voter-token";
const MAX_VOTER_ID_LEN: usize = 256;

/// Why a voter credential was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("voter token is malformed; expected v1.<voter_id>.<exp_unix>.<hex hmac>")]
    Malformed,
    #[error("voter token signature does not match")]
    BadSignature,
    #[error("voter token has expired")]
    Expired,
    #[error("this server accepts no voter tokens (URNA_VOTER_TOKEN_SECRET is not set)")]
    TokensDisabled,
}

fn hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    // HMAC takes keys of any length; `new_from_slice` cannot fail for it.
    let Ok(mut mac) = HmacSha256::new_from_slice(key) else { unreachable!("HMAC accepts keys of any length") };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

/// Mints a voter token, as a host's login system would.
pub fn mint_token(secret: &SecretString, voter_id: &str, exp_unix: i64) -> String {
    let body = format!("v1.{voter_id}.{exp_unix}");
    let sig = hmac(secret.expose_secret().as_bytes(), &[body.as_bytes()]);
    format!("{body}.{}", hex::encode(sig))
}

/// Checks a voter token and returns the voter id it vouches for.
pub fn verify_token(secret: Option<&SecretString>, token: &str, now_unix: i64) -> Result<String, CredentialError> {
    let secret = secret.ok_or(CredentialError::TokensDisabled)?;
    let rest = token.strip_prefix("v1.").ok_or(CredentialError::Malformed)?;
    // The voter id may itself contain dots: split from the right.
    let (body_rest, sig_hex) = rest.rsplit_once('.').ok_or(CredentialError::Malformed)?;
    let (voter_id, exp) = body_rest.rsplit_once('.').ok_or(CredentialError::Malformed)?;
    if voter_id.is_empty() || voter_id.len() > MAX_VOTER_ID_LEN {
        return Err(CredentialError::Malformed);
    }
    let exp: i64 = exp.parse().map_err(|_| CredentialError::Malformed)?;
    let sig = hex::decode(sig_hex).map_err(|_| CredentialError::Malformed)?;
    let mut mac =
        HmacSha256::new_from_slice(secret.expose_secret().as_bytes()).map_err(|_| CredentialError::Malformed)?;
    mac.update(b"v1.");
    mac.update(body_rest.as_bytes());
    mac.verify_slice(&sig).map_err(|_| CredentialError::BadSignature)?;
    if exp <= now_unix {
        return Err(CredentialError::Expired);
    }
    Ok(voter_id.to_owned())
}

/// The server's own key: signs anonymous cookies and keys every stored hash.
#[derive(Clone)]
pub struct ServerKey(SecretString);

impl ServerKey {
    pub fn new(key: SecretString) -> Self {
        Self(key)
    }

    fn bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }

    /// The keyed hash stored for a voter; `kind` keeps token and cookie
    /// identities apart.
    pub fn voter_hash(&self, kind: VoterKind, voter_id: &str) -> [u8; 32] {
        hmac(self.bytes(), &[b"voter:", kind.tag(), b":", voter_id.as_bytes()])
    }

    /// A new random id signed for `scope`: `id.signature`.
    fn signed(&self, scope: &[u8]) -> String {
        let id = hex::encode(random_bytes::<16>());
        format!("{id}.{}", hex::encode(hmac(self.bytes(), &[scope, id.as_bytes()])))
    }

    /// The id inside a value [`Self::signed`] made for `scope`, if its
    /// signature holds.
    fn verified(&self, scope: &[u8], value: &str) -> Option<String> {
        let (id, sig_hex) = value.split_once('.')?;
        if id.len() != 32 {
            return None;
        }
        let sig = hex::decode(sig_hex).ok()?;
        let mut mac = HmacSha256::new_from_slice(self.bytes()).ok()?;
        mac.update(scope);
        mac.update(id.as_bytes());
        mac.verify_slice(&sig).ok()?;
        Some(id.to_owned())
    }

    /// A new signed anonymous voter cookie value.
    pub fn new_cookie(&self) -> String {
        self.signed(b"cookie:")
    }

    /// The anonymous voter id inside a cookie, if its signature holds.
    pub fn verify_cookie(&self, value: &str) -> Option<String> {
        self.verified(b"cookie:", value)
    }

    /// Proof that its holder voted in poll `poll_id` (for results shown
    /// after voting): a value signed for this poll only.
    pub fn voted_mark(&self, poll_id: i64) -> String {
        self.signed(format!("voted:{poll_id}:").as_bytes())
    }

    pub fn verify_voted_mark(&self, poll_id: i64, value: &str) -> bool {
        self.verified(format!("voted:{poll_id}:").as_bytes(), value).is_some()
    }
}

/// A cookie of the voter's browser (the anonymous voter id, the mark of a
/// vote): the whole site, HttpOnly, SameSite=Lax, Secure behind TLS.
pub fn site_cookie(
    name: impl Into<std::borrow::Cow<'static, str>>,
    value: String,
    secure: bool,
    max_age: actix_web::cookie::time::Duration,
) -> actix_web::cookie::Cookie<'static> {
    use actix_web::cookie::{Cookie, SameSite};
    Cookie::build(name, value)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(max_age)
        .finish()
}

/// The cookie that holds [`ServerKey::voted_mark`] for a poll.
pub fn voted_cookie_name(poll_id: i64) -> String {
    format!("urna_voted_{poll_id}")
}

/// Where a voter identity came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoterKind {
    Token,
    Cookie,
    Invite,
}

impl VoterKind {
    fn tag(self) -> &'static [u8] {
        match self {
            VoterKind::Token => b"t",
            VoterKind::Cookie => b"c",
            VoterKind::Invite => b"i",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret() -> SecretString {
        SecretString::from("s3cret")
    }

    #[test]
    fn a_minted_token_verifies_and_yields_its_voter_id() {
        let t = mint_token(&secret(), "user.42@example", 2_000);
        assert_eq!(verify_token(Some(&secret()), &t, 1_000), Ok("user.42@example".into()));
    }

    #[test]
    fn tampered_expired_and_malformed_tokens_are_refused() {
        let t = mint_token(&secret(), "alice", 2_000);
        assert_eq!(verify_token(Some(&secret()), &t, 2_000), Err(CredentialError::Expired));
        let forged = t.replace("alice", "bob");
        assert_eq!(verify_token(Some(&secret()), &forged, 1), Err(CredentialError::BadSignature));
        assert_eq!(verify_token(Some(&secret()), "v1.x", 1), Err(CredentialError::Malformed));
        assert_eq!(verify_token(None, &t, 1), Err(CredentialError::TokensDisabled));
    }

    #[test]
    fn cookies_verify_only_with_the_key_that_signed_them() {
        let k = ServerKey::new(SecretString::from("k1"));
        let c = k.new_cookie();
        assert!(k.verify_cookie(&c).is_some());
        assert!(ServerKey::new(SecretString::from("k2")).verify_cookie(&c).is_none());
        assert_ne!(k.voter_hash(VoterKind::Token, "a"), k.voter_hash(VoterKind::Cookie, "a"));
    }

    #[test]
    fn a_voted_mark_holds_for_its_poll_only() {
        let k = ServerKey::new(SecretString::from("k1"));
        let mark = k.voted_mark(7);
        assert!(k.verify_voted_mark(7, &mark));
        assert!(!k.verify_voted_mark(8, &mark));
        assert!(k.verify_cookie(&mark).is_none(), "a mark is not a voter cookie");
        assert!(!k.verify_voted_mark(7, &k.new_cookie()), "nor a voter cookie a mark");
    }
}

//! Two-step login with time-based one-time codes (RFC 6238: HMAC-SHA1,
//! 6 digits, 30 s steps), as every authenticator app reads them from an
//! `otpauth://` URI or its QR code.
//!
//! A code is accepted for its own step and one step either side (clocks
//! drift), and only once: the step of the last accepted code is stored,
//! and a code of that step or an earlier one is refused.
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use totp_rs::{Algorithm, Secret, TOTP};

const DIGITS: usize = 6;
const STEP_SECS: u64 = 30;
/// Steps accepted either side of the current one.
const SKEW_STEPS: i64 = 1;
const ISSUER: &str = "urna";

/// A new random secret, base32 (160 bits, as RFC 4226 recommends).
pub fn new_secret() -> String {
    Secret::Raw(crate::keys::random_bytes::<20>().to_vec()).to_encoded().to_string()
}

fn totp(secret_b32: &str) -> Option<TOTP> {
    let bytes = Secret::Encoded(secret_b32.to_owned()).to_bytes().ok()?;
    TOTP::new(Algorithm::SHA1, DIGITS, 0, STEP_SECS, bytes).ok()
}

/// The time step whose code `code` is, among the current one and its
/// neighbours at `now_secs`, if any.
pub fn matching_step(secret_b32: &str, code: &str, now_secs: i64) -> Option<i64> {
    let totp = totp(secret_b32)?;
    let code = code.trim().replace(' ', "");
    let now_step = now_secs.div_euclid(STEP_SECS as i64);
    // Every candidate is computed and compared, so the time taken does not
    // tell which step matched.
    let mut found = None;
    for step in now_step - SKEW_STEPS..=now_step + SKEW_STEPS {
        let expected = totp.generate(step.unsigned_abs() * STEP_SECS);
        if crate::keys::same_secret(expected.as_bytes(), code.as_bytes()) {
            found = Some(step);
        }
    }
    found
}

/// The code of `now_secs` (tests and the reset command's check).
pub fn code_at(secret_b32: &str, now_secs: i64) -> Option<String> {
    Some(totp(secret_b32)?.generate(now_secs.unsigned_abs()))
}

/// What an authenticator app reads: `otpauth://totp/urna:NAME?secret=…`.
pub fn otpauth_uri(secret_b32: &str, username: &str) -> String {
    let label = utf8_percent_encode(&format!("{ISSUER}:{username}"), NON_ALPHANUMERIC).to_string();
    format!(
        "otpauth://totp/{label}?secret={secret_b32}&issuer={ISSUER}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_6238_test_vector() {
        // RFC 6238 appendix B, SHA-1, T = 59 s: 94287082 (8 digits); the
        // last 6 digits are the 6-digit code.
        let secret = Secret::Raw(b"12345678901234567890".to_vec()).to_encoded().to_string();
        assert_eq!(code_at(&secret, 59).as_deref(), Some("287082"));
        assert_eq!(code_at(&secret, 1_111_111_109).as_deref(), Some("081804"));
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let secret = new_secret();
        let now = 1_800_000_000;
        let code = code_at(&secret, now).unwrap();
        assert_eq!(matching_step(&secret, &code, now), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 30), Some(now / 30));
        assert_eq!(matching_step(&secret, &code, now + 90), None);
        assert_eq!(matching_step(&secret, "000000x", now), None);
    }

    #[test]
    fn the_uri_names_the_issuer_and_escapes_the_account() {
        let uri = otpauth_uri("ABC", "ana maria");
        assert_eq!(uri, "otpauth://totp/urna%3Aana%20maria?secret=ABC&issuer=urna&algorithm=SHA1&digits=6&period=30");
    }
}

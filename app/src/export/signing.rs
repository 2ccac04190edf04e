//! Standard Webhooks signatures: each delivery carries `webhook-id` (the
//! same for every retry of one batch), `webhook-timestamp` (Unix seconds
//! at sending) and `webhook-signature`: `v1,` + base64 of HMAC-SHA256 over
//! `id.timestamp.body`, keyed with the poll's secret. The secret is
//! `whsec_` + base64 of 24 random bytes, shown to the admin once.
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{KeyInit, Mac};

const PREFIX: &str = "whsec_";

/// A new signing secret.
pub fn new_signing_secret() -> String {
    format!("{PREFIX}{}", STANDARD.encode(crate::keys::random_bytes::<24>()))
}

/// The `webhook-signature` value of one delivery; `None` when the stored
/// secret is not a `whsec_` key.
pub fn signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> Option<String> {
    let key = STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()?;
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_the_specification_s_test_vector() {
        // From the Standard Webhooks reference libraries' tests.
        let sig = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig.as_deref(), Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn a_new_secret_is_24_random_bytes_and_signs() {
        let (a, b) = (new_signing_secret(), new_signing_secret());
        assert_ne!(a, b);
        assert_eq!(STANDARD.decode(a.strip_prefix(PREFIX).unwrap()).unwrap().len(), 24);
        assert!(signature(&a, "x", 1, b"{}").is_some());
        assert!(signature("not-a-key", "x", 1, b"{}").is_none());
    }
}

//! Randomness for secrets (session ids, CSRF tokens, nonces, salts) and
//! their constant-time comparison.
/// Random bytes from the OS. Failing to get randomness is not recoverable.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    fill_random(&mut buf);
    buf
}

/// Fills `buf` from the OS's random source.
pub fn fill_random(buf: &mut [u8]) {
    if let Err(e) = getrandom::fill(buf) {
        // Without an OS random source no secret can be made safely.
        tracing::error!(error = %e, "OS random source failed");
        std::process::abort();
    }
}

/// A random token rendered as hex (session ids, CSRF tokens, secrets).
pub fn random_token() -> String {
    hex::encode(random_bytes::<32>())
}

/// Compares two secrets in time that depends on their lengths only, never
/// on where they differ (CSRF tokens, one-time codes).
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.ct_eq(b).into()
}

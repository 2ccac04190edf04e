//! Security headers on every answer.
//!
//! Scripts run from urna's own origin only. The pages' start-up script is
//! a file (`/pkg/boot.js`); the only inline scripts are the data Leptos
//! hands from the server render to the browser, and they carry the nonce
//! Leptos makes for each page, which that page's policy names (see
//! `web`). `'wasm-unsafe-eval'` lets the bundle compile its WebAssembly,
//! and nothing else. Every other answer gets the policy without a nonce.
use actix_web::middleware::DefaultHeaders;

/// The Content-Security-Policy, with `frame_ancestors` (a CSP source list,
/// `'none'` by default) as who may frame a page, and the page's `nonce`.
pub fn content_security_policy(frame_ancestors: &str, nonce: Option<&str>) -> String {
    let scripts = match nonce {
        Some(n) => format!("script-src 'self' 'nonce-{n}' 'wasm-unsafe-eval'"),
        None => "script-src 'self' 'wasm-unsafe-eval'".to_owned(),
    };
    [
        "default-src 'self'",
        &scripts,
        // Leptos sets style attributes (the bars' widths).
        "style-src 'self' 'unsafe-inline'",
        // Option images may live anywhere an admin points to.
        "img-src * data:",
        "connect-src 'self'",
        "worker-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        &format!("frame-ancestors {frame_ancestors}"),
    ]
    .join("; ")
}

/// Powerful browser features no urna page uses.
const PERMISSIONS_POLICY: &str =
    "accelerometer=(), camera=(), geolocation=(), gyroscope=(), magnetometer=(), microphone=(), payment=(), usb=()";

/// The headers middleware: browsers must not guess content types, hand
/// urna's addresses (poll slugs, admin pages) to other sites, run scripts
/// from elsewhere, let a site that is not allowed frame a page, or share a
/// window with another origin's; behind TLS they must stay on TLS.
pub fn security_headers(frame_ancestors: &str, tls: bool) -> DefaultHeaders {
    let mut headers = DefaultHeaders::new()
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
        .add(("Content-Security-Policy", content_security_policy(frame_ancestors, None)))
        .add(("Permissions-Policy", PERMISSIONS_POLICY))
        .add(("Cross-Origin-Opener-Policy", "same-origin"));
    if frame_ancestors == "'none'" {
        headers = headers.add(("X-Frame-Options", "DENY"));
    }
    if tls {
        headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
    }
    headers
}

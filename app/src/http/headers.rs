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

/// Middleware around [`security_headers`]: `X-Frame-Options: DENY` for
/// older browsers on every answer whose policy lets no site frame it (a
/// poll that names sites allowed to embed it sets its own policy).
pub async fn frame_options(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody>,
) -> Result<actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody>, actix_web::Error> {
    use actix_web::http::header::{CONTENT_SECURITY_POLICY, HeaderValue, X_FRAME_OPTIONS};
    let mut res = next.call(req).await?;
    // `content_security_policy` puts `frame-ancestors` last: a look at the
    // end settles nearly every answer without reading the whole policy.
    let framed_by_none = res.headers().get(CONTENT_SECURITY_POLICY).is_some_and(|v| {
        v.as_bytes().ends_with(b"; frame-ancestors 'none'")
            || v.to_str().is_ok_and(|csp| csp.split(';').any(|d| d.trim() == "frame-ancestors 'none'"))
    });
    if framed_by_none {
        res.headers_mut().insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    Ok(res)
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
    if tls {
        headers = headers.add(("Strict-Transport-Security", "max-age=31536000"));
    }
    headers
}

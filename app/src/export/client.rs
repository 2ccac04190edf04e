//! The webhook HTTP client: https with the public certificate authorities
//! (and an operator's own, from `--webhook-ca-file`), and no way into the
//! network urna runs in. A target whose address is private, loopback,
//! link-local or otherwise not public is refused at delivery time, unless
//! `--webhook-allow-private`:
//! - a host name is resolved by [`PublicOnly`], which hands the connector
//!   only the public addresses it found, so the address checked is the
//!   address connected to (no second lookup to rebind);
//! - an address written in the URL is checked by [`refusal`] before sending.
use std::error::Error as StdError;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use actix_tls::connect::rustls_0_23::reexports::ClientConfig;
use actix_tls::connect::{Resolve, Resolver};
use anyhow::Context;
use futures_util::future::LocalBoxFuture;

use crate::settings::WebhookSettings;

/// Whether a host may receive webhooks without `--webhook-allow-private`.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, ..] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        // Carrier-grade NAT, 100.64.0.0/10.
        || (a == 100 && (64..128).contains(&b))
        // IETF protocol assignments, benchmarking, reserved.
        || (a == 192 && b == 0 && ip.octets()[2] == 0)
        || (a == 198 && (18..20).contains(&b))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let first = ip.segments()[0];
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        // Unique local fc00::/7, link-local fe80::/10, documentation 2001:db8::/32.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first == 0x2001 && ip.segments()[1] == 0x0db8)
        // NAT64 64:ff9b::/96 reaches IPv4 addresses: judge the embedded one.
        || (first == 0x0064 && ip.segments()[1] == 0xff9b && !is_public_v4(Ipv4Addr::from(ip.to_bits() as u32))))
}

/// Why a URL may not receive webhooks, if it may not: an address in the
/// URL that is not public. Host names are checked when they are resolved.
pub fn refusal(url: &str, settings: &WebhookSettings) -> Option<String> {
    if settings.allow_private {
        return None;
    }
    let uri: awc::http::Uri = url.parse().ok()?;
    let host = uri.host()?.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    (!is_public(ip)).then(|| format!("{ip} is not a public address (see --webhook-allow-private)"))
}

/// A resolver that keeps public addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn lookup<'a>(
        &'a self,
        host: &'a str,
        port: u16,
    ) -> LocalBoxFuture<'a, Result<Vec<SocketAddr>, Box<dyn StdError>>> {
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((host, port)).await?.collect();
            let public: Vec<SocketAddr> = found.iter().copied().filter(|a| is_public(a.ip())).collect();
            if public.is_empty() && !found.is_empty() {
                metrics::counter!("urna_webhook_deliveries_total", "result" => "refused").increment(1);
                return Err(
                    format!("{host} resolves to addresses that are not public (see --webhook-allow-private)").into()
                );
            }
            Ok(public)
        })
    }
}

/// TLS trust: the public roots, and the operator's CA file if any.
fn tls_config(settings: &WebhookSettings) -> anyhow::Result<Arc<ClientConfig>> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let mut roots = actix_tls::connect::rustls_0_23::webpki_roots_cert_store();
    if let Some(path) = &settings.ca_file {
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path).with_context(|| format!("reading {}", path.display()))? {
            roots.add(cert.with_context(|| format!("a certificate in {}", path.display()))?)?;
            added += 1;
        }
        anyhow::ensure!(added > 0, "{} holds no certificate", path.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The client deliveries go through.
pub fn build(settings: &WebhookSettings, timeout: Duration) -> anyhow::Result<awc::Client> {
    let tls = tls_config(settings)?;
    let connector = awc::Connector::new().rustls_0_23(tls).timeout(timeout);
    let client = awc::Client::builder().timeout(timeout);
    Ok(if settings.allow_private {
        client.connector(connector).finish()
    } else {
        let tcp = actix_tls::connect::Connector::new(Resolver::custom(PublicOnly)).service();
        client.connector(connector.connector(tcp)).finish()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "::ffff:127.0.0.1",
            "64:ff9b::7f00:1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.4.4", "64:ff9b::808:808"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }

    #[test]
    fn urls_with_private_addresses_are_refused_unless_allowed() {
        let strict = WebhookSettings { allow_private: false, ca_file: None };
        assert!(refusal("http://127.0.0.1:8080/hook", &strict).is_some());
        assert!(refusal("https://[::1]/hook", &strict).is_some());
        assert!(refusal("http://169.254.169.254/latest/meta-data", &strict).is_some());
        assert!(refusal("https://8.8.8.8/hook", &strict).is_none());
        assert!(refusal("https://hooks.example.com/x", &strict).is_none(), "names are checked when resolved");
        let open = WebhookSettings { allow_private: true, ca_file: None };
        assert!(refusal("http://127.0.0.1:8080/hook", &open).is_none());
    }
}

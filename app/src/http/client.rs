//! Who is asking: the client's address, behind a trusted proxy or not,
//! and the network it stands for.
/// The client's IP: from the trusted proxy header when one is configured,
/// else the peer address.
pub fn client_ip(
    req: &actix_web::HttpRequest,
    trusted_header: Option<&actix_web::http::header::HeaderName>,
) -> Option<std::net::IpAddr> {
    trusted_header
        .and_then(|h| req.headers().get(h))
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .or_else(|| req.peer_addr().map(|a| a.ip()))
}

/// The network a client address stands for: IPv6 addresses by their /64
/// (one subscriber's network), IPv4-mapped ones as IPv4.
pub fn client_network(ip: std::net::IpAddr) -> std::net::IpAddr {
    use std::net::{IpAddr, Ipv6Addr};
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

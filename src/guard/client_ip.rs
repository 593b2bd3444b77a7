//! The client address a request is attributed to. `X-Forwarded-For` is
//! believed only when the peer is a trusted proxy, and then only up to the
//! first address that is not itself a trusted proxy (walking from the right),
//! so a client cannot pick its own address by sending the header.

use std::net::IpAddr;

use actix_web::HttpRequest;
use ipnet::IpNet;

pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> Option<IpAddr> {
    let peer = req.peer_addr()?.ip();
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return Some(peer);
    }
    let mut client = peer;
    for header in req.headers().get_all("x-forwarded-for").rev() {
        let Ok(text) = header.to_str() else {
            return Some(client);
        };
        for hop in text.split(',').rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ip;
                    if !is_trusted(&ip) {
                        return Some(ip);
                    }
                }
                // A malformed hop ends the chain we can believe.
                Err(_) => return Some(client),
            }
        }
    }
    Some(client)
}

/// The subnet a quota is shared by: /24 for IPv4, /64 for IPv6, so a bot farm
/// rotating addresses inside one block still meets one limit.
pub fn subnet_of(ip: IpAddr) -> IpNet {
    let prefix = if ip.is_ipv4() { 24 } else { 64 };
    IpNet::new(ip, prefix)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| IpNet::from(ip))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().filter_map(|s| s.parse().ok()).collect()
    }

    #[test]
    fn header_from_an_untrusted_peer_is_ignored() {
        let req = TestRequest::default()
            .peer_addr(
                "203.0.113.9:5000"
                    .parse()
                    .unwrap_or_else(|_| unreachable!()),
            )
            .insert_header(("x-forwarded-for", "1.2.3.4"))
            .to_http_request();
        assert_eq!(
            client_ip(&req, &nets(&["10.0.0.0/8"])),
            "203.0.113.9".parse().ok()
        );
    }

    #[test]
    fn trusted_proxy_chain_is_walked_from_the_right() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap_or_else(|_| unreachable!()))
            .insert_header(("x-forwarded-for", "6.6.6.6, 198.51.100.7, 10.0.0.1"))
            .to_http_request();
        assert_eq!(
            client_ip(&req, &nets(&["10.0.0.0/8"])),
            "198.51.100.7".parse().ok()
        );
    }

    #[test]
    fn subnets_are_24_and_64() {
        assert_eq!(
            subnet_of("198.51.100.7".parse().unwrap_or_else(|_| unreachable!())).to_string(),
            "198.51.100.0/24"
        );
        assert_eq!(
            subnet_of(
                "2001:db8:1:2:3::1"
                    .parse()
                    .unwrap_or_else(|_| unreachable!())
            )
            .to_string(),
            "2001:db8:1:2::/64"
        );
    }
}

//! Reads the client address of an actix request: the peer and its
//! `X-Forwarded-For` values, handed to [`guard::client_ip::attribute`], which
//! decides what to believe.

use actix_web::HttpRequest;
use ipnet::IpNet;

use crate::guard::client_ip::{ClientAddr, attribute};

/// The client a request is attributed to; `None` without a peer address (a
/// unix socket or a test harness).
pub fn client_addr(req: &HttpRequest, trusted: &[IpNet]) -> Option<ClientAddr> {
    let peer = req.peer_addr()?.ip();
    let forwarded = req
        .headers()
        .get_all("x-forwarded-for")
        .rev()
        .map(|v| v.to_str().ok());
    Some(attribute(peer, forwarded, trusted))
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use std::net::IpAddr;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        // As the configuration reads them: a range or a single address.
        list.iter()
            .filter_map(|s| {
                s.parse()
                    .ok()
                    .or_else(|| s.parse::<IpAddr>().ok().map(IpNet::from))
            })
            .collect()
    }

    fn addr(s: &str) -> ClientAddr {
        ClientAddr::new(s.parse().unwrap_or_else(|_| unreachable!()))
    }

    fn request(peer: &str, forwarded: &str) -> HttpRequest {
        TestRequest::default()
            .peer_addr(peer.parse().unwrap_or_else(|_| unreachable!()))
            .insert_header(("x-forwarded-for", forwarded))
            .to_http_request()
    }

    #[test]
    fn header_from_an_untrusted_peer_is_ignored() {
        let req = request("203.0.113.9:5000", "1.2.3.4");
        assert_eq!(
            client_addr(&req, &nets(&["10.0.0.0/8"])),
            Some(addr("203.0.113.9"))
        );
    }

    #[test]
    fn trusted_proxy_chain_is_walked_from_the_right() {
        let req = request("10.0.0.2:5000", "6.6.6.6, 198.51.100.7, 10.0.0.1");
        assert_eq!(
            client_addr(&req, &nets(&["10.0.0.0/8"])),
            Some(addr("198.51.100.7"))
        );
    }

    #[test]
    fn mapped_peers_hops_and_ranges_are_canonical() {
        // A mapped peer matches an IPv4 range, and mapped hops become IPv4.
        let req = request("[::ffff:10.0.0.2]:5000", "::ffff:198.51.100.7");
        assert_eq!(
            client_addr(&req, &nets(&["10.0.0.0/8"])),
            Some(addr("198.51.100.7"))
        );
        assert!(client_addr(&req, &nets(&["10.0.0.0/8"])).is_some_and(|c| c.ip().is_ipv4()));
        // Ranges written mapped match IPv4 peers.
        for range in ["::ffff:10.0.0.0/104", "::ffff:10.0.0.2"] {
            let req = request("10.0.0.2:5000", "198.51.100.7");
            assert_eq!(
                client_addr(&req, &nets(&[range])),
                Some(addr("198.51.100.7")),
                "{range}"
            );
        }
        assert_eq!(addr("::ffff:1.2.3.4"), addr("1.2.3.4"));
    }

    #[test]
    fn quota_keys_are_the_address_or_the_64_and_networks_the_24_or_the_48() {
        assert_eq!(
            addr("198.51.100.7").quota_key().to_string(),
            "198.51.100.7/32"
        );
        assert_eq!(
            addr("::ffff:198.51.100.7").network_key().to_string(),
            "198.51.100.0/24"
        );
        let v6 = addr("2001:db8:1:2:3::1");
        assert_eq!(v6.quota_key().to_string(), "2001:db8:1:2::/64");
        assert_eq!(v6.network_key().to_string(), "2001:db8:1::/48");
    }
}

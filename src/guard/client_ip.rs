//! The client address a request is attributed to. `X-Forwarded-For` is
//! believed only when the peer is a trusted proxy, and then only up to the
//! first address that is not itself a trusted proxy (walking from the right),
//! so a client cannot pick its own address by sending the header.
//!
//! Every address is canonicalised before it is compared or keyed: a server
//! bound to `[::]` sees IPv4 clients as IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`); left as they are, every IPv4 client would share one
//! IPv6 /64 bucket and no IPv4 trusted proxy would ever match.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use actix_web::HttpRequest;
use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Prefix an IPv6 per-address quota counts: one home line or phone gets at
/// least a /64, so the addresses inside it are one client.
const V6_ADDRESS_PREFIX: u8 = 64;
/// Prefix an IPv6 per-subnet quota counts: a home line commonly gets a /56
/// (256 /64s), a site a /48; the /48 holds either.
const V6_NETWORK_PREFIX: u8 = 48;
/// Prefix an IPv4 per-subnet quota counts.
const V4_NETWORK_PREFIX: u8 = 24;

/// A client address in canonical form: an IPv4 client is always an IPv4
/// address, never its IPv4-mapped IPv6 form. The only constructor
/// canonicalises, so no quota key can split one client over two spellings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(IpAddr);

impl ClientAddr {
    pub fn new(ip: IpAddr) -> ClientAddr {
        ClientAddr(ip.to_canonical())
    }

    pub fn ip(self) -> IpAddr {
        self.0
    }

    /// What per-address quotas and the adaptive-captcha counter count: the
    /// IPv4 address, or the IPv6 /64 (rotating inside it gains nothing).
    pub fn quota_key(self) -> IpNet {
        match self.0 {
            IpAddr::V4(v4) => IpNet::V4(Ipv4Net::from(v4)),
            IpAddr::V6(v6) => IpNet::V6(v6_prefix(v6, V6_ADDRESS_PREFIX)),
        }
    }

    /// What per-subnet quotas count: the IPv4 /24 or the IPv6 /48, so a bot
    /// farm or a /56 home line rotating through its /64s meets one limit.
    pub fn network_key(self) -> IpNet {
        match self.0 {
            IpAddr::V4(v4) => IpNet::V4(v4_prefix(v4, V4_NETWORK_PREFIX)),
            IpAddr::V6(v6) => IpNet::V6(v6_prefix(v6, V6_NETWORK_PREFIX)),
        }
    }
}

impl std::fmt::Display for ClientAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

fn v4_prefix(ip: Ipv4Addr, prefix: u8) -> Ipv4Net {
    // The prefixes are constants within 0..=32, so `new` cannot fail.
    Ipv4Net::new(ip, prefix)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| Ipv4Net::from(ip))
}

fn v6_prefix(ip: Ipv6Addr, prefix: u8) -> Ipv6Net {
    // The prefixes are constants within 0..=128, so `new` cannot fail.
    Ipv6Net::new(ip, prefix)
        .map(|n| n.trunc())
        .unwrap_or_else(|_| Ipv6Net::from(ip))
}

/// Whether a trusted range holds a canonical address. A range written in
/// IPv4-mapped form (`::ffff:10.0.0.0/104`, or `::ffff:10.0.0.1`) holds the
/// IPv4 addresses it maps, as it would if the peer were still spelt mapped.
fn holds(net: &IpNet, ip: ClientAddr) -> bool {
    match (net, ip.ip()) {
        (IpNet::V6(net), IpAddr::V4(v4)) => net.contains(&v4.to_ipv6_mapped()),
        (net, ip) => net.contains(&ip),
    }
}

/// Whether `ip` is one of the trusted proxies.
pub fn is_trusted(trusted: &[IpNet], ip: ClientAddr) -> bool {
    trusted.iter().any(|net| holds(net, ip))
}

/// The client a request is attributed to; `None` without a peer address (a
/// unix socket or a test harness).
pub fn client_addr(req: &HttpRequest, trusted: &[IpNet]) -> Option<ClientAddr> {
    let peer = ClientAddr::new(req.peer_addr()?.ip());
    if !is_trusted(trusted, peer) {
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
                    client = ClientAddr::new(ip);
                    if !is_trusted(trusted, client) {
                        return Some(client);
                    }
                }
                // A malformed hop ends the chain we can believe.
                Err(_) => return Some(client),
            }
        }
    }
    Some(client)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

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

//! The client address a request is attributed to (the web layer reads the
//! peer and the header; this module decides). `X-Forwarded-For` is
//! believed only when the peer is a trusted proxy, and then only up to the
//! first address that is not itself a trusted proxy (walking from the right),
//! so a client cannot pick its own address by sending the header.
//!
//! Every address is canonicalised before it is compared or keyed: a server
//! bound to `[::]` sees IPv4 clients as IPv4-mapped IPv6 addresses
//! (`::ffff:a.b.c.d`); left as they are, every IPv4 client would share one
//! IPv6 /64 bucket and no IPv4 trusted proxy would ever match.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

/// The client a request from `peer` is attributed to, given its
/// `X-Forwarded-For` header values from the last to the first (`None` for a
/// value that is not text).
pub fn attribute<'a>(
    peer: IpAddr,
    forwarded_from_last: impl Iterator<Item = Option<&'a str>>,
    trusted: &[IpNet],
) -> ClientAddr {
    let peer = ClientAddr::new(peer);
    if !is_trusted(trusted, peer) {
        return peer;
    }
    let mut client = peer;
    for header in forwarded_from_last {
        let Some(text) = header else {
            return client;
        };
        for hop in text.split(',').rev() {
            match hop.trim().parse::<IpAddr>() {
                Ok(ip) => {
                    client = ClientAddr::new(ip);
                    if !is_trusted(trusted, client) {
                        return client;
                    }
                }
                // A malformed hop ends the chain we can believe.
                Err(_) => return client,
            }
        }
    }
    client
}

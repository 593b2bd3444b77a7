//! The keyed hashes a submission keeps for the integrity checks: of the
//! client's network and of the normalised comment. Both are keyed with the
//! period, like the respondent hash: equal within a period (which is all
//! the checks compare), unrelated across periods, and meaningless without
//! the server secret. The address and the normal form are never stored.

use crate::domain::comment;
use crate::domain::keys::{Keys, Purpose};
use crate::domain::period::Period;
use crate::guard::client_ip::ClientAddr;

/// The hash of the client's network (its IPv4 /24 or IPv6 /48); `None`
/// without a client address (a unix socket or a test harness).
pub fn network_hash(keys: &Keys, period: Period, client: Option<ClientAddr>) -> Option<String> {
    let network = client?.network_key().to_string();
    Some(keys.digest_in(Purpose::Network, &period.to_string(), &network))
}

/// The hash of the comment's normal form; `None` without a comment, or when
/// nothing is left of it once normalised.
pub fn comment_key(keys: &Keys, period: Period, text: Option<&str>) -> Option<String> {
    let normal = comment::normalise(text?)?;
    Some(keys.digest_in(Purpose::CommentKey, &period.to_string(), &normal))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> Keys {
        Keys::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    fn period(p: &str) -> Period {
        p.parse().unwrap_or_else(|_| unreachable!("a valid period"))
    }

    fn addr(s: &str) -> Option<ClientAddr> {
        s.parse().ok().map(ClientAddr::new)
    }

    #[test]
    fn one_network_one_hash_within_a_period_only() {
        let (k, p) = (keys(), period("2026-12"));
        let a = network_hash(&k, p, addr("198.51.100.7"));
        assert_eq!(a, network_hash(&k, p, addr("198.51.100.200")), "same /24");
        assert_eq!(
            a,
            network_hash(&k, p, addr("::ffff:198.51.100.9")),
            "mapped"
        );
        assert_ne!(a, network_hash(&k, p, addr("198.51.101.7")), "next /24");
        assert_ne!(a, network_hash(&k, period("2027-01"), addr("198.51.100.7")));
        let v6 = network_hash(&k, p, addr("2001:db8:1:2::1"));
        assert_eq!(
            v6,
            network_hash(&k, p, addr("2001:db8:1:ffff::9")),
            "same /48"
        );
        assert_ne!(v6, network_hash(&k, p, addr("2001:db8:2::1")));
        assert_eq!(network_hash(&k, p, None), None);
        // Never the address itself.
        assert!(a.is_some_and(|h| h.len() == 64 && !h.contains("198.51")));
    }

    #[test]
    fn comments_equal_once_normalised_share_a_key() {
        let (k, p) = (keys(), period("2026-12"));
        let key = comment_key(&k, p, Some("服务很好，非常满意！"));
        assert!(key.is_some());
        assert_eq!(key, comment_key(&k, p, Some(" 服务很好 非常满意👍")));
        assert_ne!(key, comment_key(&k, p, Some("服务很差")));
        assert_ne!(
            key,
            comment_key(&k, period("2027-01"), Some("服务很好，非常满意！"))
        );
        assert_eq!(comment_key(&k, p, Some("！！ ")), None);
        assert_eq!(comment_key(&k, p, None), None);
    }
}

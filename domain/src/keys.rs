//! Keyed hashes and signatures with the server secret. Raw identifiers
//! (device ids, ticket codes, client addresses) never leave this module
//! except as HMAC-SHA256 digests, so dedup works and people stay anonymous.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Whether a submitted secret (a CSRF token, a captcha answer) equals the
/// expected one, in time that does not depend on where they differ.
pub fn same_secret(given: &str, expected: &str) -> bool {
    use subtle::ConstantTimeEq;
    bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

/// What a digest is for; each purpose gets its own key space so a digest made
/// for one can never be replayed as another.
#[derive(Clone, Copy, Debug)]
pub enum Purpose {
    /// The respondent hash of a device: keyed with the period (see
    /// [`Keys::digest_in`]).
    DeviceRespondent,
    /// The respondent hash of a one-time ticket, keyed with the period.
    TicketRespondent,
    /// The stored hash of a one-time ticket (the `ticket` table).
    Ticket,
    Assessor,
    ClientAddress,
    Csrf,
    CookieSignature,
    FormClock,
    Token,
    /// The stored hash of a submission's client network (/24 or /48), keyed
    /// with the period: what the integrity checks group by.
    Network,
    /// The stored hash of a normalised comment, keyed with the period.
    CommentKey,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::DeviceRespondent => b"device-respondent",
            Purpose::TicketRespondent => b"ticket-respondent",
            Purpose::Ticket => b"ticket",
            Purpose::Assessor => b"assessor",
            Purpose::ClientAddress => b"client-address",
            Purpose::Csrf => b"csrf",
            Purpose::CookieSignature => b"cookie-signature",
            Purpose::FormClock => b"form-clock",
            Purpose::Token => b"token",
            Purpose::Network => b"network",
            Purpose::CommentKey => b"comment-key",
        }
    }
}

/// A MAC's tag in lower-case hex. `hex::encode` builds its string a
/// character at a time; every citizen request makes several digests, so
/// the table-driven `encode_to_slice` into a stack buffer is used instead.
fn to_hex(mac: HmacSha256) -> String {
    let tag = mac.finalize().into_bytes();
    let mut text = [0u8; 64];
    // The buffer is exactly twice the 32-byte tag and hex is ASCII, so
    // neither step can fail; the fallback only keeps this free of panics.
    match hex::encode_to_slice(tag, &mut text) {
        Ok(()) => String::from_utf8(text.to_vec()).unwrap_or_else(|_| hex::encode(tag)),
        Err(_) => hex::encode(tag),
    }
}

/// The server secret, with the operations that use it.
#[derive(Clone)]
pub struct Keys {
    /// HMAC already keyed with the secret: each MAC clones it instead of
    /// hashing the key's pads again (a view computes half a dozen MACs).
    keyed: HmacSha256,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys(<redacted>)")
    }
}

impl Keys {
    pub fn new(secret: Vec<u8>) -> Keys {
        // HMAC accepts keys of any length, so `new_from_slice` cannot fail.
        let keyed = <HmacSha256 as Mac>::new_from_slice(&secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        Keys { keyed }
    }

    fn mac(&self, purpose: Purpose, value: &[u8]) -> HmacSha256 {
        let mut mac = self.keyed.clone();
        mac.update(purpose.label());
        mac.update(b"\0");
        mac.update(value);
        mac
    }

    /// The MAC of `value` for `purpose` within `context`: the context is
    /// length-prefixed, so no (context, value) pair reads as another.
    fn mac_in(&self, purpose: Purpose, context: &str, value: &str) -> HmacSha256 {
        let mut mac = self.mac(purpose, &(context.len() as u64).to_be_bytes());
        mac.update(context.as_bytes());
        mac.update(value.as_bytes());
        mac
    }

    /// Hex HMAC of `value` for `purpose` (64 characters).
    pub fn digest(&self, purpose: Purpose, value: &str) -> String {
        to_hex(self.mac(purpose, value.as_bytes()))
    }

    /// Hex HMAC of `value` for `purpose` within `context` (for example a
    /// period): equal values give unrelated digests in different contexts.
    pub fn digest_in(&self, purpose: Purpose, context: &str, value: &str) -> String {
        to_hex(self.mac_in(purpose, context, value))
    }

    /// `value.signature`, to hand to a client and take back later.
    pub fn sign(&self, purpose: Purpose, value: &str) -> String {
        let tag = self.mac(purpose, value.as_bytes()).finalize().into_bytes();
        format!("{value}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The value of a token made by [`Keys::sign`], if its signature holds
    /// (compared in constant time).
    pub fn verify<'a>(&self, purpose: Purpose, signed: &'a str) -> Option<&'a str> {
        let (value, tag) = signed.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(purpose, value.as_bytes())
            .verify_slice(&tag)
            .ok()?;
        Some(value)
    }
}

impl Keys {
    /// `value.signature`, where the signature also covers `binding`, which
    /// the token does not carry: it verifies only with the same binding (for
    /// example the device the token was served to).
    pub fn sign_bound(&self, purpose: Purpose, binding: &str, value: &str) -> String {
        let tag = self.mac_in(purpose, binding, value).finalize().into_bytes();
        format!("{value}.{}", URL_SAFE_NO_PAD.encode(tag))
    }

    /// The value of a token made by [`Keys::sign_bound`] with this binding,
    /// if its signature holds (compared in constant time).
    pub fn verify_bound<'a>(
        &self,
        purpose: Purpose,
        binding: &str,
        signed: &'a str,
    ) -> Option<&'a str> {
        let (value, tag) = signed.rsplit_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac_in(purpose, binding, value)
            .verify_slice(&tag)
            .ok()?;
        Some(value)
    }
}

/// A random URL-safe token of `bytes` bytes of entropy.
pub fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_and_tampering_fails() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let signed = keys.sign(Purpose::CookieSignature, "abc");
        assert_eq!(keys.verify(Purpose::CookieSignature, &signed), Some("abc"));
        assert_eq!(keys.verify(Purpose::Csrf, &signed), None);
        assert_eq!(
            keys.verify(Purpose::CookieSignature, &signed.replace("abc", "abd")),
            None
        );
        assert_eq!(keys.verify(Purpose::CookieSignature, "abc"), None);
    }

    #[test]
    fn digests_are_the_lower_case_hex_of_the_mac() -> Result<(), hmac::digest::InvalidLength> {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let mut mac = <HmacSha256 as Mac>::new_from_slice(b"0123456789abcdef0123456789abcdef")?;
        mac.update(b"csrf\0device");
        let digest = keys.digest(Purpose::Csrf, "device");
        assert_eq!(digest, hex::encode(mac.finalize().into_bytes()));
        assert!(
            digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        let within = keys.mac_in(Purpose::Network, "2026-05", "10.0.0.0/24");
        assert_eq!(
            keys.digest_in(Purpose::Network, "2026-05", "10.0.0.0/24"),
            hex::encode(within.finalize().into_bytes())
        );
        Ok(())
    }

    #[test]
    fn digests_depend_on_purpose() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef".to_vec());
        assert_ne!(
            keys.digest(Purpose::Csrf, "x"),
            keys.digest(Purpose::Ticket, "x")
        );
        assert_eq!(keys.digest(Purpose::Csrf, "x").len(), 64);
    }

    #[test]
    fn contexts_separate_digests_and_bind_signatures() {
        let keys = Keys::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let p = Purpose::DeviceRespondent;
        assert_eq!(
            keys.digest_in(p, "2026-05", "d"),
            keys.digest_in(p, "2026-05", "d")
        );
        assert_ne!(
            keys.digest_in(p, "2026-05", "d"),
            keys.digest_in(p, "2026-06", "d")
        );
        // The context is length-prefixed: moving a character across is another input.
        assert_ne!(keys.digest_in(p, "ab", "c"), keys.digest_in(p, "a", "bc"));
        let signed = keys.sign_bound(Purpose::FormClock, "device-a", "water-01:1");
        assert_eq!(
            keys.verify_bound(Purpose::FormClock, "device-a", &signed),
            Some("water-01:1")
        );
        assert_eq!(
            keys.verify_bound(Purpose::FormClock, "device-b", &signed),
            None
        );
        assert_eq!(keys.verify(Purpose::FormClock, &signed), None);
    }
}

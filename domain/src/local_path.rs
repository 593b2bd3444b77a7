//! A path on this site to send the browser back to (`next` of the language
//! switch and of the office sign-in). It comes from the query string or a
//! form, so it is untrusted: it must never lead to another site (an open
//! redirect) nor break the `Location` header it is written into.
//!
//! Browsers are lenient: they drop tabs and newlines from URLs, read `\` as
//! `/`, and take `//host/…` as another site. So a path is accepted only when
//! it starts with exactly one `/`, carries no control character and no
//! backslash, neither as given nor once percent-decoded, and is not longer
//! than [`MAX_LEN`]. Anything else is refused: the caller falls back to a
//! fixed page.

use std::fmt;

/// Longest path accepted, in bytes (before encoding).
pub const MAX_LEN: usize = 2048;

/// How many levels of percent-encoding are looked through. A browser
/// decodes at most once; two more levels cover a proxy that decodes again.
const DECODE_LEVELS: usize = 3;

/// A local path, in visible ASCII (spaces and non-ASCII characters
/// percent-encoded), safe to send in a `Location` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPath(String);

impl LocalPath {
    /// The local path `text` names, or `None` when it is not one.
    pub fn parse(text: &str) -> Option<LocalPath> {
        if text.len() > MAX_LEN || !is_local(text.as_bytes()) {
            return None;
        }
        let mut level = text.as_bytes().to_vec();
        for _ in 0..DECODE_LEVELS {
            let decoded = percent_decode(&level);
            if decoded == level {
                break;
            }
            if !is_local(&decoded) {
                return None;
            }
            level = decoded;
        }
        Some(LocalPath(encode_unsafe(text)))
    }

    /// `text` when it is a local path, else `default` (a fixed local path).
    pub fn or(text: Option<&str>, default: &'static str) -> LocalPath {
        text.and_then(LocalPath::parse)
            .unwrap_or_else(|| LocalPath(default.to_owned()))
    }

    /// Whether the path is `prefix` or below it (`/office`, `/office/…`,
    /// `/office?…`, but not `/officex`).
    pub fn is_under(&self, prefix: &str) -> bool {
        self.0
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['/', '?', '#']))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LocalPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Starts with exactly one `/` (not `//` nor `/\`, which browsers read as
/// another host), and has no control character and no backslash.
fn is_local(bytes: &[u8]) -> bool {
    bytes.first() == Some(&b'/')
        && !matches!(bytes.get(1), Some(b'/' | b'\\'))
        && !bytes.iter().any(|&b| b < 0x20 || b == 0x7f || b == b'\\')
}

/// One level of `%XX` decoding; malformed escapes stay as they are.
fn percent_decode(bytes: &[u8]) -> Vec<u8> {
    let hex = |b: u8| char::from(b).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let (Some(hi), Some(lo)) = (
                bytes.get(i + 1).copied().and_then(hex),
                bytes.get(i + 2).copied().and_then(hex),
            )
        {
            // Two hex digits make at most 0xff.
            out.push(u8::try_from(hi * 16 + lo).unwrap_or(b'%'));
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Percent-encodes spaces and non-ASCII bytes, so the path is visible ASCII
/// (control characters and backslashes were refused before).
fn encode_unsafe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for &b in text.as_bytes() {
        if b.is_ascii_graphic() {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hostile_next_values_are_refused() {
        let long = format!("/{}", "a".repeat(MAX_LEN));
        for hostile in [
            "",
            "evil.example",
            "https://evil.example/",
            "javascript:alert(1)",
            " /x",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/x\\y",
            "/\t/evil.example/x",
            "/%09/evil.example/x",
            "/\n/evil.example",
            "/x\r\nSet-Cookie: a=b",
            "/x%0d%0aSet-Cookie:%20a=b",
            "/x%0D%0ASet-Cookie:%20a=b",
            "/x\u{0}",
            "/x%00",
            "/x\u{7f}",
            "/x%7f",
            "/%2F/evil.example",
            "/%2f%2fevil.example",
            "/%5Cevil.example",
            "/%5cevil.example",
            "/%252F/evil.example",
            "/%25252F/evil.example",
            "/%2509/evil.example",
            long.as_str(),
        ] {
            assert_eq!(LocalPath::parse(hostile), None, "{hostile:?}");
        }
    }

    #[test]
    fn local_paths_are_kept_as_given() {
        for local in [
            "/",
            "/s/water-01",
            "/s/water-01?t=abc#top",
            "/office/institutions/water-01?period=2026-01",
            "/?q=%E4%BE%9B%E7%83%AD&category=",
            "/results/2026-01",
            "/a%2Fb",
            "/100%",
            "/%zz",
        ] {
            assert_eq!(
                LocalPath::parse(local).map(|p| p.as_str().to_owned()),
                Some(local.to_owned())
            );
        }
    }

    #[test]
    fn spaces_and_non_ascii_characters_are_percent_encoded() {
        assert_eq!(LocalPath::parse("/s/水").unwrap().as_str(), "/s/%E6%B0%B4");
        assert_eq!(LocalPath::parse("/a b").unwrap().as_str(), "/a%20b");
    }

    #[test]
    fn a_refused_path_falls_back_to_the_default() {
        assert_eq!(LocalPath::or(Some("//evil.example"), "/").as_str(), "/");
        assert_eq!(LocalPath::or(None, "/office").as_str(), "/office");
        assert_eq!(LocalPath::or(Some("/s/x"), "/").as_str(), "/s/x");
    }

    #[test]
    fn is_under_matches_whole_segments() {
        let under = |p: &str| LocalPath::parse(p).unwrap().is_under("/office");
        assert!(under("/office") && under("/office/") && under("/office?x=1"));
        assert!(under("/office/dashboard") && under("/office#a"));
        assert!(!under("/officex") && !under("/offic") && !under("/s/office"));
    }

    proptest! {
        #[test]
        fn anything_accepted_is_one_visible_ascii_local_path(text in ".{0,64}") {
            if let Some(path) = LocalPath::parse(&text) {
                let s = path.as_str();
                prop_assert!(s.starts_with('/'));
                prop_assert!(!s.starts_with("//"));
                prop_assert!(s.bytes().all(|b| b.is_ascii_graphic() && b != b'\\'));
            }
        }

        #[test]
        fn another_host_never_passes_however_it_is_spelled(
            host in "[a-z]{1,10}",
            sep in "(%2[fF]|%5[cC]|%09|%0[aAdD]|%252[fF]|/|\\\\)",
        ) {
            let text = format!("/{sep}{host}.example/x");
            prop_assert_eq!(LocalPath::parse(&text), None, "{}", text);
        }
    }
}

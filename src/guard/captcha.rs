//! Captcha challenges. The answer lives only on the server, keyed by a random
//! challenge id; the image is drawn from it on request; an answer is taken
//! (single use) when checked, and expires after its TTL.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use rand::Rng;

/// Characters that read unambiguously in the captcha font (no 0/O, 1/l/I).
const ALPHABET: &[char] = &[
    'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'k', 'm', 'n', 'p', 'r', 's', 't', 'u', 'v', 'w', 'x',
    'y', '2', '3', '4', '5', '6', '7', '8', '9',
];
const LENGTH: usize = 5;

#[async_trait::async_trait]
pub trait CaptchaStore: Send + Sync {
    async fn put(&self, id: &str, answer: &str, ttl: Duration) -> anyhow::Result<()>;
    /// The answer, without consuming it (to draw the image).
    async fn peek(&self, id: &str) -> anyhow::Result<Option<String>>;
    /// The answer, consumed: a second take of the same id gets nothing.
    async fn take(&self, id: &str) -> anyhow::Result<Option<String>>;
}

/// A new challenge: (id, answer).
pub fn new_challenge() -> (String, String) {
    let mut rng = rand::thread_rng();
    let answer: String = (0..LENGTH)
        .map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())])
        .collect();
    (crate::domain::keys::random_token(16), answer)
}

/// Case-insensitive comparison, ignoring surrounding white space.
pub fn answer_matches(expected: &str, given: &str) -> bool {
    let given = given.trim().to_lowercase();
    given.len() == expected.len()
        && crate::domain::keys::same_secret(&given, &expected.to_lowercase())
}

/// Draws the answer as a PNG. CPU-bound and not `Send`: call it from
/// blocking code.
pub fn render_png(answer: &str) -> Option<Vec<u8>> {
    let mut captcha = captcha::Captcha::new();
    for c in answer.chars() {
        captcha.set_chars(&[c]).add_char();
    }
    captcha
        .apply_filter(captcha::filters::Noise::new(0.2))
        .apply_filter(captcha::filters::Wave::new(2.0, 12.0).horizontal())
        .view(200, 70)
        .apply_filter(captcha::filters::Dots::new(6));
    // The font silently skips characters it lacks; never show a partial answer.
    if captcha.chars_as_string() != answer {
        return None;
    }
    captcha.as_png()
}

/// In-process store; expired entries are swept as new ones arrive.
#[derive(Default)]
pub struct LocalCaptchaStore {
    entries: Mutex<HashMap<String, (String, Instant)>>,
}

#[async_trait::async_trait]
impl CaptchaStore for LocalCaptchaStore {
    async fn put(&self, id: &str, answer: &str, ttl: Duration) -> anyhow::Result<()> {
        let now = Instant::now();
        let mut entries = self.entries.lock();
        if entries.len() > 10_000 {
            entries.retain(|_, (_, expires)| *expires > now);
        }
        entries.insert(id.to_owned(), (answer.to_owned(), now + ttl));
        Ok(())
    }

    async fn peek(&self, id: &str) -> anyhow::Result<Option<String>> {
        let entries = self.entries.lock();
        Ok(entries
            .get(id)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(a, _)| a.clone()))
    }

    async fn take(&self, id: &str) -> anyhow::Result<Option<String>> {
        let mut entries = self.entries.lock();
        Ok(entries
            .remove(id)
            .filter(|(_, exp)| *exp > Instant::now())
            .map(|(a, _)| a))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_compare_case_insensitively() {
        assert!(answer_matches("ab3cd", " AB3cD "));
        assert!(!answer_matches("ab3cd", "ab3c"));
    }

    #[test]
    fn an_image_is_drawn_for_the_answer() {
        let png = render_png("ab3cd").unwrap_or_default();
        assert!(png.starts_with(b"\x89PNG"));
    }

    #[tokio::test]
    async fn answers_are_single_use_and_expire() -> anyhow::Result<()> {
        let store = LocalCaptchaStore::default();
        store.put("x", "abc", Duration::from_secs(60)).await?;
        assert_eq!(store.peek("x").await?, Some("abc".into()));
        assert_eq!(store.take("x").await?, Some("abc".into()));
        assert_eq!(store.take("x").await?, None);
        store.put("y", "abc", Duration::from_millis(1)).await?;
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(store.take("y").await?, None);
        Ok(())
    }
}

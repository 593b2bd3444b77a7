//! Password hashing with argon2id (the crate's default parameters). Hashing
//! and verifying are deliberately slow: call them off the async executor.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rand::RngCore;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;

/// A PHC string (`$argon2id$v=19$…`) for `password`.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| anyhow::anyhow!("Failed to encode a salt: {e}"))?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("Failed to hash a password: {e}"))?
        .to_string())
}

/// Whether `password` matches the PHC string `hash` (false for a malformed hash).
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

/// A hash of no one's password, verified against for unknown user names so
/// that a failed login takes as long whether or not the account exists.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash(&crate::keys::random_token(16)).unwrap_or_default())
}

/// Why a new password is refused, if it is.
pub fn weakness(password: &str) -> Option<String> {
    (password.chars().count() < MIN_LENGTH)
        .then(|| format!("a password has at least {MIN_LENGTH} characters"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse battery!", &a));
        assert!(!verify("x", "not a hash"));
    }

    #[test]
    fn short_passwords_are_weak() {
        assert!(weakness("short").is_some());
        assert!(weakness("long enough pass").is_none());
    }
}

//! Codes: the short names of institutions, categories, districts,
//! questionnaire items, dimensions and assessor organisations. One rule for
//! all of them, checked here only: 1 to 64 ASCII letters, digits, `-`, `_`
//! or `.`, starting with a letter or a digit (item and dimension codes
//! besides in lower case, see [`Code::parse_lowercase`]).
//!
//! Codes end up in URL paths (`/s/{institution}`,
//! `/office/questionnaires/{category}`), in file names of downloads and in
//! form field names, so the rule keeps out `/`, `?`, `#`, spaces, quotes,
//! and the path segments `.` and `..`.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Longest code accepted, in bytes (all ASCII, so also characters).
pub const MAX_CODE_LEN: usize = 64;

/// A well-formed code. The only way in is [`Code::parse`] (or `FromStr`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code(String);

/// Why a text is not a code; the caller says which code it was meant to be.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error(
    "'{text}' is not a valid code (1 to 64 {}ASCII letters, digits, '-', '_' or '.', starting with a letter or digit)",
    if *lowercase { "lowercase " } else { "" }
)]
pub struct CodeError {
    pub text: String,
    /// Whether the code was asked for in lower case ([`Code::parse_lowercase`]).
    pub lowercase: bool,
}

impl Code {
    /// Checks `text` as given: callers trim form input first.
    pub fn parse(text: &str) -> Result<Code, CodeError> {
        Code::check(text, false)
    }

    /// A code in lower case: the codes of questionnaire items and
    /// dimensions. Item codes are column names of the upload templates,
    /// whose headers are compared without regard to case (`Att1` and `att1`
    /// would be one column), and both name form fields and model.toml keys.
    pub fn parse_lowercase(text: &str) -> Result<Code, CodeError> {
        Code::check(text, true)
    }

    fn check(text: &str, lowercase: bool) -> Result<Code, CodeError> {
        let bytes = text.as_bytes();
        let well_formed = (1..=MAX_CODE_LEN).contains(&bytes.len())
            && bytes[0].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && !(lowercase && bytes.iter().any(u8::is_ascii_uppercase));
        if well_formed {
            Ok(Code(text.to_owned()))
        } else {
            Err(CodeError {
                text: text.to_owned(),
                lowercase,
            })
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl FromStr for Code {
    type Err = CodeError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Code::parse(s)
    }
}

impl Deref for Code {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Code {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Code> for String {
    fn from(code: Code) -> String {
        code.0
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Code::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_codes_in_use_are_valid() {
        // The seed's, the fixtures' and the analysis example's codes.
        for text in [
            "water",
            "water-01",
            "dongcheng",
            "att1",
            "environment",
            "W1",
            "demo-survey",
            "huace",
            "v1.2_b",
            &"a".repeat(MAX_CODE_LEN),
        ] {
            assert_eq!(
                Code::parse(text).map(|c| c.to_string()),
                Ok(text.to_owned())
            );
        }
    }

    #[test]
    fn texts_that_would_break_a_path_a_file_name_or_a_field_are_refused() {
        for text in [
            "",
            "water/01",
            "a b",
            " water",
            "water ",
            "a\tb",
            "a?b",
            "a#b",
            "a\"b",
            ".",
            "..",
            ".hidden",
            "-flag",
            "_x",
            "供水",
            "ｗａｔｅｒ",
            &"a".repeat(MAX_CODE_LEN + 1),
        ] {
            assert!(Code::parse(text).is_err(), "{text:?}");
            assert!(Code::parse_lowercase(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn lowercase_codes_refuse_capitals_only() {
        assert!(Code::parse_lowercase("att1").is_ok());
        assert!(Code::parse_lowercase("env-2.b_c").is_ok());
        assert!(Code::parse_lowercase("Attitude").is_err());
        assert!(Code::parse("Attitude").is_ok());
    }

    #[test]
    fn the_message_quotes_the_text_and_states_the_rule() {
        let message = Code::parse("water/01").unwrap_err().to_string();
        assert!(message.contains("'water/01'"), "{message}");
        assert!(message.contains("1 to 64 ASCII letters"), "{message}");
        let message = Code::parse_lowercase("Att1").unwrap_err().to_string();
        assert!(
            message.contains("1 to 64 lowercase ASCII letters"),
            "{message}"
        );
    }

    #[test]
    fn deserialising_checks_the_rule() {
        assert_eq!(
            serde_json::from_str::<Code>("\"water-01\"")
                .map(|c| c.into_string())
                .ok(),
            Some("water-01".to_owned())
        );
        assert!(serde_json::from_str::<Code>("\"a/b\"").is_err());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn any_text_parses_or_is_refused_without_panicking(text in "\\PC{0,80}") {
            if let Ok(code) = Code::parse(&text) {
                prop_assert!(!code.contains('/'));
                prop_assert_eq!(code.as_str(), text.as_str());
            }
        }

        #[test]
        fn every_text_of_the_alphabet_is_a_code(text in "[A-Za-z0-9][A-Za-z0-9._-]{0,63}") {
            prop_assert!(Code::parse(&text).is_ok());
        }
    }
}

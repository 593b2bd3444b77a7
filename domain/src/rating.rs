//! Ratings on the five-level scale (非常不满意 = 1 … 非常满意 = 5).

use std::fmt;

/// Points on the scale citizens and assessors use.
pub const SCALE_POINTS: u8 = 5;

/// A rating in `1..=SCALE_POINTS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Rating(u8);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("'{0}' is not a rating from 1 to 5")]
pub struct RatingError(pub String);

impl Rating {
    pub fn new(value: i64) -> Result<Rating, RatingError> {
        if (1..=i64::from(SCALE_POINTS)).contains(&value) {
            Ok(Rating(value as u8))
        } else {
            Err(RatingError(value.to_string()))
        }
    }

    /// Parses the text of a form field or spreadsheet cell: an integer
    /// without sign, decimal point or padding.
    pub fn parse(text: &str) -> Result<Rating, RatingError> {
        if text.len() != 1 {
            return Err(RatingError(text.to_owned()));
        }
        match text.as_bytes()[0] {
            b @ b'1'..=b'5' => Ok(Rating(b - b'0')),
            _ => Err(RatingError(text.to_owned())),
        }
    }

    pub fn value(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Rating {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What a respondent said about one item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Choice {
    Rated(Rating),
    /// Explicitly "not applicable", or skipped when the item is optional.
    NotApplicable,
}

impl Choice {
    pub fn rating(self) -> Option<Rating> {
        match self {
            Choice::Rated(r) => Some(r),
            Choice::NotApplicable => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_one_to_five_are_ratings() {
        for ok in ["1", "2", "3", "4", "5"] {
            assert!(Rating::parse(ok).is_ok());
        }
        for bad in ["0", "6", "", "3.0", " 3", "-1", "五", "33", "+3"] {
            assert!(Rating::parse(bad).is_err(), "{bad}");
        }
        assert!(Rating::new(0).is_err() && Rating::new(6).is_err() && Rating::new(5).is_ok());
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn parse_accepts_exactly_the_digits_one_to_five(text in "\\PC{0,4}") {
            let expected = matches!(text.as_str(), "1" | "2" | "3" | "4" | "5");
            prop_assert_eq!(Rating::parse(&text).is_ok(), expected);
        }

        #[test]
        fn new_accepts_exactly_one_to_five(v in any::<i64>()) {
            prop_assert_eq!(Rating::new(v).is_ok(), (1..=5).contains(&v));
        }
    }
}

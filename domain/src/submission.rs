//! A citizen's form, parsed once into a [`Submission`] or a list of messages
//! keyed by the field they belong to.

use std::collections::{BTreeMap, HashSet};

use super::rating::{Choice, Rating};

/// One item of the questionnaire the form was built from.
#[derive(Clone, Debug)]
pub struct ItemSpec {
    pub code: String,
    pub dimension_code: String,
    pub required: bool,
}

/// A valid submission's content: one choice per item shown, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submission {
    pub answers: Vec<(String, Choice)>,
    pub comment: Option<String>,
}

/// Why a field was refused; the message keys are looked up in the locale.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldProblem {
    Required,
    InvalidRating,
    NothingRated,
    CommentTooLong,
    UnknownField,
}

/// Field name → problem. `_form` holds problems of the form as a whole.
pub type FieldErrors = BTreeMap<String, FieldProblem>;

/// Form-field name of an item.
pub fn item_field(code: &str) -> String {
    format!("q_{code}")
}

/// Value of the "not applicable" choice.
pub const NOT_APPLICABLE: &str = "na";

/// Fields the survey form carries besides the items.
pub const CONTROL_FIELDS: &[&str] = &["csrf", "clock", "comment", "captcha_id", "captcha", "t"];

impl Submission {
    /// Parses the decoded form pairs against the questionnaire.
    pub fn parse(
        items: &[ItemSpec],
        pairs: &[(String, String)],
        comment_max_chars: usize,
    ) -> Result<Submission, FieldErrors> {
        let mut errors = FieldErrors::new();
        let fields: HashSet<String> = items.iter().map(|i| item_field(&i.code)).collect();
        for (name, _) in pairs {
            if !fields.contains(name) && !CONTROL_FIELDS.contains(&name.as_str()) {
                errors.insert("_form".into(), FieldProblem::UnknownField);
            }
        }
        let value_of = |name: &str| -> Option<&str> {
            // A repeated field is ambiguous: refuse rather than guess.
            let mut values = pairs
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v.as_str());
            let first = values.next()?;
            if values.next().is_some() {
                Some("\u{0}ambiguous")
            } else {
                Some(first)
            }
        };

        let mut answers = Vec::with_capacity(items.len());
        for item in items {
            let field = item_field(&item.code);
            let choice = match value_of(&field) {
                None | Some("") if item.required => {
                    errors.insert(field, FieldProblem::Required);
                    continue;
                }
                None | Some("") | Some(NOT_APPLICABLE) => Choice::NotApplicable,
                Some(text) => match Rating::parse(text) {
                    Ok(r) => Choice::Rated(r),
                    Err(_) => {
                        errors.insert(field, FieldProblem::InvalidRating);
                        continue;
                    }
                },
            };
            answers.push((item.code.clone(), choice));
        }
        if errors.is_empty() && answers.iter().all(|(_, c)| c.rating().is_none()) {
            errors.insert("_form".into(), FieldProblem::NothingRated);
        }

        let comment = value_of("comment").map(str::trim).filter(|c| !c.is_empty());
        if let Some(c) = comment
            && c.chars().count() > comment_max_chars
        {
            errors.insert("comment".into(), FieldProblem::CommentTooLong);
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Submission {
            answers,
            comment: comment.map(strip_controls),
        })
    }
}

/// Drops control characters other than line breaks, which only make trouble
/// in exports and spreadsheets.
fn strip_controls(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() || *c == '\n')
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn items() -> Vec<ItemSpec> {
        ["a", "b", "c"]
            .iter()
            .map(|c| ItemSpec {
                code: (*c).into(),
                dimension_code: "attitude".into(),
                required: *c != "c",
            })
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(a, b)| ((*a).into(), (*b).into()))
            .collect()
    }

    #[test]
    fn a_complete_form_parses_with_optional_items_as_not_applicable() -> Result<(), String> {
        let s = Submission::parse(
            &items(),
            &pairs(&[("q_a", "5"), ("q_b", "na"), ("comment", "  好 ")]),
            10,
        );
        let s = s.map_err(|e| format!("{e:?}"));
        assert_eq!(
            s,
            Ok(Submission {
                answers: vec![
                    (
                        "a".into(),
                        Choice::Rated(Rating::new(5).map_err(|e| e.to_string())?)
                    ),
                    ("b".into(), Choice::NotApplicable),
                    ("c".into(), Choice::NotApplicable)
                ],
                comment: Some("好".into())
            })
        );
        Ok(())
    }

    #[test]
    fn each_problem_is_reported_at_its_field() {
        let e = Submission::parse(
            &items(),
            &pairs(&[("q_a", "7"), ("comment", "x".repeat(11).as_str())]),
            10,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(e.get("q_a"), Some(&FieldProblem::InvalidRating));
        assert_eq!(e.get("q_b"), Some(&FieldProblem::Required));
        assert_eq!(e.get("comment"), Some(&FieldProblem::CommentTooLong));
    }

    #[test]
    fn all_not_applicable_is_refused() {
        let e = Submission::parse(&items(), &pairs(&[("q_a", "na"), ("q_b", "na")]), 10)
            .err()
            .unwrap_or_default();
        assert_eq!(e.get("_form"), Some(&FieldProblem::NothingRated));
    }

    #[test]
    fn repeated_and_unknown_fields_are_refused() {
        let e = Submission::parse(
            &items(),
            &pairs(&[("q_a", "5"), ("q_a", "1"), ("q_b", "2")]),
            10,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(e.get("q_a"), Some(&FieldProblem::InvalidRating));
        let e = Submission::parse(
            &items(),
            &pairs(&[("q_a", "5"), ("q_b", "2"), ("q_z", "2")]),
            10,
        )
        .err()
        .unwrap_or_default();
        assert_eq!(e.get("_form"), Some(&FieldProblem::UnknownField));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn items() -> Vec<ItemSpec> {
        ["a", "b", "c"]
            .iter()
            .map(|c| ItemSpec {
                code: (*c).into(),
                dimension_code: "d".into(),
                required: *c == "a",
            })
            .collect()
    }

    proptest! {
        /// Any decoded form either parses into one choice per item, with at
        /// least one rating, or is refused with at least one message.
        #[test]
        fn any_form_parses_completely_or_is_refused(
            pairs in proptest::collection::vec(("(q_[abcz]|comment|csrf|x)", "\\PC{0,8}"), 0..8)
        ) {
            match Submission::parse(&items(), &pairs, 5) {
                Ok(s) => {
                    prop_assert_eq!(s.answers.len(), 3);
                    prop_assert!(s.answers.iter().any(|(_, c)| c.rating().is_some()));
                    prop_assert!(s.comment.is_none_or(|c| c.chars().count() <= 5));
                }
                Err(errors) => prop_assert!(!errors.is_empty()),
            }
        }

        /// The raw form body, as bytes from the network, never panics the decoder and parser.
        #[test]
        fn any_body_is_handled(body in proptest::collection::vec(any::<u8>(), 0..200)) {
            if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
                let _ = Submission::parse(&items(), &pairs, 500);
            }
        }
    }
}

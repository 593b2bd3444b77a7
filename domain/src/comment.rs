//! The normal form of a comment that the rating-integrity checks compare:
//! the same praise pasted fifty times, give or take spacing, punctuation,
//! emoji, letter case or full-width forms, is one text.
//!
//! `integrity.md` fixes the steps: Unicode NFKC, then lower case, then every
//! whitespace, punctuation and symbol character removed (general categories
//! Z*, P* and S*, and the whitespace controls such as tab and newline).
//! What is left is keyed by the server (`comment_key`); the normal form
//! itself is never stored.

use unicode_normalization::UnicodeNormalization;
use unicode_properties::{GeneralCategoryGroup, UnicodeGeneralCategory};

/// The normal form of `comment`, or `None` when nothing is left of it (no
/// comment, or only spaces, punctuation and symbols).
pub fn normalise(comment: &str) -> Option<String> {
    // Lower-casing the whole string (not char by char) keeps Greek final
    // sigma right; it runs on the NFKC form, as the spec orders the steps.
    let lowered = comment.nfkc().collect::<String>().to_lowercase();
    let kept: String = lowered.chars().filter(|c| !is_dropped(*c)).collect();
    (!kept.is_empty()).then_some(kept)
}

/// Whitespace (including controls like tab and newline, which are Cc, not
/// Z*), punctuation and symbols.
fn is_dropped(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c.general_category_group(),
            GeneralCategoryGroup::Separator
                | GeneralCategoryGroup::Punctuation
                | GeneralCategoryGroup::Symbol
        )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn n(s: &str) -> Option<String> {
        normalise(s)
    }

    #[test]
    fn spacing_punctuation_case_and_width_do_not_matter() {
        let key = n("服务很好，非常满意！");
        assert_eq!(key.as_deref(), Some("服务很好非常满意"));
        for variant in [
            "服务很好, 非常满意!",
            " 服务很好。非常满意～～ ",
            "服务很好\n非常满意👍👍",
            "服务很好\t非常满意……",
            "【服务很好】——非常满意",
            "服务很好\u{3000}非常满意", // ideographic space (Zs)
        ] {
            assert_eq!(n(variant), key, "{variant:?}");
        }
        // Full-width Latin letters and digits are their ASCII forms (NFKC),
        // then lower case.
        assert_eq!(n("ＧＯＯＤ Service ２４/7"), Some("goodservice247".into()));
        assert_eq!(n("Very GOOD."), n("very good"));
    }

    #[test]
    fn nfkc_composes_and_folds_compatibility_forms() {
        // A decomposed é is the composed one; the ﬁ ligature is "fi";
        // a circled digit is the digit.
        assert_eq!(n("Cafe\u{301}"), Some("café".into()));
        assert_eq!(n("ﬁne"), Some("fine".into()));
        assert_eq!(n("①号窗口"), Some("1号窗口".into()));
        // Lower case after NFKC: the Kelvin sign is K, then k.
        assert_eq!(n("\u{212A}"), Some("k".into()));
    }

    #[test]
    fn letters_digits_and_marks_stay() {
        // Different words stay different; digits and combining marks (Mn)
        // are neither punctuation nor symbols.
        assert_ne!(n("很好"), n("很差"));
        assert_eq!(n("窗口3号"), Some("窗口3号".into()));
        assert_eq!(n("a\u{20E3}"), Some("a\u{20E3}".into())); // Me stays
    }

    #[test]
    fn nothing_left_is_none() {
        for empty in ["", "   ", "！！！", "👍👍👍", "\n\t ", "+-*/=<>$¥%", "……——"]
        {
            assert_eq!(n(empty), None, "{empty:?}");
        }
    }

    proptest! {
        /// Spaces, punctuation and symbols inserted anywhere into text of
        /// letters and digits never change its normal form.
        #[test]
        fn inserted_noise_is_ignored(
            words in proptest::collection::vec("[a-zA-Z0-9服务态度很好窗口]{1,6}", 1..6),
            noise in proptest::collection::vec("[ ,.!?，。！？、；：“”（）\t\n👍★~+=$]{0,3}", 6),
        ) {
            let plain: String = words.concat();
            let mut noisy = String::new();
            for (i, w) in words.iter().enumerate() {
                noisy.push_str(&noise[i % noise.len()]);
                noisy.push_str(w);
            }
            noisy.push_str(&noise[noise.len() - 1]);
            prop_assert_eq!(normalise(&noisy), normalise(&plain));
            prop_assert_eq!(normalise(&plain), Some(plain.to_lowercase()));
        }
    }
}

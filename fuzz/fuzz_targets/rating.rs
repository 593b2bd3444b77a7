#![no_main]
//! Ratings are exactly the texts "1" to "5".

use libfuzzer_sys::fuzz_target;
use pingyi_domain::rating::Rating;

fuzz_target!(|text: &str| {
    let ok = Rating::parse(text).is_ok();
    assert_eq!(ok, matches!(text, "1" | "2" | "3" | "4" | "5"));
});

#![no_main]
//! Any text either parses into a period that prints back as the same text,
//! or is refused.

use libfuzzer_sys::fuzz_target;
use pingyi_domain::period::Period;

fuzz_target!(|text: &str| {
    if let Ok(period) = text.parse::<Period>() {
        assert_eq!(period.to_string(), text);
        let _ = period.previous();
    }
});

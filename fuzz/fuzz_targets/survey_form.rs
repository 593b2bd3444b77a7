#![no_main]
//! A citizen's form body, as bytes from the network: decoding and parsing
//! never panic, and a parsed submission has one choice per item.

use libfuzzer_sys::fuzz_target;
use pingyi_domain::submission::{ItemSpec, Submission};

fuzz_target!(|body: &[u8]| {
    let items: Vec<ItemSpec> = ["att1", "eff1", "out1"]
        .iter()
        .map(|c| ItemSpec {
            code: (*c).into(),
            dimension_code: "d".into(),
            required: *c != "out1",
        })
        .collect();
    if let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        && let Ok(submission) = Submission::parse(&items, &pairs, 500)
    {
        assert_eq!(submission.answers.len(), items.len());
    }
});

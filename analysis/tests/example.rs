//! The worked example of the spec, reproduced exactly.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;

#[test]
fn worked_example_matches_expected_output() {
    let dir = example_dir();
    let out = tempfile::tempdir().unwrap();
    run_and_write(
        inputs_in(&dir, "csv").unwrap(),
        &example_model(),
        out.path(),
    )
    .unwrap();
    for table in TABLES {
        assert_tables_match(
            &out.path().join(format!("{table}.csv")),
            &dir.join("expected").join(format!("{table}.csv")),
        );
    }
}

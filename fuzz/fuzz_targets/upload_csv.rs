#![no_main]
//! An uploaded csv file of any content: the reader and the row validator
//! never panic; they accept rows or report errors.

use std::ops::ControlFlow;

use libfuzzer_sys::fuzz_target;
use pingyi::uploads::Format;
use pingyi::uploads::read::for_each_record;

fuzz_target!(|data: &[u8]| {
    let dir = std::env::temp_dir().join(format!("pingyi-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join("upload.csv");
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let mut rows = 0usize;
    let _ = for_each_record(&path, Format::Csv, None, |record| {
        rows += 1;
        let _ = record.cells.len() + record.unknown.len();
        ControlFlow::Continue(())
    });
});

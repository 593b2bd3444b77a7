#![no_main]
//! An uploaded csv file of any content: the reader accepts rows or reports an
//! error; it never panics.

mod common;

use libfuzzer_sys::fuzz_target;
use pingyi_domain::upload::Format;

fuzz_target!(|data: &[u8]| common::read_upload(data, Format::Csv));

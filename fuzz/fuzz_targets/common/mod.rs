//! What the upload targets share: an uploaded file of any content goes
//! through the reader, which must accept rows or report an error, never
//! panic or hang.

use std::ops::ControlFlow;

use pingyi_domain::upload::Format;
use pingyi_domain::upload::read::for_each_record;

pub fn read_upload(data: &[u8], format: Format) {
    let dir = std::env::temp_dir().join(format!("pingyi-fuzz-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = dir.join(format!("upload.{}", format.as_str()));
    if std::fs::write(&path, data).is_err() {
        return;
    }
    let mut cells = 0usize;
    let _ = for_each_record(&path, format, None, |record| {
        cells += record.cells.len() + record.unknown.len();
        ControlFlow::Continue(())
    });
}

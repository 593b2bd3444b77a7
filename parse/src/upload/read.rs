//! Reading an upload as a sequence of records (the header first), in a
//! streaming way: CSV and JSON are read record by record from the file, so
//! memory does not grow with the file. XLSX goes through calamine's cell
//! reader, which streams the sheet's XML but holds the shared-string table.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::ops::ControlFlow;
use std::path::Path;

use calamine::{DataRef, Reader, Xlsx};
use encoding_rs::{DecoderResult, GB18030};

use super::Format;

/// A problem with the file as a whole; it is reported with no row.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// An encoding other than UTF-8 or GBK/GB18030, named when it can be.
    #[error("{0}")]
    Encoding(String),
    /// Not a readable file of its format.
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

impl FileError {
    pub fn code(&self) -> &'static str {
        match self {
            FileError::Encoding(_) => "unsupported_encoding",
            FileError::Malformed(_) => "malformed_file",
            FileError::Io(_) => "unreadable_file",
        }
    }
}

/// One record: the header (first) or a data row.
pub struct Record<'a> {
    /// Spreadsheet-style row number: the header is row 1.
    pub row: u32,
    pub cells: &'a [String],
    /// Keys of a JSON object that the first object did not have.
    pub unknown: &'a [String],
}

/// The text encodings a CSV is read in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    Utf8,
    Gb18030,
}

/// Calls `each` for every non-blank record; stops early on `Break`.
pub fn for_each_record(
    path: &Path,
    format: Format,
    charset: Option<&str>,
    mut each: impl FnMut(Record<'_>) -> ControlFlow<()>,
) -> Result<(), FileError> {
    match format {
        Format::Csv => read_csv(path, charset, &mut each),
        Format::Xlsx => read_xlsx(path, &mut each),
        Format::Json => read_json(path, &mut each),
    }
}

fn blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

// ---------------------------------------------------------------- CSV

/// Decides how a CSV is encoded: a declared charset must be one we read; a
/// UTF-8 BOM or valid UTF-8 means UTF-8; otherwise it must decode as GB18030
/// (a superset of GBK and GB2312, what Chinese spreadsheet programs write).
pub fn detect_encoding(path: &Path, declared: Option<&str>) -> Result<TextEncoding, FileError> {
    if let Some(name) = declared {
        let name = name.trim().trim_matches('"').to_ascii_lowercase();
        if !matches!(
            name.as_str(),
            "utf-8" | "utf8" | "us-ascii" | "ascii" | "gbk" | "gb2312" | "gb18030" | "cp936"
        ) {
            return Err(FileError::Encoding(format!(
                "The file is sent as {name}; CSV files must be UTF-8 or GBK/GB18030"
            )));
        }
    }
    let mut file = BufReader::with_capacity(64 * 1024, File::open(path)?);
    let head = file.fill_buf()?;
    if let Some(name) = bom_name(head) {
        if name == "UTF-8" {
            return Ok(TextEncoding::Utf8);
        }
        return Err(FileError::Encoding(format!(
            "The file is encoded in {name}; save it as CSV in UTF-8 or GBK/GB18030"
        )));
    }
    let sample = &head[..head.len().min(4096)];
    if sample.len() >= 8 && sample.iter().filter(|b| **b == 0).count() * 5 > sample.len() {
        return Err(FileError::Encoding(
            "The file looks like UTF-16 (many zero bytes); save it as CSV in UTF-8 or GBK/GB18030"
                .into(),
        ));
    }
    if is_utf8(&mut file)? {
        return Ok(TextEncoding::Utf8);
    }
    let mut reader = Gb18030Reader::new(File::open(path)?);
    let mut sink = vec![0u8; 64 * 1024];
    loop {
        match reader.read(&mut sink) {
            Ok(0) => return Ok(TextEncoding::Gb18030),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::InvalidData => {
                return Err(FileError::Encoding(format!(
                    "The file is neither UTF-8 nor GBK/GB18030 ({e}); save it as CSV in UTF-8 or GBK"
                )));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn bom_name(head: &[u8]) -> Option<&'static str> {
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        Some("UTF-8")
    } else if head.starts_with(&[0x00, 0x00, 0xFE, 0xFF]) {
        Some("UTF-32BE")
    } else if head.starts_with(&[0xFF, 0xFE, 0x00, 0x00]) {
        Some("UTF-32LE")
    } else if head.starts_with(&[0xFE, 0xFF]) {
        Some("UTF-16BE")
    } else if head.starts_with(&[0xFF, 0xFE]) {
        Some("UTF-16LE")
    } else {
        None
    }
}

/// Validates UTF-8 chunk by chunk, carrying a character split across chunks.
fn is_utf8(reader: &mut impl BufRead) -> io::Result<bool> {
    let mut carry: Vec<u8> = Vec::with_capacity(4);
    loop {
        let chunk = reader.fill_buf()?;
        if chunk.is_empty() {
            return Ok(carry.is_empty());
        }
        let len = chunk.len();
        let mut joined;
        let data: &[u8] = if carry.is_empty() {
            chunk
        } else {
            joined = std::mem::take(&mut carry);
            joined.extend_from_slice(chunk);
            &joined
        };
        match std::str::from_utf8(data) {
            Ok(_) => {}
            // Cut mid-character at the end of the chunk: finish it next time.
            Err(e) if e.error_len().is_none() => carry = data[e.valid_up_to()..].to_vec(),
            Err(_) => return Ok(false),
        }
        reader.consume(len);
    }
}

/// Decodes GB18030 to UTF-8 as a `Read`, refusing malformed input. Decoded
/// text goes through a buffer of its own, so callers may read any amount.
struct Gb18030Reader<R> {
    inner: R,
    decoder: encoding_rs::Decoder,
    input: Vec<u8>,
    start: usize,
    end: usize,
    output: Vec<u8>,
    out_start: usize,
    out_end: usize,
    eof: bool,
    done: bool,
    offset: u64,
}

impl<R: Read> Gb18030Reader<R> {
    fn new(inner: R) -> Self {
        Gb18030Reader {
            inner,
            decoder: GB18030.new_decoder_without_bom_handling(),
            input: vec![0; 64 * 1024],
            start: 0,
            end: 0,
            // Room for any character: GB18030 never grows more than 2× in UTF-8.
            output: vec![0; 128 * 1024],
            out_start: 0,
            out_end: 0,
            eof: false,
            done: false,
            offset: 0,
        }
    }

    /// Decodes more input into the output buffer; false at the end.
    fn fill(&mut self) -> io::Result<bool> {
        loop {
            if self.done {
                return Ok(false);
            }
            if self.start == self.end && !self.eof {
                self.start = 0;
                self.end = self.inner.read(&mut self.input)?;
                self.eof = self.end == 0;
            }
            let (result, read, written) = self.decoder.decode_to_utf8_without_replacement(
                &self.input[self.start..self.end],
                &mut self.output,
                self.eof,
            );
            self.start += read;
            self.offset += read as u64;
            match result {
                DecoderResult::Malformed(bad, _) => {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "invalid byte sequence near byte {}",
                            self.offset.saturating_sub(u64::from(bad))
                        ),
                    ));
                }
                DecoderResult::InputEmpty if self.eof => self.done = true,
                _ => {}
            }
            if written > 0 {
                self.out_start = 0;
                self.out_end = written;
                return Ok(true);
            }
        }
    }
}

impl<R: Read> Read for Gb18030Reader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.out_start == self.out_end && !self.fill()? {
            return Ok(0);
        }
        let n = out.len().min(self.out_end - self.out_start);
        out[..n].copy_from_slice(&self.output[self.out_start..self.out_start + n]);
        self.out_start += n;
        Ok(n)
    }
}

fn read_csv(
    path: &Path,
    charset: Option<&str>,
    each: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> Result<(), FileError> {
    let encoding = detect_encoding(path, charset)?;
    let mut file = BufReader::with_capacity(64 * 1024, File::open(path)?);
    let reader: Box<dyn Read> = match encoding {
        TextEncoding::Utf8 => {
            if file.fill_buf()?.starts_with(&[0xEF, 0xBB, 0xBF]) {
                file.consume(3);
            }
            Box::new(file)
        }
        TextEncoding::Gb18030 => Box::new(Gb18030Reader::new(file)),
    };
    let mut csv = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 * 1024)
        .from_reader(reader);
    let mut record = csv::StringRecord::new();
    let mut cells: Vec<String> = Vec::new();
    let mut row: u32 = 0;
    loop {
        match csv.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(e) => {
                return Err(match e.into_kind() {
                    csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::InvalidData => {
                        FileError::Encoding(format!("The file is not valid GBK/GB18030 ({io})"))
                    }
                    csv::ErrorKind::Io(io) => FileError::Io(io),
                    other => FileError::Malformed(format!("The CSV cannot be read: {other:?}")),
                });
            }
        }
        // Reuse the cells' allocations from row to row.
        cells.truncate(record.len());
        for (i, field) in record.iter().enumerate() {
            match cells.get_mut(i) {
                Some(cell) => {
                    cell.clear();
                    cell.push_str(field);
                }
                None => cells.push(field.to_owned()),
            }
        }
        // Spreadsheet-style numbering: one row per record (a quoted field
        // spanning lines is still one row), as a spreadsheet shows the file.
        row = row.saturating_add(1);
        if blank(&cells) {
            continue;
        }
        if each(Record {
            row,
            cells: &cells,
            unknown: &[],
        })
        .is_break()
        {
            return Ok(());
        }
    }
}

// ---------------------------------------------------------------- XLSX

/// A cell's text as the spreadsheet shows it: whole numbers without a
/// decimal point, dates as `YYYY-MM-DD HH:MM:SS`.
fn cell_text(value: &DataRef<'_>, out: &mut String) {
    use std::fmt::Write;
    out.clear();
    match value {
        DataRef::Empty => {}
        DataRef::String(s) | DataRef::DateTimeIso(s) | DataRef::DurationIso(s) => out.push_str(s),
        DataRef::SharedString(s) => out.push_str(s),
        DataRef::Int(i) => {
            let _ = write!(out, "{i}");
        }
        DataRef::Float(f) => {
            if f.fract() == 0.0 && f.abs() < 1e15 {
                let _ = write!(out, "{}", *f as i64);
            } else {
                let _ = write!(out, "{f}");
            }
        }
        DataRef::Bool(b) => out.push_str(if *b { "TRUE" } else { "FALSE" }),
        DataRef::DateTime(d) => {
            let (y, mo, da, h, mi, s, _) = d.to_ymd_hms_milli();
            let _ = write!(out, "{y:04}-{mo:02}-{da:02} {h:02}:{mi:02}:{s:02}");
        }
        DataRef::Error(e) => {
            let _ = write!(out, "#{e:?}");
        }
    }
}

fn read_xlsx(
    path: &Path,
    each: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> Result<(), FileError> {
    let bad =
        |e: calamine::XlsxError| FileError::Malformed(format!("The XLSX cannot be read: {e}"));
    let mut workbook: Xlsx<_> = Xlsx::new(BufReader::new(File::open(path)?)).map_err(bad)?;
    let sheet = workbook
        .sheet_names()
        .into_iter()
        .next()
        .ok_or_else(|| FileError::Malformed("The XLSX has no worksheet".into()))?;
    let mut reader = workbook.worksheet_cells_reader(&sheet).map_err(bad)?;
    let mut cells: Vec<String> = Vec::new();
    let mut current: Option<u32> = None;
    let mut width: Option<usize> = None;
    let mut text = String::new();
    // Emits the row gathered so far; the header fixes the width, shorter
    // rows are padded (empty cells are simply absent from the sheet).
    let mut flush = |row: u32, cells: &mut Vec<String>| -> ControlFlow<()> {
        while cells.last().is_some_and(|c| c.is_empty()) {
            cells.pop();
        }
        if blank(cells) {
            cells.clear();
            return ControlFlow::Continue(());
        }
        let w = *width.get_or_insert(cells.len());
        if cells.len() < w {
            cells.resize(w, String::new());
        }
        let flow = each(Record {
            row: row + 1,
            cells,
            unknown: &[],
        });
        cells.clear();
        flow
    };
    while let Some(cell) = reader.next_cell().map_err(bad)? {
        let (row, col) = cell.get_position();
        if current != Some(row) {
            if let Some(prev) = current
                && flush(prev, &mut cells).is_break()
            {
                return Ok(());
            }
            current = Some(row);
        }
        let col = col as usize;
        // A stray value far to the right must not make us allocate columns
        // without bound; anything past this is certainly an extra column.
        if col > 16_384 {
            continue;
        }
        if cells.len() <= col {
            cells.resize(col + 1, String::new());
        }
        cell_text(cell.get_value(), &mut text);
        cells[col].clone_from(&text);
    }
    if let Some(prev) = current {
        let _ = flush(prev, &mut cells);
    }
    Ok(())
}

// ---------------------------------------------------------------- JSON

/// A JSON value's text as a cell: null is blank, whole numbers have no
/// decimal point.
fn json_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e15 => (f as i64).to_string(),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

/// Reads a top-level array of objects one element at a time. The first
/// object's keys act as the header (row 1); element `i` is row `i + 2`, so
/// the same data gives the same row numbers as in CSV.
fn read_json(
    path: &Path,
    each: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> Result<(), FileError> {
    use serde::de::{DeserializeSeed, Error as _, SeqAccess, Visitor};

    struct Rows<'f> {
        each: &'f mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
        stopped: &'f mut bool,
    }
    impl<'de> Visitor<'de> for Rows<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of objects, one per response")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            let mut header: Vec<String> = Vec::new();
            let mut cells: Vec<String> = Vec::new();
            let mut unknown: Vec<String> = Vec::new();
            let mut row: u32 = 1;
            while let Some(value) = seq.next_element::<serde_json::Value>()? {
                row = row.saturating_add(1);
                let serde_json::Value::Object(object) = value else {
                    return Err(A::Error::custom(format!(
                        "element {} of the array is not an object",
                        row - 1
                    )));
                };
                if header.is_empty() {
                    header = object.keys().cloned().collect();
                    let flow = (self.each)(Record {
                        row: 1,
                        cells: &header,
                        unknown: &[],
                    });
                    if flow.is_break() {
                        *self.stopped = true;
                        return Ok(());
                    }
                }
                cells.clear();
                cells.extend(
                    header
                        .iter()
                        .map(|k| object.get(k).map(json_text).unwrap_or_default()),
                );
                unknown.clear();
                unknown.extend(object.keys().filter(|k| !header.contains(k)).cloned());
                if blank(&cells) && unknown.is_empty() {
                    continue;
                }
                let flow = (self.each)(Record {
                    row,
                    cells: &cells,
                    unknown: &unknown,
                });
                if flow.is_break() {
                    *self.stopped = true;
                    return Ok(());
                }
            }
            Ok(())
        }
    }
    impl<'de> DeserializeSeed<'de> for Rows<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_seq(self)
        }
    }

    let mut stopped = false;
    let mut de = serde_json::Deserializer::from_reader(BufReader::with_capacity(
        64 * 1024,
        File::open(path)?,
    ));
    let result = Rows {
        each,
        stopped: &mut stopped,
    }
    .deserialize(&mut de);
    if stopped {
        // The rest of the array is left unread on purpose.
        return Ok(());
    }
    result
        .and_then(|()| de.end())
        .map_err(|e| match e.classify() {
            serde_json::error::Category::Io => FileError::Io(e.into()),
            _ => FileError::Malformed(format!("The JSON cannot be read: {e}")),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gb18030_reader_decodes_across_buffer_boundaries() {
        let text = "满意度,调查\n".repeat(20_000);
        let (bytes, _, _) = GB18030.encode(&text);
        let mut out = String::new();
        let read = Gb18030Reader::new(&bytes[..]).read_to_string(&mut out);
        assert!(read.is_ok());
        assert_eq!(out, text);
    }

    #[test]
    fn utf8_validation_carries_split_characters() {
        let text = "评议".repeat(50_000);
        let mut reader = BufReader::with_capacity(7, text.as_bytes());
        assert!(matches!(is_utf8(&mut reader), Ok(true)));
        let mut bad = BufReader::with_capacity(7, &[0xC4u8, 0xE3, 0xBA, 0xC3][..]);
        assert!(matches!(is_utf8(&mut bad), Ok(false)));
    }
}

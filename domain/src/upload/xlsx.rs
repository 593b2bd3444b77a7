//! A bounded, streaming reader of an uploaded XLSX: the first worksheet's
//! rows, with shared strings, inline strings, numbers, booleans and date
//! cells, and nothing else.
//!
//! An XLSX is a zip of XML parts, and both layers can lie: a part of a few
//! kilobytes can inflate to gigabytes, and counts the file declares
//! (`uniqueCount`, the sheet's `dimension`, row and column numbers) can be
//! anything. General-purpose readers trust them (calamine reserves the
//! shared-string table from `uniqueCount`: a 1.8 KB file made it ask for
//! 240 TB and abort the process). Here no allocation is sized by a number
//! taken from the file:
//!
//! - the zip's end record is checked before the archive is opened (the zip
//!   reader sizes its entry table from the declared count);
//! - every part is inflated through [`Inflated`], which stops at a total
//!   budget tied to the file's size, at a ratio per part, and at a longest
//!   XML token, checking the bytes really produced, not the sizes declared;
//! - declared counts are checked against the limits and otherwise ignored;
//! - the header (the first non-blank row) fixes the width: cells to its right
//!   are never materialised, only noted; a cell's text is capped.
//!
//! Time and memory are thus bounded by the upload's size: memory by the
//! limits below, time by the inflated budget.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use zip::ZipArchive;

use super::read::{FileError, Record};

/// Entries the archive may list. Excel and LibreOffice write a dozen or two
/// (one per sheet, plus styles, theme, properties); the zip reader reserves
/// its entry table from the declared count, so it is checked first.
pub const MAX_ZIP_ENTRIES: u64 = 10_000;
/// Inflated bytes any XLSX may produce in all, however small it is: room
/// for the styles, theme and shared strings of an ordinary workbook.
pub const INFLATED_FLOOR: u64 = 32 * 1024 * 1024;
/// Inflated bytes allowed per byte of the file on top of the floor. Real
/// worksheets inflate 5–15× (the 100,000-row benchmark file: 11×); 24×
/// leaves room, and bounds the work on a file at the upload limit (50 MiB
/// by default) to ~1.2 GB of XML, streamed, never held.
pub const INFLATED_PER_FILE_BYTE: u64 = 24;
/// Most inflated bytes per compressed byte of one part, beyond
/// [`PART_RATIO_GRACE`]. Deflate's own ceiling is ~1032:1; zip bombs live
/// there, spreadsheets far below it.
pub const MAX_PART_RATIO: u64 = 100;
/// Inflated bytes every part may produce whatever its ratio: tiny parts
/// (an empty style sheet) compress far better than 100:1.
pub const PART_RATIO_GRACE: u64 = 1024 * 1024;
/// Longest XML token (a tag with its attributes, or a run of text) read at
/// once: the XML reader buffers a whole token. A cell of [`MAX_CELL_CHARS`]
/// characters, escaped, fits.
pub const MAX_XML_TOKEN: u64 = 1024 * 1024;
/// Most shared strings: two per row of a 1M-row file.
pub const MAX_SHARED_STRINGS: u64 = 2_000_000;
/// Most text the shared strings may hold in all (they are kept in memory
/// while the sheet is read; packed, so this is their memory).
pub const MAX_SHARED_TEXT: usize = 64 * 1024 * 1024;
/// Most cell formats (`cellXfs`) and custom number formats: Excel's own
/// limit is 64,000.
pub const MAX_STYLES: u64 = 65_536;
/// Longest text of a cell, in characters: Excel's own limit.
pub const MAX_CELL_CHARS: usize = 32_767;
/// Widest header: an upload template has a few dozen columns.
pub const MAX_COLUMNS: usize = 1_024;
/// Excel's grid: 16,384 columns (A to XFD) by 1,048,576 rows.
const GRID_COLUMNS: u32 = 16_384;
const GRID_ROWS: u32 = 1_048_576;
/// The end-of-central-directory record is within the last 64 KiB + 22
/// bytes (its comment is at most 65,535 bytes).
const EOCD_SEARCH: u64 = 65_535 + 22;
/// Capacity of the buffered reader above each inflated part.
const XML_BUFFER: usize = 64 * 1024;

fn too_large(message: impl Into<String>) -> FileError {
    FileError::XlsxTooLarge(message.into())
}

fn malformed(message: impl Into<String>) -> FileError {
    FileError::XlsxMalformed(message.into())
}

/// Keeps messages from the XML or zip reader short: they may quote input.
fn short(e: impl std::fmt::Display) -> String {
    let text = e.to_string();
    match text.char_indices().nth(160) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text,
    }
}

/// Calls `each` for every non-blank row of the first worksheet, the header
/// (the first non-blank row) first.
pub fn read_xlsx(
    path: &Path,
    each: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> Result<(), FileError> {
    let mut file = File::open(path)?;
    let size = file.metadata()?.len();
    check_end_record(&mut file, size)?;
    file.seek(SeekFrom::Start(0))?;
    let mut zip = ZipArchive::new(BufReader::new(file)).map_err(|e| {
        malformed(format!(
            "The XLSX is not a readable zip archive: {}",
            short(e)
        ))
    })?;
    let total = INFLATED_FLOOR.saturating_add(size.saturating_mul(INFLATED_PER_FILE_BYTE));
    let mut budget = Budget { total, left: total };

    let workbook = read_part(
        &mut zip,
        "xl/workbook.xml",
        "workbook",
        &mut budget,
        workbook,
    )?
    .ok_or_else(|| malformed("The XLSX has no workbook (xl/workbook.xml)"))?;
    let rid = workbook
        .first_sheet
        .ok_or_else(|| malformed("The XLSX has no worksheet"))?;
    let target = read_part(
        &mut zip,
        "xl/_rels/workbook.xml.rels",
        "workbook relationships",
        &mut budget,
        |xml| relationship_target(xml, &rid),
    )?
    .flatten()
    .ok_or_else(|| malformed("The XLSX does not say where its first worksheet is"))?;
    let sheet_path = resolve(&target)
        .ok_or_else(|| malformed("The XLSX's first worksheet has an invalid location"))?;
    let styles =
        read_part(&mut zip, "xl/styles.xml", "styles", &mut budget, styles)?.unwrap_or_default();
    let strings = read_part(
        &mut zip,
        "xl/sharedStrings.xml",
        "shared strings",
        &mut budget,
        shared_strings,
    )?
    .unwrap_or_default();
    let sheet = Sheet {
        strings: &strings,
        date_styles: &styles,
        date1904: workbook.date1904,
    };
    read_part(&mut zip, &sheet_path, "worksheet", &mut budget, |xml| {
        sheet.rows(xml, each)
    })?
    .ok_or_else(|| malformed("The XLSX's first worksheet is missing from the archive"))
}

// ------------------------------------------------------------ the zip layer

/// Checks every end-of-central-directory record in the file's tail (the zip
/// reader may pick any of them) and the Zip64 record it points to: the
/// declared number of entries must be within [`MAX_ZIP_ENTRIES`]. Reads a
/// fixed-size tail, whatever the file says.
fn check_end_record(file: &mut File, size: u64) -> Result<(), FileError> {
    const ZIP64_LOCATOR: usize = 20;
    let tail_len = size.min(EOCD_SEARCH + ZIP64_LOCATOR as u64);
    let mut tail = vec![0u8; usize::try_from(tail_len).unwrap_or(0)];
    file.seek(SeekFrom::Start(size - tail_len))?;
    file.read_exact(&mut tail)?;
    let u16_at = |b: &[u8], i: usize| u64::from(u16::from_le_bytes([b[i], b[i + 1]]));
    let u64_at = |b: &[u8], i: usize| {
        let mut v = [0u8; 8];
        v.copy_from_slice(&b[i..i + 8]);
        u64::from_le_bytes(v)
    };
    let mut found = false;
    for at in (0..tail.len().saturating_sub(21)).rev() {
        if tail[at..at + 4] != [0x50, 0x4b, 0x05, 0x06] {
            continue;
        }
        found = true;
        if u16_at(&tail, at + 8).max(u16_at(&tail, at + 10)) > MAX_ZIP_ENTRIES {
            return Err(too_large(format!(
                "The XLSX's zip archive lists more than {MAX_ZIP_ENTRIES} entries"
            )));
        }
        // A Zip64 locator right before it points to the 64-bit counts.
        if at >= ZIP64_LOCATOR && tail[at - ZIP64_LOCATOR..at - 16] == [0x50, 0x4b, 0x06, 0x07] {
            let offset = u64_at(&tail, at - ZIP64_LOCATOR + 8);
            let mut record = [0u8; 56];
            if offset.checked_add(56).is_none_or(|end| end > size) {
                return Err(malformed(
                    "The XLSX's zip archive points outside itself (Zip64 end record)",
                ));
            }
            file.seek(SeekFrom::Start(offset))?;
            file.read_exact(&mut record)?;
            if record[..4] != [0x50, 0x4b, 0x06, 0x06] {
                return Err(malformed(
                    "The XLSX's zip archive has a damaged Zip64 end record",
                ));
            }
            if u64_at(&record, 24).max(u64_at(&record, 32)) > MAX_ZIP_ENTRIES {
                return Err(too_large(format!(
                    "The XLSX's zip archive lists more than {MAX_ZIP_ENTRIES} entries"
                )));
            }
        }
    }
    if !found {
        return Err(malformed(
            "The file is not an XLSX: it is not a zip archive (save it from your spreadsheet program as .xlsx)",
        ));
    }
    Ok(())
}

/// One part of the archive as it inflates, with the limits checked on the
/// bytes really produced (the sizes the archive declares may lie). A limit
/// crossed is kept in `violation` and surfaces as an I/O error to the XML
/// reader, which the caller turns back into [`FileError::XlsxTooLarge`].
struct Inflated<R> {
    inner: R,
    /// What the part is, for messages ("worksheet").
    role: &'static str,
    produced: u64,
    /// The whole file's budget left when the part was opened.
    budget: u64,
    /// The whole file's budget, in MiB, for messages.
    total_mib: u64,
    /// Bytes this part may produce by its compressed size.
    ratio_cap: u64,
    /// Bytes produced since the XML reader last finished a token.
    since_token: u64,
    violation: Option<String>,
}

impl<R: Read> Read for Inflated<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(out)?;
        self.produced = self.produced.saturating_add(n as u64);
        self.since_token = self.since_token.saturating_add(n as u64);
        let violation = if self.produced > self.budget {
            Some(format!(
                "The XLSX inflates past the {} MiB of XML a file of its size may hold (at its {})",
                self.total_mib, self.role
            ))
        } else if self.produced > self.ratio_cap {
            Some(format!(
                "The XLSX's {} inflates more than {MAX_PART_RATIO} times its compressed size, which no spreadsheet program writes",
                self.role
            ))
        } else if self.since_token > MAX_XML_TOKEN + XML_BUFFER as u64 {
            Some(format!(
                "The XLSX's {} has a tag or text longer than {} KiB",
                self.role,
                MAX_XML_TOKEN / 1024
            ))
        } else {
            None
        };
        if let Some(v) = violation {
            self.violation = Some(v.clone());
            return Err(io::Error::other(v));
        }
        Ok(n)
    }
}

/// Inflated bytes the file may still produce, of its total.
struct Budget {
    total: u64,
    left: u64,
}

type Xml<'z> = Reader<BufReader<Inflated<zip::read::ZipFile<'z, BufReader<File>>>>>;

/// Opens part `name` (if the archive has it) through [`Inflated`], reads it
/// with `read`, and charges what it inflated to `budget`.
fn read_part<T>(
    zip: &mut ZipArchive<BufReader<File>>,
    name: &str,
    role: &'static str,
    budget: &mut Budget,
    read: impl FnOnce(&mut Xml<'_>) -> Result<T, FileError>,
) -> Result<Option<T>, FileError> {
    let entry = match zip.by_name(name) {
        Ok(entry) => entry,
        Err(zip::result::ZipError::FileNotFound) => return Ok(None),
        Err(e) => {
            return Err(malformed(format!(
                "The XLSX's {role} cannot be read from the archive: {}",
                short(e)
            )));
        }
    };
    let ratio_cap = entry
        .compressed_size()
        .saturating_mul(MAX_PART_RATIO)
        .saturating_add(PART_RATIO_GRACE);
    // The declared size is checked up front for a clear early answer; the
    // real one is checked as it inflates.
    if entry.size() > budget.left || entry.size() > ratio_cap {
        return Err(too_large(format!(
            "The XLSX's {role} declares {} MiB of XML, more than a file of this size may inflate to",
            entry.size() / (1024 * 1024)
        )));
    }
    let inflated = Inflated {
        inner: entry,
        role,
        produced: 0,
        budget: budget.left,
        total_mib: budget.total / (1024 * 1024),
        ratio_cap,
        since_token: 0,
        violation: None,
    };
    let mut xml = Reader::from_reader(BufReader::with_capacity(XML_BUFFER, inflated));
    let result = read(&mut xml);
    let inflated = xml.get_ref().get_ref();
    budget.left = budget.left.saturating_sub(inflated.produced);
    result.map(Some)
}

/// Reads the next XML event into `buf`, turning reader errors into a named
/// limit (when [`Inflated`] stopped it) or a malformed part.
fn next<'b>(xml: &mut Xml<'_>, buf: &'b mut Vec<u8>) -> Result<Event<'b>, FileError> {
    buf.clear();
    xml.get_mut().get_mut().since_token = 0;
    match xml.read_event_into(buf) {
        Ok(event) => Ok(event),
        Err(e) => {
            let inflated = xml.get_mut().get_mut();
            Err(match inflated.violation.take() {
                Some(v) => too_large(v),
                None => malformed(format!(
                    "The XLSX's {} is not valid XML: {}",
                    inflated.role,
                    short(e)
                )),
            })
        }
    }
}

fn role(xml: &Xml<'_>) -> &'static str {
    xml.get_ref().get_ref().role
}

/// The value of attribute `key` (matched by local name, so `r:id` is `id`).
fn attr(e: &BytesStart<'_>, key: &str, role: &str) -> Result<Option<String>, FileError> {
    for a in e.attributes() {
        let a = a.map_err(|e| {
            malformed(format!(
                "The XLSX's {role} has a bad attribute: {}",
                short(e)
            ))
        })?;
        if a.key.local_name().as_ref() == key {
            let value = a.normalized_value(XmlVersion::Implicit1_0).map_err(|e| {
                malformed(format!(
                    "The XLSX's {role} has a bad attribute value: {}",
                    short(e)
                ))
            })?;
            return Ok(Some(value.into_owned()));
        }
    }
    Ok(None)
}

/// A count the file declares: checked against `max`, never used to size
/// anything. An unreadable count is ignored (it is only informative).
fn check_declared(
    e: &BytesStart<'_>,
    key: &str,
    max: u64,
    what: &str,
    role: &str,
) -> Result<(), FileError> {
    if let Some(n) = attr(e, key, role)?.and_then(|v| v.trim().parse::<u64>().ok())
        && n > max
    {
        return Err(too_large(format!(
            "The XLSX declares {n} {what}; at most {max} are read"
        )));
    }
    Ok(())
}

/// Appends text to a cell's value, refusing more than [`MAX_CELL_CHARS`].
fn push_text(
    out: &mut String,
    chars: &mut usize,
    text: &str,
    place: impl FnOnce() -> String,
) -> Result<(), FileError> {
    *chars += text.chars().count();
    if *chars > MAX_CELL_CHARS {
        return Err(too_large(format!(
            "{} has more than {MAX_CELL_CHARS} characters (the most a spreadsheet cell holds)",
            place()
        )));
    }
    out.push_str(text);
    Ok(())
}

/// Text of a text or reference event; `None` for any other event.
fn text_of<'e>(event: &'e Event<'_>, role: &str) -> Result<Option<Cow<'e, str>>, FileError> {
    Ok(match event {
        Event::Text(t) => Some(t.xml10_content()),
        Event::CData(t) => Some(t.xml10_content()),
        Event::GeneralRef(r) => {
            if let Some(c) = r.resolve_char_ref().map_err(|e| {
                malformed(format!(
                    "The XLSX's {role} has a bad character reference: {}",
                    short(e)
                ))
            })? {
                Some(c.to_string().into())
            } else {
                let resolved = quick_xml::escape::resolve_predefined_entity(&r.xml10_content())
                    .ok_or_else(|| {
                        malformed(format!("The XLSX's {role} uses an undefined entity"))
                    })?;
                Some(Cow::Borrowed(resolved))
            }
        }
        _ => None,
    })
}

// ------------------------------------------------------------ the parts

struct Workbook {
    /// Relationship id of the first sheet.
    first_sheet: Option<String>,
    date1904: bool,
}

fn workbook(xml: &mut Xml<'_>) -> Result<Workbook, FileError> {
    let role = role(xml);
    let mut buf = Vec::new();
    let mut book = Workbook {
        first_sheet: None,
        date1904: false,
    };
    loop {
        match next(xml, &mut buf)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "workbookPr" => {
                    book.date1904 = attr(&e, "date1904", role)?
                        .is_some_and(|v| matches!(v.trim(), "1" | "true"));
                }
                "sheet" if book.first_sheet.is_none() => {
                    book.first_sheet = attr(&e, "id", role)?;
                }
                _ => {}
            },
            Event::Eof => return Ok(book),
            _ => {}
        }
    }
}

/// The target of relationship `id`, if the part lists it.
fn relationship_target(xml: &mut Xml<'_>, id: &str) -> Result<Option<String>, FileError> {
    let role = role(xml);
    let mut buf = Vec::new();
    loop {
        match next(xml, &mut buf)? {
            Event::Start(e) | Event::Empty(e)
                if e.local_name().as_ref() == "Relationship"
                    && attr(&e, "Id", role)?.as_deref() == Some(id) =>
            {
                if attr(&e, "TargetMode", role)?.as_deref() == Some("External") {
                    return Err(malformed("The XLSX's first worksheet is outside the file"));
                }
                return attr(&e, "Target", role);
            }
            Event::Eof => return Ok(None),
            _ => {}
        }
    }
}

/// The archive path of a relationship target of `xl/workbook.xml`.
fn resolve(target: &str) -> Option<String> {
    let joined = match target.strip_prefix('/') {
        Some(absolute) => absolute.to_owned(),
        None => format!("xl/{target}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for segment in joined.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            s => parts.push(s),
        }
    }
    (!parts.is_empty()).then(|| parts.join("/"))
}

/// For each cell format (`cellXfs`), whether it shows a number as a date.
fn styles(xml: &mut Xml<'_>) -> Result<Vec<bool>, FileError> {
    let role = role(xml);
    let mut buf = Vec::new();
    // Custom number formats that are dates: (id, is date).
    let mut custom: Vec<(u32, bool)> = Vec::new();
    let mut dates: Vec<bool> = Vec::new();
    let mut in_cell_xfs = false;
    loop {
        match next(xml, &mut buf)? {
            Event::Start(e) | Event::Empty(e) => match e.local_name().as_ref() {
                "numFmts" => check_declared(&e, "count", MAX_STYLES, "number formats", role)?,
                "cellXfs" => {
                    check_declared(&e, "count", MAX_STYLES, "cell formats", role)?;
                    in_cell_xfs = true;
                }
                "numFmt" => {
                    if custom.len() as u64 >= MAX_STYLES {
                        return Err(too_large(format!(
                            "The XLSX has more than {MAX_STYLES} number formats"
                        )));
                    }
                    let id = attr(&e, "numFmtId", role)?.and_then(|v| v.trim().parse().ok());
                    let code = attr(&e, "formatCode", role)?.unwrap_or_default();
                    if let Some(id) = id {
                        custom.push((id, is_date_format(&code)));
                    }
                }
                "xf" if in_cell_xfs => {
                    if dates.len() as u64 >= MAX_STYLES {
                        return Err(too_large(format!(
                            "The XLSX has more than {MAX_STYLES} cell formats"
                        )));
                    }
                    let id: Option<u32> =
                        attr(&e, "numFmtId", role)?.and_then(|v| v.trim().parse().ok());
                    dates.push(id.is_some_and(|id| {
                        custom
                            .iter()
                            .rev()
                            .find(|(c, _)| *c == id)
                            .map_or_else(|| is_builtin_date_format(id), |(_, d)| *d)
                    }));
                }
                _ => {}
            },
            Event::End(e) if e.local_name().as_ref() == "cellXfs" => in_cell_xfs = false,
            Event::Eof => return Ok(dates),
            _ => {}
        }
    }
}

/// Built-in number formats that show dates or times (ECMA-376 18.8.30, and
/// the East Asian ones), as calamine classifies them.
fn is_builtin_date_format(id: u32) -> bool {
    matches!(id, 14..=22 | 27..=36 | 45..=47 | 50..=58)
}

/// Whether a custom number format code shows a date or time: a date or
/// time letter outside quotes, brackets and escapes, in its first section.
/// (The rules of calamine's `detect_custom_number_format`, which the upload
/// path used before.)
fn is_date_format(code: &str) -> bool {
    let mut escaped = false;
    let mut quoted = false;
    let mut brackets = 0u8;
    let mut prev = ' ';
    let mut hms = false;
    let mut ampm = false;
    for c in code.chars() {
        match (c, escaped, quoted, ampm, brackets) {
            (_, true, ..) => escaped = false,
            ('_' | '\\' | '*', ..) => escaped = true,
            ('"', _, true, _, _) => quoted = false,
            (_, _, true, _, _) => {}
            ('"', ..) => quoted = true,
            (';', ..) => return false,
            ('[', ..) => brackets = brackets.saturating_add(1),
            (']', .., 1) if hms => return true,
            (']', ..) => brackets = brackets.saturating_sub(1),
            ('a' | 'A', _, _, false, 0) => ampm = true,
            ('p' | 'm' | '/' | 'P' | 'M', _, _, true, 0) => return true,
            ('d' | 'm' | 'h' | 'y' | 's' | 'D' | 'M' | 'H' | 'Y' | 'S', _, _, false, 0) => {
                return true;
            }
            _ => {
                if !(hms && c.eq_ignore_ascii_case(&prev)) {
                    hms = prev == '[' && matches!(c, 'm' | 'h' | 's' | 'M' | 'H' | 'S');
                }
            }
        }
        prev = c;
    }
    false
}

/// The shared-string table, packed: all text in one string, with the end
/// of each entry.
#[derive(Default)]
struct SharedStrings {
    text: String,
    ends: Vec<u32>,
}

impl SharedStrings {
    fn get(&self, i: usize) -> Option<&str> {
        let end = *self.ends.get(i)? as usize;
        let start = match i {
            0 => 0,
            _ => *self.ends.get(i - 1)? as usize,
        };
        self.text.get(start..end)
    }
}

fn shared_strings(xml: &mut Xml<'_>) -> Result<SharedStrings, FileError> {
    let role = role(xml);
    let mut buf = Vec::new();
    let mut table = SharedStrings::default();
    // Inside <si>; inside a <t> that counts (not phonetic: <rPh>).
    let mut in_item = false;
    let mut in_text = false;
    let mut phonetic = 0u32;
    let mut chars = 0usize;
    loop {
        let event = next(xml, &mut buf)?;
        if in_text
            && phonetic == 0
            && let Some(text) = text_of(&event, role)?
        {
            let n = table.ends.len();
            push_text(&mut table.text, &mut chars, &text, || {
                format!("Shared string {}", n + 1)
            })?;
            if table.text.len() > MAX_SHARED_TEXT {
                return Err(too_large(format!(
                    "The XLSX's shared strings hold more than {} MiB of text",
                    MAX_SHARED_TEXT / (1024 * 1024)
                )));
            }
            continue;
        }
        match event {
            Event::Start(e) => match e.local_name().as_ref() {
                "sst" => {
                    check_declared(
                        &e,
                        "uniqueCount",
                        MAX_SHARED_STRINGS,
                        "shared strings",
                        role,
                    )?;
                }
                "si" => {
                    start_item(&table)?;
                    in_item = true;
                    chars = 0;
                }
                "rPh" => phonetic += 1,
                "t" if in_item => in_text = true,
                _ => {}
            },
            Event::Empty(e) => match e.local_name().as_ref() {
                "sst" => {
                    check_declared(
                        &e,
                        "uniqueCount",
                        MAX_SHARED_STRINGS,
                        "shared strings",
                        role,
                    )?;
                }
                "si" => {
                    start_item(&table)?;
                    end_item(&mut table);
                }
                _ => {}
            },
            Event::End(e) => match e.local_name().as_ref() {
                "si" => {
                    in_item = false;
                    in_text = false;
                    phonetic = 0;
                    end_item(&mut table);
                }
                "rPh" => phonetic = phonetic.saturating_sub(1),
                "t" => in_text = false,
                _ => {}
            },
            Event::Eof => return Ok(table),
            _ => {}
        }
    }
}

fn start_item(table: &SharedStrings) -> Result<(), FileError> {
    if table.ends.len() as u64 >= MAX_SHARED_STRINGS {
        return Err(too_large(format!(
            "The XLSX has more than {MAX_SHARED_STRINGS} shared strings"
        )));
    }
    Ok(())
}

fn end_item(table: &mut SharedStrings) {
    // MAX_SHARED_TEXT is far below u32::MAX.
    table
        .ends
        .push(u32::try_from(table.text.len()).unwrap_or(u32::MAX));
}

// ------------------------------------------------------------ the sheet

/// `A` → 0, `XFD` → 16,383; `None` when not a column of the grid.
fn column_index(letters: &str) -> Option<u32> {
    if letters.is_empty() || letters.len() > 3 {
        return None;
    }
    let mut n = 0u32;
    for b in letters.bytes() {
        if !b.is_ascii_uppercase() {
            return None;
        }
        n = n * 26 + u32::from(b - b'A') + 1;
    }
    (n <= GRID_COLUMNS).then(|| n - 1)
}

/// The letters of column `index` (0 → `A`), for messages.
pub fn column_name(index: u32) -> String {
    let mut n = index + 1;
    let mut letters = Vec::new();
    while n > 0 {
        let r = (n - 1) % 26;
        letters.push(b'A' + r as u8);
        n = (n - 1) / 26;
    }
    letters.reverse();
    String::from_utf8(letters).unwrap_or_default()
}

/// Splits a cell reference such as `AB12` into (column index, row number).
fn cell_ref(r: &str) -> Option<(u32, u32)> {
    let split = r.find(|c: char| c.is_ascii_digit())?;
    let col = column_index(&r[..split])?;
    let row: u32 = r[split..].parse().ok()?;
    (1..=GRID_ROWS).contains(&row).then_some((col, row))
}

/// How a cell's value is to be read (its `t` attribute).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Number,
    Shared,
    Inline,
    Text,
    Bool,
    Error,
    Date,
}

struct Sheet<'a> {
    strings: &'a SharedStrings,
    /// By cell format index: whether numbers show as dates.
    date_styles: &'a [bool],
    date1904: bool,
}

/// The cell being read.
struct Cell {
    col: u32,
    kind: Kind,
    date: bool,
    /// Characters of the value so far.
    chars: usize,
    /// Inside <v> or the <t> of an inline string (not phonetic).
    capturing: bool,
    in_inline: bool,
    phonetic: u32,
    value: String,
}

impl Sheet<'_> {
    fn rows(
        &self,
        xml: &mut Xml<'_>,
        each: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
    ) -> Result<(), FileError> {
        let role = role(xml);
        let mut buf = Vec::new();
        // The current row's cells, at most the header's width (or
        // MAX_COLUMNS before the header).
        let mut cells: Vec<String> = Vec::new();
        let mut width: Option<usize> = None;
        let mut row_number = 0u32;
        let mut in_row = false;
        let mut beyond: Option<u32> = None;
        let mut last_col: Option<u32> = None;
        let mut cell: Option<Cell> = None;
        let mut text = String::new();
        loop {
            let event = next(xml, &mut buf)?;
            let empty = matches!(event, Event::Empty(_));
            if let Some(c) = cell.as_mut()
                && c.capturing
                && c.phonetic == 0
                && let Some(t) = text_of(&event, role)?
            {
                let (col, row) = (c.col, row_number);
                push_text(&mut c.value, &mut c.chars, &t, || {
                    format!("Cell {}{row}", column_name(col))
                })?;
                continue;
            }
            match event {
                Event::Start(e) | Event::Empty(e) if e.local_name().as_ref() == "dimension" => {
                    // Informative only: checked to be a range of the grid,
                    // never used to size anything.
                    let valid = attr(&e, "ref", role)?
                        .is_some_and(|r| r.split(':').all(|part| cell_ref(part).is_some()));
                    if !valid {
                        return Err(malformed(
                            "The XLSX's worksheet declares a dimension that is not a range of the sheet",
                        ));
                    }
                }
                Event::Start(e) if e.local_name().as_ref() == "row" => {
                    row_number = self.row_number(&e, row_number, role)?;
                    in_row = true;
                    last_col = None;
                    beyond = None;
                    cells.clear();
                }
                Event::Empty(e) if e.local_name().as_ref() == "row" => {
                    row_number = self.row_number(&e, row_number, role)?;
                }
                Event::End(e) if e.local_name().as_ref() == "row" => {
                    in_row = false;
                    if flush(row_number, &mut cells, &mut width, beyond, each).is_break() {
                        return Ok(());
                    }
                }
                Event::Start(e) | Event::Empty(e) if in_row && e.local_name().as_ref() == "c" => {
                    let col = match attr(&e, "r", role)? {
                        Some(r) => {
                            let (col, row) = cell_ref(&r).ok_or_else(|| {
                                malformed(format!(
                                    "The XLSX's worksheet has an invalid cell reference in row {row_number}"
                                ))
                            })?;
                            if row != row_number {
                                return Err(malformed(format!(
                                    "The XLSX's worksheet has a cell of row {row} inside row {row_number}"
                                )));
                            }
                            col
                        }
                        None => last_col.map_or(0, |c| c + 1),
                    };
                    if col >= GRID_COLUMNS {
                        return Err(malformed(format!(
                            "The XLSX's worksheet has a cell past column XFD in row {row_number}"
                        )));
                    }
                    last_col = Some(col);
                    let kind = match attr(&e, "t", role)?.as_deref() {
                        None | Some("n") => Kind::Number,
                        Some("s") => Kind::Shared,
                        Some("inlineStr") => Kind::Inline,
                        Some("str") => Kind::Text,
                        Some("b") => Kind::Bool,
                        Some("e") => Kind::Error,
                        Some("d") => Kind::Date,
                        Some(_) => {
                            return Err(malformed(format!(
                                "Cell {}{row_number} of the XLSX has an unknown type",
                                column_name(col)
                            )));
                        }
                    };
                    let date = kind == Kind::Number
                        && attr(&e, "s", role)?
                            .and_then(|s| s.trim().parse::<usize>().ok())
                            .and_then(|s| self.date_styles.get(s).copied())
                            .unwrap_or(false);
                    if !empty {
                        cell = Some(Cell {
                            col,
                            kind,
                            date,
                            chars: 0,
                            capturing: false,
                            in_inline: false,
                            phonetic: 0,
                            value: std::mem::take(&mut text),
                        });
                    }
                }
                Event::Start(e) if cell.is_some() => {
                    if let Some(c) = cell.as_mut() {
                        match e.local_name().as_ref() {
                            "v" if c.kind != Kind::Inline => c.capturing = true,
                            "is" => c.in_inline = true,
                            "t" if c.in_inline => c.capturing = true,
                            "rPh" => c.phonetic += 1,
                            _ => {}
                        }
                    }
                }
                Event::End(e) if cell.is_some() => match e.local_name().as_ref() {
                    "c" => {
                        if let Some(c) = cell.take() {
                            let place = c.col;
                            let value = self.value(&c, row_number)?;
                            store(&mut cells, width, &mut beyond, place, value, row_number)?;
                            text = c.value;
                            text.clear();
                        }
                    }
                    name => {
                        if let Some(c) = cell.as_mut() {
                            match name {
                                "v" | "t" => c.capturing = false,
                                "is" => c.in_inline = false,
                                "rPh" => c.phonetic = c.phonetic.saturating_sub(1),
                                _ => {}
                            }
                        }
                    }
                },
                Event::End(e) if e.local_name().as_ref() == "sheetData" => return Ok(()),
                Event::Eof => {
                    // A sheet cut short after a row still gives its rows;
                    // the zip layer has checked the part's checksum.
                    if in_row {
                        let _ = flush(row_number, &mut cells, &mut width, beyond, each);
                    }
                    return Ok(());
                }
                _ => {}
            }
        }
    }

    /// The row's number: its `r`, else the one after the previous row.
    fn row_number(&self, e: &BytesStart<'_>, previous: u32, role: &str) -> Result<u32, FileError> {
        let n = match attr(e, "r", role)? {
            Some(r) => r.trim().parse::<u32>().ok(),
            None => previous.checked_add(1),
        };
        n.filter(|n| (1..=GRID_ROWS).contains(n)).ok_or_else(|| {
            malformed(format!(
                "The XLSX's worksheet has an invalid row number after row {previous}"
            ))
        })
    }

    /// A cell's text as the spreadsheet shows it: whole numbers without a
    /// decimal point, date cells as `YYYY-MM-DD HH:MM:SS`, booleans as
    /// TRUE/FALSE (as the upload path read them with calamine).
    fn value<'c>(&'c self, c: &'c Cell, row: u32) -> Result<Cow<'c, str>, FileError> {
        let place = || format!("Cell {}{row} of the XLSX", column_name(c.col));
        Ok(match c.kind {
            Kind::Inline | Kind::Text | Kind::Error | Kind::Date => c.value.as_str().into(),
            Kind::Bool => match c.value.trim() {
                "1" | "true" => "TRUE".into(),
                "0" | "false" => "FALSE".into(),
                "" => "".into(),
                _ => return Err(malformed(format!("{} has an invalid boolean", place()))),
            },
            Kind::Shared => {
                let text = c.value.trim();
                if text.is_empty() {
                    return Ok("".into());
                }
                let index: usize = text.parse().map_err(|_| {
                    malformed(format!("{} has an invalid shared-string index", place()))
                })?;
                self.strings.get(index).map(Into::into).ok_or_else(|| {
                    malformed(format!(
                        "{} refers to a shared string that does not exist",
                        place()
                    ))
                })?
            }
            Kind::Number => {
                let text = c.value.trim();
                if text.is_empty() {
                    return Ok("".into());
                }
                let f: f64 = text
                    .parse()
                    .ok()
                    .filter(|f: &f64| f.is_finite())
                    .ok_or_else(|| malformed(format!("{} has an invalid number", place())))?;
                if c.date
                    && let Some(date) = excel_date(f, self.date1904)
                {
                    date.into()
                } else if f.fract() == 0.0 && f.abs() < 1e15 {
                    (f as i64).to_string().into()
                } else {
                    f.to_string().into()
                }
            }
        })
    }
}

/// Puts a cell's value in its column, or notes it when it lies right of the
/// header (it is never materialised there).
fn store(
    cells: &mut Vec<String>,
    width: Option<usize>,
    beyond: &mut Option<u32>,
    col: u32,
    value: Cow<'_, str>,
    row: u32,
) -> Result<(), FileError> {
    let index = col as usize;
    let limit = width.unwrap_or(MAX_COLUMNS);
    if index >= limit {
        if value.trim().is_empty() {
            return Ok(());
        }
        if width.is_none() {
            return Err(too_large(format!(
                "Row {row} of the XLSX has a value in column {}; a header has at most {MAX_COLUMNS} columns",
                column_name(col)
            )));
        }
        beyond.get_or_insert(col);
        return Ok(());
    }
    if cells.len() <= index {
        // Bounded by `limit`: at most the header's width.
        cells.resize(index + 1, String::new());
    }
    cells[index].clear();
    cells[index].push_str(&value);
    Ok(())
}

/// Emits a finished row: blank rows are skipped; the first other row is the
/// header and fixes the width; shorter rows are padded (empty cells are
/// simply absent from the sheet).
fn flush(
    row: u32,
    cells: &mut Vec<String>,
    width: &mut Option<usize>,
    beyond: Option<u32>,
    each: &mut dyn FnMut(Record<'_>) -> ControlFlow<()>,
) -> ControlFlow<()> {
    while cells.last().is_some_and(|c| c.is_empty()) {
        cells.pop();
    }
    if beyond.is_none() && cells.iter().all(|c| c.trim().is_empty()) {
        cells.clear();
        return ControlFlow::Continue(());
    }
    let w = *width.get_or_insert(cells.len());
    if cells.len() < w {
        cells.resize(w, String::new());
    }
    let flow = each(Record {
        row,
        cells,
        unknown: &[],
        beyond,
    });
    cells.clear();
    flow
}

/// An Excel serial date as `YYYY-MM-DD HH:MM:SS`; `None` outside Excel's
/// range (years 1900 to 9999), where the number is shown as it is.
fn excel_date(serial: f64, date1904: bool) -> Option<String> {
    use chrono::{Datelike, NaiveDate, TimeDelta, Timelike};
    // Day 60 of the 1900 system is the 29 February 1900 Excel believes in:
    // earlier days are one day later than a plain count says.
    let days = if date1904 { serial + 1462.0 } else { serial };
    if !(0.0..2_958_466.0).contains(&days) {
        return None;
    }
    let days = if days >= 60.0 { days } else { days + 1.0 };
    let ms = (days * 86_400_000.0).round() as i64;
    let at = NaiveDate::from_ymd_opt(1899, 12, 30)?
        .and_hms_opt(0, 0, 0)?
        .checked_add_signed(TimeDelta::try_milliseconds(ms)?)?;
    Some(format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        at.second()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// (row, cells, first column beyond the header) of each record.
    type Rows = Vec<(u32, Vec<String>, Option<u32>)>;

    fn rows_of(path: &Path) -> Result<Rows, FileError> {
        let mut rows = Vec::new();
        read_xlsx(path, &mut |r: Record<'_>| {
            rows.push((r.row, r.cells.to_vec(), r.beyond));
            ControlFlow::Continue(())
        })?;
        Ok(rows)
    }

    #[test]
    fn the_libreoffice_fixture_reads_as_before() {
        // As calamine read it: the header fixes the width, date cells in
        // full, whole numbers bare, blanks kept, a trailing blank padded.
        let rows = rows_of(Path::new(
            "../tests/fixtures/uploads/water_libreoffice.xlsx",
        ))
        .unwrap();
        let source =
            std::fs::read_to_string("../tests/fixtures/uploads/water_libreoffice_source.csv")
                .unwrap();
        let mut csv = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(source.as_bytes());
        let expected: Vec<Vec<String>> = csv
            .records()
            .map(|r| {
                r.unwrap()
                    .iter()
                    .map(|c| match c {
                        // LibreOffice made these date cells.
                        "2025-10-08" => "2025-10-08 00:00:00".to_owned(),
                        c if c.len() == 16 && c.starts_with("2025-10-0") => format!("{c}:00"),
                        c => c.to_owned(),
                    })
                    .collect()
            })
            .collect();
        assert_eq!(rows.len(), 5);
        for (i, (row, cells, beyond)) in rows.iter().enumerate() {
            assert_eq!(*row, i as u32 + 1);
            assert_eq!(cells, &expected[i]);
            assert_eq!(*beyond, None);
        }
    }

    #[test]
    fn the_fuzz_seeds_read_as_their_names_say() {
        let seeds = Path::new("../fuzz/seeds/upload_xlsx");
        let rows = rows_of(&seeds.join("cell_kinds.xlsx")).unwrap();
        let (row, cells, _) = rows.last().unwrap();
        assert_eq!(*row, 9);
        // Rich runs joined, phonetic text left out, entities resolved;
        // booleans, errors, ISO dates and formula results as shown.
        assert_eq!(
            &cells[..5],
            ["a&b一", "TRUE", "#N/A", "2025-10-05T10:30:00", "s"]
        );
        assert_eq!(cells.len(), 14);
        let error = rows_of(&seeds.join("unique_count_10e13.xlsx")).unwrap_err();
        assert_eq!(error.code(), "xlsx_too_large", "{error}");
        let error = rows_of(&seeds.join("header_at_xfd.xlsx")).unwrap_err();
        assert_eq!(error.code(), "xlsx_too_large", "{error}");
    }

    #[test]
    fn inflated_parts_stop_at_their_limits_whatever_they_declare() {
        let guard = |budget: u64, ratio_cap: u64| Inflated {
            inner: io::repeat(b'a'),
            role: "worksheet",
            produced: 0,
            budget,
            total_mib: budget / (1024 * 1024),
            ratio_cap,
            since_token: 0,
            violation: None,
        };
        let mut sink = vec![0u8; 64 * 1024];
        // (limits, whether the XML reader finishes tokens meanwhile, message)
        for (mut part, tokens, says) in [
            (guard(8 << 20, u64::MAX), true, "MiB of XML"),
            (guard(u64::MAX, 4 << 20), true, "times its compressed size"),
            (guard(u64::MAX, u64::MAX), false, "tag or text longer"),
        ] {
            let error = loop {
                if let Err(e) = part.read(&mut sink) {
                    break e;
                }
                if tokens {
                    part.since_token = 0;
                }
                assert!(part.produced < 16 << 20, "never stopped: {says}");
            };
            assert!(error.to_string().contains(says), "{error}");
            assert!(part.violation.is_some());
        }
    }

    #[test]
    fn column_letters_round_trip_within_the_grid() {
        for (letters, index) in [("A", 0), ("Z", 25), ("AA", 26), ("XFD", 16_383)] {
            assert_eq!(column_index(letters), Some(index));
            assert_eq!(column_name(index), letters);
        }
        assert_eq!(column_index("XFE"), None);
        assert_eq!(column_index("a"), None);
        assert_eq!(cell_ref("B1048577"), None);
        assert_eq!(cell_ref("B12"), Some((1, 12)));
    }

    #[test]
    fn excel_dates_match_the_spreadsheet() {
        assert_eq!(
            excel_date(45935.4375, false).as_deref(),
            Some("2025-10-05 10:30:00")
        );
        assert_eq!(
            excel_date(61.0, false).as_deref(),
            Some("1900-03-01 00:00:00")
        );
        assert_eq!(
            excel_date(1.0, false).as_deref(),
            Some("1900-01-01 00:00:00")
        );
        assert_eq!(
            excel_date(0.0, true).as_deref(),
            Some("1904-01-01 00:00:00")
        );
        assert_eq!(excel_date(-1.0, false), None);
        assert_eq!(excel_date(1e300, false), None);
    }

    #[test]
    fn date_formats_are_told_from_number_formats() {
        assert!(is_date_format("yyyy-mm-dd hh:mm"));
        assert!(is_date_format("[h]:mm:ss"));
        assert!(!is_date_format("0.00"));
        assert!(!is_date_format("\"d\"0"));
        assert!(!is_date_format("[Red]0.0"));
    }

    #[test]
    fn relationship_targets_resolve_inside_the_archive() {
        assert_eq!(
            resolve("worksheets/sheet1.xml").as_deref(),
            Some("xl/worksheets/sheet1.xml")
        );
        assert_eq!(
            resolve("/xl/worksheets/s.xml").as_deref(),
            Some("xl/worksheets/s.xml")
        );
        assert_eq!(resolve("../x.xml").as_deref(), Some("x.xml"));
        assert_eq!(resolve("../../x.xml"), None);
    }
}

//! The rating-integrity detector (`integrity.md`): per (period, institution),
//! measures over the pool of live citizen responses, their robust z against
//! a baseline of like institutions, and flags. It only reports: nothing here
//! feeds an indicator.
//!
//! The row-level part is a parallel pass over the four optional
//! `responses` columns (`submitted_at`, `respondent`, `network`,
//! `comment_key`), read with the other response columns, in pieces of rows:
//! every `submitted_at` is checked, and each pool response keeps a few
//! integers (its row, group and instant, 64-bit keys of its network and
//! comment key). The pool rows are grouped by (period, institution) and each
//! group's measures computed in parallel over small sorted slices, checking
//! equal keys against the strings, so the figures are exact. The baselines,
//! z and flags are then computed over the (small) group table.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use polars::prelude::*;
use polars_core::runtime::RAYON;
use polars_core::utils::rayon::prelude::*;

use crate::columns::*;
use crate::error::{AnalysisError, input_err};
use crate::indicators::{r6, round6};
use crate::model::{IntegrityParams, Model};
use crate::stages::KeyTables;
use crate::stages::internal::*;

/// Not in any pool (assessor or voided).
const NOT_POOL: u32 = u32::MAX;

/// Longest part of a bad value quoted in an error message.
const QUOTE_CHARS: usize = 40;

// ---------------------------------------------------------------------------
// Instants

/// A `submitted_at` instant at full precision: seconds since
/// 1970-01-01T00:00:00Z, the first nine fraction digits as nanoseconds, and
/// the digits beyond (see [`Stamp::rest`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Stamp<'a> {
    pub sec: i64,
    pub nanos: u32,
    /// Fraction digits after the ninth, trailing zeros removed (so that
    /// comparing these digit strings compares the values).
    pub rest: &'a str,
}

impl Ord for Stamp<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.sec, self.nanos, self.rest).cmp(&(other.sec, other.nanos, other.rest))
    }
}

impl PartialOrd for Stamp<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Days from 1970-01-01 to the proleptic Gregorian date (H. Hinnant's
/// `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The date of a day count from 1970-01-01 (`civil_from_days`).
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const SHAPE: &str = "expected YYYY-MM-DDTHH:MM:SS[.F] followed by Z or ±HH:MM";

/// Parses `submitted_at` as the spec has it: `YYYY-MM-DDTHH:MM:SS[.F]`, then
/// `Z` or `±HH:MM` (`T` and `Z` in either case; F one or more digits, all
/// kept); the instant in UTC must fall in the years 0000–9999.
pub(crate) fn parse_stamp(s: &str) -> Result<Stamp<'_>, String> {
    let b = s.as_bytes();
    let digits = |from: usize, len: usize| -> Option<i64> {
        let part = b.get(from..from + len)?;
        part.iter().try_fold(0i64, |acc, c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let at = |i: usize, allowed: &[u8]| b.get(i).is_some_and(|c| allowed.contains(c));
    let shape = || SHAPE.to_owned();
    let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
        digits(0, 4),
        digits(5, 2),
        digits(8, 2),
        digits(11, 2),
        digits(14, 2),
        digits(17, 2),
    ) else {
        return Err(shape());
    };
    if !(at(4, b"-") && at(7, b"-") && at(10, b"Tt") && at(13, b":") && at(16, b":")) {
        return Err(shape());
    }
    let mut i = 19;
    let mut fraction = "";
    if at(i, b".") {
        let start = i + 1;
        let mut end = start;
        while b.get(end).is_some_and(u8::is_ascii_digit) {
            end += 1;
        }
        if end == start {
            return Err(shape());
        }
        fraction = &s[start..end];
        i = end;
    }
    let offset_seconds = if at(i, b"Zz") && b.len() == i + 1 {
        0
    } else if at(i, b"+-") && at(i + 3, b":") && b.len() == i + 6 {
        let (Some(oh), Some(om)) = (digits(i + 1, 2), digits(i + 4, 2)) else {
            return Err(shape());
        };
        if oh > 23 || om > 59 {
            return Err(format!("offset {} out of range", &s[i..]));
        }
        let sign = if b[i] == b'-' { -1 } else { 1 };
        sign * (oh * 3600 + om * 60)
    } else {
        return Err(shape());
    };
    if !(1..=12).contains(&month) {
        return Err(format!("month {month:02} out of range"));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!(
            "day {day:02} out of range for {year:04}-{month:02}"
        ));
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err(format!(
            "time {hour:02}:{minute:02}:{second:02} out of range"
        ));
    }
    let sec = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
        - offset_seconds;
    if sec < days_from_civil(0, 1, 1) * 86_400 || sec >= days_from_civil(10_000, 1, 1) * 86_400 {
        return Err("falls outside the years 0000-9999 in UTC".to_owned());
    }
    let first = &fraction[..fraction.len().min(9)];
    let nanos = first
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(9)
        .fold(0u32, |acc, c| acc * 10 + u32::from(c - b'0'));
    let rest = fraction.get(9..).unwrap_or("").trim_end_matches('0');
    Ok(Stamp { sec, nanos, rest })
}

/// `YYYY-MM-DDTHH:MM:SS.sssZ` in UTC, the milliseconds cut off, not rounded.
pub(crate) fn format_stamp(sec: i64, nanos: u32) -> String {
    let (y, m, d) = civil_from_days(sec.div_euclid(86_400));
    let s = sec.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        nanos / 1_000_000
    )
}

/// A bad value, shortened for a message (input must not flood a log).
fn quote(s: &str) -> String {
    if s.chars().count() > QUOTE_CHARS {
        format!("{}…", s.chars().take(QUOTE_CHARS).collect::<String>())
    } else {
        s.to_owned()
    }
}

// ---------------------------------------------------------------------------
// The row pass

type StrArray = <StringType as PolarsDataType>::Array;

/// One of the four text columns, chunk by chunk, with random access by row.
struct Text<'a> {
    arrays: Vec<&'a StrArray>,
    /// First row of each chunk.
    starts: Vec<usize>,
}

impl<'a> Text<'a> {
    fn new(column: &'a StringChunked) -> Text<'a> {
        let arrays: Vec<&StrArray> = column.downcast_iter().collect();
        let starts = arrays
            .iter()
            .scan(0, |start, a| {
                let first = *start;
                *start += a.len();
                Some(first)
            })
            .collect();
        Text { arrays, starts }
    }

    /// The value at `row`; an empty string is null (`integrity.md`).
    fn get(&self, row: usize) -> Option<&'a str> {
        let chunk = self.starts.partition_point(|&s| s <= row).checked_sub(1)?;
        present(self.arrays.get(chunk)?.get(row - self.starts[chunk]))
    }

    /// The chunk holding `row`, read by row number (no empty-string rule).
    fn slice(&self, row: usize) -> Option<Slice<'a>> {
        let chunk = self.starts.partition_point(|&s| s <= row).checked_sub(1)?;
        Some(Slice {
            array: self.arrays.get(chunk)?,
            start: self.starts[chunk],
        })
    }

    /// Where a chunk of this column ends.
    fn ends(&self) -> impl Iterator<Item = usize> + '_ {
        self.starts
            .iter()
            .zip(&self.arrays)
            .map(|(s, a)| s + a.len())
    }
}

/// One chunk of a [`Text`], indexed by row number.
#[derive(Clone, Copy)]
struct Slice<'a> {
    array: &'a StrArray,
    start: usize,
}

impl<'a> Slice<'a> {
    fn get(&self, row: usize) -> Option<&'a str> {
        self.array.get(row - self.start)
    }
}

/// Null for an empty string (`respondent`, `network`, `comment_key`).
fn present(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// Seeds of the 64-bit keys of network, comment and respondent strings. A
/// key only sorts and groups the strings: equal keys are always checked
/// against the strings themselves, so a collision costs time, never a
/// wrong figure.
const HASHER: PlFixedStateQuality = PlFixedStateQuality::with_seed(0x9e37_79b9_7f4a_7c15);

fn key(s: &str) -> u64 {
    HASHER.hash_one(s)
}

/// The sort key of a network or comment string: its first four bytes
/// (zero-padded, big-endian) above 32 bits of its [`key`]. Equal strings
/// have equal keys; keys that differ in their top half order the strings
/// as the strings order (a zero pad sorts like the end of a string), so
/// most ties in [`top`] are settled without reading the strings, which at
/// 10M rows sit in random order in memory (a cache miss each).
fn sort_key(s: &str) -> u64 {
    let mut prefix = [0u8; 4];
    for (p, b) in prefix.iter_mut().zip(s.bytes()) {
        *p = b;
    }
    (u64::from(u32::from_be_bytes(prefix)) << 32) | (key(s) & 0xffff_ffff)
}

/// Rows per piece of the parallel row pass.
const PIECE_ROWS: usize = 1 << 16;

/// `PoolRow::flags`: the row has a network, a comment key, fraction digits
/// beyond the nanosecond.
const HAS_NET: u8 = 1;
const HAS_COMMENT: u8 = 2;
const HAS_REST: u8 = 4;

/// What the measures need of one pool response.
#[derive(Clone, Copy, Default)]
struct PoolRow {
    /// Row in `responses` (`__rid`).
    row: u32,
    group: u32,
    /// The instant (see [`Stamp`]); its digits beyond the nanosecond, when
    /// [`HAS_REST`], are parsed again from the text when compared.
    sec: i64,
    nanos: u32,
    /// [`sort_key`]s of the network and comment key, when present.
    net: u64,
    comment: u64,
    flags: u8,
}

/// What one piece of rows gives: its first bad `submitted_at`, its pool
/// rows and the keys of those with a respondent (see [`respondent_key`]).
#[derive(Default)]
struct Piece {
    first_bad: Option<(usize, String)>,
    pool: Vec<PoolRow>,
    respondents: Vec<u128>,
}

/// A respondent's pool row as one sortable integer: the respondent's
/// [`key`], its group, its row.
fn respondent_key(respondent: &str, group: u32, row: u32) -> u128 {
    (u128::from(key(respondent)) << 64) | (u128::from(group) << 32) | u128::from(row)
}

fn key_group(key: u128) -> u32 {
    (key >> 32) as u32
}

fn key_row(key: u128) -> usize {
    key as u32 as usize
}

/// The four text columns of the responses.
struct Columns<'a> {
    submitted: Text<'a>,
    respondent: Text<'a>,
    network: Text<'a>,
    comment: Text<'a>,
}

/// Checks the `submitted_at` of rows `rows` (a range of rows inside one
/// chunk of every column, see [`Text::slice`]) and gathers their pool rows.
fn piece(
    columns: &Columns<'_>,
    rows: std::ops::Range<usize>,
    has_time: bool,
    groups_of_rows: &[u32],
) -> Piece {
    let mut out = Piece::default();
    let (Some(submitted), Some(respondent), Some(network), Some(comment)) = (
        columns.submitted.slice(rows.start),
        columns.respondent.slice(rows.start),
        columns.network.slice(rows.start),
        columns.comment.slice(rows.start),
    ) else {
        return out;
    };
    out.pool.reserve(rows.len());
    // Most rows have a respondent: one allocation instead of a doubling
    // series of copies into fresh memory.
    out.respondents.reserve(rows.len());
    for row in rows {
        let text = submitted.get(row);
        let stamp = if has_time {
            // An empty string is as empty as a null (Parquet has both).
            match text.filter(|s| !s.is_empty()).map(parse_stamp) {
                Some(Ok(stamp)) => Some(stamp),
                Some(Err(problem)) => {
                    let value = quote(text.unwrap_or_default());
                    let problem =
                        format!("submitted_at '{value}' is not an RFC 3339 time: {problem}");
                    out.first_bad = Some((row, problem));
                    return out;
                }
                None => {
                    out.first_bad = Some((row, "submitted_at is empty".to_owned()));
                    return out;
                }
            }
        } else {
            None
        };
        let group = groups_of_rows.get(row).copied().unwrap_or(NOT_POOL);
        if group == NOT_POOL {
            continue;
        }
        let mut pool_row = PoolRow {
            row: row as u32,
            group,
            ..PoolRow::default()
        };
        if let Some(stamp) = stamp {
            pool_row.sec = stamp.sec;
            pool_row.nanos = stamp.nanos;
            if !stamp.rest.is_empty() {
                pool_row.flags |= HAS_REST;
            }
        }
        if let Some(net) = present(network.get(row)) {
            pool_row.net = sort_key(net);
            pool_row.flags |= HAS_NET;
        }
        if let Some(c) = present(comment.get(row)) {
            pool_row.comment = sort_key(c);
            pool_row.flags |= HAS_COMMENT;
        }
        if let Some(r) = present(respondent.get(row)) {
            out.respondents.push(respondent_key(r, group, pool_row.row));
        }
        out.pool.push(pool_row);
    }
    out
}

/// The instant of a pool row, `shift` seconds later, compared with that of
/// another at full precision.
fn cmp_instants(a: &PoolRow, shift: i64, b: &PoolRow, submitted: &Text<'_>) -> Ordering {
    let rest = |r: &PoolRow| -> &str {
        if r.flags & HAS_REST == 0 {
            return "";
        }
        submitted
            .get(r.row as usize)
            .and_then(|s| parse_stamp(s).ok())
            .map_or("", |s| s.rest)
    };
    (a.sec.saturating_add(shift), a.nanos)
        .cmp(&(b.sec, b.nanos))
        .then_with(|| {
            if (a.flags | b.flags) & HAS_REST == 0 {
                Ordering::Equal
            } else {
                rest(a).cmp(rest(b))
            }
        })
}

/// The distinct strings among `rows` (pairs of [`sort_key`] and row), each
/// as (count, a row holding it, its sort key). Sorts `rows`. Rows with equal
/// keys are checked against the text; a collision is split by the strings.
/// A key held by one row needs no check (nor a read of its string).
fn distinct(rows: &mut [(u64, u32)], text: &Text<'_>) -> Vec<(usize, u32, u64)> {
    rows.sort_unstable();
    let mut out = Vec::new();
    for run in rows.chunk_by_mut(|a, b| a.0 == b.0) {
        if run.len() == 1 {
            out.push((1, run[0].1, run[0].0));
            continue;
        }
        let first = text.get(run[0].1 as usize);
        if run[1..].iter().all(|r| text.get(r.1 as usize) == first) {
            out.push((run.len(), run[0].1, run[0].0));
            continue;
        }
        run.sort_by(|a, b| text.get(a.1 as usize).cmp(&text.get(b.1 as usize)));
        for same in run.chunk_by(|a, b| text.get(a.1 as usize) == text.get(b.1 as usize)) {
            out.push((same.len(), same[0].1, same[0].0));
        }
    }
    out
}

/// The most frequent of [`distinct`]'s strings and its count; ties go to the
/// smallest string. None when no string occurs `min_count` times (then no
/// string is read). Ties are settled by the top halves of the sort keys
/// (the strings' first bytes, see [`sort_key`]) and only read the strings
/// when those are equal.
fn top(counts: &[(usize, u32, u64)], text: &Text<'_>, min_count: usize) -> Option<(usize, u32)> {
    let max = counts.iter().map(|c| c.0).max()?;
    if max < min_count {
        return None;
    }
    let mut best: Option<(u32, u64)> = None;
    for &(n, row, k) in counts {
        if n != max {
            continue;
        }
        let better = match best {
            None => true,
            Some((b, bk)) => match (k >> 32).cmp(&(bk >> 32)) {
                Ordering::Less => true,
                Ordering::Greater => false,
                Ordering::Equal => text.get(row as usize) < text.get(b as usize),
            },
        };
        if better {
            best = Some((row, k));
        }
    }
    best.map(|(row, _)| (max, row))
}

/// For each group, the number of its pool responses whose respondent roams:
/// appears on pool responses of at least `min_distinct` institutions of the
/// period. Sorted, a respondent's rows of one period are one run (same key,
/// same period, after checking the strings), its institutions sub-runs (the
/// group is `period * n_institutions + institution`).
fn roaming_counts(
    respondents: &[u128],
    text: &Text<'_>,
    n_institutions: u32,
    min_distinct: i64,
    counts: &mut [u32],
) {
    let period = |k: u128| key_group(k) / n_institutions.max(1);
    let same = |a: &u128, b: &u128| a >> 64 == b >> 64 && period(*a) == period(*b);
    let count = |run: &[u128], counts: &mut [u32]| {
        let institutions: Vec<&[u128]> = run
            .chunk_by(|a, b| key_group(*a) == key_group(*b))
            .collect();
        if (institutions.len() as i64) < min_distinct {
            return;
        }
        for rows in institutions {
            if let Some(c) = counts.get_mut(key_group(rows[0]) as usize) {
                *c += rows.len() as u32;
            }
        }
    };
    for run in respondents.chunk_by(same) {
        // Most respondents rate one institution: no need to look closer
        // (nor at the strings: a run mixing respondents is shorter than
        // each of theirs would need to be).
        if (run.len() as i64) < min_distinct {
            continue;
        }
        let first = text.get(key_row(run[0]));
        if run[1..].iter().all(|&k| text.get(key_row(k)) == first) {
            count(run, counts);
            continue;
        }
        // Two respondents with one key: split by the strings, each keeping
        // its rows in key (group) order.
        let mut split = run.to_vec();
        split.sort_by(|&a, &b| {
            text.get(key_row(a))
                .cmp(&text.get(key_row(b)))
                .then(a.cmp(&b))
        });
        for one in split.chunk_by(|&a, &b| text.get(key_row(a)) == text.get(key_row(b))) {
            count(one, counts);
        }
    }
}

/// The measures of one group (a non-empty run of pool rows of one group).
struct GroupOut {
    piid: u64,
    network: Option<(f64, String, i64)>,
    burst: Option<(f64, String, i64)>,
    /// The share, and the top key with its count when it occurs twice.
    comment: Option<(f64, Option<(String, i64)>)>,
    roaming: Option<f64>,
}

/// Reused buffers of [`group_measures`].
#[derive(Default)]
struct Scratch {
    keys: Vec<(u64, u32)>,
    timed: Vec<PoolRow>,
}

fn group_measures(
    rows: &[PoolRow],
    columns: &Columns<'_>,
    has_time: bool,
    with_respondent: &[u32],
    roaming: &[u32],
    p: &IntegrityParams,
    scratch: &mut Scratch,
) -> GroupOut {
    let g = rows[0].group as usize;
    let n = rows.len() as f64;
    let name = |text: &Text<'_>, row: u32| text.get(row as usize).unwrap_or_default().to_owned();

    let keys = &mut scratch.keys;
    keys.clear();
    keys.extend(
        rows.iter()
            .filter(|r| r.flags & HAS_NET != 0)
            .map(|r| (r.net, r.row)),
    );
    let network = top(&distinct(keys, &columns.network), &columns.network, 1)
        .map(|(count, row)| (count as f64 / n, name(&columns.network, row), count as i64));

    // Timed: pool rows with a network; none without the time column.
    let timed = &mut scratch.timed;
    timed.clear();
    if has_time {
        timed.extend(rows.iter().filter(|r| r.flags & HAS_NET != 0).copied());
    }
    let submitted = &columns.submitted;
    timed.sort_unstable_by(|a, b| cmp_instants(a, 0, b, submitted));
    let window_secs = p.burst_window_minutes.saturating_mul(60);
    let mut best: Option<(usize, PoolRow)> = None;
    let mut j = 0;
    for (i, t) in timed.iter().enumerate() {
        // Count the instants before t + window.
        while j < timed.len() && cmp_instants(t, window_secs, &timed[j], submitted).is_gt() {
            j += 1;
        }
        // Equal instants: the first of them has the largest count, so the
        // first row reaching the maximum is the earliest `t`.
        let count = j - i;
        if best.is_none_or(|(b, _)| count > b) {
            best = Some((count, *t));
        }
    }
    let burst =
        best.map(|(count, t)| (count as f64 / n, format_stamp(t.sec, t.nanos), count as i64));

    keys.clear();
    keys.extend(
        rows.iter()
            .filter(|r| r.flags & HAS_COMMENT != 0)
            .map(|r| (r.comment, r.row)),
    );
    let comment = if (keys.len() as i64) < p.min_comments {
        None
    } else {
        let with_comment = keys.len() as f64;
        let counts = distinct(keys, &columns.comment);
        let repeated: usize = counts.iter().map(|c| c.0).filter(|&c| c >= 2).sum();
        let top_key = top(&counts, &columns.comment, 2)
            .map(|(count, row)| (name(&columns.comment, row), count as i64));
        Some((repeated as f64 / with_comment, top_key))
    };

    GroupOut {
        piid: g as u64,
        network,
        burst,
        comment,
        roaming: (with_respondent.get(g).copied().unwrap_or(0) > 0)
            .then(|| f64::from(roaming.get(g).copied().unwrap_or(0)) / n),
    }
}

/// The per-group measures as a table keyed by `__piid`.
fn measures_frame(groups: Vec<GroupOut>) -> PolarsResult<DataFrame> {
    let mut piid = Vec::with_capacity(groups.len());
    let mut network_top_share = Vec::with_capacity(groups.len());
    let mut top_network = Vec::with_capacity(groups.len());
    let mut top_network_n = Vec::with_capacity(groups.len());
    let mut burst_share = Vec::with_capacity(groups.len());
    let mut burst_start = Vec::with_capacity(groups.len());
    let mut burst_n = Vec::with_capacity(groups.len());
    let mut duplicate_comment_share = Vec::with_capacity(groups.len());
    let mut top_comment_key = Vec::with_capacity(groups.len());
    let mut top_comment_n = Vec::with_capacity(groups.len());
    let mut roaming_share = Vec::with_capacity(groups.len());
    for g in groups {
        piid.push(g.piid);
        let (share, name, count) = g
            .network
            .map_or((None, None, None), |(s, t, c)| (Some(s), Some(t), Some(c)));
        network_top_share.push(share);
        top_network.push(name);
        top_network_n.push(count);
        let (share, start, count) = g
            .burst
            .map_or((None, None, None), |(s, t, c)| (Some(s), Some(t), Some(c)));
        burst_share.push(share);
        burst_start.push(start);
        burst_n.push(count);
        let (share, top) = g.comment.map_or((None, None), |(s, t)| (Some(s), t));
        duplicate_comment_share.push(share);
        let (key, count) = top.map_or((None, None), |(k, c)| (Some(k), Some(c)));
        top_comment_key.push(key);
        top_comment_n.push(count);
        roaming_share.push(g.roaming);
    }
    df!(
        PIID => piid,
        NETWORK_TOP_SHARE => network_top_share,
        TOP_NETWORK => top_network,
        TOP_NETWORK_N => top_network_n,
        BURST_SHARE => burst_share,
        BURST_START => burst_start,
        BURST_N => burst_n,
        DUPLICATE_COMMENT_SHARE => duplicate_comment_share,
        TOP_COMMENT_KEY => top_comment_key,
        TOP_COMMENT_N => top_comment_n,
        ROAMING_SHARE => roaming_share,
    )
}

// ---------------------------------------------------------------------------
// The stage

/// The measures that need the responses' rows (network, burst, duplicate
/// comment, roaming), one row per (period, institution) with a pool, keyed
/// by `__piid`; refuses a bad `submitted_at`.
///
/// `texts` holds the four optional columns (`submitted_at`, `respondent`,
/// `network`, `comment_key`, as text; all null when missing) in `__rid`
/// order, `has_time` whether the input has `submitted_at`, `keys` the
/// response keys (`__rid` order, see [`crate::stages::response_keys`]),
/// `ids` the `response_id`s (for messages), `n_groups` the number of
/// (period, institution) pairs.
///
/// The rows are checked and reduced to integers in parallel pieces; the
/// pool rows are then grouped (a counting sort) and each group's measures
/// computed in parallel over small sorted slices.
pub(crate) fn row_measures(
    texts: &DataFrame,
    has_time: bool,
    keys: &DataFrame,
    ids: &Column,
    n_groups: usize,
    n_institutions: usize,
    params: &IntegrityParams,
) -> Result<DataFrame, AnalysisError> {
    let n_inst = u32::try_from(n_institutions).ok();
    let fits =
        u32::try_from(n_groups).is_ok_and(|n| n < NOT_POOL) && u32::try_from(keys.height()).is_ok();
    let (Some(n_inst), true) = (n_inst, fits) else {
        return Err(AnalysisError::Polars(polars_err!(
            ComputeError: "too many responses or period-institution pairs for the integrity stage"
        )));
    };
    // The group of each response, NOT_POOL outside the pools.
    let pool = keys
        .clone()
        .lazy()
        .select([when(col(IS_CITIZEN).and(col(VOIDED).not()))
            .then(col(PIDX).cast(DataType::UInt32) * lit(n_inst) + col(IIDX).cast(DataType::UInt32))
            .otherwise(lit(NOT_POOL))
            .alias(PIID)])
        .collect()?;
    let groups_of_rows: Vec<u32> = pool
        .column(PIID)?
        .u32()?
        .iter()
        .map(|g| g.unwrap_or(NOT_POOL))
        .collect();
    drop(pool);

    let text = |name: &str| -> PolarsResult<StringChunked> {
        let c = texts.column(name)?;
        Ok(if c.dtype().is_string() {
            c.str()?.clone()
        } else {
            c.cast(&DataType::String)?.str()?.clone()
        })
    };
    let (submitted, respondent, network, comment) = (
        text(SUBMITTED_AT)?,
        text(RESPONDENT)?,
        text(NETWORK)?,
        text(COMMENT_KEY)?,
    );
    let columns = Columns {
        submitted: Text::new(&submitted),
        respondent: Text::new(&respondent),
        network: Text::new(&network),
        comment: Text::new(&comment),
    };
    // Pieces of rows that cross no chunk boundary of any column (the
    // columns come from one read, but need not share their chunks; aligning
    // them would copy them).
    let mut cuts: Vec<usize> = [
        &columns.submitted,
        &columns.respondent,
        &columns.network,
        &columns.comment,
    ]
    .iter()
    .flat_map(|t| t.ends())
    .collect();
    cuts.push(0);
    cuts.sort_unstable();
    cuts.dedup();
    let pieces: Vec<std::ops::Range<usize>> = cuts
        .windows(2)
        .flat_map(|w| {
            (w[0]..w[1])
                .step_by(PIECE_ROWS)
                .map(move |from| from..(from + PIECE_ROWS).min(w[1]))
        })
        .collect();
    let mut pieces: Vec<Piece> = RAYON.install(|| {
        pieces
            .into_par_iter()
            .map(|rows| piece(&columns, rows, has_time, &groups_of_rows))
            .collect()
    });
    drop(groups_of_rows);
    if let Some((row, problem)) = pieces.iter().find_map(|p| p.first_bad.clone()) {
        let id = ids.str()?.get(row).filter(|id| !id.is_empty()).map_or_else(
            || format!("row {}", row + 1),
            |id| format!("response_id '{}'", quote(id)),
        );
        return input_err(RESPONSES, id, problem);
    }

    // Roaming, over every period's respondents at once.
    let mut respondents: Vec<u128> =
        Vec::with_capacity(pieces.iter().map(|p| p.respondents.len()).sum());
    let mut with_respondent = vec![0u32; n_groups];
    for p in &mut pieces {
        for &k in &p.respondents {
            with_respondent[key_group(k) as usize] += 1;
        }
        respondents.extend_from_slice(&std::mem::take(&mut p.respondents));
    }
    RAYON.install(|| respondents.par_sort_unstable());
    let mut roaming = vec![0u32; n_groups];
    roaming_counts(
        &respondents,
        &columns.respondent,
        n_inst,
        params.roaming_institutions,
        &mut roaming,
    );
    drop(respondents);

    // Pool rows grouped by group (a counting sort), each group in row order.
    let mut next = vec![0usize; n_groups + 1];
    for p in &pieces {
        for r in &p.pool {
            next[r.group as usize + 1] += 1;
        }
    }
    for g in 0..n_groups {
        next[g + 1] += next[g];
    }
    let mut grouped = vec![PoolRow::default(); next[n_groups]];
    for p in pieces {
        for r in p.pool {
            grouped[next[r.group as usize]] = r;
            next[r.group as usize] += 1;
        }
    }
    drop(next);

    let groups: Vec<GroupOut> = RAYON.install(|| {
        grouped
            .par_chunk_by(|a, b| a.group == b.group)
            .map_init(Scratch::default, |scratch, rows| {
                group_measures(
                    rows,
                    &columns,
                    has_time,
                    &with_respondent,
                    &roaming,
                    params,
                    scratch,
                )
            })
            .collect()
    });
    Ok(measures_frame(groups)?)
}

/// The `integrity` table from [`row_measures`] and the classified responses
/// (pool size, all-top and speeder shares), with the codes of `__piid`.
pub(crate) fn integrity(
    row_measures: DataFrame,
    classified: &DataFrame,
    key_tables: &KeyTables,
    model: &Model,
) -> Result<DataFrame, AnalysisError> {
    let k = model.scale_points;
    let in_pool = col(IS_CITIZEN).and(col(VOIDED).not());
    // Every answered rating is K exactly when the ratings (each <= K) sum
    // to K times their count.
    let all_top = col(ANSWERED)
        .gt_eq(lit(4))
        .and(col(RATING_SUM).eq(col(ANSWERED) * lit(k)));
    let counts = classified
        .clone()
        .lazy()
        .filter(in_pool)
        .group_by([col(PIID)])
        .agg([
            len().cast(DataType::Int64).alias(N),
            all_top.sum().cast(DataType::Float64).alias("__all_top"),
            col(SPEEDER)
                .sum()
                .cast(DataType::Float64)
                .alias("__speeder"),
        ]);
    let table = counts
        .join(
            row_measures.lazy(),
            [col(PIID)],
            [col(PIID)],
            JoinArgs::new(JoinType::Left),
        )
        .join(
            key_tables.piid.clone().lazy(),
            [col(PIID)],
            [col(PIID)],
            JoinArgs::new(JoinType::Left),
        )
        .with_columns([
            (col("__all_top") / col(N).cast(DataType::Float64)).alias(ALL_TOP_SHARE),
            (col("__speeder") / col(N).cast(DataType::Float64)).alias(SPEEDER_SHARE),
        ]);
    Ok(flag(table, model)?
        .select(INTEGRITY_COLUMNS.map(col))
        .sort([PERIOD, INSTITUTION_CODE], SortMultipleOptions::default())
        .collect()?)
}

/// The median of a non-empty list (the mean of the two middle values for an
/// even count); sorts it.
fn median(values: &mut [f64]) -> f64 {
    values.sort_unstable_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// `(med, mad)` of a baseline with at least `min` values.
fn baseline(values: &[f64], min: i64) -> Option<(f64, f64)> {
    if (values.len() as i64) < min || values.is_empty() {
        return None;
    }
    let mut sorted = values.to_vec();
    let med = median(&mut sorted);
    let mut deviations: Vec<f64> = values.iter().map(|x| (x - med).abs()).collect();
    Some((med, median(&mut deviations)))
}

/// The robust z of one measure for every row of the group table: against
/// the row's (period, category) baseline, else its period's; null for a
/// small pool, a null value or too small a baseline.
fn robust_z(
    x: &[Option<f64>],
    sized: &[bool],
    periods: &[Option<&str>],
    categories: &[Option<&str>],
    model: &Model,
) -> Vec<Option<f64>> {
    let p = &model.integrity;
    let mut by_category: PlHashMap<(Option<&str>, Option<&str>), Vec<f64>> = PlHashMap::new();
    let mut by_period: PlHashMap<Option<&str>, Vec<f64>> = PlHashMap::new();
    for i in 0..x.len() {
        if let (Some(v), true) = (x[i], sized[i]) {
            by_category
                .entry((periods[i], categories[i]))
                .or_default()
                .push(v);
            by_period.entry(periods[i]).or_default().push(v);
        }
    }
    let category_stats: PlHashMap<_, _> = by_category
        .iter()
        .filter_map(|(k, v)| Some((*k, baseline(v, p.min_baseline)?)))
        .collect();
    let period_stats: PlHashMap<_, _> = by_period
        .iter()
        .filter_map(|(k, v)| Some((*k, baseline(v, p.min_baseline)?)))
        .collect();
    (0..x.len())
        .map(|i| {
            let v = x[i].filter(|_| sized[i])?;
            let (med, mad) = category_stats
                .get(&(periods[i], categories[i]))
                .or_else(|| period_stats.get(&periods[i]))?;
            Some((v - med) / (1.4826 * mad).max(p.scale_floor))
        })
        .collect()
}

/// Robust z of every measure against its baseline, and the flags. The
/// baselines are computed in plain Rust over the (small) group table: a
/// chain of polars window expressions per measure made a plan deep enough
/// to overflow a thread's stack in debug builds.
fn flag(table: LazyFrame, model: &Model) -> PolarsResult<LazyFrame> {
    let p = &model.integrity;
    let table = table.collect()?;
    let strings = |c: &str| -> PolarsResult<Vec<Option<&str>>> {
        Ok(table.column(c)?.str()?.iter().collect())
    };
    let periods = strings(PERIOD)?;
    let categories = strings(CATEGORY_CODE)?;
    let sized: Vec<bool> = table
        .column(N)?
        .i64()?
        .iter()
        .map(|n| n.is_some_and(|n| n >= model.min_sample))
        .collect();
    let mut z_columns = Vec::with_capacity(INTEGRITY_MEASURES.len());
    for (_, x, z) in INTEGRITY_MEASURES {
        let values: Vec<Option<f64>> = table.column(x)?.f64()?.iter().collect();
        let zs = robust_z(&values, &sized, &periods, &categories, model);
        z_columns.push(Column::new(z.into(), zs));
    }
    let table = table.hstack(&z_columns)?;
    let flags: Vec<Expr> = INTEGRITY_MEASURES
        .iter()
        .map(|(name, _, z)| {
            let mut raised = round6(col(*z)).gt_eq(lit(r6(p.z_threshold)));
            if *name == "duplicate_comment" {
                raised = raised.and(col(TOP_COMMENT_N).gt_eq(lit(3)));
            }
            when(raised.fill_null(lit(false)))
                .then(lit(*name))
                .otherwise(lit(NULL).cast(DataType::String))
        })
        .collect();
    Ok(table
        .lazy()
        .with_column(concat_str(flags, ";", true).fill_null(lit("")).alias(FLAGS))
        .with_column(col(FLAGS).neq(lit("")).alias(FLAGGED)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamp(s: &str) -> Stamp<'_> {
        match parse_stamp(s) {
            Ok(t) => t,
            Err(e) => panic!("{s}: {e}"),
        }
    }

    #[test]
    fn instants_compare_across_offsets_and_beyond_nanoseconds() {
        assert_eq!(
            stamp("2013-01-07T08:59:59.999+08:00"),
            Stamp {
                sec: stamp("2013-01-07T00:59:59Z").sec,
                nanos: 999_000_000,
                rest: ""
            }
        );
        assert_eq!(stamp("1970-01-01T00:00:00Z").sec, 0);
        assert_eq!(stamp("1970-01-01t01:00:00+01:00").sec, 0);
        assert_eq!(stamp("1970-01-01T00:00:00-00:00").sec, 0);
        assert_eq!(stamp("1969-12-31T23:59:59z").sec, -1);
        let a = stamp("2013-01-07T00:00:00.1234567891Z");
        let b = stamp("2013-01-07T00:00:00.12345678910000Z");
        let c = stamp("2013-01-07T00:00:00.12345678911Z");
        assert_eq!(a, b);
        assert!(a < c);
        assert_eq!(a.rest, "1");
        assert!(stamp("2013-01-07T00:00:00.5Z") > stamp("2013-01-07T00:00:00.49999999999Z"));
        assert_eq!(
            stamp("0000-01-01T00:00:00Z").sec,
            days_from_civil(0, 1, 1) * 86_400
        );
        assert!(parse_stamp("9999-12-31T23:59:59.999999999999Z").is_ok());
        assert!(parse_stamp("2012-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn malformed_instants_are_refused() {
        for bad in [
            "",
            "2013-01-07",
            "2013-01-07 00:00:00Z",
            "2013-01-07T00:00:00",
            "2013-01-07T00:00:00.Z",
            "2013-01-07T00:00:60Z",
            "2013-01-07T24:00:00Z",
            "2013-01-07T00:60:00Z",
            "2013-13-07T00:00:00Z",
            "2013-02-29T00:00:00Z",
            "2013-01-00T00:00:00Z",
            "2013-01-07T00:00:00+24:00",
            "2013-01-07T00:00:00+08:60",
            "2013-01-07T00:00:00+0800",
            "2013-01-07T00:00:00+08:00 ",
            "2013-01-07T00:00:00ZZ",
            "0000-01-01T00:30:00+01:00",
            "9999-12-31T23:30:00-01:00",
            "+2013-01-07T00:00:00Z",
            "２０13-01-07T00:00:00Z",
            "2013-1-07T00:00:00Z",
        ] {
            assert!(parse_stamp(bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn burst_start_is_utc_with_milliseconds_cut_off() {
        let t = stamp("2013-01-07T08:59:59.9999999+08:00");
        assert_eq!(format_stamp(t.sec, t.nanos), "2013-01-07T00:59:59.999Z");
        let t = stamp("0000-03-01T00:00:00Z");
        assert_eq!(format_stamp(t.sec, t.nanos), "0000-03-01T00:00:00.000Z");
        let t = stamp("1969-12-31T23:59:59.5Z");
        assert_eq!(format_stamp(t.sec, t.nanos), "1969-12-31T23:59:59.500Z");
        for days in [-719_528, -1, 0, 59, 11_016, 2_932_896] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    /// Keys of `(respondent, group)` rows (row = position), sorted, and
    /// the respondent column they index.
    fn respondent_rows(rows: &[(&str, u32)]) -> (Vec<u128>, StringChunked) {
        let mut keys: Vec<u128> = rows
            .iter()
            .enumerate()
            .map(|(row, (r, g))| respondent_key(r, *g, row as u32))
            .collect();
        keys.sort_unstable();
        let column =
            StringChunked::from_iter_values(RESPONDENT.into(), rows.iter().map(|(r, _)| *r));
        (keys, column)
    }

    #[test]
    fn roaming_counts_distinct_institutions_per_period() {
        let n_inst = 10;
        // "a": institutions 1, 2, 2, 3 of period 0 (3 distinct) and 4 of
        // period 1; "b": institution 1 only, twice.
        let (keys, column) = respondent_rows(&[
            ("a", 1),
            ("a", 2),
            ("b", 1),
            ("a", 2),
            ("a", 3),
            ("a", 14),
            ("b", 1),
        ]);
        let text = Text::new(&column);
        let mut counts = vec![0; 20];
        roaming_counts(&keys, &text, n_inst, 3, &mut counts);
        assert_eq!(&counts[..5], &[0, 1, 2, 1, 0]);
        assert_eq!(counts[14], 0);
        let mut counts = vec![0; 20];
        roaming_counts(&keys, &text, n_inst, 4, &mut counts);
        assert!(counts.iter().all(|&c| c == 0));
    }

    #[test]
    fn respondents_sharing_a_key_are_told_apart_by_their_strings() {
        // "a" at institutions 1, 2, 3 and "b" at 4, 5, all with one key: one
        // roamer (with 3 institutions needed), not a roamer of five.
        let rows: [(&str, u32); 5] = [("a", 1), ("b", 4), ("a", 2), ("b", 5), ("a", 3)];
        let column =
            StringChunked::from_iter_values(RESPONDENT.into(), rows.iter().map(|(r, _)| *r));
        let mut keys: Vec<u128> = rows
            .iter()
            .enumerate()
            .map(|(row, (_, g))| (7u128 << 64) | (u128::from(*g) << 32) | row as u128)
            .collect();
        keys.sort_unstable();
        let text = Text::new(&column);
        let mut counts = vec![0; 10];
        roaming_counts(&keys, &text, 10, 3, &mut counts);
        assert_eq!(&counts[..6], &[0, 1, 1, 1, 0, 0]);
        let mut counts = vec![0; 10];
        roaming_counts(&keys, &text, 10, 2, &mut counts);
        assert_eq!(&counts[..6], &[0, 1, 1, 1, 1, 1]);
    }

    #[test]
    fn strings_sharing_a_key_are_counted_apart() {
        let column = StringChunked::from_iter_values(
            NETWORK.into(),
            ["x", "y", "x", "y", "y", "z"].into_iter(),
        );
        let text = Text::new(&column);
        // Every row with key 1: three strings, "y" the most frequent.
        let mut rows: Vec<(u64, u32)> = (0..6).map(|r| (1, r)).collect();
        let mut counts = distinct(&mut rows, &text);
        counts.sort_unstable();
        assert_eq!(counts.iter().map(|c| c.0).collect::<Vec<_>>(), [1, 2, 3]);
        assert_eq!(
            top(&counts, &text, 1).map(|(n, row)| (n, text.get(row as usize))),
            Some((3, Some("y")))
        );
        assert_eq!(top(&counts, &text, 4), None);
        // A tie goes to the smallest string, whether the keys settle it or
        // the strings must.
        let tie = [(2, 1, 5), (2, 0, 5)];
        assert_eq!(top(&tie, &text, 1), Some((2, 0)));
        let tie = [(2, 1, sort_key("y")), (2, 0, sort_key("x"))];
        assert_eq!(top(&tie, &text, 1), Some((2, 0)));
    }

    #[test]
    fn sort_keys_order_like_their_strings_when_their_prefixes_differ() {
        let strings = [
            "", "a", "a\u{0}", "ab", "abcd", "abcde", "abd", "b", "é", "zzzz9",
        ];
        for a in strings {
            for b in strings {
                let (ka, kb) = (sort_key(a) >> 32, sort_key(b) >> 32);
                if ka != kb {
                    assert_eq!(ka.cmp(&kb), a.cmp(b), "{a:?} {b:?}");
                }
            }
        }
    }
}

//! The rating-integrity detector (`integrity.md`): per (period, institution),
//! measures over the pool of live citizen responses, their robust z against
//! a baseline of like institutions, and flags. It only reports: nothing here
//! feeds an indicator.
//!
//! The row-level part is one streamed pass over the four optional
//! `responses` columns (`submitted_at`, `respondent`, `network`,
//! `comment_key`), in `__rid` order like [`crate::answers`]: every
//! `submitted_at` is checked, and each pool response keeps a few integers
//! (its group, its instant, dictionary ids of its network and comment key, a
//! 128-bit hash of its respondent). The per-group measures then run over
//! small sorted slices; the baselines, z and flags are polars expressions
//! over the (small) group table.

use std::cmp::Ordering;
use std::hash::BuildHasher;

use polars::prelude::*;

use crate::answers::stream_batches;
use crate::columns::*;
use crate::error::{AnalysisError, input_err};
use crate::indicators::{r6, round6};
use crate::model::{IntegrityParams, Model};
use crate::stages::KeyTables;
use crate::stages::internal::*;

/// Rows per batch of the streamed pass.
const BATCH_ROWS: usize = 1 << 20;

/// No value (a null network or comment key).
const NONE: u32 = u32::MAX;

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
// The streamed pass

/// Distinct strings to dense ids, in order of first appearance.
#[derive(Default)]
struct Dictionary {
    ids: PlHashMap<Box<str>, u32>,
}

impl Dictionary {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.ids.len() as u32;
        self.ids.insert(s.into(), id);
        id
    }

    /// The strings by id (each allocated once, by the map).
    fn into_names(self) -> Vec<Box<str>> {
        let mut names: Vec<Box<str>> = vec![Box::from(""); self.ids.len()];
        for (name, id) in self.ids {
            names[id as usize] = name;
        }
        names
    }
}

/// What the pass keeps: per pool response (in `__rid` order) its group and
/// values, and the first bad `submitted_at`.
struct Walk<'k> {
    /// Group (`__piid`) of each response, [`NOT_POOL`] outside every pool.
    groups_of_rows: &'k [u32],
    has_time: bool,
    row: usize,
    first_bad: Option<(usize, String)>,
    group: Vec<u32>,
    sec: Vec<i64>,
    nanos: Vec<u32>,
    /// (pool row, digits beyond nanoseconds), for the few that have them.
    rest: Vec<(u32, Box<str>)>,
    net: Vec<u32>,
    nets: Dictionary,
    comment: Vec<u32>,
    comments: Dictionary,
    /// The pool rows with a respondent, each as its [`respondent_key`].
    respondents: Vec<u128>,
}

/// Null for an empty string (`respondent`, `network`, `comment_key`).
fn present(s: Option<&str>) -> Option<&str> {
    s.filter(|s| !s.is_empty())
}

/// A respondent's row as one sortable integer: 96 bits of hash of the
/// respondent (identity within a period, compared without keeping millions
/// of strings: two independent hashes, whose collision among even 10^8
/// respondents has odds below 10^-13), then the group.
fn respondent_key(s: &str, group: u32) -> u128 {
    const A: PlFixedStateQuality = PlFixedStateQuality::with_seed(0x9e37_79b9_7f4a_7c15);
    const B: PlFixedStateQuality = PlFixedStateQuality::with_seed(0xc2b2_ae3d_27d4_eb4f);
    let low = B.hash_one(s) & 0xffff_ffff_0000_0000;
    (u128::from(A.hash_one(s)) << 64) | u128::from(low) | u128::from(group)
}

/// The group of a [`respondent_key`].
fn key_group(key: u128) -> u32 {
    key as u32
}

impl Walk<'_> {
    fn batch(&mut self, mut batch: DataFrame) -> PolarsResult<()> {
        batch.align_chunks_par();
        let text = |name: &str| -> PolarsResult<StringChunked> {
            let c = batch.column(name)?;
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
        let rows = submitted
            .iter()
            .zip(respondent.iter())
            .zip(network.iter())
            .zip(comment.iter());
        for (((submitted, respondent), network), comment) in rows {
            let row = self.row;
            self.row += 1;
            if self.first_bad.is_some() {
                continue;
            }
            let stamp = if self.has_time {
                // An empty string is as empty as a null (Parquet has both).
                match submitted.filter(|s| !s.is_empty()).map(parse_stamp) {
                    Some(Ok(stamp)) => Some(stamp),
                    Some(Err(problem)) => {
                        let value = quote(submitted.unwrap_or_default());
                        self.first_bad = Some((
                            row,
                            format!("submitted_at '{value}' is not an RFC 3339 time: {problem}"),
                        ));
                        continue;
                    }
                    None => {
                        self.first_bad = Some((row, "submitted_at is empty".to_owned()));
                        continue;
                    }
                }
            } else {
                None
            };
            let group = self.groups_of_rows.get(row).copied().unwrap_or(NOT_POOL);
            if group == NOT_POOL {
                continue;
            }
            let p = self.group.len() as u32;
            self.group.push(group);
            if let Some(stamp) = stamp {
                self.sec.push(stamp.sec);
                self.nanos.push(stamp.nanos);
                if !stamp.rest.is_empty() {
                    self.rest.push((p, stamp.rest.into()));
                }
            }
            self.net
                .push(present(network).map_or(NONE, |s| self.nets.id(s)));
            self.comment
                .push(present(comment).map_or(NONE, |s| self.comments.id(s)));
            if let Some(r) = present(respondent) {
                self.respondents.push(respondent_key(r, group));
            }
        }
        Ok(())
    }
}

/// Checks every `submitted_at` and gathers the pool rows (see [`Walk`]).
///
/// `keys` is the response table of [`crate::stages::response_keys`]
/// (`__rid` order), `ids` the `response_id`s (for messages), `responses` the
/// normalised responses (a fresh scan of them is streamed).
fn walk<'k>(
    responses: LazyFrame,
    has_time: bool,
    groups_of_rows: &'k [u32],
    ids: &Column,
) -> Result<Walk<'k>, AnalysisError> {
    let mut walk = Walk {
        groups_of_rows,
        has_time,
        row: 0,
        first_bad: None,
        group: Vec::new(),
        sec: Vec::new(),
        nanos: Vec::new(),
        rest: Vec::new(),
        net: Vec::new(),
        nets: Dictionary::default(),
        comment: Vec::new(),
        comments: Dictionary::default(),
        respondents: Vec::new(),
    };
    let query = responses.select([
        col(SUBMITTED_AT),
        col(RESPONDENT),
        col(NETWORK),
        col(COMMENT_KEY),
    ]);
    stream_batches(RESPONSES, query, BATCH_ROWS, |batch| walk.batch(batch))?;
    if let Some((row, problem)) = walk.first_bad.take() {
        let id = ids.str()?.get(row).filter(|id| !id.is_empty()).map_or_else(
            || format!("row {}", row + 1),
            |id| format!("response_id '{}'", quote(id)),
        );
        return input_err(RESPONSES, id, problem);
    }
    Ok(walk)
}

// ---------------------------------------------------------------------------
// Per-group measures

/// The measures that need the row-level pass, one entry per group with a
/// pool, as columns.
#[derive(Default)]
struct GroupMeasures {
    piid: Vec<u64>,
    network_top_share: Vec<Option<f64>>,
    top_network: Vec<Option<String>>,
    top_network_n: Vec<Option<i64>>,
    burst_share: Vec<Option<f64>>,
    burst_start: Vec<Option<String>>,
    burst_n: Vec<Option<i64>>,
    duplicate_comment_share: Vec<Option<f64>>,
    top_comment_key: Vec<Option<String>>,
    top_comment_n: Vec<Option<i64>>,
    roaming_share: Vec<Option<f64>>,
}

/// The most frequent id of a sorted slice and its count; ties go to the
/// smallest name.
fn top(sorted: &[u32], names: &[Box<str>]) -> Option<(u32, usize)> {
    let mut best: Option<(u32, usize)> = None;
    for run in sorted.chunk_by(|a, b| a == b) {
        let (id, n) = (run[0], run.len());
        let better = match best {
            None => true,
            Some((b, bn)) => n > bn || (n == bn && names.get(id as usize) < names.get(b as usize)),
        };
        if better {
            best = Some((id, n));
        }
    }
    best
}

fn name(names: &[Box<str>], id: u32) -> Option<String> {
    names.get(id as usize).map(|s| s.to_string())
}

/// For each group (`__piid`), the number of its pool responses whose
/// respondent roams: appears on pool responses of at least `min_distinct`
/// institutions of the period. Sorted, a respondent's rows of one period
/// are one run (same hash, same period), its institutions sub-runs (the
/// group is `period * n_institutions + institution`).
fn roaming_counts(
    mut respondents: Vec<u128>,
    n_institutions: u32,
    min_distinct: i64,
    counts: &mut [u32],
) {
    respondents.sort_unstable();
    let period = |k: u128| key_group(k) / n_institutions.max(1);
    let same = |a: &u128, b: &u128| a >> 32 == b >> 32 && period(*a) == period(*b);
    for run in respondents.chunk_by(same) {
        // Most respondents rate one institution: no need to look closer.
        if (run.len() as i64) < min_distinct {
            continue;
        }
        let institutions: Vec<&[u128]> = run.chunk_by(|a, b| a == b).collect();
        if (institutions.len() as i64) < min_distinct {
            continue;
        }
        for rows in institutions {
            if let Some(c) = counts.get_mut(key_group(rows[0]) as usize) {
                *c += rows.len() as u32;
            }
        }
    }
}

fn measures(
    walk: Walk<'_>,
    n_groups: usize,
    n_institutions: u32,
    p: &IntegrityParams,
) -> GroupMeasures {
    // Pool rows grouped by group (a counting sort), each group in row order.
    let mut start = vec![0u32; n_groups + 1];
    for &g in &walk.group {
        start[g as usize + 1] += 1;
    }
    for g in 0..n_groups {
        start[g + 1] += start[g];
    }
    let mut next = start.clone();
    let mut order = vec![0u32; walk.group.len()];
    for (row, &g) in walk.group.iter().enumerate() {
        order[next[g as usize] as usize] = row as u32;
        next[g as usize] += 1;
    }
    drop(next);
    let mut with_respondent = vec![0u32; n_groups];
    for &key in &walk.respondents {
        with_respondent[key_group(key) as usize] += 1;
    }
    let mut roaming = vec![0u32; n_groups];
    roaming_counts(
        walk.respondents,
        n_institutions,
        p.roaming_institutions,
        &mut roaming,
    );
    let net_names = walk.nets.into_names();
    let comment_names = walk.comments.into_names();
    let rest_of = |row: u32| -> &str {
        walk.rest
            .binary_search_by_key(&row, |(r, _)| *r)
            .map_or("", |i| &walk.rest[i].1)
    };
    let stamp = |row: u32| Stamp {
        sec: walk.sec[row as usize],
        nanos: walk.nanos[row as usize],
        rest: rest_of(row),
    };
    let window_secs = p.burst_window_minutes.saturating_mul(60);
    let mut out = GroupMeasures::default();
    let mut ids: Vec<u32> = Vec::new();
    let mut timed: Vec<u32> = Vec::new();
    for g in 0..n_groups {
        let rows = &order[start[g] as usize..start[g + 1] as usize];
        if rows.is_empty() {
            continue;
        }
        let n = rows.len() as f64;
        out.piid.push(g as u64);

        ids.clear();
        ids.extend(
            rows.iter()
                .map(|&r| walk.net[r as usize])
                .filter(|&i| i != NONE),
        );
        ids.sort_unstable();
        match top(&ids, &net_names) {
            Some((id, count)) => {
                out.network_top_share.push(Some(count as f64 / n));
                out.top_network.push(name(&net_names, id));
                out.top_network_n.push(Some(count as i64));
            }
            None => {
                out.network_top_share.push(None);
                out.top_network.push(None);
                out.top_network_n.push(None);
            }
        }

        // Timed: pool rows with a network; none without the time column.
        timed.clear();
        if walk.has_time {
            timed.extend(
                rows.iter()
                    .copied()
                    .filter(|&r| walk.net[r as usize] != NONE),
            );
        }
        timed.sort_unstable_by(|&a, &b| stamp(a).cmp(&stamp(b)));
        let mut best: Option<(usize, u32)> = None;
        let mut j = 0;
        for (i, &row) in timed.iter().enumerate() {
            let t = stamp(row);
            let end = Stamp {
                sec: t.sec.saturating_add(window_secs),
                ..t
            };
            while j < timed.len() && stamp(timed[j]) < end {
                j += 1;
            }
            // Equal instants: the first of them has the largest count, so
            // the first row reaching the maximum is the earliest `t`.
            let count = j - i;
            if best.is_none_or(|(b, _)| count > b) {
                best = Some((count, row));
            }
        }
        match best {
            Some((count, row)) => {
                out.burst_share.push(Some(count as f64 / n));
                out.burst_start.push(Some(format_stamp(
                    walk.sec[row as usize],
                    walk.nanos[row as usize],
                )));
                out.burst_n.push(Some(count as i64));
            }
            None => {
                out.burst_share.push(None);
                out.burst_start.push(None);
                out.burst_n.push(None);
            }
        }

        ids.clear();
        ids.extend(
            rows.iter()
                .map(|&r| walk.comment[r as usize])
                .filter(|&i| i != NONE),
        );
        ids.sort_unstable();
        if (ids.len() as i64) < p.min_comments {
            out.duplicate_comment_share.push(None);
            out.top_comment_key.push(None);
            out.top_comment_n.push(None);
        } else {
            let repeated: usize = ids
                .chunk_by(|a, b| a == b)
                .filter(|run| run.len() >= 2)
                .map(<[u32]>::len)
                .sum();
            out.duplicate_comment_share
                .push(Some(repeated as f64 / ids.len() as f64));
            match top(&ids, &comment_names).filter(|(_, count)| *count >= 2) {
                Some((id, count)) => {
                    out.top_comment_key.push(name(&comment_names, id));
                    out.top_comment_n.push(Some(count as i64));
                }
                None => {
                    out.top_comment_key.push(None);
                    out.top_comment_n.push(None);
                }
            }
        }

        out.roaming_share
            .push((with_respondent[g] > 0).then(|| f64::from(roaming[g]) / n));
    }
    out
}

impl GroupMeasures {
    fn into_frame(self) -> PolarsResult<DataFrame> {
        df!(
            PIID => self.piid,
            NETWORK_TOP_SHARE => self.network_top_share,
            TOP_NETWORK => self.top_network,
            TOP_NETWORK_N => self.top_network_n,
            BURST_SHARE => self.burst_share,
            BURST_START => self.burst_start,
            BURST_N => self.burst_n,
            DUPLICATE_COMMENT_SHARE => self.duplicate_comment_share,
            TOP_COMMENT_KEY => self.top_comment_key,
            TOP_COMMENT_N => self.top_comment_n,
            ROAMING_SHARE => self.roaming_share,
        )
    }
}

// ---------------------------------------------------------------------------
// The stage

/// The measures that need the responses' rows (network, burst, duplicate
/// comment, roaming), one row per (period, institution) with a pool, keyed
/// by `__piid`; refuses a bad `submitted_at`.
///
/// `responses` is the normalised responses scan (streamed once more, for
/// the four optional columns), `has_time` whether it has `submitted_at`,
/// `keys` the response keys (`__rid` order, see
/// [`crate::stages::response_keys`]), `ids` the `response_id`s (for
/// messages), `n_groups` the number of (period, institution) pairs.
pub(crate) fn row_measures(
    responses: LazyFrame,
    has_time: bool,
    keys: &DataFrame,
    ids: &Column,
    n_groups: usize,
    n_institutions: usize,
    params: &IntegrityParams,
) -> Result<DataFrame, AnalysisError> {
    let n_inst = u32::try_from(n_institutions).ok();
    let (Some(n_inst), true) = (n_inst, u32::try_from(n_groups).is_ok_and(|n| n < NOT_POOL)) else {
        return Err(AnalysisError::Polars(polars_err!(
            ComputeError: "too many period-institution pairs for the integrity stage"
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
    let walked = walk(responses, has_time, &groups_of_rows, ids)?;
    Ok(measures(walked, n_groups, n_inst, params).into_frame()?)
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

    #[test]
    fn roaming_counts_distinct_institutions_per_period() {
        let n_inst = 10;
        let k = respondent_key;
        // "a": institutions 1, 2, 2, 3 of period 0 (3 distinct) and 4 of
        // period 1; "b": institution 1 only, twice.
        let rows = vec![
            k("a", 1),
            k("a", 2),
            k("b", 1),
            k("a", 2),
            k("a", 3),
            k("a", 14),
            k("b", 1),
        ];
        let mut counts = vec![0; 20];
        roaming_counts(rows.clone(), n_inst, 3, &mut counts);
        assert_eq!(&counts[..5], &[0, 1, 2, 1, 0]);
        assert_eq!(counts[14], 0);
        let mut counts = vec![0; 20];
        roaming_counts(rows, n_inst, 4, &mut counts);
        assert!(counts.iter().all(|&c| c == 0));
    }
}

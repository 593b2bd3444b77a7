//! Row-by-row validation of an upload against the catalog, the
//! organisation's contracts and the frozen periods. Every problem is
//! collected (up to a cap, with the total counted); nothing is stored from a
//! file that has any.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use entity::assessor_contract;

use super::read::Record;
use super::{ErrorCode, RowError};
use crate::db::assessors::covers;
use crate::db::catalog::{Catalog, Institution, Questionnaire};
use crate::db::uploads::UploadRow;
use crate::domain::code::Code;
use crate::domain::keys::{Keys, Purpose};
use crate::domain::period::{Granularity, Period};
use crate::domain::rating::Rating;

/// The template's columns besides the items, in template order
/// (`comment` comes last, after the items).
pub const RESPONDENT_REF: &str = "respondent_ref";
pub const INSTITUTION_CODE: &str = "institution_code";
pub const PERIOD: &str = "period";
pub const INTERVIEWED_AT: &str = "interviewed_at";
pub const CHANNEL: &str = "channel";
pub const COMMENT: &str = "comment";
/// Columns every file must have (`comment` may be left out).
pub const REQUIRED_COLUMNS: [&str; 5] = [
    RESPONDENT_REF,
    INSTITUTION_CODE,
    PERIOD,
    INTERVIEWED_AT,
    CHANNEL,
];

/// Longest respondent reference accepted.
const MAX_REF_CHARS: usize = 128;

/// Where each column of the file is.
struct Layout {
    width: usize,
    /// Index of each of REQUIRED_COLUMNS.
    fixed: [usize; 5],
    comment: Option<usize>,
    /// (cell index, item code) of every item column.
    items: Arc<Vec<(usize, String)>>,
}

/// How the item columns map onto one category's questionnaire.
struct CategoryMap {
    questionnaire: Arc<Questionnaire>,
    /// For each item column: its position in the questionnaire, if any.
    position: Vec<Option<usize>>,
}

/// The cells of one data row whose shape matches the header, by column.
struct RowCells<'r> {
    reference: &'r str,
    code: &'r str,
    period: &'r str,
    when: &'r str,
    channel: &'r str,
    comment: &'r str,
    /// (cell index, item code) of every item column.
    items: Arc<Vec<(usize, String)>>,
    cells: &'r [String],
}

/// A row's ratings, in the order of its questionnaire's items.
struct Rated {
    /// The item mapping of the institution's category, when it is known.
    map: Option<Arc<CategoryMap>>,
    ratings: Vec<Option<i16>>,
    /// Whether any item was rated.
    any: bool,
}

/// Everything validation reads besides the file.
#[derive(Clone)]
pub struct Rules {
    pub catalog: Arc<Catalog>,
    pub keys: Keys,
    pub org_id: i32,
    pub contracts: Vec<assessor_contract::Model>,
    pub frozen: HashSet<String>,
    pub granularity: Granularity,
    pub utc_offset_hours: i8,
    pub comment_max_chars: usize,
    pub now: DateTime<Utc>,
}

/// Errors found so far: the first `cap` of them, and how many in all.
pub struct Errors {
    pub list: Vec<RowError>,
    pub total: u64,
    cap: usize,
}

impl Errors {
    pub fn new(cap: usize) -> Errors {
        Errors {
            list: Vec::new(),
            total: 0,
            cap,
        }
    }

    pub fn push(
        &mut self,
        row: Option<u32>,
        column: Option<&str>,
        code: ErrorCode,
        message: String,
    ) {
        self.total += 1;
        if self.list.len() < self.cap {
            self.list.push(RowError {
                row,
                column: column.map(str::to_owned),
                code: code.as_str().to_owned(),
                message,
            });
        }
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

/// The state of validating one file.
pub struct Validator {
    rules: Rules,
    offset: FixedOffset,
    layout: Option<Layout>,
    pub errors: Errors,
    /// Respondent hash → first row it was seen on (only when checking
    /// duplicates, i.e. on the validating pass).
    seen: Option<HashMap<String, u32>>,
    categories: HashMap<usize, Arc<CategoryMap>>,
    contract_cache: HashMap<(Period, i32), bool>,
    /// Data rows seen.
    pub rows: u64,
    /// (row, respondent hash, period) of every row, for the database check.
    pub respondents: Vec<(u32, String, Period)>,
    pub periods: BTreeSet<Period>,
}

impl Validator {
    /// `check_duplicates` on the first pass; the storing pass skips it.
    pub fn new(rules: Rules, check_duplicates: bool, cap: usize) -> Validator {
        let offset = FixedOffset::east_opt(i32::from(rules.utc_offset_hours) * 3600)
            .unwrap_or_else(|| Utc.fix());
        Validator {
            rules,
            offset,
            layout: None,
            errors: Errors::new(cap),
            seen: check_duplicates.then(HashMap::new),
            categories: HashMap::new(),
            contract_cache: HashMap::new(),
            rows: 0,
            respondents: Vec::new(),
            periods: BTreeSet::new(),
        }
    }

    pub fn has_header(&self) -> bool {
        self.layout.is_some()
    }

    /// Reads the header; false when it is too broken to read rows by.
    pub fn header(&mut self, record: &Record<'_>) -> bool {
        let names: Vec<String> = record.cells.iter().map(|c| c.trim().to_owned()).collect();
        let known_items: HashSet<&str> = self
            .rules
            .catalog
            .all_questionnaires()
            .flat_map(|q| q.items.iter().map(|i| i.code.as_str()))
            .collect();
        let mut fixed = [usize::MAX; 5];
        let mut comment = None;
        let mut items = Vec::new();
        let mut seen_names = HashSet::new();
        let mut ok = true;
        for (i, name) in names.iter().enumerate() {
            let lower = name.to_lowercase();
            if name.is_empty() {
                self.errors.push(
                    Some(record.row),
                    None,
                    ErrorCode::MissingColumn,
                    format!("Column {} has no name in the header", column_letter(i)),
                );
                ok = false;
                continue;
            }
            if !seen_names.insert(lower.clone()) {
                self.errors.push(
                    Some(record.row),
                    Some(name),
                    ErrorCode::DuplicateColumn,
                    format!("Column '{name}' appears more than once in the header"),
                );
                ok = false;
                continue;
            }
            if let Some(k) = REQUIRED_COLUMNS.iter().position(|c| *c == lower) {
                fixed[k] = i;
            } else if lower == COMMENT {
                comment = Some(i);
            } else if known_items.contains(name.as_str()) {
                items.push((i, name.clone()));
            } else {
                self.errors.push(
                    Some(record.row),
                    Some(name),
                    ErrorCode::UnknownColumn,
                    format!(
                        "Column '{name}' is neither a template column nor the code of a questionnaire item"
                    ),
                );
            }
        }
        for (k, column) in REQUIRED_COLUMNS.iter().enumerate() {
            if fixed[k] == usize::MAX {
                self.errors.push(
                    Some(record.row),
                    Some(column),
                    ErrorCode::MissingColumn,
                    format!("The header lacks the column '{column}'"),
                );
                ok = false;
            }
        }
        if items.is_empty() && ok {
            self.errors.push(
                Some(record.row),
                None,
                ErrorCode::MissingColumn,
                "The header has no item columns; download the template of the category".into(),
            );
            ok = false;
        }
        if ok {
            self.layout = Some(Layout {
                width: names.len(),
                fixed,
                comment,
                items: Arc::new(items),
            });
        }
        ok
    }

    /// Validates a data row; the row to store when it has no problem. Each
    /// step reports its own problems; the order of the steps is the order
    /// of the errors in the report.
    pub fn row(&mut self, record: &Record<'_>) -> Option<UploadRow> {
        self.rows += 1;
        let errors_before = self.errors.total;
        let cells = self.cells(record)?;
        let row = Some(record.row);
        let catalog = self.rules.catalog.clone();

        let respondent_hash = self.respondent(record.row, cells.reference);
        let institution = self.institution(row, cells.code, &catalog);
        let period = self.period(row, cells.period);
        if let (Some(inst), Some(p)) = (institution, period) {
            self.contract(row, cells.code, inst, p, &catalog);
        }
        let submitted_at = self.interviewed_at(row, cells.when, period);
        let channel = self.channel(row, cells.channel);
        let rated = self.ratings(record.row, &cells, institution, &catalog);
        if !rated.any && self.errors.total == errors_before {
            self.errors.push(
                row,
                None,
                ErrorCode::NothingRated,
                "The row rates no item".into(),
            );
        }
        let comment = self.comment(row, cells.comment);

        if let (Some(hash), Some(p)) = (&respondent_hash, period)
            && self.seen.is_some()
        {
            self.respondents.push((record.row, hash.clone(), p));
        }
        if self.errors.total != errors_before {
            return None;
        }
        Some(UploadRow {
            institution_id: institution?.id,
            questionnaire: rated.map?.questionnaire.clone(),
            period: period?,
            submitted_at: submitted_at?,
            channel: channel?,
            respondent_hash: respondent_hash?,
            comment,
            ratings: rated.ratings,
        })
    }

    /// The row's cells by column, once its shape matches the header: no
    /// value beyond the header's width, as many cells as columns, and (JSON)
    /// no key the first object lacked.
    fn cells<'r>(&mut self, record: &Record<'r>) -> Option<RowCells<'r>> {
        let layout = self.layout.as_ref()?;
        let row = Some(record.row);
        let cells = record.cells;
        if let Some(col) = record.beyond {
            self.errors.push(
                row,
                None,
                ErrorCode::RaggedRow,
                format!(
                    "The row has a value in column {} but the header has {} columns: values without a column name",
                    pingyi_domain::upload::xlsx::column_name(col),
                    layout.width
                ),
            );
            return None;
        }
        if cells.len() != layout.width {
            let message = if cells.len() > layout.width {
                format!(
                    "The row has {} cells but the header has {} columns: values without a column name",
                    cells.len(),
                    layout.width
                )
            } else {
                format!(
                    "The row has {} cells but the header has {} columns",
                    cells.len(),
                    layout.width
                )
            };
            self.errors.push(row, None, ErrorCode::RaggedRow, message);
            return None;
        }
        for key in record.unknown {
            self.errors.push(
                row,
                Some(key),
                ErrorCode::UnknownColumn,
                format!(
                    "'{key}' is not a column of the first row; every row must have the same keys"
                ),
            );
        }
        let cell = |k: usize| cells[layout.fixed[k]].trim();
        Some(RowCells {
            reference: cell(0),
            code: cell(1),
            period: cell(2),
            when: cell(3),
            channel: cell(4),
            comment: layout.comment.map(|i| cells[i].trim()).unwrap_or_default(),
            items: layout.items.clone(),
            cells,
        })
    }

    /// Respondent reference: present, not too long, once per file. Its
    /// keyed hash, which is all that is stored of it.
    fn respondent(&mut self, line: u32, reference: &str) -> Option<String> {
        let row = Some(line);
        if reference.is_empty() {
            self.missing(row, RESPONDENT_REF);
            return None;
        }
        if reference.chars().count() > MAX_REF_CHARS {
            self.errors.push(
                row,
                Some(RESPONDENT_REF),
                ErrorCode::InvalidValue,
                format!("The respondent reference is longer than {MAX_REF_CHARS} characters"),
            );
            return None;
        }
        let hash = self.rules.keys.digest(
            Purpose::Assessor,
            &format!("{}:{reference}", self.rules.org_id),
        );
        if let Some(seen) = &mut self.seen {
            match seen.get(&hash) {
                Some(&first) => self.errors.push(
                    row,
                    Some(RESPONDENT_REF),
                    ErrorCode::DuplicateInFile,
                    format!("Respondent '{reference}' already appears on row {first}"),
                ),
                None => {
                    seen.insert(hash.clone(), line);
                }
            }
        }
        Some(hash)
    }

    /// The institution: a well-formed code of an active one.
    fn institution<'c>(
        &mut self,
        row: Option<u32>,
        code: &str,
        catalog: &'c Catalog,
    ) -> Option<&'c Institution> {
        if code.is_empty() {
            self.missing(row, INSTITUTION_CODE);
            return None;
        }
        if let Err(e) = Code::parse(code) {
            // No institution can have it; the code stays the one a client
            // already handles, the message says what is wrong with it.
            self.errors.push(
                row,
                Some(INSTITUTION_CODE),
                ErrorCode::UnknownInstitution,
                format!("The institution code {e}"),
            );
            return None;
        }
        let found = catalog.institution(code);
        if found.is_none() {
            self.errors.push(
                row,
                Some(INSTITUTION_CODE),
                ErrorCode::UnknownInstitution,
                format!("No active institution has the code '{code}'"),
            );
        }
        found
    }

    /// Period: well formed, of the configured length, not frozen.
    fn period(&mut self, row: Option<u32>, text: &str) -> Option<Period> {
        if text.is_empty() {
            self.missing(row, PERIOD);
            return None;
        }
        let granularity = self.rules.granularity;
        let period = match parse_period(text, granularity) {
            Some(p) if p.granularity() != granularity => {
                self.errors.push(
                    row,
                    Some(PERIOD),
                    ErrorCode::InvalidPeriod,
                    format!(
                        "'{text}' is not a {} period ({})",
                        granularity.adjective(),
                        granularity.format()
                    ),
                );
                None
            }
            Some(p) if self.rules.frozen.contains(&p.to_string()) => {
                self.errors.push(
                    row,
                    Some(PERIOD),
                    ErrorCode::FrozenPeriod,
                    format!("Period {p} is published and frozen; it takes no new responses"),
                );
                None
            }
            Some(p) => Some(p),
            None => {
                self.errors.push(
                    row,
                    Some(PERIOD),
                    ErrorCode::InvalidPeriod,
                    format!("'{text}' is not a period ({})", granularity.format()),
                );
                None
            }
        };
        if let Some(p) = period {
            self.periods.insert(p);
        }
        period
    }

    /// Contract: the organisation must be contracted for the institution in
    /// the period (answered once per institution and period).
    fn contract(
        &mut self,
        row: Option<u32>,
        code: &str,
        inst: &Institution,
        period: Period,
        catalog: &Catalog,
    ) {
        let contracts = &self.rules.contracts;
        let covered = *self
            .contract_cache
            .entry((period, inst.id))
            .or_insert_with(|| {
                let p = period.to_string();
                contracts
                    .iter()
                    .any(|c| c.period == p && covers(c, catalog, inst))
            });
        if !covered {
            self.errors.push(
                row,
                Some(INSTITUTION_CODE),
                ErrorCode::NotContracted,
                format!("Your organisation is not contracted for '{code}' in {period}"),
            );
        }
    }

    /// When the interview took place: a real time, not in the future,
    /// within the period.
    fn interviewed_at(
        &mut self,
        row: Option<u32>,
        text: &str,
        period: Option<Period>,
    ) -> Option<DateTime<Utc>> {
        if text.is_empty() {
            self.missing(row, INTERVIEWED_AT);
            return None;
        }
        let Some(at) = parse_when(text, self.offset) else {
            self.errors.push(
                row,
                Some(INTERVIEWED_AT),
                ErrorCode::InvalidDate,
                format!("'{text}' is not a date and time (use YYYY-MM-DD HH:MM or YYYY-MM-DD)"),
            );
            return None;
        };
        if at > self.rules.now + chrono::Duration::hours(1) {
            self.errors.push(
                row,
                Some(INTERVIEWED_AT),
                ErrorCode::InvalidDate,
                format!("'{text}' is in the future"),
            );
            return None;
        }
        if let Some(p) = period
            && Period::containing(at, p.granularity(), self.rules.utc_offset_hours) != p
        {
            self.errors.push(
                row,
                Some(INTERVIEWED_AT),
                ErrorCode::DateOutsidePeriod,
                format!("'{text}' is not within period {p}"),
            );
        }
        Some(at)
    }

    /// The channel of the interview.
    fn channel(&mut self, row: Option<u32>, text: &str) -> Option<&'static str> {
        if text.is_empty() {
            self.missing(row, CHANNEL);
            return None;
        }
        let channel = parse_channel(text);
        if channel.is_none() {
            self.errors.push(
                row,
                Some(CHANNEL),
                ErrorCode::InvalidChannel,
                format!("'{text}' is not a channel (phone, onsite or mystery)"),
            );
        }
        channel
    }

    /// Ratings, checked against the institution's questionnaire (when the
    /// institution is known): blank, or a rating of an item it has.
    fn ratings(
        &mut self,
        line: u32,
        cells: &RowCells<'_>,
        institution: Option<&Institution>,
        catalog: &Catalog,
    ) -> Rated {
        let row = Some(line);
        let map = institution.and_then(|inst| self.category_map(inst.category, line, &cells.items));
        let mut ratings = vec![None; map.as_ref().map_or(0, |m| m.questionnaire.items.len())];
        let mut any = false;
        for (k, (index, item)) in cells.items.iter().enumerate() {
            let text = cells.cells[*index].trim();
            if text.is_empty() {
                continue;
            }
            let position = map.as_ref().map(|m| m.position[k]);
            if position == Some(None) {
                let category = institution
                    .map(|i| catalog.categories[i.category].code.clone())
                    .unwrap_or_default();
                self.errors.push(
                    row,
                    Some(item),
                    ErrorCode::UnknownItem,
                    format!("Item '{item}' is not in the questionnaire of category '{category}'; leave it blank"),
                );
                continue;
            }
            match Rating::parse(text) {
                Ok(r) => {
                    any = true;
                    if let Some(Some(pos)) = position {
                        ratings[pos] = Some(i16::from(r.value()));
                    }
                }
                Err(_) => self.bad_rating(row, item, text),
            }
        }
        Rated { map, ratings, any }
    }

    /// A rating cell that is not a whole number from 1 to 5.
    fn bad_rating(&mut self, row: Option<u32>, item: &str, text: &str) {
        let (code, message) = match text.parse::<f64>() {
            Ok(_) => (
                ErrorCode::RatingOutOfRange,
                format!(
                    "Rating '{text}' is out of range: use a whole number from 1 to 5, or leave it blank"
                ),
            ),
            Err(_) => (
                ErrorCode::InvalidRating,
                format!(
                    "'{text}' is not a rating: use a whole number from 1 to 5, or leave it blank"
                ),
            ),
        };
        self.errors.push(row, Some(item), code, message);
    }

    /// The comment: optional, not too long, control characters (but line
    /// breaks) dropped.
    fn comment(&mut self, row: Option<u32>, text: &str) -> Option<String> {
        if text.is_empty() {
            return None;
        }
        if text.chars().count() > self.rules.comment_max_chars {
            self.errors.push(
                row,
                Some(COMMENT),
                ErrorCode::CommentTooLong,
                format!(
                    "The comment is longer than {} characters",
                    self.rules.comment_max_chars
                ),
            );
            return None;
        }
        Some(
            text.chars()
                .filter(|c| !c.is_control() || *c == '\n')
                .collect(),
        )
    }

    fn missing(&mut self, row: Option<u32>, column: &str) {
        self.errors.push(
            row,
            Some(column),
            ErrorCode::MissingValue,
            format!("'{column}' is empty"),
        );
    }

    /// The item mapping of a category, computed once; the first row of a
    /// category whose questionnaire has items the file lacks reports them.
    fn category_map(
        &mut self,
        category: usize,
        row: u32,
        items: &[(usize, String)],
    ) -> Option<Arc<CategoryMap>> {
        if let Some(map) = self.categories.get(&category) {
            return Some(map.clone());
        }
        let catalog = self.rules.catalog.clone();
        let Some(questionnaire) = catalog.questionnaire_of_category(category) else {
            self.errors.push(
                Some(row),
                Some(INSTITUTION_CODE),
                ErrorCode::UnknownInstitution,
                format!(
                    "Category '{}' has no questionnaire yet",
                    catalog.categories[category].code
                ),
            );
            return None;
        };
        let position: Vec<Option<usize>> = items
            .iter()
            .map(|(_, code)| questionnaire.items.iter().position(|i| &i.code == code))
            .collect();
        for item in &questionnaire.items {
            if !items.iter().any(|(_, c)| *c == item.code) {
                self.errors.push(
                    Some(row),
                    Some(&item.code),
                    ErrorCode::MissingColumn,
                    format!(
                        "The questionnaire of category '{}' has item '{}', which the file has no column for",
                        catalog.categories[category].code, item.code
                    ),
                );
            }
        }
        let map = Arc::new(CategoryMap {
            questionnaire,
            position,
        });
        self.categories.insert(category, map.clone());
        Some(map)
    }
}

/// `A`, `B`, … `Z`, `AA`, … for messages about unnamed columns.
pub fn column_letter(index: usize) -> String {
    let mut n = index + 1;
    let mut out = Vec::new();
    while n > 0 {
        let rem = (n - 1) % 26;
        out.push(b'A' + rem as u8);
        n = (n - 1) / 26;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// A period as written, or as a spreadsheet turned `2026-03` into the date
/// 2026-03-01 (a month period then).
fn parse_period(text: &str, granularity: Granularity) -> Option<Period> {
    if let Ok(p) = text.parse::<Period>() {
        return Some(p);
    }
    if granularity == Granularity::Month {
        let date = text.strip_suffix(" 00:00:00").unwrap_or(text);
        if let Ok(d) = NaiveDate::parse_from_str(date, "%Y-%m-%d")
            && date.ends_with("-01")
        {
            return format!("{}", d.format("%Y-%m")).parse().ok();
        }
    }
    None
}

/// An interview time: RFC 3339, or a local `YYYY-MM-DD[ HH:MM[:SS]]` (with
/// `/` or `T` accepted as spreadsheets write them).
pub fn parse_when(text: &str, offset: FixedOffset) -> Option<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Some(at.with_timezone(&Utc));
    }
    let normal = text.replace('/', "-").replacen('T', " ", 1);
    let naive = [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%d %H:%M",
        "%Y-%m-%d %H:%M:%S%.f",
    ]
    .iter()
    .find_map(|f| NaiveDateTime::parse_from_str(&normal, f).ok())
    .or_else(|| {
        NaiveDate::parse_from_str(&normal, "%Y-%m-%d")
            .ok()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
    })?;
    offset
        .from_local_datetime(&naive)
        .single()
        .map(|at| at.with_timezone(&Utc))
}

/// The channel of an assessor's interview, in English or Chinese.
pub fn parse_channel(text: &str) -> Option<&'static str> {
    match text.to_lowercase().as_str() {
        "phone" | "电话" | "电话访问" => Some("phone"),
        "onsite" | "on-site" | "现场" | "实地" | "现场访问" => Some("onsite"),
        "mystery" | "暗访" | "神秘顾客" => Some("mystery"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_parse_in_the_forms_spreadsheets_write() {
        let cst = FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| Utc.fix());
        let expect = Utc.with_ymd_and_hms(2026, 3, 4, 2, 30, 0).single();
        for text in [
            "2026-03-04 10:30",
            "2026-03-04 10:30:00",
            "2026/03/04 10:30",
            "2026-03-04T10:30:00",
            "2026-03-04T10:30:00+08:00",
        ] {
            assert_eq!(parse_when(text, cst), expect, "{text}");
        }
        assert!(parse_when("2026-02-30", cst).is_none());
        assert!(parse_when("yesterday", cst).is_none());
    }

    #[test]
    fn a_spreadsheet_date_of_the_first_is_a_month_period() {
        assert_eq!(
            parse_period("2026-03-01 00:00:00", Granularity::Month),
            Some(Period::Month(2026, 3))
        );
        assert_eq!(parse_period("2026-03-02", Granularity::Month), None);
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(27), "AB");
    }
}

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
use crate::db::catalog::{Catalog, Questionnaire};
use crate::db::uploads::UploadRow;
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

    /// Validates a data row; the row to store when it has no problem.
    pub fn row(&mut self, record: &Record<'_>) -> Option<UploadRow> {
        self.rows += 1;
        let layout = self.layout.as_ref()?;
        let row = Some(record.row);
        let cells = record.cells;
        let errors_before = self.errors.total;
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
        let (reference, code, period_text, when_text, channel_text) =
            (cell(0), cell(1), cell(2), cell(3), cell(4));
        let comment_text = layout.comment.map(|i| cells[i].trim()).unwrap_or_default();
        let items = layout.items.clone();

        // Respondent reference: present, not too long, once per file.
        let mut respondent_hash = None;
        if reference.is_empty() {
            self.missing(row, RESPONDENT_REF);
        } else if reference.chars().count() > MAX_REF_CHARS {
            self.errors.push(
                row,
                Some(RESPONDENT_REF),
                ErrorCode::InvalidValue,
                format!("The respondent reference is longer than {MAX_REF_CHARS} characters"),
            );
        } else {
            let hash = self.rules.keys.digest(
                Purpose::Assessor,
                &format!("{}:{reference}", self.rules.org_id),
            );
            if let Some(seen) = &mut self.seen {
                match seen.get(&hash) {
                    Some(first) => {
                        let first = *first;
                        self.errors.push(
                            row,
                            Some(RESPONDENT_REF),
                            ErrorCode::DuplicateInFile,
                            format!("Respondent '{reference}' already appears on row {first}"),
                        );
                    }
                    None => {
                        seen.insert(hash.clone(), record.row);
                    }
                }
            }
            respondent_hash = Some(hash);
        }

        // Institution.
        let catalog = self.rules.catalog.clone();
        let institution = if code.is_empty() {
            self.missing(row, INSTITUTION_CODE);
            None
        } else {
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
        };

        // Period: well formed, of the configured length, not frozen.
        let period = if period_text.is_empty() {
            self.missing(row, PERIOD);
            None
        } else {
            match parse_period(period_text, self.rules.granularity) {
                Some(p) if p.granularity() != self.rules.granularity => {
                    self.errors.push(
                        row,
                        Some(PERIOD),
                        ErrorCode::InvalidPeriod,
                        format!(
                            "'{period_text}' is not a {} period ({})",
                            granularity_name(self.rules.granularity),
                            granularity_format(self.rules.granularity)
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
                        format!(
                            "'{period_text}' is not a period ({})",
                            granularity_format(self.rules.granularity)
                        ),
                    );
                    None
                }
            }
        };
        if let Some(p) = period {
            self.periods.insert(p);
        }

        // Contract: the organisation must be contracted for it in the period.
        if let (Some(inst), Some(p)) = (institution, period) {
            let covered = *self.contract_cache.entry((p, inst.id)).or_insert_with(|| {
                let p = p.to_string();
                self.rules
                    .contracts
                    .iter()
                    .any(|c| c.period == p && covers(c, &catalog, inst))
            });
            if !covered {
                self.errors.push(
                    row,
                    Some(INSTITUTION_CODE),
                    ErrorCode::NotContracted,
                    format!("Your organisation is not contracted for '{code}' in {p}"),
                );
            }
        }

        // When the interview took place: a real time, not in the future,
        // within the period.
        let submitted_at = if when_text.is_empty() {
            self.missing(row, INTERVIEWED_AT);
            None
        } else {
            match parse_when(when_text, self.offset) {
                None => {
                    self.errors.push(
                        row,
                        Some(INTERVIEWED_AT),
                        ErrorCode::InvalidDate,
                        format!(
                            "'{when_text}' is not a date and time (use YYYY-MM-DD HH:MM or YYYY-MM-DD)"
                        ),
                    );
                    None
                }
                Some(at) if at > self.rules.now + chrono::Duration::hours(1) => {
                    self.errors.push(
                        row,
                        Some(INTERVIEWED_AT),
                        ErrorCode::InvalidDate,
                        format!("'{when_text}' is in the future"),
                    );
                    None
                }
                Some(at) => {
                    if let Some(p) = period
                        && Period::containing(at, p.granularity(), self.rules.utc_offset_hours) != p
                    {
                        self.errors.push(
                            row,
                            Some(INTERVIEWED_AT),
                            ErrorCode::DateOutsidePeriod,
                            format!("'{when_text}' is not within period {p}"),
                        );
                    }
                    Some(at)
                }
            }
        };

        let channel = if channel_text.is_empty() {
            self.missing(row, CHANNEL);
            None
        } else {
            let c = parse_channel(channel_text);
            if c.is_none() {
                self.errors.push(
                    row,
                    Some(CHANNEL),
                    ErrorCode::InvalidChannel,
                    format!("'{channel_text}' is not a channel (phone, onsite or mystery)"),
                );
            }
            c
        };

        // Ratings, checked against the institution's questionnaire.
        let map = institution.and_then(|inst| self.category_map(inst.category, record.row, &items));
        let questionnaire_len = map.as_ref().map(|m| m.questionnaire.items.len());
        let mut ratings: Vec<Option<i16>> = vec![None; questionnaire_len.unwrap_or(0)];
        let mut any_rating = false;
        for (k, (index, item)) in items.iter().enumerate() {
            let text = cells[*index].trim();
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
                    any_rating = true;
                    if let Some(Some(pos)) = position {
                        ratings[pos] = Some(i16::from(r.value()));
                    }
                }
                Err(_) => {
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
            }
        }
        if !any_rating && self.errors.total == errors_before {
            self.errors.push(
                row,
                None,
                ErrorCode::NothingRated,
                "The row rates no item".into(),
            );
        }

        let comment = if comment_text.is_empty() {
            None
        } else if comment_text.chars().count() > self.rules.comment_max_chars {
            self.errors.push(
                row,
                Some(COMMENT),
                ErrorCode::CommentTooLong,
                format!(
                    "The comment is longer than {} characters",
                    self.rules.comment_max_chars
                ),
            );
            None
        } else {
            Some(
                comment_text
                    .chars()
                    .filter(|c| !c.is_control() || *c == '\n')
                    .collect(),
            )
        };

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
            questionnaire: map?.questionnaire.clone(),
            period: period?,
            submitted_at: submitted_at?,
            channel: channel?,
            respondent_hash: respondent_hash?,
            comment,
            ratings,
        })
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

fn granularity_name(g: Granularity) -> &'static str {
    match g {
        Granularity::Month => "monthly",
        Granularity::Quarter => "quarterly",
        Granularity::Year => "yearly",
    }
}

fn granularity_format(g: Granularity) -> &'static str {
    match g {
        Granularity::Month => "YYYY-MM",
        Granularity::Quarter => "YYYY-Qn",
        Granularity::Year => "YYYY",
    }
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

//! Input checks: every rule of the spec's "Input errors", on every row
//! (voided responses included). The happy path evaluates all checks of a table
//! in one pass; only when one fails is the first offending row looked up.

use polars::prelude::*;

use crate::columns::*;
use crate::error::{AnalysisError, InputError, input_err};
use crate::input::{bad, raw};
use crate::model::Model;
use crate::stages::internal::*;
use crate::stages::non_empty;
use pingyi_domain::period::Period;

/// The first offending row of a failed check.
pub(crate) struct Hit(DataFrame);

impl Hit {
    /// The cell as text; empty for null or a missing column.
    fn text(&self, column: &str) -> String {
        match self.0.column(column).and_then(|c| c.get(0)) {
            Ok(AnyValue::Null) | Err(_) => String::new(),
            Ok(AnyValue::String(s)) => s.to_owned(),
            Ok(AnyValue::StringOwned(s)) => s.to_string(),
            Ok(v) => v.to_string(),
        }
    }

    /// 1-based data row (the header not counted).
    fn row(&self) -> u64 {
        match self.0.column(ROW).and_then(|c| c.get(0)) {
            Ok(v) => v.extract::<u64>().unwrap_or(0) + 1,
            Err(_) => 0,
        }
    }
}

type Describe = Box<dyn Fn(&Hit) -> (String, String)>;

/// A rule: the rows breaking it, and how to name the key and the problem.
pub(crate) struct Check {
    breaks: Expr,
    describe: Describe,
}

fn check(breaks: Expr, describe: impl Fn(&Hit) -> (String, String) + 'static) -> Check {
    Check {
        breaks,
        describe: Box::new(describe),
    }
}

/// Evaluates all checks over `fast` in one pass; for the first that fails,
/// finds the first offending row of `slow` (the same rows, with raw text) and
/// returns its error.
fn run_checks(
    table: &str,
    fast: LazyFrame,
    slow: LazyFrame,
    checks: &[Check],
) -> Result<(), AnalysisError> {
    if checks.is_empty() {
        return Ok(());
    }
    let flags = fast
        .select(
            checks
                .iter()
                .enumerate()
                .map(|(i, c)| c.breaks.clone().any(true).alias(format!("c{i}")))
                .collect::<Vec<_>>(),
        )
        .collect()?;
    for (i, c) in checks.iter().enumerate() {
        if flags.column(&format!("c{i}"))?.bool()?.get(0) != Some(true) {
            continue;
        }
        let hit = slow
            .with_row_index(ROW, None)
            .filter(c.breaks.clone())
            .limit(1)
            .collect()?;
        if hit.height() == 0 {
            return input_err(table, "", "invalid input");
        }
        let (key, problem) = (c.describe)(&Hit(hit));
        return input_err(table, key, problem);
    }
    Ok(())
}

fn text_series(values: impl IntoIterator<Item = String>) -> Series {
    Series::new(
        PlSmallStr::EMPTY,
        values.into_iter().collect::<Vec<String>>(),
    )
}

/// A literal set for `is_in`.
fn set(values: Series) -> Expr {
    lit(values).implode(false)
}

fn strings(df: &DataFrame, column: &str) -> PolarsResult<Vec<Option<String>>> {
    Ok(df
        .column(column)?
        .str()?
        .iter()
        .map(|s| s.map(str::to_owned))
        .collect())
}

fn institution_key(hit: &Hit) -> String {
    format!("institution_code '{}'", hit.text(INSTITUTION_CODE))
}

fn response_key(hit: &Hit) -> String {
    let id = hit.text(RESPONSE_ID);
    if id.is_empty() {
        format!("row {}", hit.row())
    } else {
        format!("response_id '{id}'")
    }
}

fn answer_key(hit: &Hit) -> String {
    let item = hit.text(ITEM_CODE);
    if item.is_empty() {
        format!("{}, row {}", response_key(hit), hit.row())
    } else {
        format!("{}, item_code '{item}'", response_key(hit))
    }
}

/// Institutions: codes present, `institution_code` unique, every category
/// has a weight table (its own or `default`).
pub(crate) fn institutions(df: &DataFrame, model: &Model) -> Result<(), AnalysisError> {
    let mut checks = vec![
        check(non_empty(INSTITUTION_CODE).not(), |h| {
            (format!("row {}", h.row()), "empty institution_code".into())
        }),
        check(non_empty(CATEGORY_CODE).not(), |h| {
            (institution_key(h), "empty category_code".into())
        }),
        check(non_empty(DISTRICT_CODE).not(), |h| {
            (institution_key(h), "empty district_code".into())
        }),
        check(col(INSTITUTION_CODE).is_duplicated(), |h| {
            (institution_key(h), "duplicate institution_code".into())
        }),
    ];
    let categories = strings(df, CATEGORY_CODE)?;
    let orphans: Vec<String> = categories
        .into_iter()
        .flatten()
        .filter(|c| !c.is_empty() && !model.has_weight_table(c))
        .collect();
    if !orphans.is_empty() {
        checks.push(check(
            col(CATEGORY_CODE).is_in(set(text_series(orphans)), false),
            |h| {
                (
                    institution_key(h),
                    format!(
                        "category '{}' has no dimension weight table and there is no default",
                        h.text(CATEGORY_CODE)
                    ),
                )
            },
        ));
    }
    run_checks(INSTITUTIONS, df.clone().lazy(), df.clone().lazy(), &checks)
}

/// Responses: codes present, `response_id` unique, institution known,
/// source, period (well formed, one granularity), `duration_ms`, `voided`.
/// Returns the distinct periods, parsed.
pub(crate) fn responses(
    df: &DataFrame,
    slow: LazyFrame,
    institutions: &DataFrame,
) -> Result<Vec<(String, Period)>, AnalysisError> {
    let distinct = df
        .clone()
        .lazy()
        .select([col(PERIOD)])
        .filter(non_empty(PERIOD))
        .unique_stable(None, UniqueKeepStrategy::First)
        .collect()?;
    let mut malformed = Vec::new();
    let mut parsed: Vec<(String, Period)> = Vec::new();
    for p in strings(&distinct, PERIOD)?.into_iter().flatten() {
        match p.parse::<Period>() {
            Ok(period) => parsed.push((p, period)),
            Err(_) => malformed.push(p),
        }
    }
    let reference = parsed.first().cloned();
    let mixed: Vec<String> = parsed
        .iter()
        .filter(|(_, p)| Some(p.granularity()) != reference.as_ref().map(|r| r.1.granularity()))
        .map(|(s, _)| s.clone())
        .collect();
    let known = text_series(
        strings(institutions, INSTITUTION_CODE)?
            .into_iter()
            .flatten(),
    );

    let mut checks = vec![
        check(non_empty(RESPONSE_ID).not(), |h| {
            (response_key(h), "empty response_id".into())
        }),
        check(non_empty(INSTITUTION_CODE).not(), |h| {
            (response_key(h), "empty institution_code".into())
        }),
        check(non_empty(SOURCE).not(), |h| {
            (response_key(h), "empty source".into())
        }),
        check(non_empty(PERIOD).not(), |h| {
            (response_key(h), "empty period".into())
        }),
        check(
            // Ids in strictly increasing order (the usual export) are unique
            // without hashing them all.
            if strictly_increasing(df.column(RESPONSE_ID)?.str()?) {
                lit(false)
            } else {
                col(RESPONSE_ID).is_duplicated()
            },
            |h| (response_key(h), "duplicate response_id".into()),
        ),
        check(
            non_empty(INSTITUTION_CODE).and(col(INSTITUTION_CODE).is_in(set(known), false).not()),
            |h| {
                (
                    response_key(h),
                    format!("institution '{}' does not exist", h.text(INSTITUTION_CODE)),
                )
            },
        ),
        check(
            non_empty(SOURCE).and(
                col(SOURCE)
                    .is_in(set(text_series([CITIZEN.into(), ASSESSOR.into()])), false)
                    .not(),
            ),
            |h| {
                (
                    response_key(h),
                    format!("source '{}' is not citizen or assessor", h.text(SOURCE)),
                )
            },
        ),
    ];
    if !malformed.is_empty() {
        checks.push(check(
            col(PERIOD).is_in(set(text_series(malformed)), false),
            |h| {
                (
                    response_key(h),
                    format!(
                        "period '{}' is malformed (expected YYYY, YYYY-Qn or YYYY-MM)",
                        h.text(PERIOD)
                    ),
                )
            },
        ));
    }
    if let (false, Some((ref_text, ref_period))) = (mixed.is_empty(), reference) {
        checks.push(check(
            col(PERIOD).is_in(set(text_series(mixed)), false),
            move |h| {
                let p = h.text(PERIOD);
                let g = p
                    .parse::<Period>()
                    .map_or("", |p| p.granularity().adjective());
                (
                    response_key(h),
                    format!(
                        "period '{p}' is {g} but period '{ref_text}' is {}: mixed granularity",
                        ref_period.granularity().adjective()
                    ),
                )
            },
        ));
    }
    checks.push(check(col(bad(DURATION_MS)), |h| {
        (
            response_key(h),
            format!(
                "duration_ms '{}' is not an integer",
                h.text(&raw(DURATION_MS))
            ),
        )
    }));
    checks.push(check(col(bad(VOIDED)), |h| {
        let v = h.text(&raw(VOIDED));
        let problem = if v.is_empty() {
            "voided is empty (expected true or false)".to_owned()
        } else {
            format!("voided '{v}' is not a boolean (expected true or false)")
        };
        (response_key(h), problem)
    }));
    run_checks(RESPONSES, df.clone().lazy(), slow, &checks)?;
    parsed.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(parsed)
}

/// True when every value is present and greater than the one before it (so
/// the values are distinct).
fn strictly_increasing(values: &StringChunked) -> bool {
    let mut previous: Option<&str> = None;
    for value in values.iter() {
        let Some(value) = value else {
            return false;
        };
        if previous.is_some_and(|p| p >= value) {
            return false;
        }
        previous = Some(value);
    }
    true
}

/// The item table: each item's dimension, as integer codes.
pub(crate) struct Items {
    /// Dimension codes, sorted; `__dim` indexes this.
    pub dims: Vec<String>,
    /// The `__dim` of each item, in item-code order (`__item` indexes this).
    pub item_dims: Vec<IdxSize>,
    pub n_items: usize,
}

/// Each `item_code` must belong to one dimension. `pairs` are the distinct
/// (item_code, dimension_code) pairs, sorted.
pub(crate) fn items(pairs: &[(&str, &str)]) -> Result<Items, AnalysisError> {
    for window in pairs.windows(2) {
        let [(item, last_dim), (next, dim)] = window else {
            continue;
        };
        if item == next {
            return input_err(
                ANSWERS,
                format!("item_code '{item}'"),
                format!("has two dimension_codes: '{last_dim}' and '{dim}'"),
            );
        }
    }
    let mut dims: Vec<String> = pairs.iter().map(|p| p.1.to_owned()).collect();
    dims.sort();
    dims.dedup();
    let item_dims = pairs
        .iter()
        .map(|p| {
            dims.binary_search_by(|d| d.as_str().cmp(p.1))
                .map_or(IdxSize::MAX, |i| i as IdxSize)
        })
        .collect();
    Ok(Items {
        dims,
        item_dims,
        n_items: pairs.len(),
    })
}

/// A dimension appearing in an answer must have a weight in the category of
/// the response's institution (its table or `default`).
pub(crate) fn dimension_weights(
    model: &Model,
    institutions: &DataFrame,
    dims: &[String],
    answers: LazyFrame,
    responses: LazyFrame,
) -> Result<(), AnalysisError> {
    let mut categories: Vec<String> = strings(institutions, CATEGORY_CODE)?
        .into_iter()
        .flatten()
        .collect();
    categories.sort();
    categories.dedup();
    let missing: Vec<(String, String)> = categories
        .iter()
        .flat_map(|c| dims.iter().map(move |d| (c.clone(), d.clone())))
        .filter(|(c, d)| model.weight(c, d).is_none())
        .collect();
    let Some(breaks) = missing
        .iter()
        .map(|(c, d)| {
            col(CATEGORY_CODE)
                .eq(lit(c.clone()))
                .and(col(DIMENSION_CODE).eq(lit(d.clone())))
        })
        .reduce(|a, b| a.or(b))
    else {
        return Ok(());
    };
    let hit = answers
        .with_row_index(ROW, None)
        .join(
            responses.select([col(RESPONSE_ID), col(INSTITUTION_CODE)]),
            [col(RESPONSE_ID)],
            [col(RESPONSE_ID)],
            JoinArgs::new(JoinType::Inner),
        )
        .join(
            institutions
                .clone()
                .lazy()
                .select([col(INSTITUTION_CODE), col(CATEGORY_CODE)]),
            [col(INSTITUTION_CODE)],
            [col(INSTITUTION_CODE)],
            JoinArgs::new(JoinType::Inner),
        )
        .filter(breaks)
        .sort([ROW], SortMultipleOptions::default())
        .limit(1)
        .collect()?;
    if hit.height() == 0 {
        return Ok(());
    }
    let hit = Hit(hit);
    input_err(
        ANSWERS,
        answer_key(&hit),
        format!(
            "dimension '{}' has no weight for category '{}' nor in default",
            hit.text(DIMENSION_CODE),
            hit.text(CATEGORY_CODE)
        ),
    )
}

/// Row-level rules of `answers`, checked when encoding flagged a row (see
/// [`crate::answers::Encoded`]) or left a row without its response.
pub(crate) fn answer_rows(
    flagged: bool,
    compact: &DataFrame,
    slow: LazyFrame,
    responses: &DataFrame,
    model: &Model,
) -> Result<(), AnalysisError> {
    let orphaned = compact.column(RID)?.null_count() > 0;
    if !flagged && !orphaned {
        return Ok(());
    }
    let k = model.scale_points;
    let known = responses
        .column(RESPONSE_ID)?
        .as_materialized_series()
        .clone();
    let checks = [
        check(non_empty(RESPONSE_ID).not(), |h| {
            (format!("row {}", h.row()), "empty response_id".into())
        }),
        check(non_empty(ITEM_CODE).not(), |h| {
            (answer_key(h), "empty item_code".into())
        }),
        check(non_empty(DIMENSION_CODE).not(), |h| {
            (answer_key(h), "empty dimension_code".into())
        }),
        check(col(bad(RATING)), |h| {
            (
                answer_key(h),
                format!("rating '{}' is not an integer", h.text(&raw(RATING))),
            )
        }),
        check(
            col(RATING).lt(lit(1i64)).or(col(RATING).gt(lit(k))),
            move |h| {
                (
                    answer_key(h),
                    format!("rating {} outside 1..{k}", h.text(RATING)),
                )
            },
        ),
        check(col(RESPONSE_ID).is_in(set(known), false).not(), |h| {
            (
                answer_key(h),
                format!("response '{}' does not exist", h.text(RESPONSE_ID)),
            )
        }),
    ];
    run_checks(ANSWERS, slow.clone(), slow, &checks)?;
    // Flagged but no rule found: cannot happen; refuse rather than go on.
    Err(InputError::new(ANSWERS, "", "invalid answer rows").into())
}

/// No two answers of a response may share an `item_code`.
///
/// `compact` must be grouped by `__rid` (see
/// [`crate::stages::sort_by_response`]): one pass remembers, per item, the last
/// run of rows of one response it was seen in, instead of hashing every
/// (response, item) pair.
pub(crate) fn duplicate_answers(compact: &DataFrame, slow: LazyFrame) -> Result<(), AnalysisError> {
    let rid = compact.column(RID)?.cast(&IDX_DTYPE)?;
    let item = compact.column(ITEM)?.cast(&IDX_DTYPE)?;
    let (rid, item) = (rid.idx()?, item.idx()?);
    if rid.null_count() == 0 && item.null_count() == 0 {
        let n_items = item.max().map_or(0, |m| m as usize + 1);
        let mut last_run = vec![usize::MAX; n_items];
        let mut run = 0usize;
        let mut previous = None;
        let mut duplicate = false;
        for (r, i) in rid.into_no_null_iter().zip(item.into_no_null_iter()) {
            if previous != Some(r) {
                run += 1;
                previous = Some(r);
            }
            let seen = &mut last_run[i as usize];
            if *seen == run {
                duplicate = true;
                break;
            }
            *seen = run;
        }
        if !duplicate {
            return Ok(());
        }
    }
    let checks = [check(
        as_struct(vec![col(RESPONSE_ID), col(ITEM_CODE)]).is_duplicated(),
        |h| (answer_key(h), "duplicate (response_id, item_code)".into()),
    )];
    run_checks(ANSWERS, slow.clone(), slow, &checks)
}

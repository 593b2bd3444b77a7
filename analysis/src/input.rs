//! Reading the input tables and bringing them to their spec types.
//!
//! Every input column comes out of [`normalise`] with its spec type; columns
//! that need parsing (integers, booleans) get a companion `<name>__bad` flag
//! (present but not a valid value) and a `<name>__raw` text for messages.

use std::path::Path;

use polars::prelude::*;

use crate::columns::*;
use crate::error::{AnalysisError, input_err, unreadable};

/// The three input tables, as lazy frames.
///
/// Columns may be typed (as read from Parquet or built from the database) or
/// all text (as read from CSV); [`crate::run`] parses text strictly.
pub struct Inputs {
    pub institutions: LazyFrame,
    pub responses: LazyFrame,
    pub answers: LazyFrame,
}

impl Inputs {
    /// Opens the three tables; `.csv` or `.parquet` by extension.
    ///
    /// CSV is read with every column as text (no type inference). Parquet
    /// columns must have the spec's types; this is checked here, the values
    /// are checked by [`crate::run`].
    pub fn from_paths(
        institutions: &Path,
        responses: &Path,
        answers: &Path,
    ) -> Result<Inputs, AnalysisError> {
        Ok(Inputs {
            institutions: scan(INSTITUTIONS, institutions, INSTITUTION_COLUMNS)?,
            responses: scan(RESPONSES, responses, RESPONSE_COLUMNS)?,
            answers: scan(ANSWERS, answers, ANSWER_COLUMNS)?,
        })
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Text,
    Integer,
    Boolean,
}

pub(crate) struct ColumnSpec {
    pub name: &'static str,
    pub kind: Kind,
    /// A missing optional column reads as all `false` (boolean) or all null
    /// (text).
    pub optional: bool,
}

const fn spec(name: &'static str, kind: Kind) -> ColumnSpec {
    ColumnSpec {
        name,
        kind,
        optional: false,
    }
}

pub(crate) const INSTITUTION_COLUMNS: &[ColumnSpec] = &[
    spec(INSTITUTION_CODE, Kind::Text),
    spec(CATEGORY_CODE, Kind::Text),
    spec(DISTRICT_CODE, Kind::Text),
];

pub(crate) const RESPONSE_COLUMNS: &[ColumnSpec] = &[
    spec(RESPONSE_ID, Kind::Text),
    spec(INSTITUTION_CODE, Kind::Text),
    spec(SOURCE, Kind::Text),
    spec(PERIOD, Kind::Text),
    spec(DURATION_MS, Kind::Integer),
    ColumnSpec {
        name: VOIDED,
        kind: Kind::Boolean,
        optional: true,
    },
    optional_text(SUBMITTED_AT),
    optional_text(RESPONDENT),
    optional_text(NETWORK),
    optional_text(COMMENT_KEY),
];

const fn optional_text(name: &'static str) -> ColumnSpec {
    ColumnSpec {
        name,
        kind: Kind::Text,
        optional: true,
    }
}

pub(crate) const ANSWER_COLUMNS: &[ColumnSpec] = &[
    spec(RESPONSE_ID, Kind::Text),
    spec(ITEM_CODE, Kind::Text),
    spec(DIMENSION_CODE, Kind::Text),
    spec(RATING, Kind::Integer),
];

/// Name of the "present but unparseable" flag of a column.
pub(crate) fn bad(name: &str) -> String {
    format!("{name}__bad")
}

/// Name of the raw text of a column, for messages.
pub(crate) fn raw(name: &str) -> String {
    format!("{name}__raw")
}

fn scan(table: &str, path: &Path, columns: &[ColumnSpec]) -> Result<LazyFrame, AnalysisError> {
    std::fs::metadata(path)
        .map_err(|e| AnalysisError::io(format!("Failed to open {}", path.display()), e))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let pl_path = PlRefPath::try_from_path(path)?;
    match ext.as_deref() {
        Some("csv") => Ok(LazyCsvReader::new(pl_path)
            .with_has_header(true)
            .with_infer_schema_length(Some(0))
            .with_missing_is_null(true)
            .finish()?),
        Some("parquet") => {
            let mut lf = LazyFrame::scan_parquet(pl_path, ScanArgsParquet::default())?;
            let schema = lf.collect_schema().map_err(unreadable(table))?;
            for c in columns {
                if let Some(dtype) = schema.get(c.name) {
                    let ok = match c.kind {
                        Kind::Text => dtype.is_string() || dtype.is_null() || is_dictionary(dtype),
                        Kind::Integer => dtype.is_integer() || dtype.is_float() || dtype.is_null(),
                        Kind::Boolean => dtype.is_bool() || dtype.is_null(),
                    };
                    if !ok {
                        return type_error(table, c, dtype);
                    }
                }
            }
            Ok(lf)
        }
        _ => input_err(
            table,
            path.display().to_string(),
            "unsupported file type (expected .csv or .parquet)",
        ),
    }
}

/// A dictionary-typed string column (Arrow dictionary, read by polars as a
/// categorical): strings all the same (`integrity.md` allows them).
fn is_dictionary(dtype: &DataType) -> bool {
    dtype.is_categorical() || dtype.is_enum()
}

fn type_error<T>(table: &str, c: &ColumnSpec, dtype: &DataType) -> Result<T, AnalysisError> {
    let expected = match c.kind {
        Kind::Text => "utf8",
        Kind::Integer => "an integer type",
        Kind::Boolean => "boolean",
    };
    input_err(
        table,
        format!("column {}", c.name),
        format!("has type {dtype}, expected {expected}"),
    )
}

/// Selects the spec columns of a table with their spec types (see module docs).
pub(crate) fn normalise(
    table: &str,
    mut lf: LazyFrame,
    columns: &[ColumnSpec],
) -> Result<LazyFrame, AnalysisError> {
    let schema = lf.collect_schema().map_err(unreadable(table))?;
    let mut exprs = Vec::with_capacity(columns.len() * 3);
    for c in columns {
        let Some(dtype) = schema.get(c.name) else {
            if c.optional && c.kind == Kind::Text {
                exprs.push(lit(NULL).cast(DataType::String).alias(c.name));
                continue;
            }
            if c.optional {
                exprs.push(lit(false).alias(c.name));
                exprs.push(lit(false).alias(bad(c.name)));
                exprs.push(lit(NULL).cast(DataType::String).alias(raw(c.name)));
                continue;
            }
            return input_err(table, format!("column {}", c.name), "missing column");
        };
        let x = col(c.name);
        let (value, is_bad) = match c.kind {
            Kind::Text if dtype.is_string() => (x.clone(), None),
            Kind::Text if dtype.is_null() || is_dictionary(dtype) => {
                (x.clone().cast(DataType::String), None)
            }
            Kind::Integer if dtype.is_string() => {
                let digits = x.clone().str().strip_prefix(lit("-"));
                let is_int_text = digits.clone().str().len_bytes().gt(lit(0)).and(
                    digits
                        .str()
                        .strip_chars(lit("0123456789"))
                        .str()
                        .len_bytes()
                        .eq(lit(0)),
                );
                let value = when(is_int_text)
                    .then(x.clone().cast(DataType::Int64))
                    .otherwise(lit(NULL).cast(DataType::Int64));
                (value, Some(()))
            }
            Kind::Integer if dtype.is_float() => {
                let whole = x.clone().is_finite().and(x.clone().eq(x.clone().floor()));
                let value = when(whole)
                    .then(x.clone().cast(DataType::Int64))
                    .otherwise(lit(NULL).cast(DataType::Int64));
                (value, Some(()))
            }
            Kind::Integer if dtype.is_integer() || dtype.is_null() => {
                (x.clone().cast(DataType::Int64), Some(()))
            }
            Kind::Boolean if dtype.is_bool() || dtype.is_null() => {
                let value = x.clone().cast(DataType::Boolean);
                exprs.push(value.clone().is_null().alias(bad(c.name)));
                exprs.push(x.cast(DataType::String).alias(raw(c.name)));
                exprs.push(value.alias(c.name));
                continue;
            }
            Kind::Boolean if dtype.is_string() => {
                let value = when(x.clone().eq(lit("true")))
                    .then(lit(true))
                    .when(x.clone().eq(lit("false")))
                    .then(lit(false))
                    .otherwise(lit(NULL).cast(DataType::Boolean));
                exprs.push(value.clone().is_null().alias(bad(c.name)));
                exprs.push(x.alias(raw(c.name)));
                exprs.push(value.alias(c.name));
                continue;
            }
            _ => return type_error(table, c, dtype),
        };
        if is_bad.is_some() {
            // An integer column: bad when present but not parsed.
            exprs.push(
                x.clone()
                    .is_not_null()
                    .and(value.clone().is_null())
                    .alias(bad(c.name)),
            );
            exprs.push(x.cast(DataType::String).alias(raw(c.name)));
        }
        exprs.push(value.alias(c.name));
    }
    Ok(lf.select(exprs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_text_is_parsed_strictly() -> PolarsResult<()> {
        let df = df!(
            "response_id" => ["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"],
            "item_code" => ["i"; 10],
            "dimension_code" => ["d"; 10],
            "rating" => [Some("3"), Some("3.0"), Some(" 3"), Some("-"), Some("--3"), Some("-3"), None, Some("1e2"), Some("99999999999999999999"), Some("")],
        )?;
        let out = normalise(ANSWERS, df.lazy(), ANSWER_COLUMNS)
            .map_err(|e| polars_err!(ComputeError: "{e}"))?
            .collect()?;
        let rating: Vec<Option<i64>> = out.column(RATING)?.i64()?.iter().collect();
        assert_eq!(
            rating,
            [
                Some(3),
                None,
                None,
                None,
                None,
                Some(-3),
                None,
                None,
                None,
                None
            ]
        );
        let bad: Vec<Option<bool>> = out.column(&bad(RATING))?.bool()?.iter().collect();
        let expected = [
            false, true, true, true, true, false, false, true, true, true,
        ];
        assert_eq!(bad, expected.map(Some));
        Ok(())
    }

    #[test]
    fn whole_floats_are_integers_and_others_are_bad() -> PolarsResult<()> {
        let df = df!(
            "response_id" => ["a", "b", "c", "d"],
            "item_code" => ["i"; 4],
            "dimension_code" => ["d"; 4],
            "rating" => [Some(3.0), Some(3.5), None, Some(f64::NAN)],
        )?;
        let out = normalise(ANSWERS, df.lazy(), ANSWER_COLUMNS)
            .map_err(|e| polars_err!(ComputeError: "{e}"))?
            .collect()?;
        let rating: Vec<Option<i64>> = out.column(RATING)?.i64()?.iter().collect();
        assert_eq!(rating, [Some(3), None, None, None]);
        let bad: Vec<Option<bool>> = out.column(&bad(RATING))?.bool()?.iter().collect();
        assert_eq!(bad, [false, true, false, true].map(Some));
        Ok(())
    }

    #[test]
    fn missing_voided_column_means_false() -> PolarsResult<()> {
        let df = df!(
            "response_id" => ["a"],
            "institution_code" => ["W1"],
            "source" => ["citizen"],
            "period" => ["2012"],
            "duration_ms" => [Option::<i64>::None],
        )?;
        let out = normalise(RESPONSES, df.lazy(), RESPONSE_COLUMNS)
            .map_err(|e| polars_err!(ComputeError: "{e}"))?
            .collect()?;
        assert_eq!(out.column(VOIDED)?.bool()?.get(0), Some(false));
        assert_eq!(out.column(&bad(VOIDED))?.bool()?.get(0), Some(false));
        Ok(())
    }
}

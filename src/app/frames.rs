//! Data frames in and out of the service: Parquet documents (how snapshots
//! keep their tables), typed column readers, and the four formats of the
//! scores API (JSON, CSV, Parquet, XLSX). Everything here is CPU-bound and
//! belongs on a blocking thread.

use std::io::Cursor;

use polars::prelude::*;

/// Wraps an error with what was being done (polars' own `context` trait is
/// in scope here, so anyhow's is spelled out).
fn ctx<T, E: std::fmt::Display>(
    result: Result<T, E>,
    what: impl FnOnce() -> String,
) -> anyhow::Result<T> {
    result.map_err(|e| anyhow::anyhow!("{}: {e}", what()))
}

/// A table as a Parquet document.
pub fn to_parquet(df: &DataFrame) -> anyhow::Result<Vec<u8>> {
    let mut buf = Cursor::new(Vec::new());
    let mut df = df.clone();
    ctx(ParquetWriter::new(&mut buf).finish(&mut df), || {
        "Failed to write a Parquet document".into()
    })?;
    Ok(buf.into_inner())
}

/// A table from a Parquet document.
pub fn from_parquet(bytes: &[u8]) -> anyhow::Result<DataFrame> {
    ctx(ParquetReader::new(Cursor::new(bytes)).finish(), || {
        "Failed to read a Parquet document".into()
    })
}

/// A table as CSV in the spec's conventions (header, empty field for null,
/// `true`/`false`, floats as the shortest text that reads back the same).
pub fn to_csv(df: &DataFrame) -> anyhow::Result<Vec<u8>> {
    let mut buf = Vec::new();
    let mut df = df.clone();
    ctx(
        CsvWriter::new(&mut buf)
            .include_header(true)
            .finish(&mut df),
        || "Failed to write CSV".into(),
    )?;
    Ok(buf)
}

fn column_as(df: &DataFrame, name: &str, dtype: &DataType) -> anyhow::Result<Column> {
    ctx(df.column(name).and_then(|c| c.cast(dtype)), || {
        format!("Column {name} is missing or not {dtype}")
    })
}

/// The text column `name`, one entry per row.
pub fn strings(df: &DataFrame, name: &str) -> anyhow::Result<Vec<Option<String>>> {
    let column = column_as(df, name, &DataType::String)?;
    let values = ctx(column.str(), || format!("Column {name}"))?;
    Ok(values.iter().map(|v| v.map(str::to_owned)).collect())
}

/// The numeric column `name` as f64, one entry per row.
pub fn floats(df: &DataFrame, name: &str) -> anyhow::Result<Vec<Option<f64>>> {
    let column = column_as(df, name, &DataType::Float64)?;
    Ok(ctx(column.f64(), || format!("Column {name}"))?
        .iter()
        .collect())
}

/// The integer column `name` as i64, one entry per row.
pub fn ints(df: &DataFrame, name: &str) -> anyhow::Result<Vec<Option<i64>>> {
    let column = column_as(df, name, &DataType::Int64)?;
    Ok(ctx(column.i64(), || format!("Column {name}"))?
        .iter()
        .collect())
}

/// The boolean column `name`, one entry per row.
pub fn bools(df: &DataFrame, name: &str) -> anyhow::Result<Vec<Option<bool>>> {
    let column = column_as(df, name, &DataType::Boolean)?;
    Ok(ctx(column.bool(), || format!("Column {name}"))?
        .iter()
        .collect())
}

/// One cell, typed as JSON and XLSX need it.
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Null,
    Text(String),
    Int(i64),
    Float(f64),
    Bool(bool),
}

/// The table column by column as cells (integers of any width as `Int`).
pub fn cells(df: &DataFrame) -> anyhow::Result<Vec<(String, Vec<Cell>)>> {
    let mut out = Vec::with_capacity(df.width());
    for column in df.columns() {
        let name = column.name().to_string();
        let values: Vec<Cell> = match column.dtype() {
            DataType::String => strings(df, &name)?
                .into_iter()
                .map(|v| v.map_or(Cell::Null, Cell::Text))
                .collect(),
            DataType::Boolean => bools(df, &name)?
                .into_iter()
                .map(|v| v.map_or(Cell::Null, Cell::Bool))
                .collect(),
            DataType::Float32 | DataType::Float64 => floats(df, &name)?
                .into_iter()
                .map(|v| v.map_or(Cell::Null, Cell::Float))
                .collect(),
            dt if dt.is_integer() => ints(df, &name)?
                .into_iter()
                .map(|v| v.map_or(Cell::Null, Cell::Int))
                .collect(),
            DataType::Null => vec![Cell::Null; df.height()],
            other => anyhow::bail!("Column {name} has the unsupported type {other}"),
        };
        out.push((name, values));
    }
    Ok(out)
}

/// The table as a JSON array of objects, one per row, in column order.
/// Floats are written as the shortest text that reads back as the same double.
pub fn to_json_rows(
    df: &DataFrame,
) -> anyhow::Result<Vec<serde_json::Map<String, serde_json::Value>>> {
    let columns = cells(df)?;
    let mut rows = vec![serde_json::Map::with_capacity(columns.len()); df.height()];
    for (name, values) in columns {
        for (row, cell) in rows.iter_mut().zip(values) {
            let value = match cell {
                Cell::Null => serde_json::Value::Null,
                Cell::Text(s) => serde_json::Value::String(s),
                Cell::Int(i) => serde_json::Value::from(i),
                Cell::Float(f) => serde_json::Number::from_f64(f)
                    .map_or(serde_json::Value::Null, serde_json::Value::Number),
                Cell::Bool(b) => serde_json::Value::Bool(b),
            };
            row.insert(name.clone(), value);
        }
    }
    Ok(rows)
}

/// The table as an XLSX workbook of one sheet: a header row, then numbers as
/// numbers (f64, so exact for these values), booleans as booleans, nulls as
/// empty cells.
pub fn to_xlsx(df: &DataFrame, sheet: &str) -> anyhow::Result<Vec<u8>> {
    use rust_xlsxwriter::Workbook;
    let mut workbook = Workbook::new();
    let worksheet = workbook.add_worksheet();
    ctx(worksheet.set_name(sheet), || {
        "Failed to name the sheet".into()
    })?;
    for (c, (name, values)) in cells(df)?.into_iter().enumerate() {
        let c = ctx(u16::try_from(c), || "Too many columns for a sheet".into())?;
        ctx(worksheet.write_string(0, c, &name), || {
            "Failed to write a header".into()
        })?;
        for (r, cell) in values.into_iter().enumerate() {
            let r = ctx(u32::try_from(r + 1), || "Too many rows for a sheet".into())?;
            let written = match cell {
                Cell::Null => continue,
                Cell::Text(s) => worksheet.write_string(r, c, &s).map(|_| ()),
                Cell::Int(i) => worksheet.write_number(r, c, i as f64).map(|_| ()),
                Cell::Float(f) => worksheet.write_number(r, c, f).map(|_| ()),
                Cell::Bool(b) => worksheet.write_boolean(r, c, b).map(|_| ()),
            };
            ctx(written, || "Failed to write a cell".into())?;
        }
    }
    ctx(workbook.save_to_buffer(), || {
        "Failed to write the workbook".into()
    })
}

/// Keeps the rows where the text column `name` equals `value`.
pub fn filter_eq(df: &DataFrame, name: &str, value: &str) -> anyhow::Result<DataFrame> {
    let mask: BooleanChunked = strings(df, name)?
        .iter()
        .map(|v| Some(v.as_deref() == Some(value)))
        .collect();
    ctx(df.filter(&mask), || "Failed to filter a table".into())
}

/// Keeps the rows where the text column `name` is one of `values`.
pub fn filter_in(df: &DataFrame, name: &str, values: &[String]) -> anyhow::Result<DataFrame> {
    let set: std::collections::HashSet<&str> = values.iter().map(String::as_str).collect();
    let mask: BooleanChunked = strings(df, name)?
        .iter()
        .map(|v| Some(v.as_deref().is_some_and(|v| set.contains(v))))
        .collect();
    ctx(df.filter(&mask), || "Failed to filter a table".into())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn sample() -> DataFrame {
        df!(
            "code" => [Some("a"), Some("b"), None],
            "n" => [Some(1i64), None, Some(3)],
            "x" => [Some(0.1f64 + 0.2), Some(1.0 / 3.0), None],
            "flag" => [Some(true), Some(false), None],
        )
        .unwrap()
    }

    #[test]
    fn parquet_round_trips() {
        let df = sample();
        let back = from_parquet(&to_parquet(&df).unwrap()).unwrap();
        assert!(back.equals_missing(&df));
    }

    #[test]
    fn json_keeps_every_double_exactly() {
        let rows = to_json_rows(&sample()).unwrap();
        let text = serde_json::to_string(&rows).unwrap();
        let back: Vec<serde_json::Map<String, serde_json::Value>> =
            serde_json::from_str(&text).unwrap();
        assert_eq!(back[0]["x"].as_f64(), Some(0.1 + 0.2));
        assert_eq!(back[1]["x"].as_f64(), Some(1.0 / 3.0));
        assert!(back[2]["x"].is_null() && back[1]["n"].is_null());
        assert_eq!(back[0]["flag"], serde_json::Value::Bool(true));
    }

    #[test]
    fn filters_keep_matching_rows() {
        let df = sample();
        assert_eq!(filter_eq(&df, "code", "b").unwrap().height(), 1);
        assert_eq!(
            filter_in(&df, "code", &["a".into(), "b".into()])
                .unwrap()
                .height(),
            2
        );
    }

    #[test]
    fn xlsx_is_a_zip_workbook() {
        let bytes = to_xlsx(&sample(), "t").unwrap();
        assert_eq!(&bytes[..2], b"PK");
    }
}

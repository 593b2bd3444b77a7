//! The output tables (four indicator tables and `integrity`) and writing them (CSV or Parquet) all-or-nothing.

use std::fs::File;
use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::columns::*;
use crate::error::{AnalysisError, input_err};

/// The output tables, sorted by their keys, columns in spec order.
#[derive(Debug, Clone)]
pub struct Outputs {
    pub institution_indicators: DataFrame,
    pub dimension_indicators: DataFrame,
    pub group_indicators: DataFrame,
    pub survey_quality: DataFrame,
    /// The rating-integrity table (`integrity.md`): flags, never an index.
    pub integrity: DataFrame,
}

/// Output file format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Csv,
    Parquet,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Parquet => "parquet",
        }
    }
}

impl Outputs {
    /// The tables with their names, in spec order.
    pub fn tables_mut(&mut self) -> [(&'static str, &mut DataFrame); 5] {
        [
            (INSTITUTION_INDICATORS, &mut self.institution_indicators),
            (DIMENSION_INDICATORS, &mut self.dimension_indicators),
            (GROUP_INDICATORS, &mut self.group_indicators),
            (SURVEY_QUALITY, &mut self.survey_quality),
            (INTEGRITY, &mut self.integrity),
        ]
    }
}

/// Writes `DIR/<table>.csv|.parquet` for the five tables. Each is written to a
/// hidden temporary name first and renamed once all are written, so a
/// failure leaves no partial output (and removes its temporary files).
pub fn write_outputs(out: &mut Outputs, dir: &Path, format: Format) -> Result<(), AnalysisError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| AnalysisError::io(format!("Failed to create {}", dir.display()), e))?;
    let ext = format.extension();
    let mut written: Vec<(PathBuf, PathBuf)> = Vec::with_capacity(5);
    for (name, df) in out.tables_mut() {
        let target = dir.join(format!("{name}.{ext}"));
        let temp = dir.join(format!(".{name}.{ext}.tmp"));
        let result = write_format(df, &temp, format);
        written.push((temp, target));
        if let Err(e) = result {
            remove_all(&written);
            return Err(e);
        }
    }
    for (i, (temp, target)) in written.iter().enumerate() {
        if let Err(e) = std::fs::rename(temp, target) {
            // Undo the renames done so far: all tables or none.
            for (_, done) in &written[..i] {
                let _ = std::fs::remove_file(done);
            }
            remove_all(&written[i..]);
            return Err(AnalysisError::io(
                format!(
                    "Failed to rename {} to {}",
                    temp.display(),
                    target.display()
                ),
                e,
            ));
        }
    }
    Ok(())
}

fn remove_all(files: &[(PathBuf, PathBuf)]) {
    for (temp, _) in files {
        // Best effort: the write already failed and that error is reported.
        let _ = std::fs::remove_file(temp);
    }
}

/// Writes one table, CSV or Parquet by the path's extension, in the spec's
/// conventions: header row, empty field for null, `true`/`false`, floats as
/// the shortest text that reads back as the same double.
pub fn write_table(df: &mut DataFrame, path: &Path) -> Result<(), AnalysisError> {
    let format = match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Format::Csv,
        Some("parquet") => Format::Parquet,
        _ => {
            return input_err(
                "output",
                path.display().to_string(),
                "unsupported file type (expected .csv or .parquet)",
            );
        }
    };
    write_format(df, path, format)
}

fn write_format(df: &mut DataFrame, path: &Path, format: Format) -> Result<(), AnalysisError> {
    let mut file = File::create(path)
        .map_err(|e| AnalysisError::io(format!("Failed to create {}", path.display()), e))?;
    match format {
        Format::Csv if df.get_column_index(FLAGS).is_some() => {
            // `integrity.flags` is never null, "no flag" is the empty string;
            // the CSV writer would quote it (`""`) to tell it from a null,
            // which this table never has: an empty field, as the spec writes it.
            let mut view = df
                .clone()
                .lazy()
                .with_column(
                    when(col(FLAGS).eq(lit("")))
                        .then(lit(NULL).cast(DataType::String))
                        .otherwise(col(FLAGS))
                        .alias(FLAGS),
                )
                .collect()?;
            CsvWriter::new(&mut file)
                .include_header(true)
                .finish(&mut view)?
        }
        Format::Csv => CsvWriter::new(&mut file).include_header(true).finish(df)?,
        Format::Parquet => {
            ParquetWriter::new(&mut file).finish(df)?;
        }
    }
    file.sync_all()
        .map_err(|e| AnalysisError::io(format!("Failed to write {}", path.display()), e))?;
    Ok(())
}

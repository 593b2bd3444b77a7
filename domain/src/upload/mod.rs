//! Reading an uploaded file (CSV, XLSX or JSON) into records, and telling
//! its format from its content type and name.

pub mod read;
pub mod xlsx;

use serde::Serialize;

/// The formats an upload may come in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Csv,
    Xlsx,
    Json,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
            Format::Json => "json",
        }
    }

    /// The format, by content type first and by file name when the type is
    /// missing or generic. The error names what was received.
    pub fn detect(content_type: Option<&str>, file_name: Option<&str>) -> Result<Format, String> {
        let mime = content_type
            .map(|t| {
                t.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .filter(|t| !t.is_empty());
        let by_type = match mime.as_deref() {
            Some("text/csv" | "application/csv" | "text/comma-separated-values") => {
                Some(Format::Csv)
            }
            Some("application/json" | "text/json") => Some(Format::Json),
            Some("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet") => {
                Some(Format::Xlsx)
            }
            Some("application/octet-stream" | "text/plain" | "application/zip") | None => None,
            Some(other) => {
                return Err(format!(
                    "Content type '{other}' is not accepted; send text/csv, application/json or an XLSX file"
                ));
            }
        };
        if let Some(f) = by_type {
            return Ok(f);
        }
        let extension = file_name
            .and_then(|n| n.rsplit_once('.'))
            .map(|(_, e)| e.to_ascii_lowercase());
        match extension.as_deref() {
            Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            Some("xlsx") => Ok(Format::Xlsx),
            Some("xls") => Err("XLS (Excel 97-2003) files are not accepted; save as XLSX or CSV".into()),
            Some(other) => Err(format!(
                "Files ending in .{other} are not accepted; send CSV, XLSX or JSON"
            )),
            None => Err(
                "The format is unknown: send a Content-Type (text/csv, application/json, XLSX) or a file name ending in .csv, .xlsx or .json"
                    .into(),
            ),
        }
    }
}

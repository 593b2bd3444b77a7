//! Errors of the pipeline: bad input (the caller's fault, CLI exit code 2)
//! apart from everything else.

use std::fmt;

use polars::prelude::PolarsError;

/// A refused input: which table, which row or key, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputError {
    /// `institutions`, `responses`, `answers` or `model`.
    pub table: String,
    /// The offending key, e.g. `response_id 'r07'`, or the model key; may be empty.
    pub key: String,
    /// What is wrong, e.g. `rating 7 outside 1..5`.
    pub problem: String,
}

impl InputError {
    pub(crate) fn new(
        table: impl Into<String>,
        key: impl Into<String>,
        problem: impl Into<String>,
    ) -> Self {
        Self {
            table: table.into(),
            key: key.into(),
            problem: problem.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            write!(f, "{}: {}", self.table, self.problem)
        } else {
            write!(f, "{}: {}: {}", self.table, self.key, self.problem)
        }
    }
}

impl std::error::Error for InputError {}

/// Everything [`crate::run`] and its helpers can fail with.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The input (tables or model) breaks the spec; nothing was written.
    #[error("{0}")]
    Input(#[from] InputError),
    /// Reading or writing a file failed.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },
    /// The dataframe engine failed, or an input file could not be read (I/O).
    #[error("{0}")]
    Polars(#[from] PolarsError),
}

impl AnalysisError {
    /// True for bad input (exit code 2), false for anything else (exit code 1).
    pub fn is_input(&self) -> bool {
        matches!(self, AnalysisError::Input(_))
    }

    /// The input error, if this is one.
    pub fn as_input(&self) -> Option<&InputError> {
        match self {
            AnalysisError::Input(e) => Some(e),
            _ => None,
        }
    }

    pub(crate) fn io(context: impl Into<String>, source: std::io::Error) -> Self {
        AnalysisError::Io {
            context: context.into(),
            source,
        }
    }
}

/// An error while reading input table `table`: a file that cannot be parsed
/// (not UTF-8, ragged rows, a corrupt Parquet file) is bad input, refused
/// with the parser's reason; a failing read of the file itself (I/O) is not.
pub(crate) fn unreadable(table: &str) -> impl FnOnce(PolarsError) -> AnalysisError + '_ {
    move |e| {
        if is_io(&e) {
            return AnalysisError::Polars(e);
        }
        // Polars appends hints for its own API ("Consider setting ...")
        // after a blank line: of no use to whoever made the file.
        let message = e.to_string();
        let reason = message.split("\n\n").next().unwrap_or_default().trim();
        InputError::new(table, "", format!("cannot be read: {reason}")).into()
    }
}

/// An I/O failure, also when polars wrapped it in context (a scan wraps the
/// errors of reading a file's schema).
fn is_io(e: &PolarsError) -> bool {
    match e {
        PolarsError::IO { .. } => true,
        PolarsError::Context { error, .. } | PolarsError::ExprContext { error, .. } => is_io(error),
        _ => false,
    }
}

/// Shorthand for returning an [`InputError`].
pub(crate) fn input_err<T>(
    table: &str,
    key: impl Into<String>,
    problem: impl Into<String>,
) -> Result<T, AnalysisError> {
    Err(AnalysisError::Input(InputError::new(table, key, problem)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn io_error() -> PolarsError {
        std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied").into()
    }

    #[test]
    fn io_failures_are_not_bad_input_even_inside_context() {
        let wrapped = io_error().context("csv scan failed".into());
        for e in [io_error(), wrapped] {
            assert!(!unreadable("answers")(e).is_input());
        }
    }

    #[test]
    fn parse_failures_are_bad_input_without_polars_hints() {
        let e = PolarsError::ComputeError(
            "found more fields than defined in 'Schema'\n\nConsider setting 'truncate_ragged_lines=true'."
                .into(),
        )
        .context("csv scan failed".into());
        let err = unreadable("answers")(e);
        let input = err.as_input().map(ToString::to_string);
        assert!(
            input.as_deref().is_some_and(
                |m| m.starts_with("answers: cannot be read: ") && !m.contains("Consider")
            ),
            "{err}"
        );
    }
}

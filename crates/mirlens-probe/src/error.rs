//! Typed errors of the probe crate.

/// Errors raised by probes, rankings, reports and metrics.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// A parameter is out of its valid range.
    #[error("invalid parameter {name} = {value}: expected {expected}")]
    Param {
        /// Parameter name.
        name: &'static str,
        /// The value given (formatted).
        value: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// Two inputs disagree in size.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// What was checked.
        what: String,
        /// Expected size.
        expected: usize,
        /// Actual size.
        got: usize,
    },
    /// The data cannot support the requested analysis (one class only, too few rows, too few groups).
    #[error("{what}: {reason}")]
    Data {
        /// What was being done.
        what: String,
        /// Why it cannot be done.
        reason: String,
    },
    /// An annotation file could not be parsed.
    #[error("{path}:{line}: {reason}")]
    Parse {
        /// The file (or "<input>").
        path: String,
        /// 1-based line number.
        line: usize,
        /// What was wrong.
        reason: String,
    },
    /// An annotation file parsed but holds values its metric refuses (mir_eval's `ValueError`s: unsorted or huge
    /// event times, negative or empty intervals, non-positive pitches, not exactly one key).
    #[error("{path}: {reason}")]
    Annotation {
        /// The file (or "<input>").
        path: String,
        /// What was wrong.
        reason: String,
    },
    /// A label string (key, chord) is not valid.
    #[error("invalid {kind} label {label:?}: {reason}")]
    Label {
        /// "key" or "chord".
        kind: &'static str,
        /// The label as given.
        label: String,
        /// What was wrong.
        reason: String,
    },
    /// Reading the activation store failed.
    #[error(transparent)]
    Store(#[from] mirlens_store::StoreError),
    /// Writing a report failed.
    #[error(transparent)]
    Report(#[from] mirlens_report::ReportError),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, ProbeError>;

pub(crate) fn param(
    name: &'static str,
    value: impl std::fmt::Display,
    expected: &'static str,
) -> ProbeError {
    ProbeError::Param {
        name,
        value: value.to_string(),
        expected,
    }
}

//! Typed errors of the alignment crate.

use std::path::PathBuf;

/// Errors of similarity measures, maps, pairing and matrix files.
#[derive(Debug, thiserror::Error)]
pub enum AlignError {
    /// The two views do not have the same number of rows.
    #[error("row mismatch: X has {x} rows, Y has {y}; rows must be paired in order")]
    RowMismatch {
        /// Rows of X.
        x: usize,
        /// Rows of Y.
        y: usize,
    },
    /// Too few items for a measure.
    #[error("{what} needs at least {need} items, got {got}")]
    TooFewItems {
        /// Measure or method.
        what: &'static str,
        /// Minimum.
        need: usize,
        /// Given.
        got: usize,
    },
    /// A parameter is out of range.
    #[error("invalid parameter `{name}`: {reason}")]
    InvalidParam {
        /// Parameter (CLI spelling).
        name: &'static str,
        /// Why.
        reason: String,
    },
    /// A value is NaN or infinite.
    #[error("non-finite value in {what} at row {row}, column {col}")]
    NonFinite {
        /// Which matrix.
        what: String,
        /// Row.
        row: usize,
        /// Column.
        col: usize,
    },
    /// A matrix has no columns or no rows.
    #[error("{what} is empty ({rows} x {cols})")]
    Empty {
        /// Which matrix.
        what: String,
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// A linear-algebra routine did not converge.
    #[error("{routine} did not converge on a {rows} x {cols} matrix")]
    NoConvergence {
        /// Routine (svd, eigh).
        routine: &'static str,
        /// Rows.
        rows: usize,
        /// Columns.
        cols: usize,
    },
    /// A `.npy` file could not be parsed.
    #[error("{path}: bad .npy file at byte {offset}: {reason}")]
    Npy {
        /// File.
        path: PathBuf,
        /// Byte offset of the problem.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// Reading or writing a file failed.
    #[error("{path}")]
    Io {
        /// File.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The activation store failed.
    #[error(transparent)]
    Store(#[from] mirlens_store::StoreError),
    /// Pairing two stores produced no pairs.
    #[error("pairing {x} with {y} gave no pairs ({reason})")]
    NoPairs {
        /// First store.
        x: PathBuf,
        /// Second store.
        y: PathBuf,
        /// Why.
        reason: String,
    },
    /// A layer is missing from a store or folder.
    #[error("{source_path}: no layer {layer}")]
    NoLayer {
        /// Store or folder.
        source_path: PathBuf,
        /// Requested layer.
        layer: String,
    },
    /// Writing a report file failed.
    #[error(transparent)]
    Report(#[from] mirlens_report::ReportError),
}

/// Result alias.
pub type Result<T> = std::result::Result<T, AlignError>;

pub(crate) fn io_err(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> AlignError {
    let path = path.into();
    move |source| AlignError::Io { path, source }
}

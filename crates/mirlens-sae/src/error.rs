//! Typed errors of the SAE crate.

use std::path::PathBuf;

/// Everything that can go wrong while configuring, training, evaluating, analysing or (de)serialising an SAE.
#[derive(Debug, thiserror::Error)]
pub enum SaeError {
    /// A parameter is out of its valid range.
    #[error("invalid parameter `{parameter}` = {value}: expected {expected}")]
    InvalidParameter {
        /// Parameter name.
        parameter: &'static str,
        /// The rejected value, as text.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
    /// Two things that must agree in size do not.
    #[error("shape mismatch for {what}: expected {expected}, got {got}")]
    Shape {
        /// What was being checked.
        what: String,
        /// Expected size or shape.
        expected: String,
        /// Actual size or shape.
        got: String,
    },
    /// Reading or writing a file failed.
    #[error("I/O error on {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file could not be parsed or written.
    #[error("JSON error in {path}")]
    Json {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A safetensors file could not be parsed or written.
    #[error("safetensors error in {path}: {message}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A tensor required by a format is absent.
    #[error("tensor `{name}` missing from {path}")]
    MissingTensor {
        /// The file.
        path: PathBuf,
        /// Tensor key.
        name: String,
    },
    /// A tensor present in a file is not used by the format (strict loading).
    #[error("unused tensors {names:?} in {path}")]
    UnusedTensors {
        /// The file.
        path: PathBuf,
        /// The unused keys.
        names: Vec<String>,
    },
    /// A configuration names an option mirlens does not support.
    #[error("unsupported {what} `{value}` in {path}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Which option.
        what: &'static str,
        /// The value found.
        value: String,
    },
    /// A checkpoint cannot be resumed with the given settings.
    #[error("checkpoint {path} does not match the run: {reason}")]
    CheckpointMismatch {
        /// The checkpoint folder.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The activation source failed.
    #[error("activation source: {message}")]
    Source {
        /// What went wrong.
        message: String,
    },
    /// A non-finite value appeared during training.
    #[error("training diverged at step {step}: loss is {loss}")]
    Diverged {
        /// The step.
        step: u64,
        /// The loss value.
        loss: f64,
    },
    /// Building a table or plot failed.
    #[error("report")]
    Report(#[from] mirlens_report::ReportError),
    /// Not enough data for the request.
    #[error("not enough rows: {what} needs {needed}, the source has {available}")]
    NotEnoughRows {
        /// What needed them.
        what: &'static str,
        /// Rows needed.
        needed: usize,
        /// Rows available.
        available: usize,
    },
}

impl SaeError {
    /// Shorthand for [`SaeError::InvalidParameter`].
    pub fn invalid(
        parameter: &'static str,
        value: impl std::fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        SaeError::InvalidParameter {
            parameter,
            value: value.to_string(),
            expected: expected.into(),
        }
    }

    /// Shorthand for [`SaeError::Shape`].
    pub fn shape(
        what: impl Into<String>,
        expected: impl std::fmt::Display,
        got: impl std::fmt::Display,
    ) -> Self {
        SaeError::Shape {
            what: what.into(),
            expected: expected.to_string(),
            got: got.to_string(),
        }
    }

    /// Shorthand for [`SaeError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SaeError::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SaeError>;

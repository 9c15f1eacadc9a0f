//! The error type of this crate. Every variant that comes from a file names the file, and the line where one exists.

use std::path::PathBuf;

/// Errors from reading/writing manifests, building them from dataset layouts, and generating synthetic data.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// An IO error on a named file or directory.
    #[error("{path}")]
    Io {
        /// The file or directory at fault.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file could not be parsed at a given line (1-based).
    #[error("{path}:{line}: {message}")]
    Parse {
        /// The file at fault.
        path: PathBuf,
        /// 1-based line number (0 when the file as a whole is at fault).
        line: usize,
        /// What was wrong and what was expected.
        message: String,
    },
    /// A label value has a different type from the one the schema declares.
    #[error("{path}:{line}: label `{label}` should be {expected} but is {got} ({value})")]
    LabelType {
        /// The file at fault.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The label name.
        label: String,
        /// The type the schema declares.
        expected: &'static str,
        /// The type found.
        got: &'static str,
        /// The value as written.
        value: String,
    },
    /// Two entries share one id.
    #[error("{path}:{line}: duplicate clip id `{id}` (first seen at line {first_line})")]
    DuplicateId {
        /// The file at fault.
        path: PathBuf,
        /// 1-based line of the duplicate.
        line: usize,
        /// The repeated id.
        id: String,
        /// 1-based line where the id first occurred.
        first_line: usize,
    },
    /// Metadata (or a manifest) refers to an audio/MIDI file that does not exist.
    #[error("{path}:{line}: refers to missing file {missing}")]
    MissingFile {
        /// The metadata or manifest file holding the reference.
        path: PathBuf,
        /// 1-based line of the reference (0 when the reference is not line-based).
        line: usize,
        /// The file that is missing.
        missing: PathBuf,
    },
    /// A dataset layout is not what the adapter expects (e.g. a required metadata file or folder is absent).
    #[error("{root}: not a {layout} layout: {message}")]
    Layout {
        /// The dataset root given by the user.
        root: PathBuf,
        /// The layout name (`nsynth`, `gtzan`, ...).
        layout: &'static str,
        /// What was expected.
        message: String,
    },
    /// A parameter failed validation.
    #[error(transparent)]
    Param(#[from] mirlens_core::CoreError),
    /// A WAV file could not be written.
    #[error("{path}: cannot write WAV: {message}")]
    Wav {
        /// The WAV file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A text file (a text manifest or a document) is not valid UTF-8.
    #[error("{path}:{line}: invalid UTF-8 at byte offset {byte_offset}")]
    InvalidUtf8 {
        /// The file at fault.
        path: PathBuf,
        /// 1-based line holding the first invalid byte.
        line: usize,
        /// Offset of the first invalid byte from the start of the file.
        byte_offset: usize,
    },
    /// A MIDI file could not be parsed.
    #[error("{path}: invalid MIDI: {message}")]
    Midi {
        /// The MIDI file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
}

impl DatasetError {
    /// Convenience constructor for [`DatasetError::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DatasetError::Io {
            path: path.into(),
            source,
        }
    }

    /// Convenience constructor for [`DatasetError::Parse`].
    pub fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        DatasetError::Parse {
            path: path.into(),
            line,
            message: message.into(),
        }
    }
}

/// Result alias of this crate.
pub type Result<T, E = DatasetError> = std::result::Result<T, E>;

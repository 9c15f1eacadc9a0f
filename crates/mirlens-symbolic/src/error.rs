//! Typed errors of the symbolic crate. Every parse error names the file and the byte offset where reading failed.

use std::path::PathBuf;

/// Errors of reading, writing, rolling, tokenizing and rendering scores.
#[derive(Debug, thiserror::Error)]
pub enum SymbolicError {
    /// Reading or writing a file failed.
    #[error("{path}: {action}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done.
        action: &'static str,
        /// The OS error.
        source: std::io::Error,
    },
    /// The bytes are not a valid Standard MIDI File; `offset` is where reading stopped.
    #[error("{path}: byte {offset}: {reason}")]
    Malformed {
        /// The file (or a label such as `<bytes>` for in-memory input).
        path: PathBuf,
        /// Byte offset from the start of the file.
        offset: u64,
        /// What was expected there.
        reason: String,
    },
    /// An option or argument is out of range.
    #[error("{what}: {value} is invalid, expected {expected}")]
    InvalidOption {
        /// Option name.
        what: &'static str,
        /// Given value.
        value: String,
        /// What is accepted.
        expected: String,
    },
    /// A computed output would exceed a safety limit (e.g. a piano roll with too many frames).
    #[error("{what}: {value} exceeds the limit {limit}")]
    TooLarge {
        /// What is too large.
        what: &'static str,
        /// Its size.
        value: u64,
        /// The limit.
        limit: u64,
    },
    /// The score cannot be processed this way (e.g. SMPTE timing for a beat-grid tokenizer).
    #[error("{0}")]
    Unsupported(String),
    /// A token sequence or tokenizer file is invalid.
    #[error("{what}: {reason}")]
    Tokens {
        /// Which sequence, token or file.
        what: String,
        /// What is wrong.
        reason: String,
    },
    /// Rendering audio failed.
    #[error("render: {0}")]
    Render(String),
}

/// Result alias of this crate.
pub type Result<T> = std::result::Result<T, SymbolicError>;

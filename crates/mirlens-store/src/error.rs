//! Errors of the activation store.

use mirlens_core::LayerId;
use std::path::PathBuf;

/// Everything that can go wrong when writing or reading a store. Every variant names the file, layer or field at
/// fault.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A file-system operation failed (permission denied, disk full, missing file, …).
    #[error("could not {action} {path}")]
    Io {
        /// What was being done (`"create"`, `"read"`, `"rename into place"`, …).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A JSON file (manifest, journal, row table) could not be parsed or written.
    #[error("invalid JSON in {path}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Json {
        /// The file concerned.
        path: PathBuf,
        /// One-based line of a JSONL file, when known.
        line: Option<usize>,
        /// The parser's message.
        message: String,
    },
    /// A safetensors shard could not be parsed or has unexpected content.
    #[error("invalid shard {path}: {message}")]
    Shard {
        /// The shard file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// The directory holds no `manifest.json`.
    #[error("{path} is not an activation store (no manifest.json)")]
    NotAStore {
        /// The directory given.
        path: PathBuf,
    },
    /// The store exists but has not been finalised (extraction interrupted or still running).
    #[error(
        "store {path} is incomplete ({shards} shard(s) committed): rerun the same extraction command to resume it"
    )]
    Incomplete {
        /// The store directory.
        path: PathBuf,
        /// Number of committed shards.
        shards: usize,
    },
    /// The store was written with a different model/configuration than the one being appended.
    #[error(
        "refusing to append to store {path}: it was written with {field} = {existing}, but this run uses {field} = {requested}"
    )]
    Incompatible {
        /// The store directory.
        path: PathBuf,
        /// The manifest field that differs.
        field: &'static str,
        /// Value recorded in the store.
        existing: String,
        /// Value of the current run.
        requested: String,
    },
    /// The store format version is not understood.
    #[error("store {path} has format {found}, this build reads {expected}")]
    Format {
        /// The store directory.
        path: PathBuf,
        /// Format string found.
        found: String,
        /// Format string expected.
        expected: String,
    },
    /// A layer that the store does not hold was requested.
    #[error("{layer} is not in this store (layers: {available:?})")]
    UnknownLayer {
        /// Requested layer.
        layer: LayerId,
        /// Layers the store holds.
        available: Vec<usize>,
    },
    /// A row index beyond the store was requested.
    #[error("row {row} requested, but the store has {rows} rows")]
    RowOutOfRange {
        /// Requested row.
        row: usize,
        /// Number of rows in the store.
        rows: usize,
    },
    /// Data handed to the writer has an inconsistent size.
    #[error("{what}: expected {expected}, got {got}")]
    Shape {
        /// What was checked.
        what: String,
        /// Expected value.
        expected: usize,
        /// Actual value.
        got: usize,
    },
    /// A committed shard is missing or has been modified since it was committed.
    #[error("store {path} is corrupt: {reason}")]
    Corrupt {
        /// The offending file or directory.
        path: PathBuf,
        /// What is inconsistent.
        reason: String,
    },
    /// A row has no split, or a split name is not understood, when splitting by the dataset's splits.
    #[error("clip {clip_id:?}: {reason}")]
    Split {
        /// The clip concerned.
        clip_id: String,
        /// What is wrong.
        reason: String,
    },
    /// Stores given to `merge` do not fit together.
    #[error("cannot merge {path}: {reason}")]
    Merge {
        /// The store that does not fit.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The output directory exists, is not empty and is not a store.
    #[error("{path} exists and is not an activation store; choose a new or empty directory")]
    NotEmpty {
        /// The directory.
        path: PathBuf,
    },
    /// Some shards of the store's part have not been written yet.
    #[error("store {path} lacks shard(s) {missing:?}")]
    MissingShards {
        /// The store directory.
        path: PathBuf,
        /// Missing global shard indices.
        missing: Vec<usize>,
    },
    /// A label value or column does not fit the store's label schema.
    #[error("label {label:?}: {reason}")]
    Label {
        /// The label.
        label: String,
        /// What is wrong.
        reason: String,
    },
    /// An activation is NaN or infinite and the store's policy is `error`.
    #[error(
        "non-finite activation ({value}) in {layer}, row {row} of shard {shard} (clip {clip_id:?}) for store {path}; \
         the store's non-finite policy is `error`; policy `skip` drops such rows, `keep` stores them"
    )]
    NonFinite {
        /// The store directory.
        path: PathBuf,
        /// Global shard index.
        shard: usize,
        /// The layer.
        layer: LayerId,
        /// Row within the shard.
        row: usize,
        /// The row's clip.
        clip_id: String,
        /// The offending value (after rounding to the storage dtype).
        value: f32,
    },
    /// Another process holds the store's write lock.
    #[error("store {path} is being written by process {}", pid.map(|p| p.to_string()).unwrap_or_else(|| "(unknown)".into()))]
    Locked {
        /// The store directory.
        path: PathBuf,
        /// Process id recorded in the lock file, when readable.
        pid: Option<u32>,
    },
    /// A format-1 store was opened for writing.
    #[error(
        "store {path} has format {format}, which this version reads but no longer writes; extract into a new store"
    )]
    ReadOnly {
        /// The store directory.
        path: PathBuf,
        /// Its format.
        format: String,
    },
    /// An invalid parameter (batch size 0, split fractions out of range, …).
    #[error(transparent)]
    Param(#[from] mirlens_core::CoreError),
}

/// Result alias of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub(crate) fn io_err(
    action: &'static str,
    path: impl Into<PathBuf>,
) -> impl FnOnce(std::io::Error) -> StoreError {
    let path = path.into();
    move |source| StoreError::Io {
        action,
        path,
        source,
    }
}

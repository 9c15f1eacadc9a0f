//! # mirlens-store
//!
//! The activation store: per-layer activations of a dataset pushed through an encoder, written once by extraction
//! and read many times by analysis (sparse autoencoders, probes, cross-modal maps). This crate depends only on
//! `mirlens-core`; it never decodes audio or runs a model.
//!
//! ## On-disk layout (format `mirlens-store/1`)
//!
//! ```text
//! STORE/
//!   manifest.json                      model, revision, config hash, layers, hidden size, dtype, pooling,
//!                                      frame rate, dataset + hash, part, shard list with SHA-256, bad clips
//!   journal.jsonl                      commit log: one ShardRecord per committed shard
//!   layer-LLL/shard-SSSSS.safetensors  tensor "activations" [rows, hidden] (F32 | F16 | BF16)
//!   rows/shard-SSSSS.jsonl             one RowMeta per row: clip_id, clip_index, frame, time, split, labels
//!   stats/layer-LLL.safetensors        mean [hidden], var [hidden], norm_edges [65], norm_counts [64] (F64/I64)
//! ```
//!
//! Everything is readable from Python with `json` and `safetensors.numpy` alone.
//!
//! ## Reading
//!
//! ```no_run
//! use mirlens_store::{Store, BatchOptions, Shuffle, SplitPolicy};
//! use mirlens_core::LayerId;
//! # fn main() -> Result<(), mirlens_store::StoreError> {
//! let store = Store::open("acts/synth-notes")?;
//! let (x, rows, dim) = store.read_layer(LayerId(3))?;          // whole layer, f32 row-major
//! let pitch = store.labels("pitch");                            // one label per row
//! let split = store.split(&SplitPolicy::ByClip { val: 0.1, test: 0.2, seed: 0 })?;
//! for batch in store.batches(BatchOptions {
//!     layers: vec![LayerId(3)],
//!     batch_size: 256,
//!     shuffle: Shuffle::Buffer { buffer: 8192, seed: 1 },
//!     rows: Some(split.train.clone()),
//!     ..BatchOptions::default()
//! })? {
//!     let batch = batch?;
//!     let _acts = batch.layer(LayerId(3)).unwrap();
//! }
//! # let _ = (x, rows, dim, pitch); Ok(()) }
//! ```
//!
//! ## Writing
//!
//! [`StoreWriter::open`] creates a store or resumes an interrupted one (refusing a different model/config),
//! [`StoreWriter::write_shard`] commits shards atomically through the journal, [`StoreWriter::finalize`] computes
//! the statistics and marks the store complete. [`merge`] joins the parts of a `--shard i/N` extraction.

mod error;
pub mod io;
pub mod lock;
pub mod manifest;
mod merge;
pub mod reader;
pub mod schema;
pub mod stats;
pub mod table;
pub mod writer;

pub use error::{Result, StoreError};
pub use lock::{LOCK_FILE, StoreLock};
pub use manifest::{
    BadClip, FORMAT, FORMAT_V1, FileDigest, JOURNAL_FILE, MANIFEST_FILE, Part, RowMeta,
    ShardRecord, StoreHeader, StoreManifest,
};
pub use merge::merge;
pub use reader::{
    Batch, BatchOptions, Batches, ClipTable, LabelCondition, LastBatch, OpenOptions, RowFilter,
    RowSplit, Shuffle, SplitPolicy, Store, Verify, split_rows,
};
pub use schema::{
    LabelField, LabelKind, LabelLevel, LabelSchema, Modality, ModelCard, NonFinitePolicy, RowUnit,
    SpanUnit, StoreLayout,
};
pub use stats::{LayerStats, NormSummary, StatsAccumulator};
pub use table::{ClipEntry, LabelData, ShardColumns};
pub use writer::{ShardData, StoreWriter};

/// Read the committed shard records of a store that may still be in progress (for `store info`).
pub fn committed_shards(dir: &std::path::Path) -> Result<Vec<ShardRecord>> {
    writer::read_journal(dir, false)
}

//! # mirlens-datasets
//!
//! Dataset manifests and adapters (NSynth, GTZAN, GiantSteps, MAESTRO, MTG-Jamendo, folders) and built-in synthetic
//! music.
//!
//! * [`manifest`] — the one manifest format every dataset is turned into: clip id, audio path, offset, duration,
//!   split and typed labels, as JSONL or CSV, with a stable content hash.
//! * [`adapters`] — manifests from the published layouts of NSynth, GTZAN, GiantSteps, MAESTRO, MTG-Jamendo,
//!   folder-per-label trees and generic CSV files.
//! * [`text`] — text documents (JSONL, CSV or a folder of `.txt` files) with typed document labels, for token
//!   language models.
//! * [`synth`] — synthetic notes and chords with exact labels, deterministic by seed, generated in memory or
//!   written as WAV + manifest.

pub mod adapters;
pub mod cards;
pub mod error;
pub mod manifest;
pub mod synth;
pub mod text;
pub mod token_docs;

pub use error::{DatasetError, Result};
pub use manifest::{LabelSchema, LabelType, Manifest, ManifestEntry, ManifestFormat, Split};
pub use text::{TextDataset, TextDocument};

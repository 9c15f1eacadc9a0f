//! # mirlens-sae
//!
//! Sparse autoencoders on activation rows of any model (music encoder frames, MIDI or text tokens alike):
//!
//! * [`sae`]: architectures — TopK (+ AuxK), ReLU + decoder-norm-weighted L1, BatchTopK (inference threshold),
//!   JumpReLU (straight-through estimators) — input normalisation, encode/decode with a sparse gather decoder;
//! * [`train`]: Adam with the width-scaled learning rate, warm-up/decay, geometric-median `b_dec`, tied init,
//!   unit-norm decoder with gradient projection, dead latents counted in tokens, checkpoints and resume;
//! * [`metrics`]: FVU, L0, dead/dense fractions, log-density histogram, cosine, ℓ2 ratio, relative reconstruction
//!   bias, with one documented definition each;
//! * [`analysis`]: per-feature top examples, histograms, density, label association (precision/recall, mutual
//!   information), source tendency classification;
//! * [`study`]: expansion × K sweeps and the checkpoint-crossing study, with tables and SVG plots;
//! * [`io`]: native safetensors + JSON, SAELens export/import, sparsify import, checkpoints;
//! * [`source`] / [`store_source`]: the [`ActivationSource`] trait, in-memory matrices and the activation-store
//!   adapter; [`synthetic`]: planted-dictionary data.
//!
//! The crate does its maths by hand in f32 (f64 accumulators for metrics) with rayon and the `gemm` kernel; it
//! depends on no tensor framework, audio or model crate.

pub mod analysis;
pub mod error;
pub mod io;
pub mod linalg;
pub mod metrics;
pub mod report;
pub mod sae;
pub mod source;
pub mod store_source;
pub mod study;
pub mod synthetic;
pub mod train;

pub use error::{Result, SaeError};
pub use metrics::{EvalMetrics, evaluate};
pub use sae::{Architecture, InputTransform, Normalization, Sae, SparseCodes};
pub use source::{ActivationSource, Matrix, RowMeta};
pub use train::{TrainOutcome, TrainParams, TrainPlan, train};

//! # mirlens-pretrain
//!
//! The models mirlens trains itself: self-supervised pretraining of small HuBERT/MERT-architecture music encoders
//! on mirlens' built-in synthetic music, in the spirit of MERT / HuBERT iteration 1, and ([`lm`]) next-token
//! pretraining of small Llama-architecture decoder language models on token sequences.
//!
//! The audio encoder:
//!
//! - [`recipe`]: the TOML recipe (model size, corpus mix, targets, objective, optimiser, steps, checkpoints);
//! - [`corpus`]: a deterministic mixture of `synth-notes`, `synth-chords` and `synth-sequences` clips with
//!   frame-aligned MFCC and CQT teacher features computed by `mirlens-audio`;
//! - [`kmeans`]: seeded k-means for the discrete targets;
//! - [`layout`]: checkpoint folders of runs and exported models (`checkpoints/step-NNNNNN`);
//! - [`model`]: the trainable encoder under HF key names plus the heads (cluster classifier, CQT regressor);
//! - [`export`]: a finished run → a shippable HF model folder (final weights at the top, earlier checkpoints under
//!   `checkpoints/`, optionally in f16);
//! - [`train`]: the trainer — HuBERT span masking, Adam with warm-up and clipping, validation, checkpoints in HF
//!   layout (`config.json` + `model.safetensors`) with training state for exact resume, JSONL log, SVG curve.
//!
//! The model never sees labels: the targets are k-means clusters of MFCC (optionally MFCC + CQT) frames (masked
//! prediction, cross-entropy) and standardised log-CQT frames (masked reconstruction, MSE).

pub mod corpus;
pub mod export;
pub mod kmeans;
pub mod layout;
pub mod lm;
pub mod model;
pub mod recipe;
mod state;
pub mod train;

pub use export::{ExportSummary, WeightDtype, export};
pub use lm::{LmCorpus, LmRecipe, LmTrainer, build_corpus, export_lm};
pub use recipe::Recipe;
pub use train::{StepReport, TrainOptions, Trainer};

/// Result of this crate.
pub type Result<T> = std::result::Result<T, PretrainError>;

use std::path::PathBuf;

/// Errors of pretraining.
#[derive(Debug, thiserror::Error)]
pub enum PretrainError {
    /// A recipe field has an impossible value.
    #[error("recipe: invalid `{parameter}`: expected {expected}, got {got}")]
    Recipe {
        /// Dotted field name.
        parameter: String,
        /// Value given.
        got: String,
        /// What was expected.
        expected: String,
    },
    /// The recipe could not be parsed.
    #[error("recipe {}: {message}", path.as_ref().map(|p| p.display().to_string()).unwrap_or_else(|| "<text>".into()))]
    Parse {
        /// File, if any.
        path: Option<PathBuf>,
        /// Parser message.
        message: String,
    },
    /// File-system failure.
    #[error("{}", path.display())]
    Io {
        /// Path involved.
        path: PathBuf,
        /// Cause.
        source: std::io::Error,
    },
    /// The corpus could not be built.
    #[error("corpus: {message}")]
    Corpus {
        /// What went wrong.
        message: String,
    },
    /// Training state missing or inconsistent (resume).
    #[error("training state: {message}")]
    State {
        /// What went wrong.
        message: String,
    },
    /// The loss became non-finite.
    #[error("non-finite loss {loss} at step {step}")]
    NonFinite {
        /// Step.
        step: usize,
        /// Loss value.
        loss: f64,
    },
    /// Tensor backend failure.
    #[error("candle")]
    Candle(#[from] candle_core::Error),
    /// Front-end failure.
    #[error("front-end")]
    Frontend(#[from] mirlens_audio::frontend::FrontendError),
    /// Generator parameter failure.
    #[error("generator")]
    Core(#[from] mirlens_core::CoreError),
    /// Model loading failure.
    #[error("model")]
    Model(#[from] mirlens_models::ModelError),
    /// Report failure.
    #[error("report")]
    Report(#[from] mirlens_report::ReportError),
}

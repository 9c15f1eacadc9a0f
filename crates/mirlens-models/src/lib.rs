//! # mirlens-models
//!
//! Encoder trait and candle implementations of wav2vec2, HuBERT and MERT; strict loading; model registry.

pub mod encoder;

pub use encoder::{EncodeOptions, Encoder, EncoderSpec, LayerActivations};

/// Errors of model loading and inference.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A backend-specific failure (candle, ONNX Runtime) with its message.
    #[error("{backend} backend: {message}")]
    Backend {
        /// Which backend.
        backend: &'static str,
        /// What went wrong.
        message: String,
    },
    /// A shared-vocabulary error (layer out of range, bad option).
    #[error(transparent)]
    Core(#[from] mirlens_core::CoreError),
}

//! # mirlens-onnx
//!
//! ONNX Runtime backend implementing the [`mirlens_models::Encoder`] trait, so exported wav2vec2, HuBERT and MERT
//! graphs give the same per-layer activations as the candle implementations.
//!
//! * [`OnnxEncoder`] loads a graph written by `tests/golden/onnx/generate.py` (export contract: input
//!   `input_values [batch, samples]`, optional `attention_mask`, outputs `hidden_state_0..=N`,
//!   `last_hidden_state`, `conv_features`, metadata `mirlens.encoder`; see `docs/onnx.md`).
//! * [`OnnxRuntime`] / [`RuntimeSearch`] find the ONNX Runtime shared library at run time (`ORT_DYLIB_PATH`, the
//!   active virtual environment, or a `.venv` in the working directory or a parent). Nothing is downloaded; a
//!   missing library is a typed error ([`OnnxError::RuntimeNotFound`], [`OnnxError::RuntimeFileMissing`]) that
//!   says how to install it.
//!
//! Batching: layer-norm conv stacks run padded batches with an attention mask; group-norm models (wav2vec2-base,
//! HuBERT-base, MERT-v1) normalise conv 0 over the whole padded time axis, so [`OnnxEncoder::encode_batch_typed`]
//! batches only equal-length inputs for them.

mod error;
mod model;
mod runtime;

pub use error::{INSTALL_HINT, OnnxError, RuntimeOrigin};
pub use model::{
    ATTENTION_MASK, BatchOutput, CONV_FEATURES, ConvNorm, EncoderLayout, ExportMeta, INPUT_VALUES,
    LAST_HIDDEN_STATE, METADATA_FORMAT, METADATA_KEY, OnnxEncoder, OnnxOptions, Optimization,
    hidden_state_output,
};
pub use runtime::{DYLIB_ENV, ORT_VERSION, OnnxRuntime, RuntimeLocation, RuntimeSearch};

//! # mirlens-models
//!
//! Pretrained audio encoders that return every hidden state, layer by layer:
//!
//! - [`Encoder`]: the backend-independent interface (candle here, ONNX Runtime in `mirlens-onnx`);
//! - [`config`]: HF `config.json` / `preprocessor_config.json` driven configuration, dispatched on `model_type`
//!   (`wav2vec2`, `hubert`, MERT's `mert_model`), with unsupported options refused by name;
//! - [`weights`]: strict safetensors loading (used / missing / unused report, both weight-norm spellings fused at
//!   load, head-model prefixes, pickle checkpoints refused with a conversion hint);
//! - [`wav2vec2`]: the candle implementation of the wav2vec2 / HuBERT / MERT-v1 architecture family;
//! - [`CandleEncoder`]: a loaded model implementing [`Encoder`];
//! - [`chunked`]: long-audio inference in overlapping windows with a documented stitching rule;
//! - [`text`]: token language models (`llama`, `qwen2`, `gpt2`, `gpt_neox`, `bert`, `roberta`, `xlm-roberta`)
//!   implementing [`TokenEncoder`], and `tokenizer.json` tokenizers;
//! - [`registry`]: model cards (`models/*.toml`) and resolution local directory → HF cache → hub download.
//!
//! ## Hidden-state convention
//! Layer 0 is `hidden_states[0]` exactly as HF transformers defines it for the variant: for post-LN models
//! (`do_stable_layer_norm = false`: wav2vec2-base, HuBERT-base, MERT-v1-95M) the encoder layer norm of
//! `projection + pos_conv`; for pre-LN models (wav2vec2-large-lv60, HuBERT-large, MERT-v1-330M) `projection +
//! pos_conv` without normalisation. Layers `1..=N` are block outputs. For pre-LN models layer `N` is by default the
//! last block output *before* the final encoder layer norm (transformers ≥ 5, [`FinalNorm::Before`]);
//! [`FinalNorm::After`] returns `LN_enc(block N)` instead, which is what transformers ≤ 4.57 returned as
//! `hidden_states[-1]` (= `last_hidden_state`). Post-LN models are unaffected.
//!
//! ## Batching and group-norm models
//! Group-norm conv stacks (`feat_extract_norm = "group"`) normalise each channel of conv 0 over the whole padded
//! time axis, so zero padding changes every frame; transformers passes no attention mask for them.
//! [`Encoder::encode_batch`] of [`CandleEncoder`] therefore batches only equal-length inputs of group-norm models
//! (unequal ones run separately) and gives exactly [`Encoder::encode`]'s result per item; layer-norm conv stacks are
//! batched with padding and an attention mask. [`CandleEncoder::forward_padded`] reproduces transformers' padded
//! batch (with or without mask) for parity tests.

#[cfg(feature = "candle")]
pub mod candle_encoder;
pub mod chunked;
pub mod config;
pub mod encoder;
pub mod limits;
pub mod registry;
#[cfg(feature = "candle")]
pub mod text;
#[cfg(feature = "candle")]
pub mod wav2vec2;
#[cfg(feature = "candle")]
pub mod weights;

#[cfg(feature = "candle")]
pub use candle_encoder::{CandleEncoder, LoadOptions};
pub use chunked::{ChunkParams, encode_chunked};
pub use config::{EncoderConfig, FrameGeometry, ModelType};
pub use encoder::{
    EncodeOptions, Encoder, EncoderSpec, FinalNorm, InputSpec, LayerActivations, SpecialTokens,
    TokenEncodeOptions, TokenEncoder, TokenEncoderSpec, normalize_waveform,
};
pub use registry::{ModelCard, Registry, ResolvedModel, TrainingCard};
#[cfg(feature = "candle")]
pub use text::{TextModel, TextTokenizer, TokenizedText};
#[cfg(feature = "candle")]
pub use weights::{LoadPolicy, LoadReport};

use std::path::PathBuf;

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
    /// A file could not be read or written.
    #[error("{path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A file the model needs is absent.
    #[error("{path}: missing {what}")]
    MissingFile {
        /// Where it was expected.
        path: PathBuf,
        /// What it is (`config.json`, `weights (model.safetensors)`).
        what: &'static str,
    },
    /// A configuration file could not be parsed or holds an invalid value.
    #[error("{path}: invalid configuration: {message}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// `model_type` names an architecture this crate does not implement.
    #[error(
        "{path}: unknown model_type {model_type:?}; supported: wav2vec2, hubert, mert_model (audio), llama, qwen2, \
         gpt2, gpt_neox, bert, roberta, xlm-roberta (text)"
    )]
    UnknownModelType {
        /// The config file.
        path: PathBuf,
        /// The value found.
        model_type: String,
    },
    /// A configuration option has a value mirlens cannot honour.
    #[error("unsupported configuration: {option} = {value}: {reason}")]
    Unsupported {
        /// The config key.
        option: String,
        /// Its value.
        value: String,
        /// Why it cannot be honoured.
        reason: String,
    },
    /// A pickle checkpoint (`.bin`, `.pt`, `.pth`, `.ckpt`) was found instead of safetensors.
    #[error(
        "{path}: pickle checkpoints are not loaded (unpickling can execute code); convert the weights once to \
         safetensors with a loader that refuses code, e.g. `python -c \"import torch; from safetensors.torch import \
         save_file; sd = torch.load('{path}', map_location='cpu', weights_only=True); \
         save_file({{k: v.contiguous().clone() for k, v in sd.items()}}, '{dir}/model.safetensors')\"` \
         (weights_only=True fails instead of running code; only convert files from a source you trust), then \
         remove the pickle file",
        dir = .path.parent().map(|p| p.display().to_string()).unwrap_or_default()
    )]
    PickleCheckpoint {
        /// The pickle file.
        path: PathBuf,
    },
    /// A safetensors file is malformed or holds an unsupported dtype.
    #[error("{path}: {message}")]
    Safetensors {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A tensor has a shape other than the configuration implies.
    #[error("tensor {tensor}: expected shape {expected:?}, found {found:?}")]
    ShapeMismatch {
        /// Full tensor name in the checkpoint.
        tensor: String,
        /// Shape implied by the configuration.
        expected: Vec<usize>,
        /// Shape in the checkpoint.
        found: Vec<usize>,
    },
    /// Strict loading failed: tensors missing from, or left unused in, the checkpoint.
    #[error(
        "strict loading failed: {} missing tensor(s) {missing:?}, {} unused tensor(s) {unused:?} \
         (opt into partial loading to accept this)",
        missing.len(),
        unused.len()
    )]
    StrictLoad {
        /// Tensors the model needs but the checkpoint lacks.
        missing: Vec<String>,
        /// Tensors in the checkpoint the model did not use.
        unused: Vec<String>,
    },
    /// The input is shorter than the conv encoder's receptive field (no output frame).
    #[error(
        "input of {samples} samples is shorter than the receptive field of {receptive_field} samples"
    )]
    InputTooShort {
        /// Samples given.
        samples: usize,
        /// Minimum number of samples for one frame.
        receptive_field: usize,
    },
    /// The input holds NaN or infinity.
    #[error("input sample {index} is not finite ({value})")]
    NonFiniteInput {
        /// Index of the first offending sample.
        index: usize,
        /// Its value.
        value: f32,
    },
    /// A token sequence is empty.
    #[error("token sequence {item} is empty")]
    EmptyTokens {
        /// Index of the sequence in the batch.
        item: usize,
    },
    /// A token id is outside the model's vocabulary.
    #[error(
        "token sequence {item}, position {index}: id {id} is outside the vocabulary of {vocab_size}"
    )]
    TokenOutOfRange {
        /// Index of the sequence in the batch.
        item: usize,
        /// Position in the sequence.
        index: usize,
        /// The id.
        id: u32,
        /// Vocabulary size.
        vocab_size: usize,
    },
    /// A token sequence is longer than the model's learned positions allow.
    #[error(
        "token sequence {item} has {tokens} tokens; the model's position embeddings allow at most {max}"
    )]
    SequenceTooLong {
        /// Index of the sequence in the batch.
        item: usize,
        /// Its length.
        tokens: usize,
        /// The limit.
        max: usize,
    },
    /// Logits were asked of a model without a language-model head.
    #[error(
        "model_type {model_type} has no causal language-model head (logits and loss need a decoder)"
    )]
    NoLmHead {
        /// The architecture.
        model_type: String,
    },
    /// A `tokenizer.json` could not be loaded or used.
    #[error("{path}: tokenizer: {message}")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// The tokenizer library's message.
        message: String,
    },
    /// A model name resolved nowhere.
    #[error(
        "model {name:?} not found; looked in: {}; {hint}",
        searched.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    ModelNotFound {
        /// Name or path asked for.
        name: String,
        /// Places looked at, in order.
        searched: Vec<PathBuf>,
        /// How to obtain it.
        hint: String,
    },
    /// A hub download failed.
    #[error("download of {repo}@{revision} file {file} failed: {message}")]
    Download {
        /// Repository id.
        repo: String,
        /// Revision.
        revision: String,
        /// File name.
        file: String,
        /// The client's message.
        message: String,
    },
}

#[cfg(feature = "candle")]
impl From<candle_core::Error> for ModelError {
    fn from(e: candle_core::Error) -> Self {
        ModelError::Backend {
            backend: "candle",
            message: e.to_string(),
        }
    }
}

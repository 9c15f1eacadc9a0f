//! The backend-independent encoder interface. candle (this crate) and ONNX Runtime (`mirlens-onnx`) both implement
//! [`Encoder`] and pass one parity suite.
//!
//! Contract for implementors:
//! - `encode` takes the model input exactly as the network sees it (`input_values`); per-clip normalisation, when
//!   [`EncoderSpec::normalize_input`] says so, is the caller's job ([`normalize_waveform`]).
//! - Non-finite input is [`ModelError::NonFiniteInput`]; input shorter than the receptive field is
//!   [`ModelError::InputTooShort`]; a layer beyond `num_layers` is `ModelError::Core(LayerOutOfRange)` (from
//!   [`LayerSelection::resolve`]).
//! - Layer `i` is `hidden_states[i]` of transformers; for pre-LN models layer `N` follows
//!   [`EncodeOptions::final_norm`] (see the crate docs).

use crate::ModelError;
use mirlens_core::{LayerId, LayerSelection, Modality};
use serde::{Deserialize, Serialize};

/// What an encoder consumes and produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderSpec {
    /// Model name (registry name or directory name).
    pub name: String,
    /// Input modality.
    pub modality: Modality,
    /// Expected input sample rate in Hz (audio models).
    pub sample_rate: u32,
    /// Output frames per second of audio.
    pub frame_rate: f64,
    /// Number of transformer blocks N; hidden states are `0..=N`.
    pub num_layers: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Whether inputs are normalised to zero mean / unit variance per clip before the model
    /// (`Wav2Vec2FeatureExtractor.do_normalize`).
    pub normalize_input: bool,
}

/// Which tensor layer `N` (the last) is for pre-LN ("stable layer norm") models; post-LN models have no final
/// encoder norm and ignore this.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FinalNorm {
    /// Output of the last block before the encoder's final layer norm: transformers ≥ 5 `hidden_states[-1]`.
    #[default]
    Before,
    /// `LN_enc(last block output)`: transformers ≤ 4.57 `hidden_states[-1]`, and `last_hidden_state` of every
    /// version.
    After,
}

/// Options of one forward pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodeOptions {
    /// Also return the output of the convolutional feature encoder (`[frames, conv_dim[-1]]`, before the feature
    /// projection's layer norm).
    pub conv_features: bool,
    /// Convention for layer `N` of pre-LN models (default: transformers ≥ 5).
    pub final_norm: FinalNorm,
}

/// Per-layer activations of one input (audio frames or tokens), shared by [`Encoder`] and [`TokenEncoder`].
#[derive(Debug, Clone, PartialEq)]
pub struct LayerActivations {
    /// Number of output frames (audio) or tokens (token models).
    pub frames: usize,
    /// Hidden size of every layer array.
    pub hidden: usize,
    /// `(layer, row-major [frames, hidden] values)` in ascending layer order.
    pub layers: Vec<(LayerId, Vec<f32>)>,
    /// Conv feature-encoder output `[frames, conv_dim]` when requested.
    pub conv_features: Option<(usize, Vec<f32>)>,
}

impl LayerActivations {
    /// The array of one layer, if it was selected.
    pub fn layer(&self, id: LayerId) -> Option<&[f32]> {
        self.layers
            .iter()
            .find(|(l, _)| *l == id)
            .map(|(_, v)| v.as_slice())
    }
}

impl EncoderSpec {
    /// The input description of an audio encoder.
    pub fn input(&self) -> InputSpec {
        InputSpec::Audio {
            sample_rate: self.sample_rate,
            frame_rate: self.frame_rate,
            normalize_input: self.normalize_input,
        }
    }
}

/// What a model consumes: audio samples or token ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputSpec {
    /// A mono waveform.
    Audio {
        /// Sample rate in Hz.
        sample_rate: u32,
        /// Output frames per second.
        frame_rate: f64,
        /// Per-clip normalisation before the model.
        normalize_input: bool,
    },
    /// Token ids of a vocabulary.
    Tokens {
        /// Vocabulary size (ids `0..vocab_size`).
        vocab_size: usize,
        /// Longest input (learned position embeddings); `None` for rotary models.
        max_length: Option<usize>,
        /// Special ids from `config.json`.
        special_tokens: SpecialTokens,
    },
}

/// Special token ids of a token model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecialTokens {
    /// Beginning of sequence.
    pub bos: Option<u32>,
    /// End of sequence.
    pub eos: Option<u32>,
    /// Padding (used to pad batches).
    pub pad: Option<u32>,
}

/// What a token encoder consumes and produces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenEncoderSpec {
    /// Model name (registry name or directory name).
    pub name: String,
    /// Input modality (text, or symbolic music for MIDI-token models).
    pub modality: Modality,
    /// HF `model_type`.
    pub architecture: String,
    /// Number of blocks L; hidden states are `0..=L`.
    pub num_layers: usize,
    /// Width of every hidden state.
    pub hidden_size: usize,
    /// Vocabulary, length limit and special ids.
    pub input: InputSpec,
    /// Causal (decoder) attention; such models also give next-token logits.
    pub causal: bool,
    /// The final norm applied to the last hidden state under transformers' convention (`None`: post-LN encoders).
    pub final_norm: Option<String>,
}

/// Options of one token forward pass.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenEncodeOptions {
    /// Layer `L` of decoders: [`FinalNorm::After`] (default) is transformers' `hidden_states[-1]` = the final norm
    /// of the last block output; [`FinalNorm::Before`] is the raw residual stream after block `L`. Post-LN encoders
    /// (BERT family) have no final norm and ignore this.
    pub final_norm: FinalNorm,
}

impl Default for TokenEncodeOptions {
    fn default() -> Self {
        TokenEncodeOptions {
            final_norm: FinalNorm::After,
        }
    }
}

/// A pretrained token model that returns its hidden states layer by layer. Layer `i` is `hidden_states[i]` of
/// transformers (see [`TokenEncodeOptions`] for the last one); [`LayerActivations::frames`] counts tokens.
pub trait TokenEncoder: Send + Sync {
    /// Static description of the model.
    fn spec(&self) -> &TokenEncoderSpec;

    /// Encode one sequence of token ids (special tokens included as the caller's tokenizer added them).
    fn encode_tokens(
        &self,
        ids: &[u32],
        layers: &LayerSelection,
        opts: &TokenEncodeOptions,
    ) -> Result<LayerActivations, ModelError>;

    /// Encode several sequences. Implementations that batch must give every item the result it gets alone.
    fn encode_tokens_batch(
        &self,
        items: &[&[u32]],
        layers: &LayerSelection,
        opts: &TokenEncodeOptions,
    ) -> Result<Vec<LayerActivations>, ModelError> {
        items
            .iter()
            .map(|x| self.encode_tokens(x, layers, opts))
            .collect()
    }
}

/// A pretrained encoder that returns its hidden states layer by layer.
pub trait Encoder: Send + Sync {
    /// Static description of the model.
    fn spec(&self) -> &EncoderSpec;

    /// Encode one mono waveform sampled at `spec().sample_rate`.
    fn encode(
        &self,
        input: &[f32],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<LayerActivations, ModelError>;

    /// Encode several waveforms. The default runs them one by one; backends that batch must give the same result
    /// for every item as [`Encoder::encode`] (see the crate docs for group-norm models).
    fn encode_batch(
        &self,
        inputs: &[&[f32]],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<Vec<LayerActivations>, ModelError> {
        inputs
            .iter()
            .map(|x| self.encode(x, layers, opts))
            .collect()
    }
}

/// Per-clip input normalisation of `Wav2Vec2FeatureExtractor(do_normalize=True)`: `x ← (x − mean) / sqrt(var +
/// 1e-7)` with the population variance, computed in f64.
pub fn normalize_waveform(x: &mut [f32]) {
    if x.is_empty() {
        return;
    }
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
    let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
    let inv = 1.0 / (var + 1e-7).sqrt();
    for v in x.iter_mut() {
        *v = ((*v as f64 - mean) * inv) as f32;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_gives_zero_mean_unit_variance() {
        let mut x: Vec<f32> = (0..1000)
            .map(|i| (i as f32 * 0.37).sin() * 3.0 + 2.0)
            .collect();
        normalize_waveform(&mut x);
        let n = x.len() as f64;
        let mean = x.iter().map(|&v| v as f64).sum::<f64>() / n;
        let var = x.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / n;
        assert!(mean.abs() < 1e-6, "mean {mean}");
        assert!((var - 1.0).abs() < 1e-5, "var {var}");
    }
}

//! The backend-independent encoder interface. candle (this crate) and ONNX Runtime (`mirlens-onnx`) both implement
//! [`Encoder`] and pass one parity suite.

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

/// Options of one forward pass.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EncodeOptions {
    /// Also return the output of the convolutional feature encoder (`[frames, conv_dim[-1]]`, before the feature
    /// projection's layer norm).
    pub conv_features: bool,
}

/// Per-layer activations of one input.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerActivations {
    /// Number of output frames.
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
        self.layers.iter().find(|(l, _)| *l == id).map(|(_, v)| v.as_slice())
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
        inputs.iter().map(|x| self.encode(x, layers, opts)).collect()
    }
}

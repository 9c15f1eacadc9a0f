//! Model configuration read from HF `config.json` (field names as upstream) and `preprocessor_config.json`.
//!
//! The architecture is chosen by `model_type` ([`ModelType`]). Options that change the graph and that mirlens
//! cannot honour (`deepnorm`, MERT's CQT input branch, `conv_pos_batch_norm`, wav2vec2 adapters, non-GELU-family
//! activations) are refused with [`ModelError::Unsupported`]; training-only and head-only keys are accepted and
//! listed as ignored; any other unrecognised key is reported in [`EncoderConfig::unrecognised_keys`].

use crate::ModelError;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// Architecture family selected by `model_type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelType {
    /// `wav2vec2` (`Wav2Vec2Model`).
    Wav2Vec2,
    /// `hubert` (`HubertModel`; also MERT-v1-330M's conversion template).
    Hubert,
    /// `mert_model` (MERT-v1 remote code; at inference a `HubertModel`).
    Mert,
}

impl ModelType {
    /// Parse the `model_type` string.
    pub fn from_hf(s: &str) -> Option<Self> {
        match s {
            "wav2vec2" => Some(ModelType::Wav2Vec2),
            "hubert" => Some(ModelType::Hubert),
            "mert_model" => Some(ModelType::Mert),
            _ => None,
        }
    }

    /// Key prefix of the encoder inside head models (`HubertForCTC` → `hubert.`).
    pub fn head_prefix(self) -> &'static str {
        match self {
            ModelType::Wav2Vec2 => "wav2vec2.",
            ModelType::Hubert | ModelType::Mert => "hubert.",
        }
    }
}

/// Normalisation of the conv feature encoder (`feat_extract_norm`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeatExtractNorm {
    /// GroupNorm with one group per channel on conv 0 only.
    Group,
    /// LayerNorm over channels after every conv.
    Layer,
}

/// Activation function named by `hidden_act` / `feat_extract_activation`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Activation {
    /// Exact erf GELU (`gelu`).
    Gelu,
    /// tanh approximation (`gelu_new`, `gelu_pytorch_tanh`, `gelu_fast`).
    GeluTanh,
    /// `relu`.
    Relu,
    /// `silu` / `swish`.
    Silu,
}

impl Activation {
    pub(crate) fn parse(option: &str, s: &str) -> Result<Self, ModelError> {
        Ok(match s {
            "gelu" => Activation::Gelu,
            "gelu_new" | "gelu_pytorch_tanh" | "gelu_fast" => Activation::GeluTanh,
            "relu" => Activation::Relu,
            "silu" | "swish" => Activation::Silu,
            _ => {
                return Err(ModelError::Unsupported {
                    option: option.into(),
                    value: s.into(),
                    reason:
                        "supported: gelu, gelu_new, gelu_pytorch_tanh, gelu_fast, relu, silu, swish"
                            .into(),
                });
            }
        })
    }
}

/// Receptive field and hop of the conv feature encoder, in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameGeometry {
    /// Samples needed for one output frame.
    pub receptive_field: usize,
    /// Samples between consecutive frames (product of strides).
    pub hop: usize,
    kernels_strides: [(usize, usize); 16],
    n_layers: usize,
}

impl FrameGeometry {
    /// Geometry of a conv stack given `(kernel, stride)` per layer (at most 16 layers).
    pub fn new(layers: &[(usize, usize)]) -> Self {
        let mut ks = [(1usize, 1usize); 16];
        let n = layers.len().min(16);
        ks[..n].copy_from_slice(&layers[..n]);
        let mut rf = 1usize;
        let mut jump = 1usize;
        for &(k, s) in &layers[..n] {
            rf += (k - 1) * jump;
            jump *= s;
        }
        FrameGeometry {
            receptive_field: rf,
            hop: jump,
            kernels_strides: ks,
            n_layers: n,
        }
    }

    /// Number of output frames for `samples` input samples (exact per-layer `floor((L − k)/s) + 1`), 0 if the
    /// input is shorter than the receptive field.
    pub fn num_frames(&self, samples: usize) -> usize {
        let mut l = samples;
        for &(k, s) in &self.kernels_strides[..self.n_layers] {
            if l < k {
                return 0;
            }
            l = (l - k) / s + 1;
        }
        l
    }
}

/// Parsed and validated encoder configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EncoderConfig {
    /// Architecture.
    pub model_type: ModelType,
    /// Transformer width H.
    pub hidden_size: usize,
    /// Number of transformer blocks N.
    pub num_hidden_layers: usize,
    /// Attention heads.
    pub num_attention_heads: usize,
    /// FFN width.
    pub intermediate_size: usize,
    /// FFN activation.
    pub hidden_act: Activation,
    /// Conv activation.
    pub feat_extract_activation: Activation,
    /// Conv-stack normalisation.
    pub feat_extract_norm: FeatExtractNorm,
    /// Conv output channels per layer.
    pub conv_dim: Vec<usize>,
    /// Conv kernel sizes.
    pub conv_kernel: Vec<usize>,
    /// Conv strides.
    pub conv_stride: Vec<usize>,
    /// Whether conv layers have a bias.
    pub conv_bias: bool,
    /// Positional conv kernel K.
    pub num_conv_pos_embeddings: usize,
    /// Positional conv groups G.
    pub num_conv_pos_embedding_groups: usize,
    /// Pre-LN ("stable layer norm") encoder when true, post-LN when false.
    pub do_stable_layer_norm: bool,
    /// Epsilon of every layer norm (and of the conv GroupNorm).
    pub layer_norm_eps: f64,
    /// LayerNorm before the feature projection (always for wav2vec2; `feat_proj_layer_norm` for HuBERT).
    pub feat_proj_layer_norm: bool,
    /// Input sample rate (MERT `sample_rate`, else preprocessor `sampling_rate`, else 16 kHz).
    pub sample_rate: u32,
    /// Whether inputs are normalised per clip (`preprocessor_config.json` `do_normalize`; default false when absent).
    pub do_normalize: bool,
    /// Keys accepted but without effect at inference (training / head / metadata).
    pub ignored_keys: Vec<String>,
    /// Keys this crate does not know; reported, not used.
    pub unrecognised_keys: Vec<String>,
}

const GRAPH_KEYS: &[&str] = &[
    "model_type",
    "hidden_size",
    "num_hidden_layers",
    "num_attention_heads",
    "intermediate_size",
    "hidden_act",
    "feat_extract_activation",
    "feat_extract_norm",
    "conv_dim",
    "conv_kernel",
    "conv_stride",
    "conv_bias",
    "num_conv_pos_embeddings",
    "num_conv_pos_embedding_groups",
    "do_stable_layer_norm",
    "layer_norm_eps",
    "feat_proj_layer_norm",
    "num_feat_extract_layers",
    "conv_pos_batch_norm",
    "add_adapter",
    "deepnorm",
    "feature_extractor_cqt",
    "feature_extractor_cqt_bins",
    "attention_relax",
    "sample_rate",
];

const IGNORED_EXACT: &[&str] = &[
    "architectures",
    "auto_map",
    "_name_or_path",
    "transformers_version",
    "torch_dtype",
    "dtype",
    "gradient_checkpointing",
    "initializer_range",
    "layerdrop",
    "apply_spec_augment",
    "vocab_size",
    "tokenizer_class",
    "classifier_proj_size",
    "use_weighted_layer_sum",
    "bos_token_id",
    "eos_token_id",
    "pad_token_id",
    "freeze_feat_extract_train",
    "num_codevectors_per_group",
    "num_codevector_groups",
    "contrastive_logits_temperature",
    "num_negatives",
    "codevector_dim",
    "proj_codevector_dim",
    "diversity_loss_weight",
    "no_mask_channel_overlap",
    "no_mask_time_overlap",
    "output_hidden_size",
    "adapter_kernel_size",
    "adapter_stride",
    "num_adapter_layers",
    "adapter_attn_dim",
    "xvector_output_dim",
    "tdnn_dim",
    "tdnn_kernel",
    "tdnn_dilation",
    "id2label",
    "label2id",
    "problem_type",
    "return_dict",
    "output_hidden_states",
    "output_attentions",
    "use_cache",
    "chunk_size_feed_forward",
    "is_encoder_decoder",
    "tie_word_embeddings",
];

fn is_ignored(key: &str) -> bool {
    IGNORED_EXACT.contains(&key)
        || key.ends_with("dropout")
        || key.ends_with("dropout_prob")
        || key.starts_with("mask_")
        || key.starts_with("ctc_")
}

fn cfg_err(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn read_json(path: &Path) -> Result<serde_json::Map<String, serde_json::Value>, ModelError> {
    let text = std::fs::read_to_string(path).map_err(|source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(m)) => Ok(m),
        Ok(_) => Err(cfg_err(path, "expected a JSON object")),
        Err(e) => Err(cfg_err(path, e.to_string())),
    }
}

struct Fields<'a> {
    path: &'a Path,
    map: &'a serde_json::Map<String, serde_json::Value>,
}

impl Fields<'_> {
    fn usize_or(&self, key: &str, default: usize) -> Result<usize, ModelError> {
        match self.map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v.as_u64().map(|x| x as usize).ok_or_else(|| {
                cfg_err(
                    self.path,
                    format!("{key} must be a non-negative integer, found {v}"),
                )
            }),
        }
    }
    fn f64_or(&self, key: &str, default: f64) -> Result<f64, ModelError> {
        match self.map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v
                .as_f64()
                .ok_or_else(|| cfg_err(self.path, format!("{key} must be a number, found {v}"))),
        }
    }
    fn bool_or(&self, key: &str, default: bool) -> Result<bool, ModelError> {
        match self.map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| cfg_err(self.path, format!("{key} must be a boolean, found {v}"))),
        }
    }
    fn str_or<'b>(&'b self, key: &str, default: &'b str) -> Result<&'b str, ModelError> {
        match self.map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default),
            Some(v) => v
                .as_str()
                .ok_or_else(|| cfg_err(self.path, format!("{key} must be a string, found {v}"))),
        }
    }
    fn usizes_or(&self, key: &str, default: &[usize]) -> Result<Vec<usize>, ModelError> {
        match self.map.get(key) {
            None | Some(serde_json::Value::Null) => Ok(default.to_vec()),
            Some(serde_json::Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_u64().map(|x| x as usize).ok_or_else(|| {
                        cfg_err(
                            self.path,
                            format!("{key} must hold non-negative integers, found {v}"),
                        )
                    })
                })
                .collect(),
            Some(v) => Err(cfg_err(
                self.path,
                format!("{key} must be an array, found {v}"),
            )),
        }
    }
}

fn unsupported(option: &str, value: impl ToString, reason: &str) -> ModelError {
    ModelError::Unsupported {
        option: option.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

impl EncoderConfig {
    /// Read `config.json` (and `preprocessor_config.json` when present) from a model directory.
    pub fn from_dir(dir: &Path) -> Result<Self, ModelError> {
        let cfg = dir.join("config.json");
        if !cfg.is_file() {
            return Err(ModelError::MissingFile {
                path: cfg,
                what: "config.json",
            });
        }
        let pre = dir.join("preprocessor_config.json");
        let pre = pre.is_file().then_some(pre);
        let parsed = Self::from_files(&cfg, pre.as_deref())?;
        crate::limits::check_against_weights(&parsed, dir)?;
        Ok(parsed)
    }

    /// Parse a `config.json` and an optional `preprocessor_config.json`.
    pub fn from_files(config: &Path, preprocessor: Option<&Path>) -> Result<Self, ModelError> {
        let map = read_json(config)?;
        let f = Fields {
            path: config,
            map: &map,
        };
        let mt = f.str_or("model_type", "")?;
        let model_type = ModelType::from_hf(mt).ok_or_else(|| ModelError::UnknownModelType {
            path: config.to_path_buf(),
            model_type: mt.to_string(),
        })?;

        // Options that change the graph and cannot be honoured.
        if f.bool_or("deepnorm", false)? {
            return Err(unsupported(
                "deepnorm",
                true,
                "DeepNorm residual scaling is not implemented (false in MERT-v1)",
            ));
        }
        if f.bool_or("feature_extractor_cqt", false)? {
            return Err(unsupported(
                "feature_extractor_cqt",
                true,
                "MERT's CQT input branch is a pre-training feature and is not implemented",
            ));
        }
        if f.bool_or("conv_pos_batch_norm", false)? {
            return Err(unsupported(
                "conv_pos_batch_norm",
                true,
                "the batch-norm positional convolution is not implemented",
            ));
        }
        if f.bool_or("add_adapter", false)? {
            return Err(unsupported(
                "add_adapter",
                true,
                "wav2vec2 output adapters are not implemented",
            ));
        }
        let relax = f.f64_or("attention_relax", -1.0)?;
        if !relax.is_finite() {
            return Err(cfg_err(
                config,
                format!("attention_relax must be finite, found {relax}"),
            ));
        }
        // attention_relax > 0 rescales scores before a max-subtraction: softmax is shift-invariant, so it is a no-op.

        let conv_dim = f.usizes_or("conv_dim", &[512; 7])?;
        let conv_kernel = f.usizes_or("conv_kernel", &[10, 3, 3, 3, 3, 2, 2])?;
        let conv_stride = f.usizes_or("conv_stride", &[5, 2, 2, 2, 2, 2, 2])?;
        if conv_dim.is_empty()
            || conv_dim.len() != conv_kernel.len()
            || conv_dim.len() != conv_stride.len()
        {
            return Err(cfg_err(
                config,
                format!(
                    "conv_dim, conv_kernel and conv_stride must have the same non-zero length, found {}, {}, {}",
                    conv_dim.len(),
                    conv_kernel.len(),
                    conv_stride.len()
                ),
            ));
        }
        if conv_dim.len() > 16 {
            return Err(cfg_err(config, "at most 16 conv layers are supported"));
        }
        if conv_kernel
            .iter()
            .chain(&conv_stride)
            .chain(&conv_dim)
            .any(|&x| x == 0)
        {
            return Err(cfg_err(
                config,
                "conv_dim, conv_kernel and conv_stride must be positive",
            ));
        }
        if let Some(n) = map.get("num_feat_extract_layers").and_then(|v| v.as_u64())
            && n as usize != conv_dim.len()
        {
            return Err(cfg_err(
                config,
                format!(
                    "num_feat_extract_layers = {n} but conv_dim has {} entries",
                    conv_dim.len()
                ),
            ));
        }
        let hidden_size = f.usize_or("hidden_size", 768)?;
        let heads = f.usize_or("num_attention_heads", 12)?;
        if heads == 0 || hidden_size == 0 || !hidden_size.is_multiple_of(heads) {
            return Err(cfg_err(
                config,
                format!(
                    "hidden_size {hidden_size} must be a positive multiple of num_attention_heads {heads}"
                ),
            ));
        }
        let groups = f.usize_or("num_conv_pos_embedding_groups", 16)?;
        if groups == 0 || !hidden_size.is_multiple_of(groups) {
            return Err(cfg_err(
                config,
                format!(
                    "hidden_size {hidden_size} must be a multiple of num_conv_pos_embedding_groups {groups}"
                ),
            ));
        }
        let k_pos = f.usize_or("num_conv_pos_embeddings", 128)?;
        if k_pos == 0 {
            return Err(cfg_err(config, "num_conv_pos_embeddings must be positive"));
        }
        let norm = match f.str_or("feat_extract_norm", "group")? {
            "group" => FeatExtractNorm::Group,
            "layer" => FeatExtractNorm::Layer,
            other => {
                return Err(unsupported(
                    "feat_extract_norm",
                    other,
                    "expected \"group\" or \"layer\"",
                ));
            }
        };
        let feat_proj_layer_norm = match model_type {
            ModelType::Wav2Vec2 => true,
            _ => f.bool_or("feat_proj_layer_norm", true)?,
        };

        // Sample rate: MERT config key, preprocessor file, default 16 kHz; conflicting values are an error.
        let mut sample_rate = map
            .get("sample_rate")
            .and_then(|v| v.as_u64())
            .map(|x| x as u32);
        let mut do_normalize = false;
        if let Some(pre) = preprocessor {
            let pm = read_json(pre)?;
            let pf = Fields {
                path: pre,
                map: &pm,
            };
            do_normalize = pf.bool_or("do_normalize", false)?;
            if let Some(sr) = pm.get("sampling_rate").and_then(|v| v.as_u64()) {
                match sample_rate {
                    Some(s) if s as u64 != sr => {
                        return Err(cfg_err(
                            pre,
                            format!(
                                "sampling_rate {sr} contradicts sample_rate {s} in {}",
                                config.display()
                            ),
                        ));
                    }
                    _ => sample_rate = Some(sr as u32),
                }
            }
        }
        let sample_rate = sample_rate.unwrap_or(16_000);
        if sample_rate == 0 {
            return Err(cfg_err(config, "sample rate must be positive"));
        }

        let mut ignored_keys = Vec::new();
        let mut unrecognised_keys = Vec::new();
        for k in map.keys() {
            if GRAPH_KEYS.contains(&k.as_str()) {
                continue;
            }
            if is_ignored(k) {
                ignored_keys.push(k.clone());
            } else {
                unrecognised_keys.push(k.clone());
            }
        }

        let parsed = EncoderConfig {
            model_type,
            hidden_size,
            num_hidden_layers: f.usize_or("num_hidden_layers", 12)?,
            num_attention_heads: heads,
            intermediate_size: f.usize_or("intermediate_size", 3072)?,
            hidden_act: Activation::parse("hidden_act", f.str_or("hidden_act", "gelu")?)?,
            feat_extract_activation: Activation::parse(
                "feat_extract_activation",
                f.str_or("feat_extract_activation", "gelu")?,
            )?,
            feat_extract_norm: norm,
            conv_dim,
            conv_kernel,
            conv_stride,
            conv_bias: f.bool_or("conv_bias", false)?,
            num_conv_pos_embeddings: k_pos,
            num_conv_pos_embedding_groups: groups,
            do_stable_layer_norm: f.bool_or("do_stable_layer_norm", false)?,
            layer_norm_eps: f.f64_or("layer_norm_eps", 1e-5)?,
            feat_proj_layer_norm,
            sample_rate,
            do_normalize,
            ignored_keys,
            unrecognised_keys,
        };
        crate::limits::check_config(&parsed, config)?;
        Ok(parsed)
    }

    /// Receptive field and hop of the conv stack.
    pub fn geometry(&self) -> FrameGeometry {
        let ks: Vec<(usize, usize)> = self
            .conv_kernel
            .iter()
            .copied()
            .zip(self.conv_stride.iter().copied())
            .collect();
        FrameGeometry::new(&ks)
    }

    /// Output frames per second.
    pub fn frame_rate(&self) -> f64 {
        self.sample_rate as f64 / self.geometry().hop as f64
    }
}

/// Path of the config file of a model directory (for messages).
pub fn config_path(dir: &Path) -> PathBuf {
    dir.join("config.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_geometry_matches_reference() {
        let g = FrameGeometry::new(&[(10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2)]);
        assert_eq!(g.receptive_field, 400);
        assert_eq!(g.hop, 320);
        // T = floor((N − 400)/320) + 1: 5 s, 5.12 s, 10 s, 30 s at 24 kHz.
        assert_eq!(g.num_frames(120_000), 374);
        assert_eq!(g.num_frames(122_880), 383);
        assert_eq!(g.num_frames(240_000), 749);
        assert_eq!(g.num_frames(720_000), 2249);
        assert_eq!(g.num_frames(399), 0);
        assert_eq!(g.num_frames(400), 1);
    }

    #[test]
    fn tiny_geometry() {
        let g = FrameGeometry::new(&[(10, 5), (3, 2), (2, 2)]);
        assert_eq!(g.receptive_field, 30);
        assert_eq!(g.hop, 20);
        assert_eq!(g.num_frames(3200), 159);
        assert_eq!(g.num_frames(29), 0);
        assert_eq!(g.num_frames(30), 1);
    }
}

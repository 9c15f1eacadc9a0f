//! Token-model configuration read from HF `config.json`, dispatched on `model_type` into [`TextConfig`], a tagged
//! enum of per-architecture configurations.
//!
//! Defaults are transformers 5.23.0's config-class defaults (a key absent from the file means the class default,
//! not the value of some popular checkpoint). RoPE is read from either spelling: v5's `rope_parameters`
//! (`{rope_type, rope_theta, partial_rotary_factor, factor, …}`) or v4's top-level `rope_theta` + `rope_scaling`
//! (`{rope_type | type, factor, …}`); GPT-NeoX's `rotary_emb_base` / `rotary_pct` are its v4 names. RoPE types
//! `default`, `linear` and `llama3` are implemented; `dynamic`, `yarn`, `longrope` and others are refused by name.
//! Options that change the graph and are not implemented (GPT-2 cross-attention, BERT relative position
//! embeddings, Qwen2 sliding-window attention, activations outside the GELU/SiLU/ReLU family) are
//! [`ModelError::Unsupported`].

use crate::ModelError;
use crate::config::Activation;
use serde::Serialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

/// The architectures implemented, by HF `model_type`.
pub const TEXT_MODEL_TYPES: &[&str] = &[
    "llama",
    "qwen2",
    "gpt2",
    "gpt_neox",
    "bert",
    "roberta",
    "xlm-roberta",
];

/// Rotary position embedding variant (`rope_type`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "rope_type", rename_all = "snake_case")]
pub enum RopeScaling {
    /// Plain RoPE: `inv_freq_j = θ^(−2j/d)`.
    Default,
    /// Position interpolation: `inv_freq / factor`.
    Linear {
        /// Scaling factor.
        factor: f64,
    },
    /// Llama 3.1 frequency-dependent scaling.
    Llama3 {
        /// Scaling of low frequencies.
        factor: f64,
        /// Wavelength threshold numerator for low frequencies.
        low_freq_factor: f64,
        /// Wavelength threshold numerator for high frequencies.
        high_freq_factor: f64,
        /// Context length of pre-training.
        original_max_position_embeddings: usize,
    },
}

/// Rotary embedding parameters.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RopeConfig {
    /// Base θ.
    pub theta: f64,
    /// Fraction of each head's dimensions that is rotated (GPT-NeoX `rotary_pct`; 1 elsewhere).
    pub partial_rotary_factor: f64,
    /// Scaling variant.
    pub scaling: RopeScaling,
}

impl RopeConfig {
    /// Inverse frequencies for a rotary dimension `dim` (even), as transformers computes them (f32 exponent).
    pub fn inv_freq(&self, dim: usize) -> Vec<f32> {
        let base: Vec<f32> = (0..dim / 2)
            .map(|j| {
                let e = (2 * j) as f32 / dim as f32;
                1.0 / (self.theta as f32).powf(e)
            })
            .collect();
        match self.scaling {
            RopeScaling::Default => base,
            RopeScaling::Linear { factor } => base.iter().map(|f| f / factor as f32).collect(),
            RopeScaling::Llama3 {
                factor,
                low_freq_factor,
                high_freq_factor,
                original_max_position_embeddings,
            } => {
                let old = original_max_position_embeddings as f32;
                let (factor, lo, hi) = (
                    factor as f32,
                    low_freq_factor as f32,
                    high_freq_factor as f32,
                );
                let low_wavelen = old / lo;
                let high_wavelen = old / hi;
                base.iter()
                    .map(|&f| {
                        let wavelen = 2.0 * std::f32::consts::PI / f;
                        let scaled = if wavelen > low_wavelen { f / factor } else { f };
                        if wavelen < high_wavelen || wavelen > low_wavelen {
                            scaled
                        } else {
                            let smooth = (old / wavelen - lo) / (hi - lo);
                            (1.0 - smooth) * scaled / factor + smooth * scaled
                        }
                    })
                    .collect()
            }
        }
    }
}

/// Llama and Qwen2 (RMSNorm, SwiGLU MLP, RoPE, grouped-query attention).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlamaConfig {
    /// Vocabulary size V.
    pub vocab_size: usize,
    /// Width d.
    pub hidden_size: usize,
    /// MLP width F.
    pub intermediate_size: usize,
    /// Decoder layers L.
    pub num_hidden_layers: usize,
    /// Query heads H.
    pub num_attention_heads: usize,
    /// Key/value heads (H when absent).
    pub num_key_value_heads: usize,
    /// Per-head width (`head_dim`, else d / H).
    pub head_dim: usize,
    /// MLP activation.
    pub hidden_act: Activation,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Rotary embedding.
    pub rope: RopeConfig,
    /// Whether q/k/v projections have biases (`attention_bias`; always for Qwen2).
    pub qkv_bias: bool,
    /// Whether the output projection has a bias (`attention_bias` of Llama; never for Qwen2).
    pub o_bias: bool,
    /// Whether the MLP projections have biases (`mlp_bias`).
    pub mlp_bias: bool,
    /// Whether `lm_head` shares the embedding matrix.
    pub tie_word_embeddings: bool,
    /// Context length the model was built for (informational for RoPE models).
    pub max_position_embeddings: usize,
}

/// GPT-2 (pre-LN, learned positions, Conv1D weights).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Gpt2Config {
    /// Vocabulary size V.
    pub vocab_size: usize,
    /// Learned positions.
    pub n_positions: usize,
    /// Width d.
    pub n_embd: usize,
    /// Blocks L.
    pub n_layer: usize,
    /// Heads H.
    pub n_head: usize,
    /// MLP width (`n_inner`, else 4d).
    pub n_inner: usize,
    /// MLP activation (`activation_function`).
    pub activation: Activation,
    /// LayerNorm epsilon.
    pub layer_norm_epsilon: f64,
    /// Scores divided by √hd.
    pub scale_attn_weights: bool,
    /// Scores further divided by `layer_idx + 1`.
    pub scale_attn_by_inverse_layer_idx: bool,
    /// Whether `lm_head` shares `wte`.
    pub tie_word_embeddings: bool,
}

/// GPT-NeoX / Pythia (LayerNorm, fused per-head qkv, partial rotary, parallel or sequential residual).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GptNeoxConfig {
    /// Vocabulary size V.
    pub vocab_size: usize,
    /// Width d.
    pub hidden_size: usize,
    /// Layers L.
    pub num_hidden_layers: usize,
    /// Heads H.
    pub num_attention_heads: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// MLP activation.
    pub hidden_act: Activation,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Rotary embedding (θ `rotary_emb_base`, fraction `rotary_pct`, default 0.25).
    pub rope: RopeConfig,
    /// `x + attn(ln1 x) + mlp(ln2 x)` when true, `a = x + attn(ln1 x); a + mlp(ln2 a)` when false.
    pub use_parallel_residual: bool,
    /// Biases on the attention projections.
    pub attention_bias: bool,
    /// Whether `embed_out` shares `embed_in`.
    pub tie_word_embeddings: bool,
    /// Context length.
    pub max_position_embeddings: usize,
}

/// BERT, RoBERTa and XLM-RoBERTa (post-LN encoder, learned absolute positions).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BertConfig {
    /// Vocabulary size V.
    pub vocab_size: usize,
    /// Width d.
    pub hidden_size: usize,
    /// Layers L.
    pub num_hidden_layers: usize,
    /// Heads H.
    pub num_attention_heads: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// MLP activation.
    pub hidden_act: Activation,
    /// Learned positions P.
    pub max_position_embeddings: usize,
    /// Token-type vocabulary.
    pub type_vocab_size: usize,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Padding id (RoBERTa positions count from `pad_token_id + 1`).
    pub pad_token_id: u32,
    /// RoBERTa-style positions (`cumsum(ids ≠ pad) · (ids ≠ pad) + pad`) instead of `0..T`.
    pub padding_offset_positions: bool,
}

/// A token model's configuration, by architecture.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "model_type", rename_all = "snake_case")]
pub enum TextConfig {
    /// `llama`.
    Llama(LlamaConfig),
    /// `qwen2` (q/k/v biases).
    Qwen2(LlamaConfig),
    /// `gpt2`.
    Gpt2(Gpt2Config),
    /// `gpt_neox`.
    GptNeox(GptNeoxConfig),
    /// `bert`.
    Bert(BertConfig),
    /// `roberta`.
    Roberta(BertConfig),
    /// `xlm-roberta`.
    #[serde(rename = "xlm-roberta")]
    XlmRoberta(BertConfig),
}

/// Special token ids named in `config.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ConfigSpecialIds {
    /// `bos_token_id`.
    pub bos: Option<u32>,
    /// `eos_token_id` (the first one when a list).
    pub eos: Option<u32>,
    /// `pad_token_id`.
    pub pad: Option<u32>,
}

fn cfg_err(path: &Path, message: impl Into<String>) -> ModelError {
    ModelError::Config {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

fn unsupported(option: &str, value: impl ToString, reason: &str) -> ModelError {
    ModelError::Unsupported {
        option: option.into(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

struct Fields<'a> {
    path: &'a Path,
    map: &'a Map<String, Value>,
}

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }
    fn usize(&self, key: &str, default: usize) -> Result<usize, ModelError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_u64().map(|x| x as usize).ok_or_else(|| {
                cfg_err(
                    self.path,
                    format!("{key} must be a non-negative integer, found {v}"),
                )
            }),
        }
    }
    fn opt_usize(&self, key: &str) -> Result<Option<usize>, ModelError> {
        match self.get(key) {
            None => Ok(None),
            Some(_) => self.usize(key, 0).map(Some),
        }
    }
    fn f64(&self, key: &str, default: f64) -> Result<f64, ModelError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v.as_f64().filter(|x| x.is_finite()).ok_or_else(|| {
                cfg_err(
                    self.path,
                    format!("{key} must be a finite number, found {v}"),
                )
            }),
        }
    }
    fn bool(&self, key: &str, default: bool) -> Result<bool, ModelError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_bool()
                .ok_or_else(|| cfg_err(self.path, format!("{key} must be a boolean, found {v}"))),
        }
    }
    fn str<'b>(&'b self, key: &str, default: &'b str) -> Result<&'b str, ModelError> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => v
                .as_str()
                .ok_or_else(|| cfg_err(self.path, format!("{key} must be a string, found {v}"))),
        }
    }
    fn token_id(&self, key: &str) -> Result<Option<u32>, ModelError> {
        let bad = |v: &Value| cfg_err(self.path, format!("{key} must be a token id, found {v}"));
        match self.get(key) {
            None => Ok(None),
            Some(Value::Array(a)) => match a.first() {
                None => Ok(None),
                Some(v) => v.as_u64().map(|x| Some(x as u32)).ok_or_else(|| bad(v)),
            },
            Some(v) => v.as_u64().map(|x| Some(x as u32)).ok_or_else(|| bad(v)),
        }
    }
    fn activation(&self, key: &str, default: &str) -> Result<Activation, ModelError> {
        Activation::parse(key, self.str(key, default)?)
    }
    fn positive(&self, key: &str, default: usize) -> Result<usize, ModelError> {
        let v = self.usize(key, default)?;
        if v == 0 {
            return Err(cfg_err(self.path, format!("{key} must be positive")));
        }
        Ok(v)
    }
}

/// RoPE from either spelling. `theta_key` / `partial_key` name v4 top-level fallbacks besides `rope_theta` /
/// `partial_rotary_factor` (GPT-NeoX: `rotary_emb_base`, `rotary_pct`).
fn rope(
    f: &Fields,
    default_partial: f64,
    alt_theta: Option<&str>,
    alt_partial: Option<&str>,
    max_pos: usize,
) -> Result<RopeConfig, ModelError> {
    let params = match f.get("rope_parameters").or_else(|| f.get("rope_scaling")) {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(v) => {
            return Err(cfg_err(
                f.path,
                format!("rope_parameters / rope_scaling must be an object, found {v}"),
            ));
        }
    };
    let p = Fields {
        path: f.path,
        map: &params,
    };
    let mut theta = f.f64("rope_theta", 10_000.0)?;
    if let Some(k) = alt_theta
        && f.get("rope_theta").is_none()
    {
        theta = f.f64(k, theta)?;
    }
    let theta = p.f64("rope_theta", theta)?;
    let mut partial = f.f64("partial_rotary_factor", default_partial)?;
    if let Some(k) = alt_partial
        && f.get("partial_rotary_factor").is_none()
    {
        partial = f.f64(k, partial)?;
    }
    let partial = p.f64("partial_rotary_factor", partial)?;
    if theta <= 0.0 || partial <= 0.0 || partial > 1.0 {
        return Err(cfg_err(
            f.path,
            format!(
                "rope_theta must be positive and partial_rotary_factor in (0, 1], found {theta}, {partial}"
            ),
        ));
    }
    let kind = match p.get("rope_type") {
        Some(_) => p.str("rope_type", "default")?,
        None => p.str("type", "default")?,
    };
    let factor = |p: &Fields| -> Result<f64, ModelError> {
        let x = p.f64("factor", f64::NAN)?;
        if x.is_nan() || x <= 0.0 {
            return Err(cfg_err(
                f.path,
                format!("rope type {kind} needs a positive factor"),
            ));
        }
        Ok(x)
    };
    let scaling = match kind {
        "default" => RopeScaling::Default,
        "linear" => RopeScaling::Linear {
            factor: factor(&p)?,
        },
        "llama3" => {
            let original = match p.opt_usize("original_max_position_embeddings")? {
                Some(v) => v,
                None => f.usize("original_max_position_embeddings", max_pos)?,
            };
            let low = p.f64("low_freq_factor", f64::NAN)?;
            let high = p.f64("high_freq_factor", f64::NAN)?;
            if low.is_nan() || high.is_nan() || low <= 0.0 || high <= low {
                return Err(cfg_err(
                    f.path,
                    "rope type llama3 needs low_freq_factor > 0 and high_freq_factor > low_freq_factor",
                ));
            }
            RopeScaling::Llama3 {
                factor: factor(&p)?,
                low_freq_factor: low,
                high_freq_factor: high,
                original_max_position_embeddings: original,
            }
        }
        other => {
            return Err(unsupported(
                "rope_type",
                other,
                "implemented RoPE types: default, linear, llama3",
            ));
        }
    };
    Ok(RopeConfig {
        theta,
        partial_rotary_factor: partial,
        scaling,
    })
}

fn llama(f: &Fields, qwen: bool) -> Result<LlamaConfig, ModelError> {
    let hidden = f.positive("hidden_size", 4096)?;
    let heads = f.positive("num_attention_heads", 32)?;
    let kv = match f.opt_usize("num_key_value_heads")? {
        Some(v) => v,
        None if qwen => 32,
        None => heads,
    };
    if kv == 0 || !heads.is_multiple_of(kv) {
        return Err(cfg_err(
            f.path,
            format!("num_attention_heads {heads} must be a multiple of num_key_value_heads {kv}"),
        ));
    }
    let head_dim = match f.opt_usize("head_dim")? {
        Some(v) => v,
        None => {
            if !hidden.is_multiple_of(heads) {
                return Err(cfg_err(
                    f.path,
                    format!(
                        "hidden_size {hidden} is not a multiple of num_attention_heads {heads}"
                    ),
                ));
            }
            hidden / heads
        }
    };
    if head_dim == 0 || !head_dim.is_multiple_of(2) {
        return Err(cfg_err(
            f.path,
            format!("head_dim {head_dim} must be even and positive"),
        ));
    }
    if qwen && f.bool("use_sliding_window", false)? {
        return Err(unsupported(
            "use_sliding_window",
            true,
            "sliding-window attention is not implemented",
        ));
    }
    let max_pos = f.usize("max_position_embeddings", if qwen { 32768 } else { 2048 })?;
    let attention_bias = f.bool("attention_bias", false)?;
    Ok(LlamaConfig {
        vocab_size: f.positive("vocab_size", if qwen { 151_936 } else { 32_000 })?,
        hidden_size: hidden,
        intermediate_size: f.positive("intermediate_size", if qwen { 22_016 } else { 11_008 })?,
        num_hidden_layers: f.usize("num_hidden_layers", 32)?,
        num_attention_heads: heads,
        num_key_value_heads: kv,
        head_dim,
        hidden_act: f.activation("hidden_act", "silu")?,
        rms_norm_eps: f.f64("rms_norm_eps", 1e-6)?,
        rope: rope(f, 1.0, None, None, max_pos)?,
        qkv_bias: qwen || attention_bias,
        o_bias: !qwen && attention_bias,
        mlp_bias: !qwen && f.bool("mlp_bias", false)?,
        tie_word_embeddings: f.bool("tie_word_embeddings", false)?,
        max_position_embeddings: max_pos,
    })
}

fn gpt2(f: &Fields) -> Result<Gpt2Config, ModelError> {
    let d = f.positive("n_embd", 768)?;
    let h = f.positive("n_head", 12)?;
    if !d.is_multiple_of(h) {
        return Err(cfg_err(
            f.path,
            format!("n_embd {d} is not a multiple of n_head {h}"),
        ));
    }
    if f.bool("add_cross_attention", false)? {
        return Err(unsupported(
            "add_cross_attention",
            true,
            "GPT-2 cross-attention (encoder-decoder use) is not implemented",
        ));
    }
    Ok(Gpt2Config {
        vocab_size: f.positive("vocab_size", 50_257)?,
        n_positions: f.positive("n_positions", 1024)?,
        n_embd: d,
        n_layer: f.usize("n_layer", 12)?,
        n_head: h,
        n_inner: f.opt_usize("n_inner")?.unwrap_or(4 * d),
        activation: f.activation("activation_function", "gelu_new")?,
        layer_norm_epsilon: f.f64("layer_norm_epsilon", 1e-5)?,
        scale_attn_weights: f.bool("scale_attn_weights", true)?,
        scale_attn_by_inverse_layer_idx: f.bool("scale_attn_by_inverse_layer_idx", false)?,
        tie_word_embeddings: f.bool("tie_word_embeddings", true)?,
    })
}

fn gpt_neox(f: &Fields) -> Result<GptNeoxConfig, ModelError> {
    let d = f.positive("hidden_size", 6144)?;
    let h = f.positive("num_attention_heads", 64)?;
    if !d.is_multiple_of(h) {
        return Err(cfg_err(
            f.path,
            format!("hidden_size {d} is not a multiple of num_attention_heads {h}"),
        ));
    }
    let max_pos = f.usize("max_position_embeddings", 2048)?;
    let rope = rope(
        f,
        0.25,
        Some("rotary_emb_base"),
        Some("rotary_pct"),
        max_pos,
    )?;
    let rd = ((d / h) as f64 * rope.partial_rotary_factor) as usize;
    if rd == 0 || !rd.is_multiple_of(2) {
        return Err(cfg_err(
            f.path,
            format!(
                "rotary dimensions {rd} (head size × partial_rotary_factor) must be even and positive"
            ),
        ));
    }
    Ok(GptNeoxConfig {
        vocab_size: f.positive("vocab_size", 50_432)?,
        hidden_size: d,
        num_hidden_layers: f.usize("num_hidden_layers", 44)?,
        num_attention_heads: h,
        intermediate_size: f.positive("intermediate_size", 24_576)?,
        hidden_act: f.activation("hidden_act", "gelu")?,
        layer_norm_eps: f.f64("layer_norm_eps", 1e-5)?,
        rope,
        use_parallel_residual: f.bool("use_parallel_residual", true)?,
        attention_bias: f.bool("attention_bias", true)?,
        tie_word_embeddings: f.bool("tie_word_embeddings", false)?,
        max_position_embeddings: max_pos,
    })
}

fn bert(f: &Fields, roberta: bool) -> Result<BertConfig, ModelError> {
    let d = f.positive("hidden_size", 768)?;
    let h = f.positive("num_attention_heads", 12)?;
    if !d.is_multiple_of(h) {
        return Err(cfg_err(
            f.path,
            format!("hidden_size {d} is not a multiple of num_attention_heads {h}"),
        ));
    }
    let pet = f.str("position_embedding_type", "absolute")?;
    if pet != "absolute" {
        return Err(unsupported(
            "position_embedding_type",
            pet,
            "only absolute position embeddings are implemented",
        ));
    }
    if f.bool("is_decoder", false)? || f.bool("add_cross_attention", false)? {
        return Err(unsupported(
            "is_decoder",
            true,
            "BERT-family decoders / cross-attention are not implemented",
        ));
    }
    let pad = f
        .token_id("pad_token_id")?
        .unwrap_or(if roberta { 1 } else { 0 });
    Ok(BertConfig {
        vocab_size: f.positive("vocab_size", if roberta { 50_265 } else { 30_522 })?,
        hidden_size: d,
        num_hidden_layers: f.usize("num_hidden_layers", 12)?,
        num_attention_heads: h,
        intermediate_size: f.positive("intermediate_size", 3072)?,
        hidden_act: f.activation("hidden_act", "gelu")?,
        max_position_embeddings: f.positive("max_position_embeddings", 512)?,
        type_vocab_size: f.positive("type_vocab_size", 2)?,
        layer_norm_eps: f.f64("layer_norm_eps", 1e-12)?,
        pad_token_id: pad,
        padding_offset_positions: roberta,
    })
}

/// A parsed `config.json` of a token model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TextModelConfig {
    /// The architecture and its graph options.
    pub arch: TextConfig,
    /// Special ids named in the file.
    pub special: ConfigSpecialIds,
    /// The file read.
    pub path: PathBuf,
}

impl TextConfig {
    /// Parse a `config.json` object whose `model_type` is one of [`TEXT_MODEL_TYPES`].
    pub fn from_map(path: &Path, map: &Map<String, Value>) -> Result<TextModelConfig, ModelError> {
        let f = Fields { path, map };
        let mt = f.str("model_type", "")?;
        let arch = match mt {
            "llama" => TextConfig::Llama(llama(&f, false)?),
            "qwen2" => TextConfig::Qwen2(llama(&f, true)?),
            "gpt2" => TextConfig::Gpt2(gpt2(&f)?),
            "gpt_neox" => TextConfig::GptNeox(gpt_neox(&f)?),
            "bert" => TextConfig::Bert(bert(&f, false)?),
            "roberta" => TextConfig::Roberta(bert(&f, true)?),
            "xlm-roberta" => TextConfig::XlmRoberta(bert(&f, true)?),
            other => {
                return Err(ModelError::UnknownModelType {
                    path: path.to_path_buf(),
                    model_type: other.to_string(),
                });
            }
        };
        let default_bos = match &arch {
            TextConfig::Llama(_) => Some(1),
            TextConfig::Gpt2(_) => Some(50_256),
            TextConfig::GptNeox(_) | TextConfig::Roberta(_) | TextConfig::XlmRoberta(_) => Some(0),
            _ => None,
        };
        let default_eos = match &arch {
            TextConfig::Llama(_)
            | TextConfig::GptNeox(_)
            | TextConfig::Roberta(_)
            | TextConfig::XlmRoberta(_) => Some(2),
            TextConfig::Gpt2(_) => Some(50_256),
            _ => None,
        };
        let present = |k: &str| map.contains_key(k);
        let special = ConfigSpecialIds {
            bos: if present("bos_token_id") {
                f.token_id("bos_token_id")?
            } else {
                default_bos
            },
            eos: if present("eos_token_id") {
                f.token_id("eos_token_id")?
            } else {
                default_eos
            },
            pad: match &arch {
                TextConfig::Bert(c) | TextConfig::Roberta(c) | TextConfig::XlmRoberta(c) => {
                    Some(c.pad_token_id)
                }
                _ => f.token_id("pad_token_id")?,
            },
        };
        Ok(TextModelConfig {
            arch,
            special,
            path: path.to_path_buf(),
        })
    }

    /// Read `config.json` of a model directory.
    pub fn from_dir(dir: &Path) -> Result<TextModelConfig, ModelError> {
        let path = dir.join("config.json");
        if !path.is_file() {
            return Err(ModelError::MissingFile {
                path,
                what: "config.json",
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
            path: path.clone(),
            source,
        })?;
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(m)) => Self::from_map(&path, &m),
            Ok(_) => Err(cfg_err(&path, "expected a JSON object")),
            Err(e) => Err(cfg_err(&path, e.to_string())),
        }
    }

    /// HF `model_type`.
    pub fn model_type(&self) -> &'static str {
        match self {
            TextConfig::Llama(_) => "llama",
            TextConfig::Qwen2(_) => "qwen2",
            TextConfig::Gpt2(_) => "gpt2",
            TextConfig::GptNeox(_) => "gpt_neox",
            TextConfig::Bert(_) => "bert",
            TextConfig::Roberta(_) => "roberta",
            TextConfig::XlmRoberta(_) => "xlm-roberta",
        }
    }

    /// Number of blocks L (hidden states `0..=L`).
    pub fn num_layers(&self) -> usize {
        match self {
            TextConfig::Llama(c) | TextConfig::Qwen2(c) => c.num_hidden_layers,
            TextConfig::Gpt2(c) => c.n_layer,
            TextConfig::GptNeox(c) => c.num_hidden_layers,
            TextConfig::Bert(c) | TextConfig::Roberta(c) | TextConfig::XlmRoberta(c) => {
                c.num_hidden_layers
            }
        }
    }

    /// Width of every hidden state.
    pub fn hidden_size(&self) -> usize {
        match self {
            TextConfig::Llama(c) | TextConfig::Qwen2(c) => c.hidden_size,
            TextConfig::Gpt2(c) => c.n_embd,
            TextConfig::GptNeox(c) => c.hidden_size,
            TextConfig::Bert(c) | TextConfig::Roberta(c) | TextConfig::XlmRoberta(c) => {
                c.hidden_size
            }
        }
    }

    /// Vocabulary size.
    pub fn vocab_size(&self) -> usize {
        match self {
            TextConfig::Llama(c) | TextConfig::Qwen2(c) => c.vocab_size,
            TextConfig::Gpt2(c) => c.vocab_size,
            TextConfig::GptNeox(c) => c.vocab_size,
            TextConfig::Bert(c) | TextConfig::Roberta(c) | TextConfig::XlmRoberta(c) => {
                c.vocab_size
            }
        }
    }

    /// Whether attention is causal (decoders) — and the model has an LM head.
    pub fn is_causal(&self) -> bool {
        !matches!(
            self,
            TextConfig::Bert(_) | TextConfig::Roberta(_) | TextConfig::XlmRoberta(_)
        )
    }

    /// Longest input the position embeddings allow (learned positions), `None` for RoPE models.
    pub fn max_tokens(&self) -> Option<usize> {
        match self {
            TextConfig::Gpt2(c) => Some(c.n_positions),
            TextConfig::Bert(c) => Some(c.max_position_embeddings),
            TextConfig::Roberta(c) | TextConfig::XlmRoberta(c) => Some(
                c.max_position_embeddings
                    .saturating_sub(c.pad_token_id as usize + 1),
            ),
            _ => None,
        }
    }

    /// Where the last hidden state's normalisation happens, in words (for `models show` and stored metadata).
    pub fn final_norm_name(&self) -> Option<&'static str> {
        match self {
            TextConfig::Llama(_) | TextConfig::Qwen2(_) => Some("model.norm (RMSNorm)"),
            TextConfig::Gpt2(_) => Some("ln_f (LayerNorm)"),
            TextConfig::GptNeox(_) => Some("final_layer_norm (LayerNorm)"),
            _ => None,
        }
    }
}

/// Whether a `config.json` object names a token model this crate implements.
pub fn is_text_model_type(model_type: &str) -> bool {
    TEXT_MODEL_TYPES.contains(&model_type)
}

/// The `model_type` of a model folder's `config.json` (`None` when the key is absent), without parsing the rest:
/// lets callers choose between the audio and the token model loaders.
pub fn peek_model_type(dir: &Path) -> Result<Option<String>, ModelError> {
    let path = dir.join("config.json");
    if !path.is_file() {
        return Err(ModelError::MissingFile {
            path,
            what: "config.json",
        });
    }
    let text = std::fs::read_to_string(&path).map_err(|source| ModelError::Io {
        path: path.clone(),
        source,
    })?;
    let v: Value = serde_json::from_str(&text).map_err(|e| cfg_err(&path, e.to_string()))?;
    Ok(v.get("model_type")
        .and_then(|m| m.as_str())
        .map(String::from))
}

impl TextConfig {
    /// The hidden states a model exposes, `(index, description)`, under transformers' convention.
    pub fn tap_points(&self) -> Vec<(String, String)> {
        let l = self.num_layers();
        let (emb, block, last) = match self {
            TextConfig::Llama(_) | TextConfig::Qwen2(_) => (
                "embed_tokens[ids] (not scaled)",
                "output of decoder layer i (residual stream)",
                "model.norm(output of layer L) = last_hidden_state",
            ),
            TextConfig::Gpt2(_) => (
                "wte[ids] + wpe[positions]",
                "output of block i (residual stream)",
                "ln_f(output of block L) = last_hidden_state",
            ),
            TextConfig::GptNeox(_) => (
                "embed_in[ids]",
                "output of layer i (residual stream)",
                "final_layer_norm(output of layer L) = last_hidden_state",
            ),
            TextConfig::Bert(_) | TextConfig::Roberta(_) | TextConfig::XlmRoberta(_) => (
                "LayerNorm(word + position + token_type embeddings)",
                "output of layer i (after its output LayerNorm)",
                "output of layer L = last_hidden_state (post-LN, no final norm)",
            ),
        };
        let mut v = vec![("0".to_string(), emb.to_string())];
        if l > 1 {
            v.push((format!("1..={}", l - 1), block.to_string()));
        }
        if l > 0 {
            v.push((l.to_string(), last.to_string()));
        }
        if self.is_causal() && l > 0 {
            v.push((
                format!("{l} (before final norm)"),
                format!("raw output of block {l} (FinalNorm::Before)"),
            ));
        }
        v
    }
}

//! Token language models in candle: `llama`, `qwen2`, `gpt2`, `gpt_neox`, `bert`, `roberta`, `xlm-roberta`, loaded
//! from an HF folder (`config.json` dispatched on `model_type` into [`TextConfig`], safetensors through the same
//! strict loader as the audio encoders) and returning every hidden state.
//!
//! ## Hidden-state convention (transformers' `output_hidden_states`, 4.57 and 5.x alike)
//! | family | `hs[0]` | `hs[i]`, `0 < i < L` | `hs[L]` |
//! |---|---|---|---|
//! | Llama / Qwen2 | `embed_tokens[ids]` | output of layer i | `model.norm(layer L output)` |
//! | GPT-2 | `wte[ids] + wpe[pos]` | output of block i | `ln_f(block L output)` |
//! | GPT-NeoX | `embed_in[ids]` | output of layer i | `final_layer_norm(layer L output)` |
//! | BERT / RoBERTa / XLM-R | `LN(word + pos + type)` | output of layer i | output of layer L (post-LN, no final norm) |
//!
//! [`TokenEncodeOptions::final_norm`] = [`FinalNorm::Before`] gives the raw residual stream after block L instead
//! (for decoders); [`TextForward::pre_final_norm`] always holds it.
//!
//! ## Batches
//! A batch is right-padded with the model's pad id (`pad_token_id`, else 0) and an attention mask; every valid
//! position gets exactly the computation it gets alone (padded keys are masked, causal models never look right, and
//! RoBERTa positions skip padding), so [`TokenEncoder::encode_tokens_batch`] equals one-by-one encoding up to float
//! rounding. Position ids are `0..T` for every item (as transformers with right padding).
//!
//! ## Language-model loss
//! [`TextModel::causal_lm_loss`] is transformers' `labels=input_ids` loss: logits at position `t` predict token
//! `t + 1`, padded positions are `-100` (ignored), and the cross-entropy is averaged over every predicted token of
//! the batch (not per item).

pub mod bert;
pub mod config;
pub mod gpt2;
pub mod gpt_neox;
mod layers;
pub mod llama;
pub mod tokenizer;

pub use config::{TextConfig, TextModelConfig};
pub use tokenizer::{TextTokenizer, TokenizedText};

use crate::ModelError;
use crate::candle_encoder::LoadOptions;
use crate::encoder::{
    FinalNorm, InputSpec, LayerActivations, SpecialTokens, TokenEncodeOptions, TokenEncoder,
    TokenEncoderSpec,
};
use crate::weights::{IgnoreRule, LoadReport, WeightStore};
use candle_core::{D, DType, Device, Tensor};
use mirlens_core::{LayerId, LayerSelection, Modality};
use std::path::Path;

/// Input of one padded forward pass.
pub(crate) struct TrunkInput {
    /// `[B, T]` u32 ids, right-padded.
    pub ids: Tensor,
    /// The padded rows.
    pub batch: Vec<Vec<u32>>,
    /// Padded length.
    pub t: usize,
    /// Additive attention bias `[B, 1, T, T]`.
    pub bias: Tensor,
    /// Record the finer taps of every block.
    pub taps: bool,
}

/// Raw residual stream of a forward pass.
pub(crate) struct Trunk {
    /// `resid[0]` embeddings, `resid[i]` output of block i (`[B, T, d]`).
    pub resid: Vec<Tensor>,
    /// Final norm of the last block output (BERT: the output itself), when all blocks ran.
    pub last: Option<Tensor>,
    /// Per block (when asked): attention output, residual stream between attention and MLP, MLP output.
    pub taps: Vec<[Tensor; 3]>,
}

#[derive(Debug, Clone)]
enum Arch {
    Llama(llama::Llama),
    Gpt2(gpt2::Gpt2),
    GptNeox(gpt_neox::GptNeox),
    Bert(bert::Bert),
}

/// Everything one padded batch produces (row-major, `[B, T, …]` per tensor).
#[derive(Debug, Clone, PartialEq)]
pub struct TextForward {
    /// Tokens of every item.
    pub lengths: Vec<usize>,
    /// Padded length T.
    pub t: usize,
    /// Hidden size d.
    pub hidden: usize,
    /// `hidden_states[i]`, `i = 0..=L`, each `[B, T, d]`, under transformers' convention.
    pub hidden_states: Vec<Vec<f32>>,
    /// Raw output of the last block before the final norm `[B, T, d]` (= `hidden_states[L]` for post-LN encoders).
    pub pre_final_norm: Vec<f32>,
    /// Next-token logits `[B, T, V]` of causal LMs when asked for.
    pub logits: Option<Vec<f32>>,
    /// Vocabulary size V.
    pub vocab: usize,
    /// Finer taps of blocks `1..=L` when asked for ([`TextModel::forward_padded_taps`]), else empty.
    pub block_taps: Vec<BlockTaps>,
}

/// Finer taps inside one block, each row-major `[B, T, d]`.
///
/// | family | `attn_out` | `resid_mid` | `mlp_out` |
/// |---|---|---|---|
/// | Llama / Qwen2 | `o_proj` output | `h + attn_out` (input of `post_attention_layernorm`) | `down_proj` output |
/// | GPT-2 | `attn.c_proj` output | `h + attn_out` (input of `ln_2`) | `mlp.c_proj` output |
/// | GPT-NeoX | `attention.dense` output | `h + attn_out` (parallel residual: the MLP reads `ln₂(h)` instead) | `dense_4h_to_h` output |
/// | BERT family | `attention.output.dense` output | `LN(h + attn_out)` (attention sub-layer output) | `output.dense` output (before its residual LayerNorm) |
///
/// Block output (hidden state i) = `resid_mid + mlp_out` for the decoders, `LN(resid_mid + mlp_out)` for BERT.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockTaps {
    /// Attention sub-layer output projection.
    pub attn_out: Vec<f32>,
    /// Residual stream between attention and MLP.
    pub resid_mid: Vec<f32>,
    /// MLP sub-layer output.
    pub mlp_out: Vec<f32>,
}

/// Causal-LM loss of a batch.
#[derive(Debug, Clone, PartialEq)]
pub struct LmLoss {
    /// Mean cross-entropy (nats) over every predicted token of the batch — transformers' `labels=` loss.
    pub mean: f64,
    /// Predicted tokens counted.
    pub tokens: usize,
    /// Per item: (sum of cross-entropies, predicted tokens).
    pub per_item: Vec<(f64, usize)>,
}

/// A loaded token model.
#[derive(Debug)]
pub struct TextModel {
    spec: TokenEncoderSpec,
    config: TextModelConfig,
    arch: Arch,
    device: Device,
    report: LoadReport,
    pad: u32,
}

fn rule(pattern: &'static str, suffix: bool, reason: &'static str) -> IgnoreRule {
    IgnoreRule {
        pattern,
        suffix,
        reason,
    }
}

fn ignore_rules(cfg: &TextConfig) -> Vec<IgnoreRule> {
    let mut r = vec![
        rule(
            ".rotary_emb.inv_freq",
            true,
            "rotary table buffer (recomputed)",
        ),
        rule("position_ids", true, "position-id buffer"),
    ];
    let tied = match cfg {
        TextConfig::Llama(c) | TextConfig::Qwen2(c) => c.tie_word_embeddings,
        TextConfig::Gpt2(c) => c.tie_word_embeddings,
        TextConfig::GptNeox(c) => c.tie_word_embeddings,
        _ => false,
    };
    if tied {
        r.push(rule("lm_head.", false, "tied to the input embedding"));
    }
    match cfg {
        TextConfig::Gpt2(_) => {
            r.push(rule(".attn.bias", true, "causal-mask buffer"));
            r.push(rule(".attn.masked_bias", true, "causal-mask buffer"));
        }
        TextConfig::GptNeox(_) => {
            r.push(rule(".attention.bias", true, "causal-mask buffer"));
            r.push(rule(".attention.masked_bias", true, "causal-mask buffer"));
        }
        TextConfig::Bert(_) | TextConfig::Roberta(_) | TextConfig::XlmRoberta(_) => {
            for p in ["pooler.", "bert.pooler.", "roberta.pooler."] {
                r.push(rule(
                    p,
                    false,
                    "pooler (tanh(dense(h[CLS])), not a hidden state)",
                ));
            }
            r.push(rule("cls.", false, "pre-training head"));
            r.push(rule("lm_head.", false, "masked-LM head"));
        }
        _ => {}
    }
    r
}

impl TextModel {
    /// Load a model directory holding `config.json` and `model.safetensors` (or a sharded index).
    pub fn load(dir: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self, ModelError> {
        let dir = dir.as_ref();
        let config = TextConfig::from_dir(dir)?;
        let store = WeightStore::open_unprefixed(
            dir,
            &ignore_rules(&config.arch),
            opts.policy,
            &opts.device,
        )?;
        let root = store.root();
        let arch = match &config.arch {
            TextConfig::Llama(c) | TextConfig::Qwen2(c) => {
                Arch::Llama(llama::Llama::load(c, &root)?)
            }
            TextConfig::Gpt2(c) => Arch::Gpt2(gpt2::Gpt2::load(c, &root)?),
            TextConfig::GptNeox(c) => Arch::GptNeox(gpt_neox::GptNeox::load(c, &root)?),
            TextConfig::Bert(c) | TextConfig::Roberta(c) | TextConfig::XlmRoberta(c) => {
                Arch::Bert(bert::Bert::load(c, &root)?)
            }
        };
        let report = store.finish()?;
        let name = opts.name.clone().unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| dir.display().to_string())
        });
        let max_length = match &arch {
            Arch::Bert(b) => Some(b.max_tokens()),
            _ => config.arch.max_tokens(),
        };
        let spec = TokenEncoderSpec {
            name,
            modality: Modality::Text,
            architecture: config.arch.model_type().to_string(),
            num_layers: config.arch.num_layers(),
            hidden_size: config.arch.hidden_size(),
            input: InputSpec::Tokens {
                vocab_size: config.arch.vocab_size(),
                max_length,
                special_tokens: SpecialTokens {
                    bos: config.special.bos,
                    eos: config.special.eos,
                    pad: config.special.pad,
                },
            },
            causal: config.arch.is_causal(),
            final_norm: config.arch.final_norm_name().map(String::from),
        };
        let pad = config.special.pad.unwrap_or(0);
        Ok(TextModel {
            spec,
            config,
            arch,
            device: opts.device.clone(),
            report,
            pad,
        })
    }

    /// The parsed configuration.
    pub fn config(&self) -> &TextModelConfig {
        &self.config
    }

    /// What was loaded (used / missing / unused / ignored tensors).
    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    fn check(&self, items: &[&[u32]]) -> Result<(), ModelError> {
        let vocab = self.config.arch.vocab_size();
        let max = match &self.spec.input {
            InputSpec::Tokens { max_length, .. } => *max_length,
            InputSpec::Audio { .. } => None,
        };
        for (item, ids) in items.iter().enumerate() {
            if ids.is_empty() {
                return Err(ModelError::EmptyTokens { item });
            }
            if let Some((index, &id)) = ids
                .iter()
                .enumerate()
                .find(|(_, id)| **id as usize >= vocab)
            {
                return Err(ModelError::TokenOutOfRange {
                    item,
                    index,
                    id,
                    vocab_size: vocab,
                });
            }
            if let Some(m) = max
                && ids.len() > m
            {
                return Err(ModelError::SequenceTooLong {
                    item,
                    tokens: ids.len(),
                    max: m,
                });
            }
        }
        Ok(())
    }

    fn input(&self, items: &[&[u32]], taps: bool) -> Result<TrunkInput, ModelError> {
        self.check(items)?;
        let t = items.iter().map(|x| x.len()).max().unwrap_or(0);
        let mut batch = Vec::with_capacity(items.len());
        let mut mask = Vec::with_capacity(items.len());
        for ids in items {
            let mut row = ids.to_vec();
            row.resize(t, self.pad);
            batch.push(row);
            let mut m = vec![true; ids.len()];
            m.resize(t, false);
            mask.push(m);
        }
        let flat: Vec<u32> = batch.iter().flatten().copied().collect();
        let ids = Tensor::from_vec(flat, (items.len(), t), &self.device)?;
        let bias = layers::attention_bias(&mask, t, self.config.arch.is_causal(), &self.device)?;
        Ok(TrunkInput {
            ids,
            batch,
            t,
            bias,
            taps,
        })
    }

    fn trunk(&self, x: &TrunkInput, up_to: usize) -> Result<Trunk, ModelError> {
        match &self.arch {
            Arch::Llama(m) => m.forward(x, up_to),
            Arch::Gpt2(m) => m.forward(x, up_to),
            Arch::GptNeox(m) => m.forward(x, up_to),
            Arch::Bert(m) => m.forward(x, up_to),
        }
    }

    fn logits_of(&self, last: &Tensor) -> Result<Tensor, ModelError> {
        match &self.arch {
            Arch::Llama(m) => m.logits(last),
            Arch::Gpt2(m) => m.logits(last),
            Arch::GptNeox(m) => m.logits(last),
            Arch::Bert(_) => Err(ModelError::NoLmHead {
                model_type: self.config.arch.model_type().to_string(),
            }),
        }
    }

    /// transformers' padded batch: items right-padded with the pad id and masked; every hidden state, the raw last
    /// block output and (with `logits`, causal LMs only) the next-token logits.
    pub fn forward_padded(
        &self,
        items: &[&[u32]],
        logits: bool,
    ) -> Result<TextForward, ModelError> {
        self.forward_padded_taps(items, logits, false)
    }

    /// [`TextModel::forward_padded`], with `block_taps` also the finer taps of every block
    /// ([`TextForward::block_taps`]).
    pub fn forward_padded_taps(
        &self,
        items: &[&[u32]],
        logits: bool,
        block_taps: bool,
    ) -> Result<TextForward, ModelError> {
        let x = self.input(items, block_taps)?;
        let n = self.config.arch.num_layers();
        let tr = self.trunk(&x, n)?;
        let last = tr.last.clone().ok_or_else(|| ModelError::Backend {
            backend: "candle",
            message: "forward stopped before the last layer".into(),
        })?;
        let flat =
            |t: &Tensor| -> Result<Vec<f32>, ModelError> { Ok(t.flatten_all()?.to_vec1::<f32>()?) };
        let mut hidden_states = Vec::with_capacity(n + 1);
        for r in tr.resid.iter().take(n) {
            hidden_states.push(flat(r)?);
        }
        hidden_states.push(flat(&last)?);
        let logits = if logits {
            Some(flat(&self.logits_of(&last)?)?)
        } else {
            None
        };
        Ok(TextForward {
            lengths: items.iter().map(|x| x.len()).collect(),
            t: x.t,
            hidden: self.config.arch.hidden_size(),
            hidden_states,
            pre_final_norm: flat(&tr.resid[n])?,
            logits,
            vocab: self.config.arch.vocab_size(),
            block_taps: tr
                .taps
                .iter()
                .map(|[a, r, m]| {
                    Ok(BlockTaps {
                        attn_out: flat(a)?,
                        resid_mid: flat(r)?,
                        mlp_out: flat(m)?,
                    })
                })
                .collect::<Result<Vec<_>, ModelError>>()?,
        })
    }

    /// Next-token cross-entropy with `labels = input_ids` (transformers' `labels=` loss; see the module docs).
    pub fn causal_lm_loss(&self, items: &[&[u32]]) -> Result<LmLoss, ModelError> {
        let x = self.input(items, false)?;
        let n = self.config.arch.num_layers();
        let tr = self.trunk(&x, n)?;
        let last = tr.last.ok_or_else(|| ModelError::Backend {
            backend: "candle",
            message: "forward stopped before the last layer".into(),
        })?;
        let logits = self.logits_of(&last)?;
        // log-softmax in f32 over the vocabulary (as transformers' float32 cross-entropy), sums in f64.
        let max = logits.max_keepdim(D::Minus1)?;
        let lse = (logits
            .broadcast_sub(&max)?
            .exp()?
            .sum_keepdim(D::Minus1)?
            .log()?
            + max)?;
        let logp = logits.broadcast_sub(&lse)?.to_dtype(DType::F64)?;
        let v = self.config.arch.vocab_size();
        let logp = logp.flatten_all()?.to_vec1::<f64>()?;
        let mut per_item = Vec::with_capacity(items.len());
        let (mut total, mut count) = (0.0f64, 0usize);
        for (b, ids) in items.iter().enumerate() {
            let (mut s, mut c) = (0.0, 0);
            for p in 0..ids.len().saturating_sub(1) {
                let target = ids[p + 1] as usize;
                s -= logp[(b * x.t + p) * v + target];
                c += 1;
            }
            total += s;
            count += c;
            per_item.push((s, c));
        }
        Ok(LmLoss {
            mean: if count > 0 {
                total / count as f64
            } else {
                f64::NAN
            },
            tokens: count,
            per_item,
        })
    }

    fn encode_group(
        &self,
        items: &[&[u32]],
        layers: &[LayerId],
        opts: &TokenEncodeOptions,
    ) -> Result<Vec<LayerActivations>, ModelError> {
        let x = self.input(items, false)?;
        let n = self.config.arch.num_layers();
        let up_to = layers.last().map(|l| l.0).unwrap_or(0);
        let tr = self.trunk(&x, up_to)?;
        let h = self.config.arch.hidden_size();
        let mut per_layer = Vec::with_capacity(layers.len());
        for l in layers {
            let t = match (&tr.last, l.0 == n, opts.final_norm) {
                (Some(last), true, FinalNorm::After) => last,
                _ => &tr.resid[l.0],
            };
            per_layer.push(t.flatten_all()?.to_vec1::<f32>()?);
        }
        Ok(items
            .iter()
            .enumerate()
            .map(|(b, ids)| {
                let k = ids.len();
                LayerActivations {
                    frames: k,
                    hidden: h,
                    layers: layers
                        .iter()
                        .zip(&per_layer)
                        .map(|(l, v)| (*l, v[b * x.t * h..(b * x.t + k) * h].to_vec()))
                        .collect(),
                    conv_features: None,
                }
            })
            .collect())
    }
}

impl TokenEncoder for TextModel {
    fn spec(&self) -> &TokenEncoderSpec {
        &self.spec
    }

    fn encode_tokens(
        &self,
        ids: &[u32],
        layers: &LayerSelection,
        opts: &TokenEncodeOptions,
    ) -> Result<LayerActivations, ModelError> {
        let layers = layers.resolve(self.spec.num_layers)?;
        let mut v = self.encode_group(&[ids], &layers, opts)?;
        Ok(v.remove(0))
    }

    /// One right-padded, masked batch.
    fn encode_tokens_batch(
        &self,
        items: &[&[u32]],
        layers: &LayerSelection,
        opts: &TokenEncodeOptions,
    ) -> Result<Vec<LayerActivations>, ModelError> {
        let layers = layers.resolve(self.spec.num_layers)?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        self.encode_group(items, &layers, opts)
    }
}

//! The trainable Llama decoder: parameters under HF key names, seeded initialisation and a differentiable forward.
//!
//! The forward is the same math as `mirlens_models::text::llama` (transformers' `LlamaForCausalLM`, no biases):
//! `h₀ = embed_tokens[ids]`; per layer `h₁ = h + o(attn(rms₁ h))`, `h' = h₁ + down(silu(gate(rms₂ h₁)) ⊙ up(rms₂ h₁))`
//! with `rms(x) = x · (mean(x²) + ε)^(−1/2) · w`; RoPE on q and k (non-interleaved halves, `θ^(−2j/hd)`, the angle
//! table duplicated over both halves); causal attention with an additive `f32::MIN` bias above the diagonal and
//! grouped key/value heads; final `model.norm`; logits `= h · Eᵀ` (tied) or `h · lm_headᵀ`.
//!
//! Every op has a backward pass in candle: the softmax is composed from primitives (`exp(x − max) / Σ`, the max
//! detached, which leaves the gradient exact because softmax is shift-invariant), since `candle_nn`'s fused
//! `softmax_last_dim` and `rms_norm` are not differentiable (they are applied without a backward op). The loss is
//! a log-sum-exp cross-entropy with the same detached shift. The forward takes the parameters as plain tensors, so
//! it runs in f32 for training and in f64 for gradient checks.
//!
//! Initialisation: every matrix (embedding, projections, untied head) `N(0, initializer_range)`, every RMSNorm
//! weight 1, each tensor from its own generator `derive_seed(seed, "INIT", k)` (k = its position in the creation
//! order), so the initial model is a pure function of the recipe and the vocabulary size. Unlike transformers'
//! `nn.Embedding(padding_idx=pad)`, the pad row is not zeroed (nor frozen): the corpus never feeds it.

use crate::PretrainError;
use crate::lm::recipe::LmModelRecipe;
use candle_core::{D, DType, Device, Tensor, Var};
use mirlens_datasets::synth::dsp::{Rng, derive_seed};
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, PretrainError>;

/// Key of the token embedding.
pub const EMBED: &str = "model.embed_tokens.weight";
/// Key of the untied output head.
pub const LM_HEAD: &str = "lm_head.weight";

/// Trainable parameters by HF name (sorted, so iteration order is deterministic).
#[derive(Debug, Clone)]
pub struct LmParams {
    /// Name → variable.
    pub vars: BTreeMap<String, Var>,
}

impl LmParams {
    /// Seeded initialisation (see the module docs) for a vocabulary of `vocab` tokens.
    pub fn init(m: &LmModelRecipe, vocab: usize, seed: u64, device: &Device) -> Result<Self> {
        let (d, f, hd) = (m.hidden_size, m.intermediate_size, m.head_dim());
        let (h, kv) = (m.num_attention_heads, m.num_key_value_heads);
        let std = m.initializer_range;
        let mut vars = BTreeMap::new();
        let mut counter = 0u64;
        let mut add = |name: String, shape: &[usize], matrix: bool| -> Result<()> {
            counter += 1;
            let n: usize = shape.iter().product();
            let data: Vec<f32> = if matrix {
                let mut rng = Rng::new(derive_seed(seed, 0x494E_4954, counter));
                (0..n).map(|_| (rng.normal() * std) as f32).collect()
            } else {
                vec![1f32; n]
            };
            let t = Tensor::from_vec(data, shape, device)?;
            vars.insert(name, Var::from_tensor(&t)?);
            Ok(())
        };
        add(EMBED.into(), &[vocab, d], true)?;
        for i in 0..m.num_hidden_layers {
            let p = format!("model.layers.{i}");
            add(format!("{p}.input_layernorm.weight"), &[d], false)?;
            add(format!("{p}.self_attn.q_proj.weight"), &[h * hd, d], true)?;
            add(format!("{p}.self_attn.k_proj.weight"), &[kv * hd, d], true)?;
            add(format!("{p}.self_attn.v_proj.weight"), &[kv * hd, d], true)?;
            add(format!("{p}.self_attn.o_proj.weight"), &[d, h * hd], true)?;
            add(format!("{p}.post_attention_layernorm.weight"), &[d], false)?;
            add(format!("{p}.mlp.gate_proj.weight"), &[f, d], true)?;
            add(format!("{p}.mlp.up_proj.weight"), &[f, d], true)?;
            add(format!("{p}.mlp.down_proj.weight"), &[d, f], true)?;
        }
        add("model.norm.weight".into(), &[d], false)?;
        if !m.tie_word_embeddings {
            add(LM_HEAD.into(), &[vocab, d], true)?;
        }
        Ok(LmParams { vars })
    }

    /// The parameters as tensors that track their variables (for a forward pass whose gradients are wanted).
    pub fn tensors(&self) -> BTreeMap<String, Tensor> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
            .collect()
    }

    /// Detached copies: the content of `model.safetensors` (HF key names; no `lm_head` when tied).
    pub fn model_tensors(&self) -> BTreeMap<String, Tensor> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
            .collect()
    }

    /// Number of scalar parameters.
    pub fn param_count(&self) -> usize {
        self.vars.values().map(|v| v.elem_count()).sum()
    }

    /// Whether AdamW decays this parameter: the projection matrices and an untied head, not the token embedding
    /// nor the RMSNorm weights.
    pub fn decays(name: &str) -> bool {
        name.ends_with("_proj.weight") || name == LM_HEAD
    }
}

/// Position tables of one sequence length: RoPE `cos`/`sin` `[T, hd]` and the causal bias `[T, T]`.
#[derive(Debug, Clone)]
pub struct LmTables {
    /// Sequence length T.
    pub t: usize,
    cos: Tensor,
    sin: Tensor,
    bias: Tensor,
}

impl LmTables {
    /// Tables for `t` positions in `dtype` (angles computed in f32 as transformers does, then converted).
    pub fn new(m: &LmModelRecipe, t: usize, dtype: DType, device: &Device) -> Result<Self> {
        let hd = m.head_dim();
        let half = hd / 2;
        // θ^(−2j/hd) with an f32 exponent, as `RopeConfig::inv_freq` (and transformers) compute it.
        let inv: Vec<f32> = (0..half)
            .map(|j| 1.0 / (m.rope_theta as f32).powf((2 * j) as f32 / hd as f32))
            .collect();
        let mut cos = Vec::with_capacity(t * hd);
        let mut sin = Vec::with_capacity(t * hd);
        for p in 0..t {
            let row: Vec<f32> = inv.iter().map(|f| p as f32 * f).collect();
            for _ in 0..2 {
                cos.extend(row.iter().map(|a| a.cos()));
                sin.extend(row.iter().map(|a| a.sin()));
            }
        }
        let bias: Vec<f32> = (0..t * t)
            .map(|k| if k % t > k / t { f32::MIN } else { 0.0 })
            .collect();
        Ok(LmTables {
            t,
            cos: Tensor::from_vec(cos, (t, hd), device)?.to_dtype(dtype)?,
            sin: Tensor::from_vec(sin, (t, hd), device)?.to_dtype(dtype)?,
            bias: Tensor::from_vec(bias, (t, t), device)?.to_dtype(dtype)?,
        })
    }
}

fn get<'a>(p: &'a BTreeMap<String, Tensor>, name: &str) -> Result<&'a Tensor> {
    p.get(name).ok_or_else(|| PretrainError::State {
        message: format!("missing parameter {name}"),
    })
}

/// `x [N, in] · Wᵀ` with `W [out, in]`.
fn linear(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    Ok(x.matmul(&w.t()?)?)
}

fn rms_norm(x: &Tensor, w: &Tensor, eps: f64) -> Result<Tensor> {
    let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(x.broadcast_mul(&(ms + eps)?.sqrt()?.recip()?)?
        .broadcast_mul(w)?)
}

/// `x·cos + rotate_half(x)·sin` for `x [B, n, T, hd]`.
fn rope(x: &Tensor, tb: &LmTables) -> Result<Tensor> {
    let hd = x.dim(D::Minus1)?;
    let half = hd / 2;
    let x1 = x.narrow(D::Minus1, 0, half)?;
    let x2 = x.narrow(D::Minus1, half, half)?;
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    Ok((x.broadcast_mul(&tb.cos)? + rotated.broadcast_mul(&tb.sin)?)?)
}

pub use crate::model::softmax_last_dim;

/// Next-token logits `[B·T, V]` of `ids [B, T]` (u32, `T = tables.t`); `p` holds every parameter under its HF name
/// (f32 or f64, matching `tables`).
pub fn logits(
    m: &LmModelRecipe,
    p: &BTreeMap<String, Tensor>,
    tables: &LmTables,
    ids: &Tensor,
) -> Result<Tensor> {
    let (b, t) = ids.dims2()?;
    if t != tables.t {
        return Err(PretrainError::State {
            message: format!("tables built for {} positions, input has {t}", tables.t),
        });
    }
    let hd = m.head_dim();
    let (nh, kv) = (m.num_attention_heads, m.num_key_value_heads);
    let eps = m.rms_norm_eps;
    let scale = 1.0 / (hd as f64).sqrt();
    let embed = get(p, EMBED)?;
    // Activations are kept flat: [B·T, d].
    let mut h = embed.index_select(&ids.flatten_all()?, 0)?;
    let heads = |x: &Tensor, n: usize| -> Result<Tensor> {
        Ok(x.reshape((b, t, n, hd))?.transpose(1, 2)?.contiguous()?)
    };
    for i in 0..m.num_hidden_layers {
        let w = |n: &str| get(p, &format!("model.layers.{i}.{n}.weight"));
        let a = rms_norm(&h, w("input_layernorm")?, eps)?;
        let q = rope(&heads(&linear(&a, w("self_attn.q_proj")?)?, nh)?, tables)?;
        let k = rope(&heads(&linear(&a, w("self_attn.k_proj")?)?, kv)?, tables)?;
        let v = heads(&linear(&a, w("self_attn.v_proj")?)?, kv)?;
        let (k, v) = if kv != nh {
            let rep = nh / kv;
            let expand = |x: &Tensor| -> Result<Tensor> {
                Ok(x.unsqueeze(2)?
                    .expand((b, kv, rep, t, hd))?
                    .reshape((b, nh, t, hd))?)
            };
            (expand(&k)?, expand(&v)?)
        } else {
            (k, v)
        };
        let scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? * scale)?;
        let att = softmax_last_dim(&scores.broadcast_add(&tables.bias)?)?;
        let ctx = att
            .matmul(&v.contiguous()?)?
            .transpose(1, 2)?
            .reshape((b * t, nh * hd))?;
        let h1 = (&h + linear(&ctx, w("self_attn.o_proj")?)?)?;
        let x = rms_norm(&h1, w("post_attention_layernorm")?, eps)?;
        let g = linear(&x, w("mlp.gate_proj")?)?.silu()?;
        let mlp = linear(&(g * linear(&x, w("mlp.up_proj")?)?)?, w("mlp.down_proj")?)?;
        h = (h1 + mlp)?;
    }
    let hn = rms_norm(&h, get(p, "model.norm.weight")?, eps)?;
    let head = if m.tie_word_embeddings {
        embed
    } else {
        get(p, LM_HEAD)?
    };
    linear(&hn, head)
}

/// Mean next-token cross-entropy (nats) of `ids [B, T]` predicting `targets [B, T]` (both u32): a scalar tensor,
/// differentiable in the parameters.
pub fn next_token_loss(
    m: &LmModelRecipe,
    p: &BTreeMap<String, Tensor>,
    tables: &LmTables,
    ids: &Tensor,
    targets: &Tensor,
) -> Result<Tensor> {
    let z = logits(m, p, tables, ids)?;
    let max = z.max_keepdim(D::Minus1)?.detach();
    let lse = (z
        .broadcast_sub(&max)?
        .exp()?
        .sum_keepdim(D::Minus1)?
        .log()?
        + max)?;
    let n = z.dim(0)?;
    let picked = z.gather(&targets.reshape((n, 1))?.contiguous()?, 1)?;
    Ok((lse - picked)?.mean_all()?)
}

/// transformers' `config.json` of a `LlamaForCausalLM` with this configuration and vocabulary.
pub fn hf_config(
    name: &str,
    m: &LmModelRecipe,
    vocab_size: usize,
    bos: u32,
    eos: u32,
    pad: u32,
) -> serde_json::Value {
    serde_json::json!({
        "_name_or_path": name,
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": vocab_size,
        "hidden_size": m.hidden_size,
        "intermediate_size": m.intermediate_size,
        "num_hidden_layers": m.num_hidden_layers,
        "num_attention_heads": m.num_attention_heads,
        "num_key_value_heads": m.num_key_value_heads,
        "head_dim": m.head_dim(),
        "hidden_act": "silu",
        "max_position_embeddings": m.max_position_embeddings,
        "rms_norm_eps": m.rms_norm_eps,
        "rope_theta": m.rope_theta,
        "rope_scaling": null,
        "attention_bias": false,
        "attention_dropout": 0.0,
        "mlp_bias": false,
        "pretraining_tp": 1,
        "tie_word_embeddings": m.tie_word_embeddings,
        "initializer_range": m.initializer_range,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": pad,
        "use_cache": true,
        "torch_dtype": "float32",
    })
}

/// transformers' `generation_config.json` (special ids only).
pub fn generation_config(bos: u32, eos: u32, pad: u32) -> serde_json::Value {
    serde_json::json!({
        "_from_model_config": true,
        "bos_token_id": bos,
        "eos_token_id": eos,
        "pad_token_id": pad,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny(tied: bool) -> LmModelRecipe {
        LmModelRecipe {
            hidden_size: 16,
            num_hidden_layers: 1,
            num_attention_heads: 2,
            num_key_value_heads: 1,
            intermediate_size: 24,
            max_position_embeddings: 16,
            rope_theta: 10_000.0,
            rms_norm_eps: 1e-5,
            tie_word_embeddings: tied,
            initializer_range: 0.02,
        }
    }

    #[test]
    fn parameters_have_hf_names_shapes_and_decay_rule() {
        let p = LmParams::init(&tiny(true), 10, 1, &Device::Cpu).unwrap();
        let names: Vec<&str> = p.vars.keys().map(String::as_str).collect();
        assert_eq!(names.len(), 1 + 9 + 1);
        assert_eq!(p.vars[EMBED].dims(), [10, 16]);
        assert_eq!(
            p.vars["model.layers.0.self_attn.k_proj.weight"].dims(),
            [8, 16]
        );
        assert_eq!(
            p.vars["model.layers.0.mlp.down_proj.weight"].dims(),
            [16, 24]
        );
        assert!(!p.vars.contains_key(LM_HEAD));
        let n = 10 * 16 + 16 + 16 * 16 + 2 * 8 * 16 + 16 * 16 + 16 + 3 * 16 * 24 + 16;
        assert_eq!(p.param_count(), n);
        let untied = LmParams::init(&tiny(false), 10, 1, &Device::Cpu).unwrap();
        assert_eq!(untied.vars[LM_HEAD].dims(), [10, 16]);
        assert!(LmParams::decays("model.layers.0.mlp.up_proj.weight"));
        assert!(LmParams::decays(LM_HEAD));
        assert!(!LmParams::decays(EMBED));
        assert!(!LmParams::decays("model.layers.0.input_layernorm.weight"));
        assert!(!LmParams::decays("model.norm.weight"));
        // Norms start at one, matrices at N(0, 0.02).
        let e = p.vars[EMBED]
            .flatten_all()
            .unwrap()
            .to_vec1::<f32>()
            .unwrap();
        let sd = (e.iter().map(|v| v * v).sum::<f32>() / e.len() as f32).sqrt();
        assert!((sd - 0.02).abs() < 0.004, "{sd}");
        let w = p.vars["model.norm.weight"].to_vec1::<f32>().unwrap();
        assert!(w.iter().all(|&v| v == 1.0));
    }

    #[test]
    fn composed_softmax_equals_candle_and_causal_rows_ignore_the_future() {
        let x = Tensor::randn(0f32, 3.0, (2, 3, 7, 7), &Device::Cpu).unwrap();
        let a = softmax_last_dim(&x).unwrap();
        let b = candle_nn::ops::softmax_last_dim(&x).unwrap();
        let d = (a - b).unwrap().abs().unwrap().max_all().unwrap();
        assert!(d.to_scalar::<f32>().unwrap() < 1e-6);
        // Changing later tokens leaves earlier logits unchanged (causality).
        let m = tiny(true);
        let p = LmParams::init(&m, 10, 2, &Device::Cpu).unwrap().tensors();
        let tb = LmTables::new(&m, 6, DType::F32, &Device::Cpu).unwrap();
        let run = |ids: Vec<u32>| {
            let ids = Tensor::from_vec(ids, (1, 6), &Device::Cpu).unwrap();
            logits(&m, &p, &tb, &ids).unwrap().to_vec2::<f32>().unwrap()
        };
        let a = run(vec![1, 2, 3, 4, 5, 6]);
        let b = run(vec![1, 2, 3, 9, 0, 7]);
        assert_eq!(a[..3], b[..3]);
        assert_ne!(a[3], b[3]);
    }
}

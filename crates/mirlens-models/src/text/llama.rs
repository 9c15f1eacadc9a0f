//! Llama and Qwen2 (`LlamaModel` / `Qwen2Model` of transformers 5.23.0): `h0 = embed_tokens[ids]` (no scaling);
//! layer `h1 = h + o(attn(rms₁ h))`, `h' = h1 + down(act(gate(rms₂ h1)) ⊙ up(rms₂ h1))`; RoPE on q and k
//! (non-interleaved halves); grouped-query attention; final `model.norm`. Qwen2 differs only in its q/k/v biases.
//!
//! Keys: `model.embed_tokens.weight`, `model.layers.{i}.{input_layernorm, self_attn.{q,k,v,o}_proj,
//! post_attention_layernorm, mlp.{gate,up,down}_proj}.*`, `model.norm.weight`, `lm_head.weight` (absent when tied).
//! Files saved from the base `LlamaModel` lack the `model.` prefix; both are accepted.

use super::layers::{Dense, Norm, Result, Rotary, act, apply_rotary, attend, embed, split_heads};
use super::{Trunk, TrunkInput};
use crate::text::config::LlamaConfig;
use crate::weights::Weights;
use candle_core::Tensor;

#[derive(Debug, Clone)]
struct Layer {
    ln1: Norm,
    q: Dense,
    k: Dense,
    v: Dense,
    o: Dense,
    ln2: Norm,
    gate: Dense,
    up: Dense,
    down: Dense,
}

/// A loaded Llama / Qwen2 decoder.
#[derive(Debug, Clone)]
pub struct Llama {
    cfg: LlamaConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    norm: Norm,
    head: Dense,
    rotary: Rotary,
}

impl Llama {
    pub(crate) fn load(cfg: &LlamaConfig, root: &Weights) -> Result<Self> {
        let base = if root.contains("model.embed_tokens.weight") {
            root.pp("model")
        } else {
            root.clone()
        };
        let (d, f, hd) = (cfg.hidden_size, cfg.intermediate_size, cfg.head_dim);
        let (h, kv) = (cfg.num_attention_heads, cfg.num_key_value_heads);
        let embed = base
            .pp("embed_tokens")
            .get(&[cfg.vocab_size, d], "weight")?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = base.pp("layers").pp(i);
            let a = l.pp("self_attn");
            let m = l.pp("mlp");
            layers.push(Layer {
                ln1: Norm::rms(&l.pp("input_layernorm"), d, cfg.rms_norm_eps)?,
                q: Dense::linear(&a.pp("q_proj"), d, h * hd, cfg.qkv_bias)?,
                k: Dense::linear(&a.pp("k_proj"), d, kv * hd, cfg.qkv_bias)?,
                v: Dense::linear(&a.pp("v_proj"), d, kv * hd, cfg.qkv_bias)?,
                o: Dense::linear(&a.pp("o_proj"), h * hd, d, cfg.o_bias)?,
                ln2: Norm::rms(&l.pp("post_attention_layernorm"), d, cfg.rms_norm_eps)?,
                gate: Dense::linear(&m.pp("gate_proj"), d, f, cfg.mlp_bias)?,
                up: Dense::linear(&m.pp("up_proj"), d, f, cfg.mlp_bias)?,
                down: Dense::linear(&m.pp("down_proj"), f, d, cfg.mlp_bias)?,
            });
        }
        let norm = Norm::rms(&base.pp("norm"), d, cfg.rms_norm_eps)?;
        let head = if cfg.tie_word_embeddings {
            Dense::tied(&embed)?
        } else {
            Dense::linear(&root.pp("lm_head"), d, cfg.vocab_size, false)?
        };
        let rotary = Rotary::new(&cfg.rope, hd);
        Ok(Llama {
            cfg: cfg.clone(),
            embed,
            layers,
            norm,
            head,
            rotary,
        })
    }

    pub(crate) fn forward(&self, x: &TrunkInput, up_to: usize) -> Result<Trunk> {
        let (h, kv, hd) = (
            self.cfg.num_attention_heads,
            self.cfg.num_key_value_heads,
            self.cfg.head_dim,
        );
        let (cos, sin) = self.rotary.tables(x.t, x.ids.device())?;
        let scale = 1.0 / (hd as f64).sqrt();
        let mut hs = embed(&self.embed, &x.ids)?;
        let mut resid = vec![hs.clone()];
        let mut taps = Vec::new();
        for layer in self.layers.iter().take(up_to) {
            let a = layer.ln1.forward(&hs)?;
            let q = apply_rotary(&split_heads(&layer.q.forward(&a)?, h, hd)?, &cos, &sin)?;
            let k = apply_rotary(&split_heads(&layer.k.forward(&a)?, kv, hd)?, &cos, &sin)?;
            let v = split_heads(&layer.v.forward(&a)?, kv, hd)?;
            let att = layer.o.forward(&attend(&q, &k, &v, &x.bias, scale)?)?;
            let h1 = (hs + &att)?;
            let m = layer.ln2.forward(&h1)?;
            let g = act(&layer.gate.forward(&m)?, self.cfg.hidden_act)?;
            let mlp = layer.down.forward(&(g * layer.up.forward(&m)?)?)?;
            hs = (&h1 + &mlp)?;
            if x.taps {
                taps.push([att, h1, mlp]);
            }
            resid.push(hs.clone());
        }
        let last = if up_to == self.layers.len() {
            Some(self.norm.forward(&hs)?)
        } else {
            None
        };
        Ok(Trunk { resid, last, taps })
    }

    pub(crate) fn logits(&self, last: &Tensor) -> Result<Tensor> {
        self.head.forward(last)
    }
}

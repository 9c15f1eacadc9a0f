//! GPT-NeoX / Pythia (`GPTNeoXModel` of transformers 5.23.0): `h0 = embed_in[ids]`; with `use_parallel_residual`
//! a layer is `h' = h + attn(ln₁ h) + mlp(ln₂ h)`, without it `a = h + attn(ln₁ h)`, `h' = a + mlp(ln₂ a)`; the
//! fused `query_key_value` projection is laid out per head (`[H, 3, hd]` along its output); RoPE rotates the first
//! `rotary_pct · hd` features of q and k (partial rotary); final `final_layer_norm`.
//!
//! Keys: `gpt_neox.embed_in.weight`, `gpt_neox.layers.{i}.{input_layernorm, post_attention_layernorm,
//! attention.query_key_value, attention.dense, mlp.dense_h_to_4h, mlp.dense_4h_to_h}.*`,
//! `gpt_neox.final_layer_norm.*`, and the head `embed_out.weight` (v4 name) or `lm_head.weight` (v5 name).

use super::layers::{Dense, Norm, Result, Rotary, act, apply_rotary, attend, embed};
use super::{Trunk, TrunkInput};
use crate::text::config::GptNeoxConfig;
use crate::weights::Weights;
use candle_core::{D, Tensor};

#[derive(Debug, Clone)]
struct Layer {
    ln1: Norm,
    ln2: Norm,
    qkv: Dense,
    dense: Dense,
    fc_in: Dense,
    fc_out: Dense,
}

/// A loaded GPT-NeoX.
#[derive(Debug, Clone)]
pub struct GptNeox {
    cfg: GptNeoxConfig,
    embed: Tensor,
    layers: Vec<Layer>,
    ln_f: Norm,
    head: Dense,
    rotary: Rotary,
}

impl GptNeox {
    pub(crate) fn load(cfg: &GptNeoxConfig, root: &Weights) -> Result<Self> {
        let base = if root.contains("gpt_neox.embed_in.weight") {
            root.pp("gpt_neox")
        } else {
            root.clone()
        };
        let (d, f, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let hd = d / cfg.num_attention_heads;
        let embed = base.pp("embed_in").get(&[cfg.vocab_size, d], "weight")?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = base.pp("layers").pp(i);
            layers.push(Layer {
                ln1: Norm::layer(&l.pp("input_layernorm"), d, eps)?,
                ln2: Norm::layer(&l.pp("post_attention_layernorm"), d, eps)?,
                qkv: Dense::linear(
                    &l.pp("attention").pp("query_key_value"),
                    d,
                    3 * d,
                    cfg.attention_bias,
                )?,
                dense: Dense::linear(&l.pp("attention").pp("dense"), d, d, cfg.attention_bias)?,
                fc_in: Dense::linear(&l.pp("mlp").pp("dense_h_to_4h"), d, f, true)?,
                fc_out: Dense::linear(&l.pp("mlp").pp("dense_4h_to_h"), f, d, true)?,
            });
        }
        let ln_f = Norm::layer(&base.pp("final_layer_norm"), d, eps)?;
        let head = if cfg.tie_word_embeddings {
            Dense::tied(&embed)?
        } else if root.contains("lm_head.weight") {
            Dense::linear(&root.pp("lm_head"), d, cfg.vocab_size, false)?
        } else {
            Dense::linear(&root.pp("embed_out"), d, cfg.vocab_size, false)?
        };
        let rotary_dim = (hd as f64 * cfg.rope.partial_rotary_factor) as usize;
        Ok(GptNeox {
            cfg: cfg.clone(),
            embed,
            layers,
            ln_f,
            head,
            rotary: Rotary::new(&cfg.rope, rotary_dim),
        })
    }

    pub(crate) fn forward(&self, x: &TrunkInput, up_to: usize) -> Result<Trunk> {
        let h = self.cfg.num_attention_heads;
        let hd = self.cfg.hidden_size / h;
        let (cos, sin) = self.rotary.tables(x.t, x.ids.device())?;
        debug_assert_eq!(cos.dim(1)?, self.rotary.dim());
        let scale = 1.0 / (hd as f64).sqrt();
        let mut hs = embed(&self.embed, &x.ids)?;
        let mut resid = vec![hs.clone()];
        let mut taps = Vec::new();
        for layer in self.layers.iter().take(up_to) {
            let (b, t, _) = hs.dims3()?;
            // [B, T, H, 3·hd] → [B, H, T, 3·hd] → q | k | v per head.
            let qkv = layer
                .qkv
                .forward(&layer.ln1.forward(&hs)?)?
                .reshape((b, t, h, 3 * hd))?
                .transpose(1, 2)?;
            let q = apply_rotary(&qkv.narrow(D::Minus1, 0, hd)?.contiguous()?, &cos, &sin)?;
            let k = apply_rotary(&qkv.narrow(D::Minus1, hd, hd)?.contiguous()?, &cos, &sin)?;
            let v = qkv.narrow(D::Minus1, 2 * hd, hd)?.contiguous()?;
            let att = layer.dense.forward(&attend(&q, &k, &v, &x.bias, scale)?)?;
            let mlp = |y: &Tensor| -> Result<Tensor> {
                let m = act(
                    &layer.fc_in.forward(&layer.ln2.forward(y)?)?,
                    self.cfg.hidden_act,
                )?;
                layer.fc_out.forward(&m)
            };
            // Between attention and MLP: `h + attn` in both variants (with the parallel residual the MLP reads
            // `ln₂(h)`, not this).
            let a = (&att + &hs)?;
            let m = if self.cfg.use_parallel_residual {
                mlp(&hs)?
            } else {
                mlp(&a)?
            };
            hs = (&m + &a)?;
            if x.taps {
                taps.push([att, a, m]);
            }
            resid.push(hs.clone());
        }
        let last = if up_to == self.layers.len() {
            Some(self.ln_f.forward(&hs)?)
        } else {
            None
        };
        Ok(Trunk { resid, last, taps })
    }

    pub(crate) fn logits(&self, last: &Tensor) -> Result<Tensor> {
        self.head.forward(last)
    }
}

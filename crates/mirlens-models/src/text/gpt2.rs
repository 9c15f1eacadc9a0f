//! GPT-2 (`GPT2Model` of transformers 5.23.0): `h0 = wte[ids] + wpe[0..T]`; block `a = h + c_proj(attn(ln_1 h))`,
//! `h' = a + c_proj(act(c_fc(ln_2 a)))`; causal attention scaled by `1/√hd` (`scale_attn_weights`) and optionally
//! by `1/(layer + 1)` (`scale_attn_by_inverse_layer_idx`); final `ln_f`.
//!
//! Weights use the `Conv1D` layout (`[in, out]`, `y = x·W + b`); `c_attn` is split into q | k | v. Hub files have no
//! `transformer.` prefix, files saved from `GPT2LMHeadModel` have it: both are accepted. Causal-mask buffers of old
//! files (`h.{i}.attn.bias`, `h.{i}.attn.masked_bias`) are ignored; `lm_head.weight` is `wte` unless untied.

use super::layers::{Dense, Norm, Result, act, attend, embed, split_heads};
use super::{Trunk, TrunkInput};
use crate::text::config::Gpt2Config;
use crate::weights::Weights;
use candle_core::{D, Tensor};

#[derive(Debug, Clone)]
struct Block {
    ln_1: Norm,
    c_attn: Dense,
    attn_proj: Dense,
    ln_2: Norm,
    c_fc: Dense,
    mlp_proj: Dense,
}

/// A loaded GPT-2.
#[derive(Debug, Clone)]
pub struct Gpt2 {
    cfg: Gpt2Config,
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: Norm,
    head: Dense,
}

impl Gpt2 {
    pub(crate) fn load(cfg: &Gpt2Config, root: &Weights) -> Result<Self> {
        let base = if root.contains("transformer.wte.weight") {
            root.pp("transformer")
        } else {
            root.clone()
        };
        let (d, f, eps) = (cfg.n_embd, cfg.n_inner, cfg.layer_norm_epsilon);
        let wte = base.pp("wte").get(&[cfg.vocab_size, d], "weight")?;
        let wpe = base.pp("wpe").get(&[cfg.n_positions, d], "weight")?;
        let mut blocks = Vec::with_capacity(cfg.n_layer);
        for i in 0..cfg.n_layer {
            let b = base.pp("h").pp(i);
            blocks.push(Block {
                ln_1: Norm::layer(&b.pp("ln_1"), d, eps)?,
                c_attn: Dense::conv1d(&b.pp("attn").pp("c_attn"), d, 3 * d)?,
                attn_proj: Dense::conv1d(&b.pp("attn").pp("c_proj"), d, d)?,
                ln_2: Norm::layer(&b.pp("ln_2"), d, eps)?,
                c_fc: Dense::conv1d(&b.pp("mlp").pp("c_fc"), d, f)?,
                mlp_proj: Dense::conv1d(&b.pp("mlp").pp("c_proj"), f, d)?,
            });
        }
        let ln_f = Norm::layer(&base.pp("ln_f"), d, eps)?;
        let head = if cfg.tie_word_embeddings {
            Dense::tied(&wte)?
        } else {
            Dense::linear(&root.pp("lm_head"), d, cfg.vocab_size, false)?
        };
        Ok(Gpt2 {
            cfg: cfg.clone(),
            wte,
            wpe,
            blocks,
            ln_f,
            head,
        })
    }

    pub(crate) fn forward(&self, x: &TrunkInput, up_to: usize) -> Result<Trunk> {
        let (d, h) = (self.cfg.n_embd, self.cfg.n_head);
        let hd = d / h;
        let pos = self.wpe.narrow(0, 0, x.t)?;
        let mut hs = embed(&self.wte, &x.ids)?.broadcast_add(&pos)?;
        let mut resid = vec![hs.clone()];
        let mut taps = Vec::new();
        for (i, blk) in self.blocks.iter().enumerate().take(up_to) {
            let mut scale = 1.0;
            if self.cfg.scale_attn_weights {
                scale /= (hd as f64).sqrt();
            }
            if self.cfg.scale_attn_by_inverse_layer_idx {
                scale /= (i + 1) as f64;
            }
            let qkv = blk.c_attn.forward(&blk.ln_1.forward(&hs)?)?;
            let q = split_heads(&qkv.narrow(D::Minus1, 0, d)?, h, hd)?;
            let k = split_heads(&qkv.narrow(D::Minus1, d, d)?, h, hd)?;
            let v = split_heads(&qkv.narrow(D::Minus1, 2 * d, d)?, h, hd)?;
            let att = blk
                .attn_proj
                .forward(&attend(&q, &k, &v, &x.bias, scale)?)?;
            let a = (hs + &att)?;
            let m = act(
                &blk.c_fc.forward(&blk.ln_2.forward(&a)?)?,
                self.cfg.activation,
            )?;
            let mlp = blk.mlp_proj.forward(&m)?;
            hs = (&a + &mlp)?;
            if x.taps {
                taps.push([att, a, mlp]);
            }
            resid.push(hs.clone());
        }
        let last = if up_to == self.blocks.len() {
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

//! BERT, RoBERTa and XLM-RoBERTa (`BertModel` / `RobertaModel` / `XLMRobertaModel` of transformers 5.23.0):
//! `h0 = LN(word[ids] + pos[p] + type[0])`; layer `h1 = LN(h + dense(attn(h)))`, `h' = LN(h1 + dense(act(dense
//! h1)))` (post-LN, no final norm: the last hidden state is the last layer's output). Attention is bidirectional
//! with padded keys masked.
//!
//! Positions: BERT uses `p = 0..T`; RoBERTa and XLM-R count from the padding id, `p = cumsum(ids ≠ pad) · (ids ≠
//! pad) + pad`, so padding tokens sit at position `pad` and the first real token at `pad + 1`.
//!
//! Keys (under `bert.` / `roberta.` or none): `embeddings.{word,position,token_type}_embeddings.weight`,
//! `embeddings.LayerNorm.*`, `encoder.layer.{i}.attention.self.{query,key,value}.*`,
//! `encoder.layer.{i}.attention.output.{dense,LayerNorm}.*`, `encoder.layer.{i}.intermediate.dense.*`,
//! `encoder.layer.{i}.output.{dense,LayerNorm}.*`. Old files spell LayerNorm `gamma` / `beta`. The pooler and the
//! pre-training heads (`cls.*`, `lm_head.*`) are not hidden states and are ignored.

use super::layers::{Dense, Norm, Result, act, attend, embed, split_heads};
use super::{Trunk, TrunkInput};
use crate::text::config::BertConfig;
use crate::weights::Weights;
use candle_core::Tensor;

#[derive(Debug, Clone)]
struct Layer {
    q: Dense,
    k: Dense,
    v: Dense,
    attn_out: Dense,
    ln1: Norm,
    inter: Dense,
    out: Dense,
    ln2: Norm,
}

/// A loaded BERT-family encoder.
#[derive(Debug, Clone)]
pub struct Bert {
    cfg: BertConfig,
    word: Tensor,
    pos: Tensor,
    token_type: Tensor,
    ln_emb: Norm,
    layers: Vec<Layer>,
}

impl Bert {
    pub(crate) fn load(cfg: &BertConfig, root: &Weights) -> Result<Self> {
        let base = ["bert", "roberta"]
            .iter()
            .find(|p| root.contains(&format!("{p}.embeddings.word_embeddings.weight")))
            .map(|p| root.pp(p))
            .unwrap_or_else(|| root.clone());
        let (d, f, eps) = (cfg.hidden_size, cfg.intermediate_size, cfg.layer_norm_eps);
        let e = base.pp("embeddings");
        let word = e
            .pp("word_embeddings")
            .get(&[cfg.vocab_size, d], "weight")?;
        let pos = e
            .pp("position_embeddings")
            .get(&[cfg.max_position_embeddings, d], "weight")?;
        let token_type = e
            .pp("token_type_embeddings")
            .get(&[cfg.type_vocab_size, d], "weight")?;
        let ln_emb = Norm::layer(&e.pp("LayerNorm"), d, eps)?;
        let mut layers = Vec::with_capacity(cfg.num_hidden_layers);
        for i in 0..cfg.num_hidden_layers {
            let l = base.pp("encoder").pp("layer").pp(i);
            let a = l.pp("attention");
            layers.push(Layer {
                q: Dense::linear(&a.pp("self").pp("query"), d, d, true)?,
                k: Dense::linear(&a.pp("self").pp("key"), d, d, true)?,
                v: Dense::linear(&a.pp("self").pp("value"), d, d, true)?,
                attn_out: Dense::linear(&a.pp("output").pp("dense"), d, d, true)?,
                ln1: Norm::layer(&a.pp("output").pp("LayerNorm"), d, eps)?,
                inter: Dense::linear(&l.pp("intermediate").pp("dense"), d, f, true)?,
                out: Dense::linear(&l.pp("output").pp("dense"), f, d, true)?,
                ln2: Norm::layer(&l.pp("output").pp("LayerNorm"), d, eps)?,
            });
        }
        Ok(Bert {
            cfg: cfg.clone(),
            word,
            pos,
            token_type,
            ln_emb,
            layers,
        })
    }

    /// Position ids of one padded batch (`[B, T]`, u32).
    fn positions(&self, x: &TrunkInput) -> Result<Tensor> {
        let pad = self.cfg.pad_token_id;
        let mut p = Vec::with_capacity(x.batch.len() * x.t);
        for row in &x.batch {
            let mut count = 0u32;
            for j in 0..x.t {
                if self.cfg.padding_offset_positions {
                    let id = row.get(j).copied().unwrap_or(pad);
                    if id != pad {
                        count += 1;
                        p.push(count + pad);
                    } else {
                        p.push(pad);
                    }
                } else {
                    p.push(j as u32);
                }
            }
        }
        Ok(Tensor::from_vec(p, (x.batch.len(), x.t), x.ids.device())?)
    }

    pub(crate) fn forward(&self, x: &TrunkInput, up_to: usize) -> Result<Trunk> {
        let h = self.cfg.num_attention_heads;
        let hd = self.cfg.hidden_size / h;
        let scale = 1.0 / (hd as f64).sqrt();
        let emb = (embed(&self.word, &x.ids)? + embed(&self.pos, &self.positions(x)?)?)?
            .broadcast_add(&self.token_type.narrow(0, 0, 1)?)?;
        let mut hs = self.ln_emb.forward(&emb)?;
        let mut resid = vec![hs.clone()];
        let mut taps = Vec::new();
        for layer in self.layers.iter().take(up_to) {
            let q = split_heads(&layer.q.forward(&hs)?, h, hd)?;
            let k = split_heads(&layer.k.forward(&hs)?, h, hd)?;
            let v = split_heads(&layer.v.forward(&hs)?, h, hd)?;
            let att = layer
                .attn_out
                .forward(&attend(&q, &k, &v, &x.bias, scale)?)?;
            let h1 = layer.ln1.forward(&(&att + &hs)?)?;
            let m = act(&layer.inter.forward(&h1)?, self.cfg.hidden_act)?;
            let mlp = layer.out.forward(&m)?;
            hs = layer.ln2.forward(&(&mlp + &h1)?)?;
            if x.taps {
                taps.push([att, h1, mlp]);
            }
            resid.push(hs.clone());
        }
        // Post-LN: the last hidden state is the last layer's output.
        let last = (up_to == self.layers.len()).then(|| hs.clone());
        Ok(Trunk { resid, last, taps })
    }

    /// Largest valid position id + 1 needed for `tokens` real tokens.
    pub(crate) fn max_tokens(&self) -> usize {
        if self.cfg.padding_offset_positions {
            self.cfg
                .max_position_embeddings
                .saturating_sub(self.cfg.pad_token_id as usize + 1)
        } else {
            self.cfg.max_position_embeddings
        }
    }
}

//! Building blocks shared by the token models: dense layers in both weight layouts, LayerNorm / RMSNorm,
//! rotary embeddings, masked multi-head attention with grouped key/value heads. Everything runs in f32
//! (checkpoints in f16 / bf16 are upcast at load).

use crate::ModelError;
use crate::config::Activation;
use crate::text::config::RopeConfig;
use crate::weights::Weights;
use candle_core::{D, Device, Tensor};

pub(crate) type Result<T> = std::result::Result<T, ModelError>;

pub(crate) fn act(x: &Tensor, a: Activation) -> Result<Tensor> {
    Ok(match a {
        Activation::Gelu => x.gelu_erf()?,
        Activation::GeluTanh => x.gelu()?,
        Activation::Relu => x.relu()?,
        Activation::Silu => x.silu()?,
    })
}

/// `y = x·W + b` with `W` stored `[in, out]` once, contiguous.
#[derive(Debug, Clone)]
pub(crate) struct Dense {
    w: Tensor,
    b: Option<Tensor>,
}

impl Dense {
    /// `nn.Linear`: `weight [out, in]`, optional `bias [out]`.
    pub fn linear(vb: &Weights, in_dim: usize, out_dim: usize, bias: bool) -> Result<Self> {
        let w = vb.get(&[out_dim, in_dim], "weight")?.t()?.contiguous()?;
        let b = if bias {
            Some(vb.get(&[out_dim], "bias")?)
        } else {
            None
        };
        Ok(Dense { w, b })
    }

    /// GPT-2 `Conv1D`: `weight [in, out]` (no transpose), `bias [out]`.
    pub fn conv1d(vb: &Weights, in_dim: usize, out_dim: usize) -> Result<Self> {
        Ok(Dense {
            w: vb.get(&[in_dim, out_dim], "weight")?,
            b: Some(vb.get(&[out_dim], "bias")?),
        })
    }

    /// A head sharing a `[V, d]` embedding matrix (tied weights).
    pub fn tied(embedding: &Tensor) -> Result<Self> {
        Ok(Dense {
            w: embedding.t()?.contiguous()?,
            b: None,
        })
    }

    /// `[B, T, in] → [B, T, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, i) = x.dims3()?;
        let mut y = x.reshape((b * t, i))?.matmul(&self.w)?;
        if let Some(bias) = &self.b {
            y = y.broadcast_add(bias)?;
        }
        Ok(y.reshape((b, t, ()))?)
    }
}

/// LayerNorm (two-pass statistics, like PyTorch) or RMSNorm over the last dimension.
#[derive(Debug, Clone)]
pub(crate) enum Norm {
    Layer { w: Tensor, b: Tensor, eps: f64 },
    Rms { w: Tensor, eps: f64 },
}

impl Norm {
    /// LayerNorm `weight`/`bias`, or the legacy `gamma`/`beta` spelling of old BERT files.
    pub fn layer(vb: &Weights, n: usize, eps: f64) -> Result<Self> {
        let (wn, bn) = if !vb.contains("weight") && vb.contains("gamma") {
            ("gamma", "beta")
        } else {
            ("weight", "bias")
        };
        Ok(Norm::Layer {
            w: vb.get_norm_weight(&[n], wn)?,
            b: vb.get(&[n], bn)?,
            eps,
        })
    }

    /// RMSNorm `weight`.
    pub fn rms(vb: &Weights, n: usize, eps: f64) -> Result<Self> {
        Ok(Norm::Rms {
            w: vb.get_norm_weight(&[n], "weight")?,
            eps,
        })
    }

    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Norm::Layer { w, b, eps } => {
                let mean = x.mean_keepdim(D::Minus1)?;
                let xc = x.broadcast_sub(&mean)?;
                let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
                Ok(xc
                    .broadcast_div(&(var + *eps)?.sqrt()?)?
                    .broadcast_mul(w)?
                    .broadcast_add(b)?)
            }
            Norm::Rms { w, eps } => {
                let ms = x.sqr()?.mean_keepdim(D::Minus1)?;
                Ok(x.broadcast_mul(&(ms + *eps)?.sqrt()?.recip()?)?
                    .broadcast_mul(w)?)
            }
        }
    }
}

/// Embedding lookup of `ids [B, T]` (u32) in a `[V, d]` table.
pub(crate) fn embed(table: &Tensor, ids: &Tensor) -> Result<Tensor> {
    let (b, t) = ids.dims2()?;
    let d = table.dim(1)?;
    Ok(table
        .index_select(&ids.flatten_all()?, 0)?
        .reshape((b, t, d))?)
}

/// Rotary tables `cos`, `sin` of shape `[T, rd]` (angles duplicated over both halves, as transformers builds them).
#[derive(Debug, Clone)]
pub(crate) struct Rotary {
    inv_freq: Vec<f32>,
}

impl Rotary {
    pub fn new(rope: &RopeConfig, rotary_dim: usize) -> Self {
        Rotary {
            inv_freq: rope.inv_freq(rotary_dim),
        }
    }

    pub fn dim(&self) -> usize {
        2 * self.inv_freq.len()
    }

    pub fn tables(&self, t: usize, device: &Device) -> Result<(Tensor, Tensor)> {
        let half = self.inv_freq.len();
        let mut cos = Vec::with_capacity(t * 2 * half);
        let mut sin = Vec::with_capacity(t * 2 * half);
        for p in 0..t {
            let row: Vec<f32> = self.inv_freq.iter().map(|f| p as f32 * f).collect();
            for _ in 0..2 {
                cos.extend(row.iter().map(|a| a.cos()));
                sin.extend(row.iter().map(|a| a.sin()));
            }
        }
        Ok((
            Tensor::from_vec(cos, (t, 2 * half), device)?,
            Tensor::from_vec(sin, (t, 2 * half), device)?,
        ))
    }
}

/// `x·cos + rotate_half(x)·sin` on the first `cos.dim(1)` features of `x [B, H, T, hd]`, the rest passed through
/// (partial rotary).
pub(crate) fn apply_rotary(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Result<Tensor> {
    let hd = x.dim(D::Minus1)?;
    let rd = cos.dim(1)?;
    let (rot, pass) = if rd < hd {
        (
            x.narrow(D::Minus1, 0, rd)?,
            Some(x.narrow(D::Minus1, rd, hd - rd)?),
        )
    } else {
        (x.clone(), None)
    };
    let half = rd / 2;
    let x1 = rot.narrow(D::Minus1, 0, half)?;
    let x2 = rot.narrow(D::Minus1, half, half)?;
    let rotated = Tensor::cat(&[&x2.neg()?, &x1], D::Minus1)?;
    let out = (rot.broadcast_mul(cos)? + rotated.broadcast_mul(sin)?)?;
    Ok(match pass {
        Some(p) => Tensor::cat(&[&out, &p], D::Minus1)?,
        None => out,
    })
}

/// Additive attention bias `[B, 1, T, T]`: 0 where query `i` may attend key `j` (key not padding, and `j ≤ i` when
/// causal), `f32::MIN` elsewhere — transformers' eager mask (a fully masked row attends uniformly, as there).
pub(crate) fn attention_bias(
    mask: &[Vec<bool>],
    t: usize,
    causal: bool,
    device: &Device,
) -> Result<Tensor> {
    let b = mask.len();
    let mut v = vec![0f32; b * t * t];
    for (bi, m) in mask.iter().enumerate() {
        for i in 0..t {
            for j in 0..t {
                if !m[j] || (causal && j > i) {
                    v[(bi * t + i) * t + j] = f32::MIN;
                }
            }
        }
    }
    Ok(Tensor::from_vec(v, (b, 1, t, t), device)?)
}

/// Scaled dot-product attention. `q [B, H, T, hd]`, `k`, `v [B, KV, T, hd]` with `H` a multiple of `KV` (query head
/// `h` reads key/value head `h / (H/KV)`); returns `[B, T, H·hd]`.
pub(crate) fn attend(
    q: &Tensor,
    k: &Tensor,
    v: &Tensor,
    bias: &Tensor,
    scale: f64,
) -> Result<Tensor> {
    let (b, h, t, hd) = q.dims4()?;
    let kv = k.dim(1)?;
    let (k, v) = if kv != h {
        let rep = h / kv;
        let expand = |x: &Tensor| -> Result<Tensor> {
            Ok(x.unsqueeze(2)?
                .expand((b, kv, rep, t, hd))?
                .reshape((b, h, t, hd))?)
        };
        (expand(k)?, expand(v)?)
    } else {
        (k.clone(), v.clone())
    };
    let scores = (q.contiguous()?.matmul(&k.t()?.contiguous()?)? * scale)?;
    let scores = scores.broadcast_add(bias)?;
    let p = candle_nn::ops::softmax_last_dim(&scores)?;
    let out = p.matmul(&v.contiguous()?)?;
    Ok(out.transpose(1, 2)?.reshape((b, t, h * hd))?)
}

/// `[B, T, n·hd] → [B, n, T, hd]`.
pub(crate) fn split_heads(x: &Tensor, n: usize, hd: usize) -> Result<Tensor> {
    let (b, t, _) = x.dims3()?;
    Ok(x.reshape((b, t, n, hd))?.transpose(1, 2)?.contiguous()?)
}

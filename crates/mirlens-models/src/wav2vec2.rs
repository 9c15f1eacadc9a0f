//! The wav2vec2 / HuBERT / MERT-v1 architecture family in candle.
//!
//! Mirrors `huggingface/transformers:src/transformers/models/wav2vec2/modeling_wav2vec2.py` (`Wav2Vec2Model`) and
//! `…/models/hubert/modeling_hubert.py` (`HubertModel`) of transformers 5.23.0; MERT-v1 (`yizhilll/MERT:
//! scripts/mert_hf/modeling_MERT.py`) is a `HubertModel` at inference. Blocks expose `load(cfg, vb)` and `forward`.
//!
//! Differences between the variants handled here: conv normalisation (group on conv 0 / layer on every conv),
//! conv bias, HuBERT's optional feature-projection layer norm, post-LN vs pre-LN encoder and the placement of the
//! encoder layer norm, and the activation named by the config.

use crate::ModelError;
use crate::config::{Activation, EncoderConfig, FeatExtractNorm};
use crate::weights::Weights;
use candle_core::{D, DType, Tensor};

type Result<T> = std::result::Result<T, ModelError>;

fn act(x: &Tensor, a: Activation) -> Result<Tensor> {
    Ok(match a {
        Activation::Gelu => x.gelu_erf()?,
        Activation::GeluTanh => x.gelu()?,
        Activation::Relu => x.relu()?,
        Activation::Silu => x.silu()?,
    })
}

/// Layer norm over the last dimension with two-pass statistics (mean first, then centred variance), like
/// PyTorch; candle's fused kernel uses `E[x²] − E[x]²`, which loses precision on long GroupNorm rows.
#[derive(Debug, Clone)]
pub struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    /// Load `weight`, `bias` of size `n`.
    pub fn load(n: usize, eps: f64, vb: &Weights) -> Result<Self> {
        Ok(LayerNorm {
            weight: vb.get_norm_weight(&[n], "weight")?,
            bias: vb.get(&[n], "bias")?,
            eps,
        })
    }

    fn normalize(x: &Tensor, eps: f64) -> Result<Tensor> {
        let mean = x.mean_keepdim(D::Minus1)?;
        let xc = x.broadcast_sub(&mean)?;
        let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
        Ok(xc.broadcast_div(&(var + eps)?.sqrt()?)?)
    }

    /// Normalise over the last dimension and apply the affine map.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        Ok(Self::normalize(x, self.eps)?
            .broadcast_mul(&self.weight)?
            .broadcast_add(&self.bias)?)
    }

    /// GroupNorm with one group per channel on a `[B, C, T]` tensor: normalise each channel over time, then the
    /// per-channel affine map.
    pub fn forward_channels_over_time(&self, x: &Tensor) -> Result<Tensor> {
        let c = self.weight.dim(0)?;
        let w = self.weight.reshape((1, c, 1))?;
        let b = self.bias.reshape((1, c, 1))?;
        Ok(Self::normalize(x, self.eps)?
            .broadcast_mul(&w)?
            .broadcast_add(&b)?)
    }
}

/// A dense layer `y = x Wᵀ + b`.
#[derive(Debug, Clone)]
pub struct Linear {
    weight_t: Tensor,
    bias: Tensor,
}

impl Linear {
    /// Load `weight [out, in]` and `bias [out]`.
    pub fn load(in_dim: usize, out_dim: usize, vb: &Weights) -> Result<Self> {
        let w = vb.get(&[out_dim, in_dim], "weight")?;
        let b = vb.get(&[out_dim], "bias")?;
        Self::from_parts(&w, b)
    }

    fn from_parts(w: &Tensor, b: Tensor) -> Result<Self> {
        // Stored transposed and contiguous once, so every forward is a plain row-major GEMM.
        Ok(Linear {
            weight_t: w.t()?.contiguous()?,
            bias: b,
        })
    }

    /// `x [B, T, in] → [B, T, out]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (b, t, i) = x.dims3()?;
        let y = x
            .reshape((b * t, i))?
            .matmul(&self.weight_t)?
            .broadcast_add(&self.bias)?;
        Ok(y.reshape((b, t, ()))?)
    }
}

/// One conv layer of the feature encoder (`Wav2Vec2{NoLayerNorm,LayerNorm,GroupNorm}ConvLayer`).
#[derive(Debug, Clone)]
pub struct ConvLayer {
    weight: Tensor,
    bias: Option<Tensor>,
    stride: usize,
    norm: ConvNorm,
    act: Activation,
}

#[derive(Debug, Clone)]
enum ConvNorm {
    None,
    Group(LayerNorm),
    Layer(LayerNorm),
}

impl ConvLayer {
    /// Load conv layer `i` (`vb` = `feature_extractor.conv_layers.{i}`).
    pub fn load(cfg: &EncoderConfig, i: usize, vb: &Weights) -> Result<Self> {
        let c_in = if i == 0 { 1 } else { cfg.conv_dim[i - 1] };
        let c_out = cfg.conv_dim[i];
        let k = cfg.conv_kernel[i];
        let conv = vb.pp("conv");
        let weight = conv.get(&[c_out, c_in, k], "weight")?;
        let bias = if cfg.conv_bias {
            Some(conv.get(&[c_out], "bias")?)
        } else {
            None
        };
        let norm = match (cfg.feat_extract_norm, i) {
            (FeatExtractNorm::Group, 0) => {
                ConvNorm::Group(LayerNorm::load(c_out, 1e-5, &vb.pp("layer_norm"))?)
            }
            (FeatExtractNorm::Group, _) => ConvNorm::None,
            (FeatExtractNorm::Layer, _) => {
                ConvNorm::Layer(LayerNorm::load(c_out, 1e-5, &vb.pp("layer_norm"))?)
            }
        };
        Ok(ConvLayer {
            weight,
            bias,
            stride: cfg.conv_stride[i],
            norm,
            act: cfg.feat_extract_activation,
        })
    }

    /// `[B, C_in, L] → [B, C_out, L']`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = x.conv1d(&self.weight, 0, self.stride, 1, 1)?;
        if let Some(b) = &self.bias {
            y = y.broadcast_add(&b.reshape((1, (), 1))?)?;
        }
        let y = match &self.norm {
            ConvNorm::None => y,
            ConvNorm::Group(n) => n.forward_channels_over_time(&y)?,
            ConvNorm::Layer(n) => n.forward(&y.transpose(1, 2)?)?.transpose(1, 2)?,
        };
        act(&y, self.act)
    }
}

/// The conv feature encoder (`Wav2Vec2FeatureEncoder`).
#[derive(Debug, Clone)]
pub struct FeatureEncoder {
    layers: Vec<ConvLayer>,
}

impl FeatureEncoder {
    /// Load from `feature_extractor`.
    pub fn load(cfg: &EncoderConfig, vb: &Weights) -> Result<Self> {
        let vb = vb.pp("conv_layers");
        let layers = (0..cfg.conv_dim.len())
            .map(|i| ConvLayer::load(cfg, i, &vb.pp(i)))
            .collect::<Result<Vec<_>>>()?;
        Ok(FeatureEncoder { layers })
    }

    /// `[B, N] → [B, C, T]` (channels first).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = x.unsqueeze(1)?;
        for l in &self.layers {
            h = l.forward(&h)?;
        }
        Ok(h)
    }
}

/// Layer norm (optional for HuBERT) + linear projection (`Wav2Vec2FeatureProjection`).
#[derive(Debug, Clone)]
pub struct FeatureProjection {
    norm: Option<LayerNorm>,
    proj: Linear,
}

impl FeatureProjection {
    /// Load from `feature_projection`.
    pub fn load(cfg: &EncoderConfig, vb: &Weights) -> Result<Self> {
        let c = *cfg.conv_dim.last().unwrap_or(&1);
        let norm = if cfg.feat_proj_layer_norm {
            Some(LayerNorm::load(
                c,
                cfg.layer_norm_eps,
                &vb.pp("layer_norm"),
            )?)
        } else {
            None
        };
        Ok(FeatureProjection {
            norm,
            proj: Linear::load(c, cfg.hidden_size, &vb.pp("projection"))?,
        })
    }

    /// `[B, T, C] → [B, T, H]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match &self.norm {
            Some(n) => self.proj.forward(&n.forward(x)?),
            None => self.proj.forward(x),
        }
    }
}

/// Grouped, weight-normed positional convolution with "same" padding (`Wav2Vec2PositionalConvEmbedding`).
#[derive(Debug, Clone)]
pub struct PositionalConv {
    weight: Tensor,
    bias: Tensor,
    kernel: usize,
    groups: usize,
}

impl PositionalConv {
    /// Load from `encoder.pos_conv_embed` (weight norm fused here).
    pub fn load(cfg: &EncoderConfig, vb: &Weights) -> Result<Self> {
        let h = cfg.hidden_size;
        let g = cfg.num_conv_pos_embedding_groups;
        let k = cfg.num_conv_pos_embeddings;
        let conv = vb.pp("conv");
        Ok(PositionalConv {
            weight: conv.get_weight_norm(&[h, h / g, k])?,
            bias: conv.get(&[h], "bias")?,
            kernel: k,
            groups: g,
        })
    }

    /// `[B, T, H] → GELU(conv(x))[B, T, H]` (last frame dropped for even kernels, like `SamePad`).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let t = x.dim(1)?;
        let xc = x.transpose(1, 2)?.contiguous()?;
        let y = xc.conv1d(&self.weight, self.kernel / 2, 1, 1, self.groups)?;
        let y = y
            .narrow(2, 0, t)?
            .broadcast_add(&self.bias.reshape((1, (), 1))?)?;
        Ok(y.gelu_erf()?.transpose(1, 2)?)
    }
}

/// Multi-head self-attention with fused QKV projection (`Wav2Vec2Attention`, eager path).
#[derive(Debug, Clone)]
pub struct Attention {
    qkv: Linear,
    out: Linear,
    heads: usize,
    head_dim: usize,
}

impl Attention {
    /// Load `q_proj`, `k_proj`, `v_proj`, `out_proj`; q is pre-scaled by `head_dim^-0.5` and the three input
    /// projections are concatenated into one matrix.
    pub fn load(cfg: &EncoderConfig, vb: &Weights) -> Result<Self> {
        let h = cfg.hidden_size;
        let heads = cfg.num_attention_heads;
        let head_dim = h / heads;
        let scale = (head_dim as f64).powf(-0.5);
        let get = |n: &str| -> Result<(Tensor, Tensor)> {
            let v = vb.pp(n);
            Ok((v.get(&[h, h], "weight")?, v.get(&[h], "bias")?))
        };
        let (wq, bq) = get("q_proj")?;
        let (wk, bk) = get("k_proj")?;
        let (wv, bv) = get("v_proj")?;
        let w = Tensor::cat(&[(wq * scale)?, wk, wv], 0)?;
        let b = Tensor::cat(&[(bq * scale)?, bk, bv], 0)?;
        Ok(Attention {
            qkv: Linear::from_parts(&w, b)?,
            out: Linear::load(h, h, &vb.pp("out_proj"))?,
            heads,
            head_dim,
        })
    }

    /// `x [B, T, H]`, optional additive key mask `[B, 1, 1, T]`.
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        let (b, t, h) = x.dims3()?;
        let qkv = self
            .qkv
            .forward(x)?
            .reshape((b, t, 3, self.heads, self.head_dim))?;
        let q = qkv
            .narrow(2, 0, 1)?
            .squeeze(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let k = qkv
            .narrow(2, 1, 1)?
            .squeeze(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let v = qkv
            .narrow(2, 2, 1)?
            .squeeze(2)?
            .transpose(1, 2)?
            .contiguous()?;
        let mut scores = q.matmul(&k.t()?)?;
        if let Some(m) = mask {
            scores = scores.broadcast_add(m)?;
        }
        let p = candle_nn::ops::softmax_last_dim(&scores)?;
        let ctx = p.matmul(&v)?.transpose(1, 2)?.reshape((b, t, h))?;
        self.out.forward(&ctx)
    }
}

/// `intermediate_dense → act → output_dense` (`Wav2Vec2FeedForward`).
#[derive(Debug, Clone)]
pub struct FeedForward {
    inter: Linear,
    out: Linear,
    act: Activation,
}

impl FeedForward {
    /// Load from `feed_forward`.
    pub fn load(cfg: &EncoderConfig, vb: &Weights) -> Result<Self> {
        Ok(FeedForward {
            inter: Linear::load(
                cfg.hidden_size,
                cfg.intermediate_size,
                &vb.pp("intermediate_dense"),
            )?,
            out: Linear::load(
                cfg.intermediate_size,
                cfg.hidden_size,
                &vb.pp("output_dense"),
            )?,
            act: cfg.hidden_act,
        })
    }

    /// `[B, T, H] → [B, T, H]`.
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.out.forward(&act(&self.inter.forward(x)?, self.act)?)
    }
}

/// One transformer block (`Wav2Vec2EncoderLayer` post-LN / `Wav2Vec2EncoderLayerStableLayerNorm` pre-LN).
#[derive(Debug, Clone)]
pub struct EncoderLayer {
    attn: Attention,
    ln1: LayerNorm,
    ffn: FeedForward,
    ln2: LayerNorm,
    pre_ln: bool,
}

impl EncoderLayer {
    /// Load from `encoder.layers.{l}`.
    pub fn load(cfg: &EncoderConfig, vb: &Weights) -> Result<Self> {
        Ok(EncoderLayer {
            attn: Attention::load(cfg, &vb.pp("attention"))?,
            ln1: LayerNorm::load(cfg.hidden_size, cfg.layer_norm_eps, &vb.pp("layer_norm"))?,
            ffn: FeedForward::load(cfg, &vb.pp("feed_forward"))?,
            ln2: LayerNorm::load(
                cfg.hidden_size,
                cfg.layer_norm_eps,
                &vb.pp("final_layer_norm"),
            )?,
            pre_ln: cfg.do_stable_layer_norm,
        })
    }

    /// post-LN: `h = LN1(h + Attn(h)); h = LN2(h + FFN(h))`; pre-LN: `h = h + Attn(LN1(h)); h = h + FFN(LN2(h))`.
    pub fn forward(&self, x: &Tensor, mask: Option<&Tensor>) -> Result<Tensor> {
        if self.pre_ln {
            let h = (x + self.attn.forward(&self.ln1.forward(x)?, mask)?)?;
            Ok((&h + self.ffn.forward(&self.ln2.forward(&h)?)?)?)
        } else {
            let h = self.ln1.forward(&(x + self.attn.forward(x, mask)?)?)?;
            self.ln2.forward(&(&h + self.ffn.forward(&h)?)?)
        }
    }
}

/// Hidden states of one forward pass.
#[derive(Debug, Clone)]
pub struct ForwardOutput {
    /// Conv encoder output `[B, C, T]` (channels first).
    pub conv_features: Tensor,
    /// `hidden_states[i]` `[B, T, H]` for `i = 0..=up_to` (transformers ≥ 5 convention).
    pub hidden_states: Vec<Tensor>,
    /// `LN_enc(block N)` for pre-LN models when block N was run; `None` for post-LN models (where it equals
    /// `hidden_states[N]`).
    pub final_norm: Option<Tensor>,
}

/// The full model (`Wav2Vec2Model` / `HubertModel`).
#[derive(Debug, Clone)]
pub struct Wav2Vec2Model {
    feature_extractor: FeatureEncoder,
    feature_projection: FeatureProjection,
    pos_conv: PositionalConv,
    enc_norm: LayerNorm,
    layers: Vec<EncoderLayer>,
    pre_ln: bool,
}

impl Wav2Vec2Model {
    /// Load every block from the root view.
    pub fn load(cfg: &EncoderConfig, vb: &Weights) -> Result<Self> {
        let enc = vb.pp("encoder");
        let layers = (0..cfg.num_hidden_layers)
            .map(|l| EncoderLayer::load(cfg, &enc.pp("layers").pp(l)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Wav2Vec2Model {
            feature_extractor: FeatureEncoder::load(cfg, &vb.pp("feature_extractor"))?,
            feature_projection: FeatureProjection::load(cfg, &vb.pp("feature_projection"))?,
            pos_conv: PositionalConv::load(cfg, &enc.pp("pos_conv_embed"))?,
            enc_norm: LayerNorm::load(cfg.hidden_size, cfg.layer_norm_eps, &enc.pp("layer_norm"))?,
            layers,
            pre_ln: cfg.do_stable_layer_norm,
        })
    }

    /// Number of transformer blocks.
    pub fn num_layers(&self) -> usize {
        self.layers.len()
    }

    /// Forward `input [B, N]`, running blocks up to `up_to` (≤ N) only.
    ///
    /// `frame_mask`: `[B, T]` with 1 for valid frames and 0 for padding (transformers' attention-mask path: padded
    /// frames are zeroed before the positional conv and masked as attention keys). `None` = no mask.
    pub fn forward(
        &self,
        input: &Tensor,
        frame_mask: Option<&Tensor>,
        up_to: usize,
    ) -> Result<ForwardOutput> {
        let up_to = up_to.min(self.layers.len());
        let conv = self.feature_extractor.forward(input)?;
        let feats = conv.transpose(1, 2)?.contiguous()?;
        let mut h = self.feature_projection.forward(&feats)?;
        let attn_mask = match frame_mask {
            Some(m) => {
                h = h.broadcast_mul(&m.unsqueeze(2)?)?;
                // (1 − mask) · large negative, as an additive key mask [B, 1, 1, T].
                let neg = ((m.ones_like()? - m)? * -1e30f64)?;
                Some(neg.unsqueeze(1)?.unsqueeze(1)?.to_dtype(DType::F32)?)
            }
            None => None,
        };
        let pos = self.pos_conv.forward(&h)?;
        h = (h + pos)?;
        if !self.pre_ln {
            h = self.enc_norm.forward(&h)?;
        }
        let mut hidden = Vec::with_capacity(up_to + 1);
        hidden.push(h.clone());
        for layer in &self.layers[..up_to] {
            h = layer.forward(&h, attn_mask.as_ref())?;
            hidden.push(h.clone());
        }
        let final_norm = if self.pre_ln && up_to == self.layers.len() {
            Some(self.enc_norm.forward(&h)?)
        } else {
            None
        };
        Ok(ForwardOutput {
            conv_features: conv,
            hidden_states: hidden,
            final_norm,
        })
    }
}

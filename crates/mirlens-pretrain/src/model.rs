//! The trainable HuBERT-architecture encoder, its parameters under HF key names, and the pretraining heads.
//!
//! Architecture (transformers' `HubertModel` with `feat_extract_norm = "group"`, `do_stable_layer_norm = false`,
//! `conv_bias = false`, `feat_proj_layer_norm = true`, GELU): conv 0 → GroupNorm(one group per channel) → GELU,
//! convs 1.. → GELU; LayerNorm + projection; masked frames replaced by `masked_spec_embed`; weight-normed grouped
//! positional conv (+GELU) added; encoder LayerNorm; post-LN transformer blocks. Parameters are stored under the
//! HF names, so [`Params::encoder_tensors`] is directly a `model.safetensors` that `mirlens-models` and
//! transformers load. Heads (`pretrain_heads.*`) are kept only in the training state.

use crate::PretrainError;
use crate::recipe::Recipe;
use candle_core::{D, DType, Device, Tensor, Var};
use mirlens_datasets::synth::dsp::{Rng, derive_seed};
use std::collections::BTreeMap;

type Result<T> = std::result::Result<T, PretrainError>;

const LN_EPS: f64 = 1e-5;

/// All trainable parameters by name (sorted, so iteration order is deterministic).
#[derive(Debug, Clone)]
pub struct Params {
    /// Name → variable.
    pub vars: BTreeMap<String, Var>,
}

/// Prefix of the head parameters (not part of the encoder checkpoint).
pub const HEAD_PREFIX: &str = "pretrain_heads.";

fn normal(rng: &mut Rng, n: usize, std: f64) -> Vec<f32> {
    (0..n).map(|_| (rng.normal() * std) as f32).collect()
}

impl Params {
    /// Seeded initialisation following transformers' `_init_weights` for HuBERT (linear N(0, 0.02), zero biases,
    /// unit LayerNorms, Kaiming-normal convs, positional conv N(0, 2/√(k·H)) with g = ‖v‖, mask embedding U(0,1)).
    pub fn init(recipe: &Recipe, device: &Device) -> Result<Self> {
        let m = &recipe.model;
        let h = m.hidden_size;
        let mut vars = BTreeMap::new();
        let mut counter = 0u64;
        let mut add = |name: String,
                       shape: &[usize],
                       f: &mut dyn FnMut(&mut Rng, usize) -> Vec<f32>|
         -> Result<()> {
            counter += 1;
            let mut rng = Rng::new(derive_seed(recipe.seed, 0x494E_4954, counter));
            let n: usize = shape.iter().product();
            let t = Tensor::from_vec(f(&mut rng, n), shape, device)?;
            vars.insert(name, Var::from_tensor(&t)?);
            Ok(())
        };
        let zeros = &mut |_: &mut Rng, n: usize| vec![0f32; n];
        let mut ones = |_: &mut Rng, n: usize| vec![1f32; n];
        let mut lin = |r: &mut Rng, n: usize| normal(r, n, 0.02);
        for i in 0..m.conv_dim.len() {
            let c_in = if i == 0 { 1 } else { m.conv_dim[i - 1] };
            let k = m.conv_kernel[i];
            let std = (2.0 / (c_in * k) as f64).sqrt();
            add(
                format!("feature_extractor.conv_layers.{i}.conv.weight"),
                &[m.conv_dim[i], c_in, k],
                &mut |r, n| normal(r, n, std),
            )?;
            if i == 0 {
                let p = "feature_extractor.conv_layers.0.layer_norm";
                add(format!("{p}.weight"), &[m.conv_dim[0]], &mut ones)?;
                add(format!("{p}.bias"), &[m.conv_dim[0]], zeros)?;
            }
        }
        let c = *m.conv_dim.last().unwrap_or(&1);
        add(
            "feature_projection.layer_norm.weight".into(),
            &[c],
            &mut ones,
        )?;
        add("feature_projection.layer_norm.bias".into(), &[c], zeros)?;
        add(
            "feature_projection.projection.weight".into(),
            &[h, c],
            &mut lin,
        )?;
        add("feature_projection.projection.bias".into(), &[h], zeros)?;
        add("masked_spec_embed".into(), &[h], &mut |r, n| {
            (0..n).map(|_| r.uniform() as f32).collect()
        })?;
        let (k, g) = (m.num_conv_pos_embeddings, m.num_conv_pos_embedding_groups);
        let pstd = 2.0 * (1.0 / (k * h) as f64).sqrt();
        let pc = "encoder.pos_conv_embed.conv";
        add(
            format!("{pc}.parametrizations.weight.original1"),
            &[h, h / g, k],
            &mut |r, n| normal(r, n, pstd),
        )?;
        add(format!("{pc}.bias"), &[h], zeros)?;
        add("encoder.layer_norm.weight".into(), &[h], &mut ones)?;
        add("encoder.layer_norm.bias".into(), &[h], zeros)?;
        for l in 0..m.num_hidden_layers {
            let p = format!("encoder.layers.{l}");
            for proj in ["q_proj", "k_proj", "v_proj", "out_proj"] {
                add(format!("{p}.attention.{proj}.weight"), &[h, h], &mut lin)?;
                add(format!("{p}.attention.{proj}.bias"), &[h], zeros)?;
            }
            for ln in ["layer_norm", "final_layer_norm"] {
                add(format!("{p}.{ln}.weight"), &[h], &mut ones)?;
                add(format!("{p}.{ln}.bias"), &[h], zeros)?;
            }
            let f = m.intermediate_size;
            add(
                format!("{p}.feed_forward.intermediate_dense.weight"),
                &[f, h],
                &mut lin,
            )?;
            add(
                format!("{p}.feed_forward.intermediate_dense.bias"),
                &[f],
                zeros,
            )?;
            add(
                format!("{p}.feed_forward.output_dense.weight"),
                &[h, f],
                &mut lin,
            )?;
            add(format!("{p}.feed_forward.output_dense.bias"), &[h], zeros)?;
        }
        let kc = recipe.targets.clusters;
        let nb = recipe.targets.cqt_bins;
        add(format!("{HEAD_PREFIX}cluster.weight"), &[kc, h], &mut lin)?;
        add(format!("{HEAD_PREFIX}cluster.bias"), &[kc], zeros)?;
        add(format!("{HEAD_PREFIX}cqt.weight"), &[nb, h], &mut lin)?;
        add(format!("{HEAD_PREFIX}cqt.bias"), &[nb], zeros)?;
        // g = ‖v‖ over dims 0 and 1 (PyTorch weight_norm with dim = 2), so the initial weight equals v.
        let v = vars[&format!("{pc}.parametrizations.weight.original1")]
            .as_tensor()
            .clone();
        let gn = v.sqr()?.sum_keepdim(0)?.sum_keepdim(1)?.sqrt()?;
        vars.insert(
            format!("{pc}.parametrizations.weight.original0"),
            Var::from_tensor(&gn)?,
        );
        Ok(Params { vars })
    }

    fn get(&self, name: &str) -> Result<&Tensor> {
        self.vars
            .get(name)
            .map(|v| v.as_tensor())
            .ok_or_else(|| PretrainError::State {
                message: format!("missing parameter {name}"),
            })
    }

    /// Number of scalar parameters of the encoder (heads excluded).
    pub fn encoder_param_count(&self) -> usize {
        self.vars
            .iter()
            .filter(|(k, _)| !k.starts_with(HEAD_PREFIX))
            .map(|(_, v)| v.elem_count())
            .sum()
    }

    /// Encoder tensors under HF names (the content of `model.safetensors`).
    pub fn encoder_tensors(&self) -> BTreeMap<String, Tensor> {
        self.vars
            .iter()
            .filter(|(k, _)| !k.starts_with(HEAD_PREFIX))
            .map(|(k, v)| (k.clone(), v.as_tensor().detach()))
            .collect()
    }
}

fn gelu(x: &Tensor) -> Result<Tensor> {
    Ok(x.gelu_erf()?)
}

fn layer_norm(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let mean = x.mean_keepdim(D::Minus1)?;
    let xc = x.broadcast_sub(&mean)?;
    let var = xc.sqr()?.mean_keepdim(D::Minus1)?;
    Ok(xc
        .broadcast_div(&(var + LN_EPS)?.sqrt()?)?
        .broadcast_mul(w)?
        .broadcast_add(b)?)
}

fn linear(x: &Tensor, w: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (bs, t, i) = x.dims3()?;
    let y = x.reshape((bs * t, i))?.matmul(&w.t()?)?.broadcast_add(b)?;
    Ok(y.reshape((bs, t, ()))?)
}

/// Output of a training forward pass.
pub struct TrainForward {
    /// Last hidden state `[B, T, H]`.
    pub last: Tensor,
    /// All hidden states (`0..=N`), `[B, T, H]` each.
    pub hidden_states: Vec<Tensor>,
}

/// Forward `input [B, N]` with an optional frame mask `[B, T]` (1 = masked, replaced by `masked_spec_embed`).
pub fn forward(
    recipe: &Recipe,
    p: &Params,
    input: &Tensor,
    mask: Option<&Tensor>,
) -> Result<TrainForward> {
    let m = &recipe.model;
    let h_dim = m.hidden_size;
    let mut x = input.unsqueeze(1)?;
    for i in 0..m.conv_dim.len() {
        let w = p.get(&format!("feature_extractor.conv_layers.{i}.conv.weight"))?;
        x = x.conv1d(w, 0, m.conv_stride[i], 1, 1)?;
        if i == 0 {
            // GroupNorm with one group per channel: normalise each channel over time.
            let c = m.conv_dim[0];
            let pfx = "feature_extractor.conv_layers.0.layer_norm";
            let w = p.get(&format!("{pfx}.weight"))?.reshape((1, c, 1))?;
            let b = p.get(&format!("{pfx}.bias"))?.reshape((1, c, 1))?;
            x = layer_norm(&x, &w, &b)?;
        }
        x = gelu(&x)?;
    }
    let mut feats = x.transpose(1, 2)?.contiguous()?;
    let g = recipe.optim.feature_grad_mult;
    if g != 1.0 {
        // wav2vec2/HuBERT's gradient scaling of the conv feature encoder: the value is unchanged (exactly: the
        // added term is x − x = 0), the gradient reaching the conv stack is scaled by g.
        let d = feats.detach();
        feats = (&d + ((&feats - &d)? * g)?)?;
    }
    let feats = layer_norm(
        &feats,
        p.get("feature_projection.layer_norm.weight")?,
        p.get("feature_projection.layer_norm.bias")?,
    )?;
    let mut h = linear(
        &feats,
        p.get("feature_projection.projection.weight")?,
        p.get("feature_projection.projection.bias")?,
    )?;
    if let Some(mk) = mask {
        let mk = mk.to_dtype(DType::F32)?.unsqueeze(2)?;
        let emb = p.get("masked_spec_embed")?.reshape((1, 1, h_dim))?;
        let keep = mk.ones_like()?.sub(&mk)?;
        h = (h.broadcast_mul(&keep)? + mk.broadcast_mul(&emb)?)?;
    }
    // Weight-normed positional conv (same padding, last frame dropped for even kernels).
    let pc = "encoder.pos_conv_embed.conv";
    let g = p.get(&format!("{pc}.parametrizations.weight.original0"))?;
    let v = p.get(&format!("{pc}.parametrizations.weight.original1"))?;
    let norm = v.sqr()?.sum_keepdim(0)?.sum_keepdim(1)?.sqrt()?;
    let w = v.broadcast_mul(&g.broadcast_div(&norm)?)?;
    let t = h.dim(1)?;
    let k = m.num_conv_pos_embeddings;
    let hc = h.transpose(1, 2)?.contiguous()?;
    let pos = hc
        .conv1d(&w, k / 2, 1, 1, m.num_conv_pos_embedding_groups)?
        .narrow(2, 0, t)?
        .broadcast_add(&p.get(&format!("{pc}.bias"))?.reshape((1, (), 1))?)?;
    let pos = gelu(&pos)?.transpose(1, 2)?;
    h = (h + pos)?;
    h = layer_norm(
        &h,
        p.get("encoder.layer_norm.weight")?,
        p.get("encoder.layer_norm.bias")?,
    )?;
    let heads = m.num_attention_heads;
    let hd = h_dim / heads;
    let scale = (hd as f64).powf(-0.5);
    let mut hidden = vec![h.clone()];
    for l in 0..m.num_hidden_layers {
        let pf = format!("encoder.layers.{l}");
        let lin = |x: &Tensor, n: &str| -> Result<Tensor> {
            linear(
                x,
                p.get(&format!("{pf}.{n}.weight"))?,
                p.get(&format!("{pf}.{n}.bias"))?,
            )
        };
        let (b, t, _) = h.dims3()?;
        let split = |x: Tensor| -> Result<Tensor> {
            Ok(x.reshape((b, t, heads, hd))?
                .transpose(1, 2)?
                .contiguous()?)
        };
        let q = split((lin(&h, "attention.q_proj")? * scale)?)?;
        let kk = split(lin(&h, "attention.k_proj")?)?;
        let vv = split(lin(&h, "attention.v_proj")?)?;
        let scores = q.matmul(&kk.t()?)?;
        // composed from primitive ops: candle_nn's fused softmax has no backward pass, so q and k would not train
        let att = softmax_last_dim(&scores)?;
        let ctx = att
            .matmul(&vv)?
            .transpose(1, 2)?
            .contiguous()?
            .reshape((b, t, h_dim))?;
        let a = lin(&ctx, "attention.out_proj")?;
        let ln = |x: &Tensor, n: &str| -> Result<Tensor> {
            layer_norm(
                x,
                p.get(&format!("{pf}.{n}.weight"))?,
                p.get(&format!("{pf}.{n}.bias"))?,
            )
        };
        h = ln(&(h + a)?, "layer_norm")?;
        let f = gelu(&lin(&h, "feed_forward.intermediate_dense")?)?;
        let f = lin(&f, "feed_forward.output_dense")?;
        h = ln(&(h + f)?, "final_layer_norm")?;
        hidden.push(h.clone());
    }
    Ok(TrainForward {
        last: h,
        hidden_states: hidden,
    })
}

/// Masked-prediction losses of one batch.
pub struct Losses {
    /// Weighted total.
    pub total: Tensor,
    /// Cluster cross-entropy at masked frames.
    pub ce: Tensor,
    /// CQT reconstruction MSE at masked frames.
    pub mse: Tensor,
    /// Cluster accuracy at masked frames (not differentiable).
    pub accuracy: f64,
}

/// Losses at masked frames: `last [B, T, H]`, masked flat frame indices `idx [M]` (into `B·T`), cluster labels
/// `labels [M]` (u32) and CQT targets `cqt [M, bins]`.
pub fn losses(
    recipe: &Recipe,
    p: &Params,
    last: &Tensor,
    idx: &Tensor,
    labels: &Tensor,
    cqt: &Tensor,
) -> Result<Losses> {
    let (b, t, h) = last.dims3()?;
    let sel = last.reshape((b * t, h))?.index_select(idx, 0)?;
    let logits = sel
        .matmul(&p.get(&format!("{HEAD_PREFIX}cluster.weight"))?.t()?)?
        .broadcast_add(p.get(&format!("{HEAD_PREFIX}cluster.bias"))?)?;
    let ce = candle_nn::loss::cross_entropy(&logits, labels)?;
    let pred = sel
        .matmul(&p.get(&format!("{HEAD_PREFIX}cqt.weight"))?.t()?)?
        .broadcast_add(p.get(&format!("{HEAD_PREFIX}cqt.bias"))?)?;
    let mse = (pred - cqt)?.sqr()?.mean_all()?;
    let o = &recipe.objective;
    let total = ((&ce * o.cluster_weight)? + (&mse * o.cqt_weight)?)?;
    let am = logits.argmax(D::Minus1)?.to_vec1::<u32>()?;
    let lv = labels.to_vec1::<u32>()?;
    let hits = am.iter().zip(&lv).filter(|(a, b)| a == b).count();
    Ok(Losses {
        total,
        ce,
        mse,
        accuracy: hits as f64 / lv.len().max(1) as f64,
    })
}

/// Softmax over the last dimension from differentiable primitives (`exp(x − max) / Σ`, the max detached, which
/// leaves the gradient exact because softmax is shift-invariant): candle-nn's fused `softmax_last_dim` has no
/// backward pass.
pub fn softmax_last_dim(x: &candle_core::Tensor) -> Result<candle_core::Tensor> {
    use candle_core::D;
    let max = x.max_keepdim(D::Minus1)?.detach();
    let e = x.broadcast_sub(&max)?.exp()?;
    Ok(e.broadcast_div(&e.sum_keepdim(D::Minus1)?)?)
}

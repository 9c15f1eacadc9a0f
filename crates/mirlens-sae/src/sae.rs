//! The SAE model: architectures, input normalisation, weights, encode/decode.
//!
//! Layout (row-major): `w_enc [n, d_in]` (row i = latent i's encoder direction), `b_enc [n]`, `w_dec [n, d_in]`
//! (row i = latent i's decoder direction d_i), `b_dec [d_in]`, `threshold [n]` (JumpReLU θ; BatchTopK inference
//! threshold, one value repeated). SAELens stores `W_enc` as `[d_in, d_sae]` and `W_dec` as `[d_sae, d_in]`; sparsify
//! stores both as `[n, d_in]` — see [`crate::io`].
//!
//! Encoding always subtracts `b_dec` first: `pre = W_enc (x − b_dec) + b_enc`; decoding is `x̂ = W_dec z + b_dec`.

use crate::error::{Result, SaeError};
use crate::linalg::{axpy, matmul_abt};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The sparsity mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Architecture {
    /// `z = TopK_k(ReLU(pre))`: ReLU first, then the k largest, so L0 ≤ k always.
    #[serde(rename = "topk")]
    TopK {
        /// Active latents per token.
        k: usize,
    },
    /// Training: keep the top `k·B` positive pre-activations of the whole batch. Inference: JumpReLU with one global
    /// threshold (EMA of the smallest kept activation), stored in `threshold`.
    #[serde(rename = "batchtopk")]
    BatchTopK {
        /// Mean active latents per token.
        k: usize,
    },
    /// `z = ReLU(pre)`, trained with a decoder-norm-weighted L1 penalty.
    Relu,
    /// `z_i = pre_i · H(pre_i − θ_i)`, θ learned with straight-through estimators.
    #[serde(rename = "jumprelu")]
    JumpRelu,
}

impl Architecture {
    /// Short name used in file names and tables (`topk`, `batchtopk`, `relu`, `jumprelu`).
    pub fn name(&self) -> &'static str {
        match self {
            Architecture::TopK { .. } => "topk",
            Architecture::BatchTopK { .. } => "batchtopk",
            Architecture::Relu => "relu",
            Architecture::JumpRelu => "jumprelu",
        }
    }

    /// `k` for the TopK family.
    pub fn k(&self) -> Option<usize> {
        match self {
            Architecture::TopK { k } | Architecture::BatchTopK { k } => Some(*k),
            _ => None,
        }
    }
}

/// Input normalisation (reference §5). Dataset-level kinds are folded into the weights at save time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Normalization {
    /// Raw activations.
    None,
    /// `x / ‖x‖₂` per token (not foldable: needs the token's norm).
    UnitNorm,
    /// `(x − μ_tok)/(σ_tok + 1e-5)` over the d dims of each token (not foldable).
    StandardizeToken,
    /// `(x − μ_j)/σ_j` with dataset statistics per dimension (foldable).
    StandardizeDim,
    /// `x · √d / E‖x‖` with one dataset scalar (foldable). The default.
    #[default]
    ExpectedNorm,
    /// `x − μ` with the dataset mean (foldable).
    Center,
}

impl Normalization {
    /// Whether the transform is an affine map fixed by dataset statistics (so it can be folded into the weights).
    pub fn foldable(&self) -> bool {
        matches!(
            self,
            Normalization::None
                | Normalization::StandardizeDim
                | Normalization::ExpectedNorm
                | Normalization::Center
        )
    }

    /// All kinds, for help texts and sweeps.
    pub const ALL: [Normalization; 6] = [
        Normalization::None,
        Normalization::UnitNorm,
        Normalization::StandardizeToken,
        Normalization::StandardizeDim,
        Normalization::ExpectedNorm,
        Normalization::Center,
    ];
}

/// Added to σ_tok by [`Normalization::StandardizeToken`].
pub const STANDARDIZE_TOKEN_EPS: f32 = 1e-5;

/// The transform applied to raw rows before the SAE's own weights (what remains after folding).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum InputTransform {
    /// Nothing to do (no normalisation, or already folded into the weights).
    Identity,
    /// `x' = (x − mean) ⊙ scale` with dataset statistics.
    Affine {
        /// Per-dimension offset.
        mean: Vec<f32>,
        /// Per-dimension multiplier.
        scale: Vec<f32>,
    },
    /// `x / ‖x‖`.
    UnitNorm,
    /// `(x − μ_tok)/(σ_tok + 1e-5)`.
    StandardizeToken,
}

impl InputTransform {
    /// Estimate the transform for `kind` from rows `x` (`rows × d`). Statistics accumulate in f64.
    pub fn fit(kind: Normalization, x: &[f32], d: usize) -> Result<Self> {
        let rows = x.len().checked_div(d).unwrap_or(0);
        if rows == 0 && kind.foldable() && kind != Normalization::None {
            return Err(SaeError::NotEnoughRows {
                what: "normalisation statistics",
                needed: 1,
                available: 0,
            });
        }
        Ok(match kind {
            Normalization::None => InputTransform::Identity,
            Normalization::UnitNorm => InputTransform::UnitNorm,
            Normalization::StandardizeToken => InputTransform::StandardizeToken,
            Normalization::ExpectedNorm => {
                let mean_norm = x
                    .chunks_exact(d)
                    .map(|r| crate::linalg::norm2_f64(r).sqrt())
                    .sum::<f64>()
                    / rows as f64;
                let s = if mean_norm > 0.0 {
                    ((d as f64).sqrt() / mean_norm) as f32
                } else {
                    1.0
                };
                InputTransform::Affine {
                    mean: vec![0.0; d],
                    scale: vec![s; d],
                }
            }
            Normalization::Center | Normalization::StandardizeDim => {
                let mut mu = vec![0.0f64; d];
                for r in x.chunks_exact(d) {
                    for (m, &v) in mu.iter_mut().zip(r) {
                        *m += v as f64;
                    }
                }
                mu.iter_mut().for_each(|m| *m /= rows as f64);
                let scale = if kind == Normalization::Center {
                    vec![1.0f32; d]
                } else {
                    let mut var = vec![0.0f64; d];
                    for r in x.chunks_exact(d) {
                        for ((s, &v), m) in var.iter_mut().zip(r).zip(&mu) {
                            *s += (v as f64 - m).powi(2);
                        }
                    }
                    var.iter()
                        .map(|s| 1.0 / ((s / rows as f64).sqrt().max(1e-8)) as f32)
                        .collect()
                };
                InputTransform::Affine {
                    mean: mu.iter().map(|&m| m as f32).collect(),
                    scale,
                }
            }
        })
    }

    /// Apply in place to one row; returns the values needed to invert it (`(offset, multiplier)` of the row).
    pub fn apply_row(&self, x: &mut [f32]) -> (f32, f32) {
        match self {
            InputTransform::Identity => (0.0, 1.0),
            InputTransform::Affine { mean, scale } => {
                for ((v, m), s) in x.iter_mut().zip(mean).zip(scale) {
                    *v = (*v - m) * s;
                }
                (0.0, 1.0)
            }
            InputTransform::UnitNorm => {
                let n = crate::linalg::norm2_f64(x).sqrt() as f32;
                let inv = if n > 0.0 { 1.0 / n } else { 1.0 };
                x.iter_mut().for_each(|v| *v *= inv);
                (0.0, if n > 0.0 { n } else { 1.0 })
            }
            InputTransform::StandardizeToken => {
                let d = x.len().max(1) as f64;
                let mu = x.iter().map(|&v| v as f64).sum::<f64>() / d;
                let var = x.iter().map(|&v| (v as f64 - mu).powi(2)).sum::<f64>() / d;
                let sd = var.sqrt() as f32 + STANDARDIZE_TOKEN_EPS;
                let mu = mu as f32;
                x.iter_mut().for_each(|v| *v = (*v - mu) / sd);
                (mu, sd)
            }
        }
    }

    /// Invert [`InputTransform::apply_row`] on a reconstruction, given the row's `(offset, multiplier)`.
    pub fn invert_row(&self, y: &mut [f32], stats: (f32, f32)) {
        match self {
            InputTransform::Identity => {}
            InputTransform::Affine { mean, scale } => {
                for ((v, m), s) in y.iter_mut().zip(mean).zip(scale) {
                    *v = *v / s + m;
                }
            }
            InputTransform::UnitNorm | InputTransform::StandardizeToken => {
                y.iter_mut().for_each(|v| *v = *v * stats.1 + stats.0);
            }
        }
    }
}

/// Sparse codes of a batch: CSR rows of `(latent index, activation)`; only positive activations are stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SparseCodes {
    /// Dictionary width n.
    pub n_latents: usize,
    /// `row_ptr[b]..row_ptr[b+1]` indexes row b's entries; length rows + 1.
    pub row_ptr: Vec<usize>,
    /// Latent indices.
    pub idx: Vec<u32>,
    /// Activations (> 0).
    pub val: Vec<f32>,
}

impl SparseCodes {
    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.row_ptr.len().saturating_sub(1)
    }

    /// Entries of row `b`.
    pub fn row(&self, b: usize) -> (&[u32], &[f32]) {
        let (s, e) = (self.row_ptr[b], self.row_ptr[b + 1]);
        (&self.idx[s..e], &self.val[s..e])
    }

    /// Dense `[rows, n]` copy (tests, small exports).
    pub fn to_dense(&self) -> Vec<f32> {
        let n = self.n_latents;
        let mut out = vec![0.0f32; self.rows() * n];
        for b in 0..self.rows() {
            let (ii, vv) = self.row(b);
            for (&i, &v) in ii.iter().zip(vv) {
                out[b * n + i as usize] = v;
            }
        }
        out
    }

    /// Build from per-row entry lists.
    pub fn from_rows(n_latents: usize, rows: Vec<Vec<(u32, f32)>>) -> Self {
        let mut c = SparseCodes {
            n_latents,
            row_ptr: vec![0],
            idx: Vec::new(),
            val: Vec::new(),
        };
        for r in rows {
            for (i, v) in r {
                c.idx.push(i);
                c.val.push(v);
            }
            c.row_ptr.push(c.idx.len());
        }
        c
    }
}

/// A sparse autoencoder (weights + architecture + input transform).
#[derive(Debug, Clone, PartialEq)]
pub struct Sae {
    /// Sparsity mechanism.
    pub arch: Architecture,
    /// Input width d.
    pub d_in: usize,
    /// Dictionary width n.
    pub n: usize,
    /// Encoder `[n, d_in]`.
    pub w_enc: Vec<f32>,
    /// Encoder bias `[n]`.
    pub b_enc: Vec<f32>,
    /// Decoder `[n, d_in]` (row i = direction of latent i).
    pub w_dec: Vec<f32>,
    /// Decoder bias `[d_in]`, also subtracted before encoding.
    pub b_dec: Vec<f32>,
    /// Thresholds `[n]` for JumpReLU and BatchTopK inference; empty otherwise.
    pub threshold: Vec<f32>,
    /// Normalisation kind the SAE was trained with.
    pub normalization: Normalization,
    /// Transform still applied to raw inputs (Identity once folded).
    pub input: InputTransform,
}

/// Rows per chunk when encoding large inputs (bounds the `[rows, n]` pre-activation buffer).
pub const ENCODE_CHUNK: usize = 1024;

impl Sae {
    /// A zero-initialised SAE (the trainer fills it).
    pub fn zeros(arch: Architecture, d_in: usize, n: usize) -> Self {
        let threshold = match arch {
            Architecture::JumpRelu | Architecture::BatchTopK { .. } => vec![0.0; n],
            _ => Vec::new(),
        };
        Sae {
            arch,
            d_in,
            n,
            w_enc: vec![0.0; n * d_in],
            b_enc: vec![0.0; n],
            w_dec: vec![0.0; n * d_in],
            b_dec: vec![0.0; d_in],
            threshold,
            normalization: Normalization::None,
            input: InputTransform::Identity,
        }
    }

    /// Check that every buffer has the size its shape says.
    pub fn validate(&self) -> Result<()> {
        let (n, d) = (self.n, self.d_in);
        let checks = [
            ("W_enc", self.w_enc.len(), n * d),
            ("b_enc", self.b_enc.len(), n),
            ("W_dec", self.w_dec.len(), n * d),
            ("b_dec", self.b_dec.len(), d),
        ];
        for (what, got, want) in checks {
            if got != want {
                return Err(SaeError::shape(what, want, got));
            }
        }
        let needs_thr = matches!(
            self.arch,
            Architecture::JumpRelu | Architecture::BatchTopK { .. }
        );
        if needs_thr && self.threshold.len() != n {
            return Err(SaeError::shape("threshold", n, self.threshold.len()));
        }
        if let Some(k) = self.arch.k()
            && (k == 0 || k > n)
        {
            return Err(SaeError::invalid("k", k, format!("1..={n}")));
        }
        if let InputTransform::Affine { mean, scale } = &self.input
            && (mean.len() != d || scale.len() != d)
        {
            return Err(SaeError::shape(
                "normalisation statistics",
                d,
                mean.len().min(scale.len()),
            ));
        }
        Ok(())
    }

    /// Apply the input transform to rows in place; returns each row's inversion statistics.
    pub fn transform_input(&self, x: &mut [f32]) -> Vec<(f32, f32)> {
        x.par_chunks_mut(self.d_in.max(1))
            .map(|r| self.input.apply_row(r))
            .collect()
    }

    /// Effective encoder bias `b_enc − W_enc b_dec`, so that `pre = x W_encᵀ + c` equals `W_enc(x − b_dec) + b_enc`.
    pub fn effective_encoder_bias(&self) -> Vec<f32> {
        let d = self.d_in;
        self.w_enc
            .par_chunks(d)
            .zip(self.b_enc.par_iter())
            .map(|(w, &b)| b - crate::linalg::dot(w, &self.b_dec))
            .collect()
    }

    /// Pre-activations `[rows, n]` of rows already in SAE input space.
    pub fn pre_activations(&self, x: &[f32], rows: usize, threads: usize, out: &mut [f32]) {
        let c = self.effective_encoder_bias();
        self.pre_activations_with_bias(x, rows, &c, threads, out);
    }

    pub(crate) fn pre_activations_with_bias(
        &self,
        x: &[f32],
        rows: usize,
        c: &[f32],
        threads: usize,
        out: &mut [f32],
    ) {
        let n = self.n;
        matmul_abt(x, &self.w_enc, out, rows, self.d_in, n, threads);
        out[..rows * n].par_chunks_mut(n).for_each(|r| {
            for (v, b) in r.iter_mut().zip(c) {
                *v += b;
            }
        });
    }

    /// Inference activation of pre-activations (TopK: per row; BatchTopK / JumpReLU: thresholds; ReLU).
    pub fn activate(&self, pre: &[f32], rows: usize) -> SparseCodes {
        let n = self.n;
        let per_row: Vec<Vec<(u32, f32)>> = pre[..rows * n]
            .par_chunks(n)
            .map(|r| match self.arch {
                Architecture::TopK { k } => {
                    let mut idx = Vec::with_capacity(k);
                    let mut val = Vec::with_capacity(k);
                    topk_relu(r, k, &mut idx, &mut val);
                    idx.into_iter().zip(val).collect()
                }
                Architecture::Relu => r
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| **v > 0.0)
                    .map(|(i, &v)| (i as u32, v))
                    .collect(),
                Architecture::JumpRelu | Architecture::BatchTopK { .. } => r
                    .iter()
                    .zip(&self.threshold)
                    .enumerate()
                    .filter(|(_, (v, t))| **v > **t && **v > 0.0)
                    .map(|(i, (&v, _))| (i as u32, v))
                    .collect(),
            })
            .collect();
        SparseCodes::from_rows(n, per_row)
    }

    /// Encode rows in SAE input space (already transformed).
    pub fn encode_normalized(&self, x: &[f32]) -> Result<SparseCodes> {
        let d = self.d_in;
        if d == 0 || !x.len().is_multiple_of(d) {
            return Err(SaeError::shape(
                "input rows",
                format!("a multiple of d_in = {d}"),
                x.len(),
            ));
        }
        let rows = x.len() / d;
        let c = self.effective_encoder_bias();
        let threads = rayon::current_num_threads();
        let mut out = SparseCodes {
            n_latents: self.n,
            row_ptr: vec![0],
            ..Default::default()
        };
        let mut pre = vec![0.0f32; ENCODE_CHUNK.min(rows.max(1)) * self.n];
        for start in (0..rows).step_by(ENCODE_CHUNK) {
            let end = (start + ENCODE_CHUNK).min(rows);
            let m = end - start;
            self.pre_activations_with_bias(&x[start * d..end * d], m, &c, threads, &mut pre);
            let codes = self.activate(&pre, m);
            let base = out.idx.len();
            out.idx.extend_from_slice(&codes.idx);
            out.val.extend_from_slice(&codes.val);
            out.row_ptr
                .extend(codes.row_ptr[1..].iter().map(|p| p + base));
        }
        Ok(out)
    }

    /// Encode raw rows (applies the input transform first).
    pub fn encode(&self, x: &[f32]) -> Result<SparseCodes> {
        let mut xn = x.to_vec();
        if self.d_in > 0 && x.len().is_multiple_of(self.d_in) {
            self.transform_input(&mut xn);
        }
        self.encode_normalized(&xn)
    }

    /// Decode sparse codes to SAE input space: `x̂ = Σ z_i d_i + b_dec` (a gather over the active rows).
    pub fn decode(&self, codes: &SparseCodes) -> Vec<f32> {
        let d = self.d_in;
        let mut out = vec![0.0f32; codes.rows() * d];
        out.par_chunks_mut(d).enumerate().for_each(|(b, o)| {
            o.copy_from_slice(&self.b_dec);
            let (ii, vv) = codes.row(b);
            for (&i, &v) in ii.iter().zip(vv) {
                let i = i as usize;
                axpy(v, &self.w_dec[i * d..(i + 1) * d], o);
            }
        });
        out
    }

    /// Encode and decode raw rows; the reconstruction is returned in the raw (original) space.
    pub fn reconstruct(&self, x: &[f32]) -> Result<(SparseCodes, Vec<f32>)> {
        let mut xn = x.to_vec();
        if self.d_in == 0 || !x.len().is_multiple_of(self.d_in) {
            return Err(SaeError::shape(
                "input rows",
                format!("a multiple of d_in = {}", self.d_in),
                x.len(),
            ));
        }
        let stats = self.transform_input(&mut xn);
        let codes = self.encode_normalized(&xn)?;
        let mut y = self.decode(&codes);
        y.par_chunks_mut(self.d_in)
            .zip(stats.par_iter())
            .for_each(|(r, &s)| self.input.invert_row(r, s));
        Ok((codes, y))
    }

    /// Fold an affine (dataset-level) input transform into the weights, so raw rows can be fed directly:
    /// with `x' = (x − μ) ⊙ s`, `W_enc ← W_enc·diag(s)`, `W_dec ← W_dec·diag(1/s)`, `b_dec ← μ + b_dec ⊘ s`.
    /// Pre-activations and codes are unchanged; reconstructions come out in raw space. Per-token transforms cannot
    /// be folded and are left in place (returns `false` then).
    pub fn fold_normalization(&mut self) -> bool {
        let (mean, scale) = match &self.input {
            InputTransform::Identity => return true,
            InputTransform::Affine { mean, scale } => (mean.clone(), scale.clone()),
            _ => return false,
        };
        let d = self.d_in;
        self.w_enc
            .par_chunks_mut(d)
            .for_each(|r| r.iter_mut().zip(&scale).for_each(|(w, s)| *w *= s));
        self.w_dec
            .par_chunks_mut(d)
            .for_each(|r| r.iter_mut().zip(&scale).for_each(|(w, s)| *w /= s));
        for ((b, m), s) in self.b_dec.iter_mut().zip(&mean).zip(&scale) {
            *b = m + *b / s;
        }
        self.input = InputTransform::Identity;
        true
    }
}

/// ReLU then top-k of one row: writes up to `k` (index, value) pairs with value > 0, largest first.
/// Ties keep the lower index.
pub fn topk_relu(row: &[f32], k: usize, idx: &mut Vec<u32>, val: &mut Vec<f32>) {
    idx.clear();
    val.clear();
    if k == 0 {
        return;
    }
    let mut min = 0.0f32; // only values > min enter
    for (i, &v) in row.iter().enumerate() {
        if v > min {
            // insert into the descending list
            let mut pos = val.len();
            while pos > 0 && val[pos - 1] < v {
                pos -= 1;
            }
            if val.len() == k {
                val.pop();
                idx.pop();
            }
            val.insert(pos, v);
            idx.insert(pos, i as u32);
            if val.len() == k {
                min = val[k - 1];
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn topk_relu_matches_sort() {
        let row: Vec<f32> = (0..50)
            .map(|i| ((i * 7919 % 101) as f32 - 40.0) / 10.0)
            .collect();
        let (mut idx, mut val) = (Vec::new(), Vec::new());
        topk_relu(&row, 5, &mut idx, &mut val);
        let mut sorted: Vec<(usize, f32)> = row
            .iter()
            .copied()
            .enumerate()
            .filter(|x| x.1 > 0.0)
            .collect();
        sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let want: Vec<u32> = sorted.iter().take(5).map(|x| x.0 as u32).collect();
        assert_eq!(idx, want);
        // fewer positives than k: L0 < k
        let row = [-1.0, 2.0, -3.0, 0.5];
        topk_relu(&row, 3, &mut idx, &mut val);
        assert_eq!(idx, vec![1, 3]);
        assert_eq!(val, vec![2.0, 0.5]);
    }

    #[test]
    fn folding_preserves_codes_and_reconstructions() {
        let (d, n) = (4, 6);
        let mut sae = Sae::zeros(Architecture::TopK { k: 2 }, d, n);
        for (i, w) in sae.w_enc.iter_mut().enumerate() {
            *w = ((i * 31 % 17) as f32 - 8.0) / 8.0;
        }
        sae.w_dec = sae.w_enc.clone();
        sae.b_dec = vec![0.1, -0.2, 0.3, 0.0];
        sae.b_enc = vec![0.05; n];
        let x: Vec<f32> = (0..3 * d)
            .map(|i| ((i * 13 % 7) as f32 - 3.0) * 0.7 + 2.0)
            .collect();
        sae.normalization = Normalization::StandardizeDim;
        sae.input = InputTransform::fit(Normalization::StandardizeDim, &x, d).unwrap();
        let (c1, y1) = sae.reconstruct(&x).unwrap();
        let mut folded = sae.clone();
        assert!(folded.fold_normalization());
        let (c2, y2) = folded.reconstruct(&x).unwrap();
        assert_eq!(c1.idx, c2.idx);
        for (a, b) in c1.val.iter().zip(&c2.val) {
            assert!((a - b).abs() < 1e-4, "{a} {b}");
        }
        for (a, b) in y1.iter().zip(&y2) {
            assert!((a - b).abs() < 1e-4, "{a} {b}");
        }
    }
}

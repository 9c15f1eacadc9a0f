//! Contrastive linear heads: two projections `W_x [p, r]`, `W_y [q, r]` trained so that paired rows of X and Y land
//! close in cosine similarity and unpaired rows far apart (CLIP/CLAP symmetric InfoNCE, or the SigLIP sigmoid loss).
//!
//! Both views are standardised with the training means and standard deviations; `u_i = x_i W_x`, `v_j = y_j W_y`,
//! `S_ij = cos(u_i, v_j)`. With `s = exp(t)`:
//!
//! - InfoNCE: `ℓ = s S`, `L = ½ [CE(ℓ, I) + CE(ℓᵀ, I)]` (row and column cross-entropy with the diagonal as target,
//!   each averaged over the batch); `t` starts at `ln(1/0.07)` and is clamped to `ln 100` after every step
//!   (LAION-CLAP `open_clip`).
//! - SigLIP: `ℓ = s S + b`, `L = −(1/n) Σ_ij log σ(z_ij ℓ_ij)`, `z_ij = 1` on the diagonal and −1 elsewhere; `t`
//!   starts at `ln 10` and `b` at −10 (SigLIP; lucidrains/musiclm-pytorch).
//!
//! Gradients are analytic (see [`loss_and_grad`]); training is Adam (β = 0.9, 0.999, ε = 1e-8) over seeded
//! mini-batches in f64.

use crate::error::{AlignError, Result};
use crate::linalg::{self, Matrix};
use faer::{Mat, MatRef};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// Contrastive objective.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContrastiveLoss {
    /// Symmetric InfoNCE (CLIP/CLAP) with a learned logit scale.
    #[serde(rename = "infonce")]
    InfoNce,
    /// Sigmoid loss (SigLIP) with a learned logit scale and bias.
    #[serde(rename = "siglip")]
    Siglip,
}

/// Initial log logit scale of InfoNCE, `ln(1/0.07)` (CLIP).
pub const INFONCE_T0: f64 = 2.659_260_036_932_778_4;
/// Largest log logit scale of InfoNCE, `ln 100` (CLIP's clamp).
pub const INFONCE_T_MAX: f64 = 4.605_170_185_988_092;
/// Initial log logit scale of SigLIP, `ln 10`.
pub const SIGLIP_T0: f64 = std::f64::consts::LN_10;
/// Initial bias of SigLIP.
pub const SIGLIP_B0: f64 = -10.0;

/// Training options.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContrastiveParams {
    /// Objective.
    pub loss: ContrastiveLoss,
    /// Width of the shared space (`None`: `min(p, q, 64)`).
    pub rank: Option<usize>,
    /// Passes over the training items.
    pub epochs: usize,
    /// Adam step size.
    pub lr: f64,
    /// Items per mini-batch (the whole training set when it has at most this many items).
    pub batch_size: usize,
    /// Seed of the initial weights and the batch order.
    pub seed: u64,
}

impl Default for ContrastiveParams {
    fn default() -> Self {
        ContrastiveParams {
            loss: ContrastiveLoss::InfoNce,
            rank: None,
            epochs: 200,
            lr: 0.01,
            batch_size: 256,
            seed: 0,
        }
    }
}

/// Trainable parameters of the two heads.
#[derive(Debug, Clone, PartialEq)]
pub struct Heads {
    /// Projection of standardised X `[p, r]`.
    pub wx: Matrix,
    /// Projection of standardised Y `[q, r]`.
    pub wy: Matrix,
    /// Log logit scale.
    pub t: f64,
    /// Logit bias (SigLIP; 0 and unused for InfoNCE).
    pub b: f64,
}

/// Gradient of the loss with respect to each parameter of [`Heads`].
#[derive(Debug, Clone)]
pub struct Grad {
    /// `∂L/∂W_x`.
    pub wx: Matrix,
    /// `∂L/∂W_y`.
    pub wy: Matrix,
    /// `∂L/∂t`.
    pub t: f64,
    /// `∂L/∂b`.
    pub b: f64,
}

fn row_normalise(u: &Matrix) -> (Matrix, Vec<f64>) {
    let norms: Vec<f64> = (0..u.nrows())
        .map(|i| {
            (0..u.ncols())
                .map(|k| u[(i, k)] * u[(i, k)])
                .sum::<f64>()
                .sqrt()
                .max(1e-12)
        })
        .collect();
    let a = Mat::from_fn(u.nrows(), u.ncols(), |i, k| u[(i, k)] / norms[i]);
    (a, norms)
}

/// `∂L/∂u` from `∂L/∂a` for `a = u/‖u‖`: `(g − a (a·g)) / ‖u‖`.
fn through_normalise(a: &Matrix, norms: &[f64], g: &Matrix) -> Matrix {
    let dots: Vec<f64> = (0..a.nrows())
        .map(|i| (0..a.ncols()).map(|k| a[(i, k)] * g[(i, k)]).sum())
        .collect();
    Mat::from_fn(a.nrows(), a.ncols(), |i, k| {
        (g[(i, k)] - a[(i, k)] * dots[i]) / norms[i]
    })
}

fn log_sigmoid(x: f64) -> f64 {
    // log σ(x) = −log(1 + e^{−x}), stable for both signs.
    if x >= 0.0 {
        -(-x).exp().ln_1p()
    } else {
        x - x.exp().ln_1p()
    }
}

fn sigmoid(x: f64) -> f64 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}

/// Loss on a batch of paired rows (`x [n, p]`, `y [n, q]`, already standardised) and its analytic gradient.
///
/// With `G = ∂L/∂ℓ`: InfoNCE `G = (P + Q − 2I) / (2n)` (`P` row-softmax, `Q` column-softmax of `ℓ`); SigLIP
/// `G_ij = −z_ij σ(−z_ij ℓ_ij) / n`. Then `∂L/∂S = s G`, `∂L/∂t = Σ G ⊙ sS`, `∂L/∂b = Σ G`, `∂L/∂A = (sG) C`,
/// `∂L/∂C = (sG)ᵀ A` for the normalised projections `A`, `C`, back through `a = u/‖u‖` and `u = x W_x`.
pub fn loss_and_grad(
    loss: ContrastiveLoss,
    heads: &Heads,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
) -> (f64, Grad) {
    let n = x.nrows();
    let u = linalg::mul(x, heads.wx.as_ref());
    let v = linalg::mul(y, heads.wy.as_ref());
    let (a, na) = row_normalise(&u);
    let (c, nc) = row_normalise(&v);
    let sim = linalg::mul(a.as_ref(), c.transpose());
    let s = heads.t.exp();
    let nf = n as f64;
    let mut g = Mat::<f64>::zeros(n, n);
    let value = match loss {
        ContrastiveLoss::InfoNce => {
            let logits = Mat::from_fn(n, n, |i, j| s * sim[(i, j)]);
            let mut total = 0.0;
            // Rows: queries X, targets Y.
            for i in 0..n {
                let m = (0..n).map(|j| logits[(i, j)]).fold(f64::MIN, f64::max);
                let z: f64 = (0..n).map(|j| (logits[(i, j)] - m).exp()).sum();
                let lse = m + z.ln();
                total += lse - logits[(i, i)];
                for j in 0..n {
                    g[(i, j)] +=
                        ((logits[(i, j)] - lse).exp() - f64::from(u8::from(i == j))) / (2.0 * nf);
                }
            }
            // Columns: queries Y, targets X.
            for j in 0..n {
                let m = (0..n).map(|i| logits[(i, j)]).fold(f64::MIN, f64::max);
                let z: f64 = (0..n).map(|i| (logits[(i, j)] - m).exp()).sum();
                let lse = m + z.ln();
                total += lse - logits[(j, j)];
                for i in 0..n {
                    g[(i, j)] +=
                        ((logits[(i, j)] - lse).exp() - f64::from(u8::from(i == j))) / (2.0 * nf);
                }
            }
            total / (2.0 * nf)
        }
        ContrastiveLoss::Siglip => {
            let mut total = 0.0;
            for j in 0..n {
                for i in 0..n {
                    let l = s * sim[(i, j)] + heads.b;
                    let z = if i == j { 1.0 } else { -1.0 };
                    total -= log_sigmoid(z * l);
                    g[(i, j)] = -z * sigmoid(-z * l) / nf;
                }
            }
            total / nf
        }
    };
    let mut dt = 0.0;
    let mut db = 0.0;
    for j in 0..n {
        for i in 0..n {
            dt += g[(i, j)] * s * sim[(i, j)];
            db += g[(i, j)];
        }
    }
    let gs = Mat::from_fn(n, n, |i, j| s * g[(i, j)]);
    let da = linalg::mul(gs.as_ref(), c.as_ref());
    let dc = linalg::tmul(gs.as_ref(), a.as_ref());
    let du = through_normalise(&a, &na, &da);
    let dv = through_normalise(&c, &nc, &dc);
    let grad = Grad {
        wx: linalg::tmul(x, du.as_ref()),
        wy: linalg::tmul(y, dv.as_ref()),
        t: dt,
        b: if loss == ContrastiveLoss::Siglip {
            db
        } else {
            0.0
        },
    };
    (value, grad)
}

/// Loss only (the value of [`loss_and_grad`]).
pub fn loss_value(
    loss: ContrastiveLoss,
    heads: &Heads,
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
) -> f64 {
    loss_and_grad(loss, heads, x, y).0
}

/// Column means and standard deviations (population; a constant column gets 1).
fn standardiser(m: MatRef<'_, f64>) -> (Vec<f64>, Vec<f64>) {
    let mu = linalg::col_means(m);
    let n = m.nrows().max(1) as f64;
    let sd = (0..m.ncols())
        .map(|j| {
            let v = m.col(j).iter().map(|x| (x - mu[j]).powi(2)).sum::<f64>() / n;
            if v > 1e-24 { v.sqrt() } else { 1.0 }
        })
        .collect();
    (mu, sd)
}

fn standardise(m: MatRef<'_, f64>, mu: &[f64], sd: &[f64]) -> Matrix {
    Mat::from_fn(m.nrows(), m.ncols(), |i, j| (m[(i, j)] - mu[j]) / sd[j])
}

/// A trained pair of heads with the standardisation of its training data.
#[derive(Debug, Clone)]
pub struct ContrastiveModel {
    /// Objective it was trained with.
    pub loss: ContrastiveLoss,
    /// Column means of X (training items).
    pub x_mean: Vec<f64>,
    /// Column standard deviations of X.
    pub x_sd: Vec<f64>,
    /// Column means of Y.
    pub y_mean: Vec<f64>,
    /// Column standard deviations of Y.
    pub y_sd: Vec<f64>,
    /// Weights, logit scale and bias.
    pub heads: Heads,
    /// Mean training loss of each epoch.
    pub loss_trace: Vec<f64>,
}

impl ContrastiveModel {
    /// Project rows of X into the shared space (not normalised).
    pub fn project_x(&self, x: MatRef<'_, f64>) -> Matrix {
        let xs = standardise(x, &self.x_mean, &self.x_sd);
        linalg::mul(xs.as_ref(), self.heads.wx.as_ref())
    }

    /// Project rows of Y into the shared space (not normalised).
    pub fn project_y(&self, y: MatRef<'_, f64>) -> Matrix {
        let ys = standardise(y, &self.y_mean, &self.y_sd);
        linalg::mul(ys.as_ref(), self.heads.wy.as_ref())
    }
}

/// Seeded initial heads: entries of `W_x` drawn from N(0, 1/p), of `W_y` from N(0, 1/q) (Box–Muller on `StdRng`).
pub fn init_heads(loss: ContrastiveLoss, p: usize, q: usize, rank: usize, seed: u64) -> Heads {
    use rand::Rng;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut gauss = move || {
        let u1: f64 = rng.random::<f64>().max(1e-300);
        let u2: f64 = rng.random();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    };
    let wx = Mat::from_fn(p, rank, |_, _| gauss() / (p as f64).sqrt());
    let wy = Mat::from_fn(q, rank, |_, _| gauss() / (q as f64).sqrt());
    let (t, b) = match loss {
        ContrastiveLoss::InfoNce => (INFONCE_T0, 0.0),
        ContrastiveLoss::Siglip => (SIGLIP_T0, SIGLIP_B0),
    };
    Heads { wx, wy, t, b }
}

struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    step: i32,
}

impl Adam {
    fn update(&mut self, params: &mut [f64], grads: &[f64], lr: f64) {
        const B1: f64 = 0.9;
        const B2: f64 = 0.999;
        const EPS: f64 = 1e-8;
        self.step += 1;
        let c1 = 1.0 - B1.powi(self.step);
        let c2 = 1.0 - B2.powi(self.step);
        for (k, (p, g)) in params.iter_mut().zip(grads).enumerate() {
            self.m[k] = B1 * self.m[k] + (1.0 - B1) * g;
            self.v[k] = B2 * self.v[k] + (1.0 - B2) * g * g;
            *p -= lr * (self.m[k] / c1) / ((self.v[k] / c2).sqrt() + EPS);
        }
    }
}

fn pack(wx: &Matrix, wy: &Matrix, t: f64, b: f64) -> Vec<f64> {
    let mut out = linalg::to_rows(wx.as_ref());
    out.extend(linalg::to_rows(wy.as_ref()));
    out.push(t);
    out.push(b);
    out
}

fn unpack(flat: &[f64], heads: &mut Heads) {
    let (p, r) = (heads.wx.nrows(), heads.wx.ncols());
    let q = heads.wy.nrows();
    heads.wx = linalg::from_rows_f64(&flat[..p * r], p, r);
    heads.wy = linalg::from_rows_f64(&flat[p * r..(p + q) * r], q, r);
    heads.t = flat[(p + q) * r];
    heads.b = flat[(p + q) * r + 1];
}

/// Train the heads on paired rows `x [n, p]`, `y [n, q]`.
pub fn train(
    x: MatRef<'_, f64>,
    y: MatRef<'_, f64>,
    params: &ContrastiveParams,
) -> Result<ContrastiveModel> {
    if x.nrows() != y.nrows() {
        return Err(AlignError::RowMismatch {
            x: x.nrows(),
            y: y.nrows(),
        });
    }
    linalg::check_finite(x, "X")?;
    linalg::check_finite(y, "Y")?;
    let n = x.nrows();
    if n < 2 {
        return Err(AlignError::TooFewItems {
            what: "contrastive heads",
            need: 2,
            got: n,
        });
    }
    let (p, q) = (x.ncols(), y.ncols());
    let rank = params.rank.unwrap_or(p.min(q).min(64));
    if rank == 0 {
        return Err(AlignError::InvalidParam {
            name: "rank",
            reason: "rank must be at least 1".into(),
        });
    }
    if !(params.lr > 0.0 && params.lr.is_finite()) {
        return Err(AlignError::InvalidParam {
            name: "lr",
            reason: format!("{} is not a positive step size", params.lr),
        });
    }
    if params.batch_size < 2 {
        return Err(AlignError::InvalidParam {
            name: "batch-size",
            reason: format!("{}; a batch needs at least 2 items", params.batch_size),
        });
    }
    let (x_mean, x_sd) = standardiser(x);
    let (y_mean, y_sd) = standardiser(y);
    let xs = standardise(x, &x_mean, &x_sd);
    let ys = standardise(y, &y_mean, &y_sd);
    let mut heads = init_heads(params.loss, p, q, rank, params.seed);
    let n_params = (p + q) * rank + 2;
    let mut adam = Adam {
        m: vec![0.0; n_params],
        v: vec![0.0; n_params],
        step: 0,
    };
    let mut rng = StdRng::seed_from_u64(params.seed ^ 0x9e37_79b9_7f4a_7c15);
    let mut order: Vec<usize> = (0..n).collect();
    let mut trace = Vec::with_capacity(params.epochs);
    for _ in 0..params.epochs {
        let batches: Vec<Vec<usize>> = if n <= params.batch_size {
            vec![order.clone()]
        } else {
            order.shuffle(&mut rng);
            order
                .chunks(params.batch_size)
                .filter(|c| c.len() >= 2)
                .map(<[usize]>::to_vec)
                .collect()
        };
        let mut epoch_loss = 0.0;
        for idx in &batches {
            let (bx, by);
            let (xb, yb) = if idx.len() == n {
                (xs.as_ref(), ys.as_ref())
            } else {
                bx = linalg::select_rows(xs.as_ref(), idx);
                by = linalg::select_rows(ys.as_ref(), idx);
                (bx.as_ref(), by.as_ref())
            };
            let (l, g) = loss_and_grad(params.loss, &heads, xb, yb);
            epoch_loss += l / batches.len() as f64;
            let mut flat = pack(&heads.wx, &heads.wy, heads.t, heads.b);
            let grads = pack(&g.wx, &g.wy, g.t, g.b);
            adam.update(&mut flat, &grads, params.lr);
            unpack(&flat, &mut heads);
            if params.loss == ContrastiveLoss::InfoNce {
                heads.t = heads.t.min(INFONCE_T_MAX);
                heads.b = 0.0;
            }
        }
        if !epoch_loss.is_finite() {
            return Err(AlignError::InvalidParam {
                name: "lr",
                reason: format!(
                    "training diverged (loss {epoch_loss}) at step size {}",
                    params.lr
                ),
            });
        }
        trace.push(epoch_loss);
    }
    Ok(ContrastiveModel {
        loss: params.loss,
        x_mean,
        x_sd,
        y_mean,
        y_sd,
        heads,
        loss_trace: trace,
    })
}

/// Summary of a trained pair of heads, for reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContrastiveSummary {
    /// Objective.
    pub loss: ContrastiveLoss,
    /// Epochs.
    pub epochs: usize,
    /// Adam step size.
    pub lr: f64,
    /// Mini-batch size.
    pub batch_size: usize,
    /// Training loss of the first epoch.
    pub initial_loss: f64,
    /// Training loss of the last epoch.
    pub final_loss: f64,
    /// Learned logit scale `exp(t)`.
    pub logit_scale: f64,
    /// Learned bias (SigLIP).
    pub bias: Option<f64>,
}

impl ContrastiveModel {
    /// Summary for reports.
    pub fn summary(&self, params: &ContrastiveParams) -> ContrastiveSummary {
        ContrastiveSummary {
            loss: self.loss,
            epochs: params.epochs,
            lr: params.lr,
            batch_size: params.batch_size,
            initial_loss: self.loss_trace.first().copied().unwrap_or(f64::NAN),
            final_loss: self.loss_trace.last().copied().unwrap_or(f64::NAN),
            logit_scale: self.heads.t.exp(),
            bias: (self.loss == ContrastiveLoss::Siglip).then_some(self.heads.b),
        }
    }
}

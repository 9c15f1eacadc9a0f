//! Training: Adam with the width-scaled learning rate, warm-up and linear decay, geometric-median `b_dec`, tied
//! initialisation, unit-norm decoder rows with gradient projection, AuxK with a dead threshold in tokens, shuffled
//! batches that are a pure function of (seed, step) so checkpoints resume bit-exactly, a held-out evaluation split.
//!
//! # Loss (reference §2)
//! `L = L_rec + α·L_aux (+ sparsity term)`, with the batch FVU `L_rec = Σ_b ‖x_b − x̂_b‖² / Σ_b ‖x_b − x̄_B‖²`.
//! AuxK: `e = sg(x − x̂)`, `D` = latents that have not fired for `T_dead` tokens, `k_aux = min(⌊d/2⌋, |D|)`,
//! `ê = W_dec·ReLU(TopK_{k_aux}(pre restricted to D))` (no `b_dec`), `L_aux = Σ‖ê − e‖² / Σ‖e − ē_B‖²`.
//! ReLU: `λ/(B·s) Σ_b Σ_i z_bi ‖d_i‖` with `s = √(Σ_b‖x_b − x̄_B‖²/B)` (scale-free). JumpReLU: `λ₀ · mean_b L0_b`
//! with the rectangle-kernel straight-through estimators of the reference (bandwidth ε) for θ = exp(log θ).
//!
//! # Sparse backward (TopK family)
//! The decoder is a gather over the active rows; `∂L/∂pre` is non-zero only at the active (and AuxK) entries, so
//! the encoder weight gradient is accumulated per latent from those entries only (a sparse × dense product), and
//! the Adam update of each latent's encoder/decoder rows is fused into the same pass.

use crate::error::{Result, SaeError};
use crate::linalg::{axpy, dot, norm2_f64};
use crate::metrics::{EvalMetrics, evaluate};
use crate::sae::{Architecture, InputTransform, Normalization, Sae, topk_relu};
use crate::source::ActivationSource;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How `b_dec` is initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BDecInit {
    /// Geometric median (Weiszfeld, ≤ 100 iterations, tolerance 1e-5) of up to 32,768 training rows.
    #[default]
    GeometricMedian,
    /// Mean of up to 32,768 training rows.
    Mean,
    /// Zero.
    Zero,
}

/// Decoder constraint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecoderConstraint {
    /// Unit-norm rows: the gradient is projected orthogonal to each row before the step, rows renormalised after.
    UnitNorm,
    /// Unconstrained (ReLU + decoder-norm-weighted L1).
    Free,
}

/// AuxK settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct AuxKParams {
    /// α (0 disables AuxK). Default 1/32.
    pub coefficient: f32,
    /// Dead threshold T_dead in tokens; `None` = min(10,000,000, one epoch of the training split).
    pub dead_tokens: Option<u64>,
}

impl Default for AuxKParams {
    fn default() -> Self {
        AuxKParams {
            coefficient: 1.0 / 32.0,
            dead_tokens: None,
        }
    }
}

/// JumpReLU settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JumpReluParams {
    /// Initial θ (default 0.01).
    pub init_threshold: f32,
    /// STE bandwidth ε (default 0.05).
    pub bandwidth: f32,
    /// λ₀ of the L0 penalty `λ₀ · mean_b L0_b` next to the batch FVU (default 0.01).
    pub l0_coefficient: f32,
}

impl Default for JumpReluParams {
    fn default() -> Self {
        JumpReluParams {
            init_threshold: 0.01,
            bandwidth: 0.05,
            l0_coefficient: 0.01,
        }
    }
}

/// Everything that defines a training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    /// Architecture (and k).
    pub arch: Architecture,
    /// Dictionary width n.
    pub n_latents: usize,
    /// Input normalisation.
    pub normalization: Normalization,
    /// Tokens per batch B.
    pub batch_size: usize,
    /// Training tokens (steps = ⌈tokens / B⌉).
    pub total_tokens: u64,
    /// Adam learning rate; `None` = 2e-4/√(n/2^14).
    pub lr: Option<f32>,
    /// Linear warm-up steps; `None` = min(1000, steps/10).
    pub warmup_steps: Option<u64>,
    /// Fraction of the steps at the end over which the lr decays linearly to 0 (default 0.2).
    pub decay_fraction: f32,
    /// Adam β₁, β₂, ε.
    pub adam: (f32, f32, f32),
    /// `b_dec` initialisation.
    pub b_dec_init: BDecInit,
    /// Decoder constraint; `None` = unit norm except for ReLU (free, decoder-norm-weighted L1).
    pub decoder: Option<DecoderConstraint>,
    /// AuxK (TopK and BatchTopK only).
    pub aux_k: AuxKParams,
    /// λ of the scale-free ReLU L1 penalty (default 0.3).
    pub l1_coefficient: f32,
    /// JumpReLU settings.
    pub jumprelu: JumpReluParams,
    /// Momentum of the BatchTopK inference-threshold EMA (θ ← m·θ + (1−m)·min kept activation), default 0.99.
    pub batchtopk_threshold_momentum: f32,
    /// Fraction of rows held out for evaluation (default 0.1).
    pub eval_fraction: f32,
    /// Seed of initialisation, split and shuffling.
    pub seed: u64,
    /// Worker threads (0 = rayon's default).
    pub threads: usize,
}

impl TrainParams {
    /// Defaults for an architecture and width.
    pub fn new(arch: Architecture, n_latents: usize) -> Self {
        TrainParams {
            arch,
            n_latents,
            normalization: Normalization::ExpectedNorm,
            batch_size: 4096,
            total_tokens: 10_000_000,
            lr: None,
            warmup_steps: None,
            decay_fraction: 0.2,
            adam: (0.9, 0.999, 1e-8),
            b_dec_init: BDecInit::GeometricMedian,
            decoder: None,
            aux_k: AuxKParams::default(),
            l1_coefficient: 0.3,
            jumprelu: JumpReluParams::default(),
            batchtopk_threshold_momentum: 0.99,
            eval_fraction: 0.1,
            seed: 0,
            threads: 0,
        }
    }

    /// Validate against the data and resolve the defaults.
    pub fn check(&self, d_in: usize, num_rows: usize) -> Result<TrainPlan> {
        let n = self.n_latents;
        if d_in == 0 {
            return Err(SaeError::invalid("d_in", d_in, "> 0"));
        }
        if n == 0 {
            return Err(SaeError::invalid("n_latents", n, "> 0"));
        }
        if let Some(k) = self.arch.k()
            && (k == 0 || k > n)
        {
            return Err(SaeError::invalid("k", k, format!("1..={n}")));
        }
        if self.batch_size == 0 {
            return Err(SaeError::invalid("batch_size", self.batch_size, "> 0"));
        }
        if self.total_tokens == 0 {
            return Err(SaeError::invalid("total_tokens", self.total_tokens, "> 0"));
        }
        if !(0.0..1.0).contains(&self.eval_fraction) {
            return Err(SaeError::invalid(
                "eval_fraction",
                self.eval_fraction,
                "in [0, 1)",
            ));
        }
        if !(0.0..=1.0).contains(&self.decay_fraction) {
            return Err(SaeError::invalid(
                "decay_fraction",
                self.decay_fraction,
                "in [0, 1]",
            ));
        }
        if let Some(lr) = self.lr
            && !(lr > 0.0 && lr.is_finite())
        {
            return Err(SaeError::invalid("lr", lr, "a positive finite number"));
        }
        let (b1, b2, eps) = self.adam;
        if !((0.0..1.0).contains(&b1) && (0.0..1.0).contains(&b2) && eps > 0.0) {
            return Err(SaeError::invalid(
                "adam",
                format!("{:?}", self.adam),
                "β in [0,1), ε > 0",
            ));
        }
        if self.aux_k.coefficient < 0.0
            || self.l1_coefficient < 0.0
            || self.jumprelu.l0_coefficient < 0.0
        {
            return Err(SaeError::invalid("coefficient", "negative", "≥ 0"));
        }
        if self.jumprelu.bandwidth <= 0.0 || self.jumprelu.init_threshold <= 0.0 {
            return Err(SaeError::invalid(
                "jumprelu",
                format!("{:?}", self.jumprelu),
                "bandwidth and θ > 0",
            ));
        }
        if !(0.0..1.0).contains(&self.batchtopk_threshold_momentum) {
            return Err(SaeError::invalid(
                "batchtopk_threshold_momentum",
                self.batchtopk_threshold_momentum,
                "in [0,1)",
            ));
        }
        let n_eval = if self.eval_fraction > 0.0 {
            ((num_rows as f64 * self.eval_fraction as f64).round() as usize).max(1)
        } else {
            0
        };
        let n_train = num_rows.saturating_sub(n_eval);
        if n_train == 0 {
            return Err(SaeError::NotEnoughRows {
                what: "training split",
                needed: n_eval + 1,
                available: num_rows,
            });
        }
        let steps = self.total_tokens.div_ceil(self.batch_size as u64);
        let lr = self.lr.unwrap_or(2e-4 / ((n as f32) / 16384.0).sqrt());
        let warmup = self.warmup_steps.unwrap_or((steps / 10).min(1000));
        let dead_tokens = self
            .aux_k
            .dead_tokens
            .unwrap_or((n_train as u64).min(10_000_000));
        let decoder = self.decoder.unwrap_or(match self.arch {
            Architecture::Relu => DecoderConstraint::Free,
            _ => DecoderConstraint::UnitNorm,
        });
        let threads = if self.threads == 0 {
            rayon::current_num_threads()
        } else {
            self.threads
        };
        Ok(TrainPlan {
            d_in,
            steps,
            lr,
            warmup,
            dead_tokens,
            decoder,
            n_train,
            n_eval,
            threads,
        })
    }
}

/// Resolved settings of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainPlan {
    /// Input width.
    pub d_in: usize,
    /// Optimiser steps.
    pub steps: u64,
    /// Peak learning rate.
    pub lr: f32,
    /// Warm-up steps.
    pub warmup: u64,
    /// Dead threshold in tokens.
    pub dead_tokens: u64,
    /// Decoder constraint.
    pub decoder: DecoderConstraint,
    /// Training rows.
    pub n_train: usize,
    /// Held-out rows.
    pub n_eval: usize,
    /// Threads.
    pub threads: usize,
}

impl TrainPlan {
    /// Learning rate at `step` (0-based): linear warm-up, constant, linear decay to 0 over the last fraction.
    pub fn lr_at(&self, step: u64, decay_fraction: f32) -> f32 {
        let warm = if self.warmup > 0 {
            ((step + 1) as f32 / self.warmup as f32).min(1.0)
        } else {
            1.0
        };
        let decay_steps = (self.steps as f64 * decay_fraction as f64).round() as u64;
        let start = self.steps - decay_steps;
        let dec = if decay_steps > 0 && step >= start {
            (self.steps - step) as f32 / decay_steps as f32
        } else {
            1.0
        };
        self.lr * warm * dec
    }
}

/// One line of live progress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Steps done.
    pub step: u64,
    /// Total steps.
    pub steps: u64,
    /// Tokens seen.
    pub tokens: u64,
    /// Learning rate of the last step.
    pub lr: f32,
    /// Batch FVU of the last step.
    pub fvu: f64,
    /// AuxK loss (residual FVU) of the last step.
    pub aux_loss: f64,
    /// L0 of the last batch.
    pub l0: f64,
    /// Fraction of latents dead (not fired for T_dead tokens).
    pub dead_fraction: f64,
    /// Seconds since the start (of this process's part of the run).
    pub elapsed_s: f64,
}

/// Result of training.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    /// The trained SAE (input transform not folded; see [`Sae::fold_normalization`]).
    pub sae: Sae,
    /// Resolved settings.
    pub plan: TrainPlan,
    /// Held-out metrics (None when `eval_fraction` = 0).
    pub eval: Option<EvalMetrics>,
    /// Held-out row indices into the source.
    pub eval_rows: Vec<usize>,
    /// Progress lines recorded every `log_every` steps.
    pub history: Vec<Progress>,
}

/// Options that do not change the result.
#[derive(Default)]
pub struct RunOptions<'a> {
    /// Folder for checkpoints (`checkpoint.safetensors` + `checkpoint.json`); resumed from when present.
    pub checkpoint_dir: Option<PathBuf>,
    /// Write a checkpoint every this many steps (0 = only at the end).
    pub checkpoint_every: u64,
    /// Stop after this step (for tests of resumption); `None` = run to the end.
    pub stop_after: Option<u64>,
    /// Progress interval in steps (0 = 100).
    pub log_every: u64,
    /// Called with each progress line.
    pub on_progress: Option<&'a mut (dyn FnMut(&Progress) + Send)>,
}

/// Train an SAE on `src` (see [`RunOptions`] for checkpoints and progress).
pub fn train(
    src: &dyn ActivationSource,
    params: &TrainParams,
    opts: RunOptions<'_>,
) -> Result<TrainOutcome> {
    let plan = params.check(src.d_in(), src.num_rows())?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(plan.threads)
        .build()
        .map_err(|e| SaeError::invalid("threads", plan.threads, e.to_string()))?;
    pool.install(|| train_in_pool(src, params, plan, opts))
}

/// Salt mixed into the seed for the train/eval split.
const SPLIT_SALT: u64 = 0x5EED_0000_5B11_7000;
/// Salt mixed into the seed for the per-epoch shuffles.
const SHUFFLE_SALT: u64 = 0x5EED_0000_5117_F1E0;
/// Salt mixed into the seed for the initialisation.
const INIT_SALT: u64 = 0x5EED_0000_0001_0001;

/// The split: a seeded permutation of all rows; the first `n_eval` rows are held out.
pub fn split_rows(num_rows: usize, n_eval: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut all: Vec<usize> = (0..num_rows).collect();
    all.shuffle(&mut StdRng::seed_from_u64(seed ^ SPLIT_SALT));
    let train = all.split_off(n_eval.min(num_rows));
    (train, all)
}

/// Geometric median of rows (`rows × d`) by Weiszfeld's algorithm with weights `1/max(‖p − g‖, 1e-8)`, started at
/// the mean, at most `max_iter` iterations, stopping when the update moves less than `tol·(1 + ‖g‖)`.
pub fn geometric_median(x: &[f32], d: usize, max_iter: usize, tol: f64) -> Vec<f32> {
    let rows = x.len() / d.max(1);
    if rows == 0 {
        return vec![0.0; d];
    }
    let mut g = vec![0.0f64; d];
    for r in x.chunks_exact(d) {
        g.iter_mut().zip(r).for_each(|(a, &v)| *a += v as f64);
    }
    g.iter_mut().for_each(|a| *a /= rows as f64);
    for _ in 0..max_iter {
        let mut num = vec![0.0f64; d];
        let mut den = 0.0f64;
        for r in x.chunks_exact(d) {
            let dist = r
                .iter()
                .zip(&g)
                .map(|(&v, &c)| (v as f64 - c).powi(2))
                .sum::<f64>()
                .sqrt();
            let w = 1.0 / dist.max(1e-8);
            den += w;
            num.iter_mut().zip(r).for_each(|(a, &v)| *a += w * v as f64);
        }
        let new: Vec<f64> = num.iter().map(|a| a / den).collect();
        let moved = new
            .iter()
            .zip(&g)
            .map(|(a, b)| (a - b).powi(2))
            .sum::<f64>()
            .sqrt();
        let size = g.iter().map(|a| a * a).sum::<f64>().sqrt();
        g = new;
        if moved < tol * (1.0 + size) {
            break;
        }
    }
    g.iter().map(|&v| v as f32).collect()
}

/// Rows used for normalisation statistics.
const NORM_STAT_ROWS: usize = 1_000_000;
/// Rows used for the `b_dec` initialisation.
const BDEC_INIT_ROWS: usize = 32_768;

/// The full optimiser state of a run.
pub(crate) struct State {
    pub sae: Sae,
    /// JumpReLU log θ (length n; unused otherwise).
    pub log_theta: Vec<f32>,
    /// Per latent: Adam m/v of its encoder row then its decoder row, `[n, 4·d]`.
    pub opt_rows: Vec<f32>,
    /// Per latent: Adam m/v of b_enc then of log θ, `[n, 4]`.
    pub opt_lat: Vec<f32>,
    /// Adam m/v of b_dec, `[2, d]`.
    pub opt_bdec: Vec<f32>,
    /// Tokens since each latent last fired.
    pub since_fired: Vec<u64>,
    /// BatchTopK inference threshold (EMA); NaN before the first batch.
    pub theta_ema: f32,
    /// Steps done.
    pub step: u64,
}

struct Batcher<'a> {
    train: &'a [usize],
    seed: u64,
    epoch: u64,
    perm: Vec<usize>,
}

impl Batcher<'_> {
    fn perm_for(&mut self, epoch: u64) -> &[usize] {
        if self.perm.is_empty() || self.epoch != epoch {
            self.perm = self.train.to_vec();
            self.perm.shuffle(&mut StdRng::seed_from_u64(
                self.seed ^ SHUFFLE_SALT ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15),
            ));
            self.epoch = epoch;
        }
        &self.perm
    }

    /// Row indices of batch `step` (a pure function of seed and step).
    fn batch(&mut self, step: u64, b: usize) -> Vec<usize> {
        let n = self.train.len() as u64;
        let mut out = Vec::with_capacity(b);
        let mut pos = step * b as u64;
        while out.len() < b {
            let (epoch, off) = (pos / n, (pos % n) as usize);
            let take = (b - out.len()).min(n as usize - off);
            out.extend_from_slice(&self.perm_for(epoch)[off..off + take]);
            pos += take as u64;
        }
        out
    }
}

fn init_state(
    src: &dyn ActivationSource,
    params: &TrainParams,
    plan: &TrainPlan,
    train_rows: &[usize],
) -> Result<State> {
    let d = plan.d_in;
    let n = params.n_latents;
    let mut sae = Sae::zeros(params.arch, d, n);
    sae.normalization = params.normalization;
    // normalisation statistics and b_dec init from the first rows of the shuffled training split
    let stat_rows = &train_rows[..train_rows.len().min(NORM_STAT_ROWS)];
    let mut buf = vec![0.0f32; stat_rows.len() * d];
    src.fill_rows(stat_rows, &mut buf)?;
    sae.input = InputTransform::fit(params.normalization, &buf, d)?;
    let init_rows = stat_rows.len().min(BDEC_INIT_ROWS);
    buf.truncate(init_rows * d);
    sae.transform_input(&mut buf);
    sae.b_dec = match params.b_dec_init {
        BDecInit::GeometricMedian => geometric_median(&buf, d, 100, 1e-5),
        BDecInit::Mean => geometric_median(&buf, d, 0, 0.0),
        BDecInit::Zero => vec![0.0; d],
    };
    // tied init: unit-norm Gaussian decoder rows, encoder = decoder
    let mut rng = StdRng::seed_from_u64(params.seed ^ INIT_SALT);
    for v in sae.w_dec.iter_mut() {
        *v = StandardNormal.sample(&mut rng);
    }
    crate::linalg::normalize_rows(&mut sae.w_dec, d);
    sae.w_enc.copy_from_slice(&sae.w_dec);
    let log_theta = vec![params.jumprelu.init_threshold.ln(); n];
    if params.arch == Architecture::JumpRelu {
        sae.threshold = vec![params.jumprelu.init_threshold; n];
    }
    Ok(State {
        sae,
        log_theta,
        opt_rows: vec![0.0; n * 4 * d],
        opt_lat: vec![0.0; n * 4],
        opt_bdec: vec![0.0; 2 * d],
        since_fired: vec![0; n],
        theta_ema: f32::NAN,
        step: 0,
    })
}

/// One (b, latent) entry of the backward pass.
#[derive(Clone, Copy)]
struct Entry {
    b: u32,
    i: u32,
    /// Activation (0 for JumpReLU entries inside the STE window but below θ).
    z: f32,
    /// ∂L/∂z.
    gz: f32,
    /// Pre-activation.
    h: f32,
    kind: EntryKind,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EntryKind {
    /// Active main latent.
    Main,
    /// JumpReLU: inside the STE window but not active.
    Near,
    /// AuxK latent.
    Aux,
}

struct StepStats {
    fvu: f64,
    aux: f64,
    l0: f64,
}

#[inline]
fn adam(w: &mut f32, m: &mut f32, v: &mut f32, g: f32, c: &AdamCoef) {
    *m = c.b1 * *m + (1.0 - c.b1) * g;
    *v = c.b2 * *v + (1.0 - c.b2) * g * g;
    *w -= c.lr * (*m * c.bc1) / ((*v * c.bc2).sqrt() + c.eps);
}

struct AdamCoef {
    lr: f32,
    b1: f32,
    b2: f32,
    eps: f32,
    /// 1/(1 − β₁ᵗ)
    bc1: f32,
    /// 1/(1 − β₂ᵗ)
    bc2: f32,
}

impl State {
    /// One optimiser step on a batch `x` (`bsz × d`, SAE input space).
    fn step(
        &mut self,
        x: &[f32],
        bsz: usize,
        lr: f32,
        params: &TrainParams,
        plan: &TrainPlan,
        pre: &mut Vec<f32>,
    ) -> Result<StepStats> {
        let d = plan.d_in;
        let n = params.n_latents;
        let sae = &self.sae;
        pre.resize(bsz * n, 0.0);
        sae.pre_activations(x, bsz, plan.threads, pre);
        // batch variance (denominator of the batch FVU)
        let mut mean = vec![0.0f64; d];
        for r in x.chunks_exact(d) {
            mean.iter_mut().zip(r).for_each(|(m, &v)| *m += v as f64);
        }
        mean.iter_mut().for_each(|m| *m /= bsz as f64);
        let denom: f64 = x
            .par_chunks(d)
            .map(|r| {
                r.iter()
                    .zip(&mean)
                    .map(|(&v, m)| (v as f64 - m).powi(2))
                    .sum::<f64>()
            })
            .collect::<Vec<f64>>()
            .iter()
            .sum::<f64>()
            .max(1e-12);
        let gscale = (2.0 / denom) as f32;
        let dec_norms: Vec<f32> = match params.arch {
            Architecture::Relu => sae
                .w_dec
                .par_chunks(d)
                .map(|r| norm2_f64(r).sqrt() as f32)
                .collect(),
            _ => Vec::new(),
        };
        let l1_coef =
            (params.l1_coefficient as f64 / (bsz as f64 * (denom / bsz as f64).sqrt())) as f32;
        // BatchTopK: global threshold of this batch
        let batch_tau = if let Architecture::BatchTopK { k } = params.arch {
            let mut pos: Vec<f32> = pre.par_iter().copied().filter(|&v| v > 0.0).collect();
            let keep = k * bsz;
            if pos.len() > keep {
                let (_, t, _) = pos.select_nth_unstable_by(keep - 1, |a, b| b.total_cmp(a));
                *t
            } else {
                pos.iter()
                    .copied()
                    .fold(f32::INFINITY, f32::min)
                    .min(f32::MAX)
            }
        } else {
            0.0
        };
        let eps_j = params.jumprelu.bandwidth;
        let theta = &sae.threshold;
        // Phase A: per row, main entries, reconstruction residual, ∂L/∂z
        let mut resid = vec![0.0f32; bsz * d];
        let mut rows_entries: Vec<Vec<Entry>> = pre[..bsz * n]
            .par_chunks(n)
            .zip(x.par_chunks(d))
            .zip(resid.par_chunks_mut(d))
            .enumerate()
            .map(|(b, ((p, xr), r))| {
                let mut es: Vec<Entry> = Vec::new();
                let mk = |i: usize, z: f32, kind| Entry {
                    b: b as u32,
                    i: i as u32,
                    z,
                    gz: 0.0,
                    h: p[i],
                    kind,
                };
                match params.arch {
                    Architecture::TopK { k } => {
                        let (mut idx, mut val) = (Vec::with_capacity(k), Vec::with_capacity(k));
                        topk_relu(p, k, &mut idx, &mut val);
                        es.extend(
                            idx.iter()
                                .zip(&val)
                                .map(|(&i, &v)| mk(i as usize, v, EntryKind::Main)),
                        );
                    }
                    Architecture::BatchTopK { .. } => {
                        es.extend(
                            p.iter()
                                .enumerate()
                                .filter(|(_, v)| **v > 0.0 && **v >= batch_tau)
                                .map(|(i, &v)| mk(i, v, EntryKind::Main)),
                        );
                    }
                    Architecture::Relu => {
                        es.extend(
                            p.iter()
                                .enumerate()
                                .filter(|(_, v)| **v > 0.0)
                                .map(|(i, &v)| mk(i, v, EntryKind::Main)),
                        );
                    }
                    Architecture::JumpRelu => {
                        for (i, (&v, &t)) in p.iter().zip(theta).enumerate() {
                            if v > t {
                                es.push(mk(i, v, EntryKind::Main));
                            } else if v > t - 0.5 * eps_j {
                                es.push(mk(i, 0.0, EntryKind::Near));
                            }
                        }
                    }
                }
                r.copy_from_slice(&sae.b_dec);
                for e in es.iter().filter(|e| e.kind == EntryKind::Main) {
                    let i = e.i as usize;
                    axpy(e.z, &sae.w_dec[i * d..(i + 1) * d], r);
                }
                r.iter_mut().zip(xr).for_each(|(a, &v)| *a -= v); // r = x̂ − x
                for e in es.iter_mut() {
                    let i = e.i as usize;
                    e.gz = gscale * dot(r, &sae.w_dec[i * d..(i + 1) * d]);
                    if params.arch == Architecture::Relu {
                        e.gz += l1_coef * dec_norms[i];
                    }
                }
                es
            })
            .collect();
        let res_sum: f64 = resid
            .par_chunks(d)
            .map(norm2_f64)
            .collect::<Vec<_>>()
            .iter()
            .sum();
        let fvu = res_sum / denom;
        let l0 = rows_entries
            .iter()
            .map(|es| es.iter().filter(|e| e.kind == EntryKind::Main).count())
            .sum::<usize>() as f64
            / bsz as f64;
        let l1_term = if params.arch == Architecture::Relu {
            rows_entries
                .iter()
                .flatten()
                .map(|e| (e.z * dec_norms[e.i as usize]) as f64)
                .sum::<f64>()
                * l1_coef as f64
        } else {
            0.0
        };
        // Phase B: AuxK on the dead latents
        let dead: Vec<u32> = (0..n as u32)
            .filter(|&i| self.since_fired[i as usize] >= plan.dead_tokens)
            .collect();
        let use_aux = matches!(
            params.arch,
            Architecture::TopK { .. } | Architecture::BatchTopK { .. }
        ) && params.aux_k.coefficient > 0.0
            && !dead.is_empty();
        let mut aux_loss = 0.0;
        let mut gaux = Vec::new();
        if use_aux {
            let k_aux = (d / 2).max(1).min(dead.len());
            // e = −resid; ē = mean
            let mut emean = vec![0.0f64; d];
            for r in resid.chunks_exact(d) {
                emean.iter_mut().zip(r).for_each(|(m, &v)| *m -= v as f64);
            }
            emean.iter_mut().for_each(|m| *m /= bsz as f64);
            let aden: f64 = resid
                .chunks_exact(d)
                .map(|r| {
                    r.iter()
                        .zip(&emean)
                        .map(|(&v, m)| (-(v as f64) - m).powi(2))
                        .sum::<f64>()
                })
                .sum::<f64>()
                .max(1e-12);
            let ascale = (2.0 * params.aux_k.coefficient as f64 / aden) as f32;
            gaux = vec![0.0f32; bsz * d];
            let aux_res: Vec<f64> = pre[..bsz * n]
                .par_chunks(n)
                .zip(resid.par_chunks(d))
                .zip(gaux.par_chunks_mut(d))
                .zip(rows_entries.par_iter_mut())
                .enumerate()
                .map(|(b, (((p, r), ga), es))| {
                    let vals: Vec<f32> = dead.iter().map(|&i| p[i as usize]).collect();
                    let (mut idx, mut val) = (Vec::with_capacity(k_aux), Vec::with_capacity(k_aux));
                    topk_relu(&vals, k_aux, &mut idx, &mut val);
                    // ga = ê − e = ê + r
                    ga.copy_from_slice(r);
                    for (&j, &v) in idx.iter().zip(&val) {
                        let i = dead[j as usize] as usize;
                        axpy(v, &sae.w_dec[i * d..(i + 1) * d], ga);
                    }
                    let res = norm2_f64(ga);
                    ga.iter_mut().for_each(|v| *v *= ascale);
                    for (&j, &v) in idx.iter().zip(&val) {
                        let i = dead[j as usize] as usize;
                        let gz = dot(ga, &sae.w_dec[i * d..(i + 1) * d]);
                        es.push(Entry {
                            b: b as u32,
                            i: i as u32,
                            z: v,
                            gz,
                            h: v,
                            kind: EntryKind::Aux,
                        });
                    }
                    res
                })
                .collect();
            aux_loss = aux_res.iter().sum::<f64>() / aden;
        }
        let loss = fvu + params.aux_k.coefficient as f64 * aux_loss + l1_term;
        if !loss.is_finite() {
            return Err(SaeError::Diverged {
                step: self.step,
                loss,
            });
        }
        // dead tracking (main activations only)
        let mut fired = vec![false; n];
        for e in rows_entries.iter().flatten() {
            if e.kind == EntryKind::Main {
                fired[e.i as usize] = true;
            }
        }
        for (s, f) in self.since_fired.iter_mut().zip(&fired) {
            *s = if *f { 0 } else { *s + bsz as u64 };
        }
        // BatchTopK inference threshold EMA of the smallest kept activation
        if let Architecture::BatchTopK { .. } = params.arch {
            let min_kept = rows_entries
                .iter()
                .flatten()
                .filter(|e| e.kind == EntryKind::Main)
                .map(|e| e.z)
                .fold(f32::INFINITY, f32::min);
            if min_kept.is_finite() {
                let m = params.batchtopk_threshold_momentum;
                self.theta_ema = if self.theta_ema.is_nan() {
                    min_kept
                } else {
                    m * self.theta_ema + (1.0 - m) * min_kept
                };
            }
        }
        // transpose entries to per-latent lists (counting sort keeps row order inside a latent)
        let mut counts = vec![0usize; n + 1];
        for e in rows_entries.iter().flatten() {
            counts[e.i as usize + 1] += 1;
        }
        for i in 0..n {
            counts[i + 1] += counts[i];
        }
        let total = counts[n];
        let mut by_lat: Vec<Entry> = Vec::with_capacity(total);
        {
            let mut fill = counts.clone();
            let placeholder = Entry {
                b: 0,
                i: 0,
                z: 0.0,
                gz: 0.0,
                h: 0.0,
                kind: EntryKind::Main,
            };
            by_lat.resize(total, placeholder);
            for e in rows_entries.drain(..).flatten() {
                let slot = &mut fill[e.i as usize];
                by_lat[*slot] = e;
                *slot += 1;
            }
        }
        // ∂L/∂pre per entry
        let jr = params.jumprelu;
        let gpre = |e: &Entry| -> f32 {
            match e.kind {
                EntryKind::Main | EntryKind::Aux => e.gz,
                EntryKind::Near => 0.0,
            }
        };
        // b_dec gradient: Σ_b ∂L/∂x̂_b − Σ_i (Σ_b ∂L/∂pre_bi) W_enc[i]  (with the pre-update W_enc)
        let mut g_bdec = vec![0.0f32; d];
        for r in resid.chunks_exact(d) {
            axpy(gscale, r, &mut g_bdec);
        }
        let mut gbe = vec![0.0f32; n];
        for e in &by_lat {
            gbe[e.i as usize] += gpre(e);
        }
        for (i, &s) in gbe.iter().enumerate() {
            if s != 0.0 {
                axpy(-s, &sae.w_enc[i * d..(i + 1) * d], &mut g_bdec);
            }
        }
        let (b1, b2, eps) = params.adam;
        let t = (self.step + 1) as i32;
        let c = AdamCoef {
            lr,
            b1,
            b2,
            eps,
            bc1: 1.0 / (1.0 - b1.powi(t)),
            bc2: 1.0 / (1.0 - b2.powi(t)),
        };
        let unit = plan.decoder == DecoderConstraint::UnitNorm;
        let b_dec_old = sae.b_dec.clone();
        let l0_coef = jr.l0_coefficient / bsz as f32;
        let is_jr = params.arch == Architecture::JumpRelu;
        let is_relu = params.arch == Architecture::Relu;
        // fused per-latent pass: gradients of W_dec[i], W_enc[i], b_enc[i], log θ_i, then Adam
        let sae = &mut self.sae;
        sae.w_enc
            .par_chunks_mut(d)
            .zip(sae.w_dec.par_chunks_mut(d))
            .zip(self.opt_rows.par_chunks_mut(4 * d))
            .zip(sae.b_enc.par_iter_mut())
            .zip(self.log_theta.par_iter_mut())
            .zip(self.opt_lat.par_chunks_mut(4))
            .enumerate()
            .for_each_init(
                || (vec![0.0f32; d], vec![0.0f32; d]),
                |(gwd, gwe), (i, (((((we, wd), opt), be), lt), ol))| {
                    let es = &by_lat[counts[i]..counts[i + 1]];
                    gwd.fill(0.0);
                    gwe.fill(0.0);
                    let mut gb = 0.0f32;
                    let mut gth = 0.0f32;
                    let mut zsum = 0.0f32;
                    for e in es {
                        let b = e.b as usize;
                        match e.kind {
                            EntryKind::Main => {
                                axpy(e.z * gscale, &resid[b * d..(b + 1) * d], gwd);
                                zsum += e.z;
                            }
                            EntryKind::Aux => axpy(e.z, &gaux[b * d..(b + 1) * d], gwd),
                            EntryKind::Near => {}
                        }
                        let g = gpre(e);
                        if g != 0.0 {
                            // ∂pre/∂W_enc[i] = x_b − b_dec
                            let xb = &x[b * d..(b + 1) * d];
                            for ((a, &xv), &bd) in gwe.iter_mut().zip(xb).zip(&b_dec_old) {
                                *a += g * (xv - bd);
                            }
                            gb += g;
                        }
                        if is_jr {
                            let th = lt.exp();
                            if (e.h - th).abs() < 0.5 * jr.bandwidth {
                                gth += -(th / jr.bandwidth) * e.gz - l0_coef / jr.bandwidth;
                            }
                        }
                    }
                    if is_relu && zsum != 0.0 {
                        let nrm = norm2_f64(wd).sqrt() as f32;
                        if nrm > 0.0 {
                            let wd_copy: Vec<f32> = wd.to_vec();
                            axpy(l1_coef * zsum / nrm, &wd_copy, gwd);
                        }
                    }
                    if unit {
                        let p = dot(wd, gwd);
                        let wd_copy: Vec<f32> = wd.to_vec();
                        axpy(-p, &wd_copy, gwd);
                    }
                    let (m_we, rest) = opt.split_at_mut(d);
                    let (v_we, rest) = rest.split_at_mut(d);
                    let (m_wd, v_wd) = rest.split_at_mut(d);
                    for j in 0..d {
                        adam(&mut we[j], &mut m_we[j], &mut v_we[j], gwe[j], &c);
                        adam(&mut wd[j], &mut m_wd[j], &mut v_wd[j], gwd[j], &c);
                    }
                    if unit {
                        let nrm = norm2_f64(wd).sqrt();
                        if nrm > 0.0 {
                            let inv = (1.0 / nrm) as f32;
                            wd.iter_mut().for_each(|v| *v *= inv);
                        }
                    }
                    let (ob, ot) = ol.split_at_mut(2);
                    let (mb, vb) = ob.split_at_mut(1);
                    adam(be, &mut mb[0], &mut vb[0], gb, &c);
                    if is_jr {
                        let th = lt.exp();
                        let (mt, vt) = ot.split_at_mut(1);
                        adam(lt, &mut mt[0], &mut vt[0], gth * th, &c);
                    }
                },
            );
        {
            let (m, v) = self.opt_bdec.split_at_mut(d);
            for j in 0..d {
                adam(&mut sae.b_dec[j], &mut m[j], &mut v[j], g_bdec[j], &c);
            }
        }
        if is_jr {
            sae.threshold
                .iter_mut()
                .zip(&self.log_theta)
                .for_each(|(t, l)| *t = l.exp());
        }
        if let Architecture::BatchTopK { .. } = params.arch
            && self.theta_ema.is_finite()
        {
            sae.threshold.fill(self.theta_ema);
        }
        self.step += 1;
        Ok(StepStats {
            fvu,
            aux: aux_loss,
            l0,
        })
    }
}

fn train_in_pool(
    src: &dyn ActivationSource,
    params: &TrainParams,
    plan: TrainPlan,
    mut opts: RunOptions<'_>,
) -> Result<TrainOutcome> {
    let (train_rows, eval_rows) = split_rows(src.num_rows(), plan.n_eval, params.seed);
    let mut history = Vec::new();
    let mut state = match opts
        .checkpoint_dir
        .as_deref()
        .filter(|p| crate::io::checkpoint_exists(p))
    {
        Some(dir) => {
            let (st, hist) = crate::io::load_checkpoint(dir, params, &plan)?;
            history = hist;
            st
        }
        None => init_state(src, params, &plan, &train_rows)?,
    };
    let bsz = params.batch_size;
    let mut batcher = Batcher {
        train: &train_rows,
        seed: params.seed,
        epoch: u64::MAX,
        perm: Vec::new(),
    };
    let mut x = vec![0.0f32; bsz * plan.d_in];
    let mut pre = Vec::new();
    let log_every = if opts.log_every == 0 {
        100
    } else {
        opts.log_every
    };
    let start = Instant::now();
    let last = opts.stop_after.map_or(plan.steps, |s| s.min(plan.steps));
    while state.step < last {
        let step = state.step;
        let idx = batcher.batch(step, bsz);
        src.fill_rows(&idx, &mut x)?;
        state.sae.transform_input(&mut x);
        let lr = plan.lr_at(step, params.decay_fraction);
        let st = state.step(&x, bsz, lr, params, &plan, &mut pre)?;
        let done = state.step;
        if done % log_every == 0 || done == last {
            let dead = state
                .since_fired
                .iter()
                .filter(|&&s| s >= plan.dead_tokens)
                .count() as f64
                / params.n_latents as f64;
            let p = Progress {
                step: done,
                steps: plan.steps,
                tokens: done * bsz as u64,
                lr,
                fvu: st.fvu,
                aux_loss: st.aux,
                l0: st.l0,
                dead_fraction: dead,
                elapsed_s: start.elapsed().as_secs_f64(),
            };
            if let Some(cb) = opts.on_progress.as_mut() {
                cb(&p);
            }
            history.push(p);
        }
        if let Some(dir) = opts.checkpoint_dir.as_deref()
            && ((opts.checkpoint_every > 0 && done % opts.checkpoint_every == 0) || done == last)
        {
            crate::io::save_checkpoint(dir, &state, params, &plan, &history)?;
        }
    }
    let sae = state.sae.clone();
    let eval = if eval_rows.is_empty() || state.step < plan.steps {
        None
    } else {
        Some(evaluate(&sae, src, &eval_rows)?)
    };
    Ok(TrainOutcome {
        sae,
        plan,
        eval,
        eval_rows,
        history,
    })
}

/// Train on `src` with defaults for everything that does not change the result (no checkpoints, no progress).
pub fn train_simple(src: &dyn ActivationSource, params: &TrainParams) -> Result<TrainOutcome> {
    train(src, params, RunOptions::default())
}

/// Path of the checkpoint tensors inside a checkpoint folder.
pub fn checkpoint_tensors_path(dir: &Path) -> PathBuf {
    dir.join("checkpoint.safetensors")
}

/// Step-by-step access to a run (benchmarks, custom loops): owns the thread pool, the optimiser state and the
/// batch order. [`train`] is the usual entry point.
pub struct Trainer<'a> {
    src: &'a dyn ActivationSource,
    params: TrainParams,
    plan: TrainPlan,
    pool: rayon::ThreadPool,
    state: State,
    train_rows: Vec<usize>,
    eval_rows: Vec<usize>,
    x: Vec<f32>,
    pre: Vec<f32>,
    epoch_perm: (u64, Vec<usize>),
}

impl<'a> Trainer<'a> {
    /// Validate, split, initialise.
    pub fn new(src: &'a dyn ActivationSource, params: &TrainParams) -> Result<Self> {
        let plan = params.check(src.d_in(), src.num_rows())?;
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(plan.threads)
            .build()
            .map_err(|e| SaeError::invalid("threads", plan.threads, e.to_string()))?;
        let (train_rows, eval_rows) = split_rows(src.num_rows(), plan.n_eval, params.seed);
        let state = pool.install(|| init_state(src, params, &plan, &train_rows))?;
        let x = vec![0.0f32; params.batch_size * plan.d_in];
        Ok(Trainer {
            src,
            params: params.clone(),
            plan,
            pool,
            state,
            train_rows,
            eval_rows,
            x,
            pre: Vec::new(),
            epoch_perm: (u64::MAX, Vec::new()),
        })
    }

    /// One optimiser step; returns the batch FVU.
    pub fn step(&mut self) -> Result<f64> {
        let bsz = self.params.batch_size;
        let step = self.state.step;
        let mut batcher = Batcher {
            train: &self.train_rows,
            seed: self.params.seed,
            epoch: self.epoch_perm.0,
            perm: std::mem::take(&mut self.epoch_perm.1),
        };
        let idx = batcher.batch(step, bsz);
        self.epoch_perm = (batcher.epoch, batcher.perm);
        self.src.fill_rows(&idx, &mut self.x)?;
        let lr = self.plan.lr_at(step, self.params.decay_fraction);
        let (state, x, pre, params, plan) = (
            &mut self.state,
            &mut self.x,
            &mut self.pre,
            &self.params,
            &self.plan,
        );
        self.pool.install(|| {
            state.sae.transform_input(x);
            state.step(x, bsz, lr, params, plan, pre).map(|s| s.fvu)
        })
    }

    /// The current SAE.
    pub fn sae(&self) -> &Sae {
        &self.state.sae
    }

    /// Resolved plan.
    pub fn plan(&self) -> &TrainPlan {
        &self.plan
    }

    /// Held-out metrics of the current SAE.
    pub fn evaluate(&self) -> Result<EvalMetrics> {
        self.pool
            .install(|| evaluate(&self.state.sae, self.src, &self.eval_rows))
    }
}

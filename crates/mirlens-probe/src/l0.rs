//! The L0 hard-concrete masked probe: `p(y=1|x) = σ((w ⊙ m) · x [+ b])`, trained on
//! `λ · BCE + (1 − λ) · R(m)` with `R(m) = (1/d) Σ_j P(z_j ≠ 0)` (Louizos et al. 2018 gates).
//!
//! BCE is the per-row mean, class-weighted (`Balanced` by default, mean weight 1), so both terms live on a
//! per-row nat scale: a neuron survives when it lowers the BCE by more than `(1 − λ) / (λ d)` nats per row.
//! λ = 1 removes the sparsity pressure. Gates start open (drop rate 0.1) after a warm-up that fits `w` and the
//! intercept with the gates frozen; evaluation uses the deterministic test-time mask.

use crate::data::{Matrix, n_classes};
use crate::error::{ProbeError, Result, param};
use crate::linear::{ClassWeight, Intercept};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};

/// Temperature β of the hard-concrete distribution.
pub const BETA: f64 = 2.0 / 3.0;
/// Lower stretch limit γ.
pub const GAMMA: f64 = -0.1;
/// Upper stretch limit ζ.
pub const ZETA: f64 = 1.1;
/// Clamp of the uniform noise.
pub const EPS: f64 = 1e-6;
/// Bounds of `log α` (`[ln 1e-2, ln 1e2]`).
pub const LOG_ALPHA_RANGE: (f64, f64) = (-4.605170185988091, 4.605170185988091);

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// `P(z_j ≠ 0) = σ(log α − β ln(−γ/ζ))`.
pub fn prob_nonzero(log_alpha: f64) -> f64 {
    sigmoid(log_alpha - BETA * (-GAMMA / ZETA).ln())
}

/// Test-time mask `min(1, max(0, σ(log α)(ζ − γ) + γ))`.
pub fn deterministic_gate(log_alpha: f64) -> f64 {
    (sigmoid(log_alpha) * (ZETA - GAMMA) + GAMMA).clamp(0.0, 1.0)
}

/// Parameters of [`L0Probe::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct L0Params {
    /// Weight λ ∈ (0, 1] of the classification loss (λ = 1: no sparsity pressure, dense probe).
    pub lambda: f64,
    /// Optimiser steps (minibatches; rows are reshuffled after every pass), warm-up included.
    pub steps: usize,
    /// Minibatch size (one gate sample per batch).
    pub batch_size: usize,
    /// Adam learning rate.
    pub lr: f64,
    /// Seed for initialisation, shuffling and gate noise.
    pub seed: u64,
    /// Intercept. The stated form has none, which only suits balanced tasks (BLiMP pairs); one-vs-rest tasks
    /// need it, so it is fitted (unpenalised) by default.
    pub intercept: Intercept,
    /// Row weights of the BCE term; `Balanced` (scikit-learn's `n / (2 n_c)`, mean weight 1, so the BCE keeps
    /// its scale against `R(m)`) matches the dense probes of the neuron report.
    pub class_weight: ClassWeight,
    /// Initial drop rate p of the gates: `log α ~ N(ln((1 − p)/p), 0.01)`. Small p starts the masks open
    /// (p = 0.1: test-time mask 0.98, `P(z ≠ 0)` = 0.98) so that training prunes neurons instead of having to
    /// revive them.
    pub init_drop_rate: f64,
    /// Fraction of `steps` spent fitting `w` and the intercept with the gates frozen at their initial
    /// distribution before gates and weights are trained jointly (without it the `R(m)` gradient closes every
    /// gate while `w` is still ≈ 0 and carries no BCE gradient).
    pub warmup_fraction: f64,
}

impl Default for L0Params {
    fn default() -> Self {
        L0Params {
            lambda: 0.5,
            steps: 1000,
            batch_size: 128,
            lr: 0.02,
            seed: 0,
            intercept: Intercept::Fit,
            class_weight: ClassWeight::Balanced,
            init_drop_rate: 0.1,
            warmup_fraction: 0.2,
        }
    }
}

impl L0Params {
    /// Validate.
    pub fn check(self) -> Result<Self> {
        if !(self.lambda > 0.0 && self.lambda <= 1.0) {
            return Err(param("lambda", self.lambda, "in (0, 1]"));
        }
        if self.steps == 0 || self.batch_size == 0 {
            return Err(param(
                "steps/batch_size",
                format!("{}/{}", self.steps, self.batch_size),
                ">= 1",
            ));
        }
        if self.lr.is_nan() || self.lr <= 0.0 {
            return Err(param("lr", self.lr, "> 0"));
        }
        if !(self.init_drop_rate > 0.0 && self.init_drop_rate < 1.0) {
            return Err(param("init_drop_rate", self.init_drop_rate, "in (0, 1)"));
        }
        if !(self.warmup_fraction >= 0.0 && self.warmup_fraction < 1.0) {
            return Err(param("warmup_fraction", self.warmup_fraction, "in [0, 1)"));
        }
        Ok(self)
    }
}

/// A fitted masked probe (binary labels).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct L0Probe {
    /// Weights `w`.
    pub weights: Vec<f64>,
    /// Gate parameters `log α`.
    pub log_alpha: Vec<f64>,
    /// Intercept (0 without).
    pub bias: f64,
}

struct Adam {
    m: Vec<f64>,
    v: Vec<f64>,
    t: i32,
}

impl Adam {
    fn new(n: usize) -> Self {
        Adam {
            m: vec![0.0; n],
            v: vec![0.0; n],
            t: 0,
        }
    }
    fn step(&mut self, p: &mut [f64], g: &[f64], lr: f64) {
        self.t += 1;
        let (b1, b2) = (0.9f64, 0.999f64);
        let (c1, c2) = (1.0 - b1.powi(self.t), 1.0 - b2.powi(self.t));
        for i in 0..p.len() {
            self.m[i] = b1 * self.m[i] + (1.0 - b1) * g[i];
            self.v[i] = b2 * self.v[i] + (1.0 - b2) * g[i] * g[i];
            p[i] -= lr * (self.m[i] / c1) / ((self.v[i] / c2).sqrt() + 1e-8);
        }
    }
}

/// Per-row BCE weights: 1, or scikit-learn's balanced `n / (2 n_c)` (mean 1 over the rows).
fn row_weights(y: &[usize], cw: ClassWeight) -> Vec<f64> {
    match cw {
        ClassWeight::Uniform => vec![1.0; y.len()],
        ClassWeight::Balanced => {
            let n1 = y.iter().filter(|&&c| c == 1).count() as f64;
            let n0 = y.len() as f64 - n1;
            let n = y.len() as f64;
            y.iter()
                .map(|&c| {
                    if c == 1 {
                        n / (2.0 * n1)
                    } else {
                        n / (2.0 * n0)
                    }
                })
                .collect()
        }
    }
}

impl L0Probe {
    /// Fit on `x` (ideally standardised) with binary labels `y ∈ {0, 1}`.
    ///
    /// Minimises `λ · BCE + (1 − λ) · R(m)` with BCE the (class-weighted) mean over rows and
    /// `R(m) = (1/d) Σ_j P(z_j ≠ 0)`, after a warm-up that fits `w` (and the intercept) with the gates frozen.
    pub fn fit(x: &Matrix, y: &[usize], params: &L0Params) -> Result<L0Probe> {
        let p = params.check()?;
        if y.len() != x.rows {
            return Err(ProbeError::Shape {
                what: "labels vs rows".into(),
                expected: x.rows,
                got: y.len(),
            });
        }
        if n_classes(y, "L0 probe")? != 2 {
            return Err(ProbeError::Data {
                what: "L0 probe".into(),
                reason: "needs a binary label".into(),
            });
        }
        let d = x.cols;
        let sw = row_weights(y, p.class_weight);
        let mut rng = StdRng::seed_from_u64(p.seed);
        let init = Normal::new(0.0, 0.01).expect("valid normal");
        let mu = ((1.0 - p.init_drop_rate) / p.init_drop_rate).ln();
        // log α ~ N(log(1 − p) − log p, 0.01).
        let mut log_alpha: Vec<f64> = (0..d)
            .map(|_| (mu + init.sample(&mut rng)).clamp(LOG_ALPHA_RANGE.0, LOG_ALPHA_RANGE.1))
            .collect();
        let mut w = vec![0.0f64; d];
        let mut b = 0.0f64;
        let (mut opt_w, mut opt_a, mut opt_b) = (Adam::new(d), Adam::new(d), Adam::new(1));
        let mut order: Vec<usize> = (0..x.rows).collect();
        let lam = p.lambda;
        let warmup = ((p.warmup_fraction * p.steps as f64).round() as usize).min(p.steps - 1);
        let mut gw = vec![0.0; d];
        let mut ga = vec![0.0; d];
        let mut z = vec![0.0; d];
        let mut dz = vec![0.0; d];
        let mut eff = vec![0.0; d];
        let mut v = vec![0.0; d];
        let mut step = 0;
        while step < p.steps {
            order.shuffle(&mut rng);
            for batch in order.chunks(p.batch_size) {
                if step == p.steps {
                    break;
                }
                let gates_train = step >= warmup;
                step += 1;
                for j in 0..d {
                    let u: f64 = rng.random_range(EPS..1.0 - EPS);
                    let s = sigmoid((u.ln() - (1.0 - u).ln() + log_alpha[j]) / BETA);
                    let zp = s * (ZETA - GAMMA) + GAMMA;
                    z[j] = zp.clamp(0.0, 1.0);
                    dz[j] = if zp > 0.0 && zp < 1.0 {
                        (ZETA - GAMMA) * s * (1.0 - s) / BETA
                    } else {
                        0.0
                    };
                    eff[j] = w[j] * z[j];
                }
                v.iter_mut().for_each(|a| *a = 0.0);
                let mut gb = 0.0;
                let inv = lam / batch.len() as f64;
                for &i in batch {
                    let r = x.row(i);
                    let logit = b + r
                        .iter()
                        .zip(&eff)
                        .map(|(&xv, e)| xv as f64 * e)
                        .sum::<f64>();
                    let g = (sigmoid(logit) - y[i] as f64) * sw[i] * inv;
                    gb += g;
                    for (vj, &xv) in v.iter_mut().zip(r) {
                        *vj += g * xv as f64;
                    }
                }
                for j in 0..d {
                    gw[j] = v[j] * z[j];
                    let pn = prob_nonzero(log_alpha[j]);
                    ga[j] = v[j] * w[j] * dz[j] + (1.0 - lam) / d as f64 * pn * (1.0 - pn);
                }
                opt_w.step(&mut w, &gw, p.lr);
                if p.intercept == Intercept::Fit {
                    let mut bb = [b];
                    opt_b.step(&mut bb, &[gb], p.lr);
                    b = bb[0];
                }
                if gates_train {
                    opt_a.step(&mut log_alpha, &ga, p.lr);
                    log_alpha
                        .iter_mut()
                        .for_each(|a| *a = a.clamp(LOG_ALPHA_RANGE.0, LOG_ALPHA_RANGE.1));
                }
            }
        }
        let mut probe = L0Probe {
            weights: w,
            log_alpha,
            bias: b,
        };
        if probe.neurons_used() == 0 && p.intercept == Intercept::Fit {
            // An empty mask leaves a constant classifier; set its intercept to the exact optimum (the weighted
            // log-odds, 0 under balanced weights) instead of the last noisy Adam iterate, so that its prediction
            // does not depend on minibatch noise.
            let pos: f64 = sw
                .iter()
                .zip(y)
                .filter(|(_, c)| **c == 1)
                .map(|(s, _)| s)
                .sum();
            let neg: f64 = sw
                .iter()
                .zip(y)
                .filter(|(_, c)| **c == 0)
                .map(|(s, _)| s)
                .sum();
            let b = (pos / neg).ln();
            probe.bias = if b.abs() < 1e-9 { 0.0 } else { b };
        }
        Ok(probe)
    }

    /// Test-time mask values `m_j`.
    pub fn mask(&self) -> Vec<f64> {
        self.log_alpha
            .iter()
            .map(|&a| deterministic_gate(a))
            .collect()
    }

    /// Number of neurons used: `#{j : m_j > 0}`.
    pub fn neurons_used(&self) -> usize {
        self.mask().iter().filter(|&&m| m > 0.0).count()
    }

    /// Expected L0 fraction `R(m)`.
    pub fn expected_l0_fraction(&self) -> f64 {
        self.log_alpha.iter().map(|&a| prob_nonzero(a)).sum::<f64>()
            / self.log_alpha.len().max(1) as f64
    }

    /// Predicted classes with the deterministic mask.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        if x.cols != self.weights.len() {
            return Err(ProbeError::Shape {
                what: "L0 probe input features".into(),
                expected: self.weights.len(),
                got: x.cols,
            });
        }
        let eff: Vec<f64> = self
            .weights
            .iter()
            .zip(self.mask())
            .map(|(w, m)| w * m)
            .collect();
        Ok((0..x.rows)
            .map(|i| {
                (self.bias
                    + x.row(i)
                        .iter()
                        .zip(&eff)
                        .map(|(&v, e)| v as f64 * e)
                        .sum::<f64>()
                    > 0.0) as usize
            })
            .collect())
    }

    /// Accuracy on `(x, y)`.
    pub fn score(&self, x: &Matrix, y: &[usize]) -> Result<f64> {
        Ok(crate::metrics::accuracy(y, &self.predict(x)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn louizos_constants() {
        assert!((prob_nonzero(0.0) - 0.832).abs() < 1e-3);
        assert!((BETA * (-GAMMA / ZETA).ln() + 1.5986).abs() < 1e-4);
        assert!((deterministic_gate(0.0) - 0.5).abs() < 1e-12);
        assert_eq!(deterministic_gate(LOG_ALPHA_RANGE.0), 0.0);
        assert_eq!(deterministic_gate(LOG_ALPHA_RANGE.1), 1.0);
    }

    #[test]
    fn balanced_weights_give_both_classes_equal_mass_and_mean_one() {
        let y = [0, 0, 0, 0, 0, 0, 0, 0, 0, 1];
        let w = row_weights(&y, ClassWeight::Balanced);
        assert!((w.iter().sum::<f64>() / 10.0 - 1.0).abs() < 1e-12);
        assert!((w[9] - 5.0).abs() < 1e-12 && (w[0] - 10.0 / 18.0).abs() < 1e-12);
        assert_eq!(row_weights(&y, ClassWeight::Uniform), vec![1.0; 10]);
    }

    #[test]
    fn default_gates_start_open_and_bad_params_are_rejected() {
        let p = L0Params::default();
        let la = ((1.0 - p.init_drop_rate) / p.init_drop_rate).ln();
        assert!(deterministic_gate(la) > 0.97 && prob_nonzero(la) > 0.97);
        for bad in [
            L0Params {
                init_drop_rate: 0.0,
                ..p
            },
            L0Params {
                warmup_fraction: 1.0,
                ..p
            },
            L0Params { lambda: 0.0, ..p },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}

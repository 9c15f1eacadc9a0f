//! Linear probes: logistic regression (binary and multinomial; L2, L1, elastic net) and ridge regression.
//!
//! The logistic objective is scikit-learn's, divided by `C · Σ sw` (same minimiser):
//! `(1/Σsw) Σ_i sw_i · loss_i + (1/(C·Σsw)) · (ρ‖W‖₁ + (1−ρ)/2 ‖W‖²)` with `ρ` the L1 ratio; intercepts are not
//! penalised. Binary problems use one logit (sigmoid), as scikit-learn does; three or more classes use a softmax
//! over one logit per class. L2 is minimised with L-BFGS, L1/elastic net with OWL-QN (an orthant-wise L-BFGS), both
//! stopping when the largest (pseudo-)gradient entry is below `tol`.

use crate::data::{Matrix, n_classes};
use crate::error::{ProbeError, Result, param};
use crate::optim::{minimize, x_dot, xt_dot};
use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Regularisation of a logistic probe.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Penalty {
    /// No penalty (only sensible for well-conditioned, non-separable data).
    None,
    /// Squared L2 norm.
    L2,
    /// L1 norm (sparse coefficients).
    L1,
    /// `l1_ratio · L1 + (1 − l1_ratio)/2 · L2²`.
    ElasticNet {
        /// Weight of the L1 part in `[0, 1]`.
        l1_ratio: f64,
    },
}

impl Penalty {
    fn l1_ratio(self) -> f64 {
        match self {
            Penalty::None | Penalty::L2 => 0.0,
            Penalty::L1 => 1.0,
            Penalty::ElasticNet { l1_ratio } => l1_ratio,
        }
    }
}

/// Sample weighting by class.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClassWeight {
    /// Every row weighs 1.
    #[default]
    Uniform,
    /// scikit-learn's `balanced`: `n / (K · n_c)` for a row of class `c`.
    Balanced,
}

/// Whether to learn an intercept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Intercept {
    /// Learn an unpenalised intercept per logit.
    #[default]
    Fit,
    /// No intercept.
    None,
}

/// Parameters of [`LogisticRegression::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LogisticParams {
    /// Inverse regularisation strength (scikit-learn's `C`), > 0.
    pub c: f64,
    /// Penalty.
    pub penalty: Penalty,
    /// Maximum optimiser iterations.
    pub max_iter: usize,
    /// Gradient tolerance (largest absolute entry).
    pub tol: f64,
    /// Intercept handling.
    pub intercept: Intercept,
    /// Class weighting.
    pub class_weight: ClassWeight,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            c: 1.0,
            penalty: Penalty::L2,
            max_iter: 100,
            tol: 1e-4,
            intercept: Intercept::Fit,
            class_weight: ClassWeight::Uniform,
        }
    }
}

impl LogisticParams {
    /// Validate.
    pub fn check(self) -> Result<Self> {
        if !(self.c > 0.0 && self.c.is_finite()) {
            return Err(param("c", self.c, "a finite number > 0"));
        }
        if let Penalty::ElasticNet { l1_ratio } = self.penalty
            && !(0.0..=1.0).contains(&l1_ratio)
        {
            return Err(param("l1_ratio", l1_ratio, "in [0, 1]"));
        }
        if self.max_iter == 0 {
            return Err(param("max_iter", 0, ">= 1"));
        }
        if self.tol.is_nan() || self.tol <= 0.0 {
            return Err(param("tol", self.tol, "> 0"));
        }
        Ok(self)
    }
}

/// A fitted logistic-regression probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogisticRegression {
    /// Number of input features.
    pub n_features: usize,
    /// Number of classes (2 for binary).
    pub n_classes: usize,
    /// Coefficients, row-major `n_features × n_logits` (`n_logits` = 1 for binary, else `n_classes`).
    pub coef: Vec<f32>,
    /// Intercepts, one per logit (zeros without intercept).
    pub intercept: Vec<f32>,
    /// Optimiser iterations.
    pub iterations: usize,
    /// Whether the tolerance was met.
    pub converged: bool,
}

fn sample_weights(y: &[usize], k: usize, cw: ClassWeight) -> Vec<f32> {
    match cw {
        ClassWeight::Uniform => vec![1.0; y.len()],
        ClassWeight::Balanced => {
            let mut cnt = vec![0usize; k];
            y.iter().for_each(|&c| cnt[c] += 1);
            let present = cnt.iter().filter(|&&c| c > 0).count() as f32;
            y.iter()
                .map(|&c| y.len() as f32 / (present * cnt[c] as f32))
                .collect()
        }
    }
}

impl LogisticRegression {
    /// Number of logits (1 for binary).
    pub fn n_logits(&self) -> usize {
        if self.n_classes == 2 {
            1
        } else {
            self.n_classes
        }
    }

    /// Fit on `x` (n × d) with dense class labels `y` in `0..K`.
    pub fn fit(x: &Matrix, y: &[usize], params: &LogisticParams) -> Result<LogisticRegression> {
        Self::fit_from(x, y, params, None)
    }

    /// Fit, starting from `init` (same shape) when given (warm start for regularisation paths).
    pub fn fit_from(
        x: &Matrix,
        y: &[usize],
        params: &LogisticParams,
        init: Option<&LogisticRegression>,
    ) -> Result<LogisticRegression> {
        let p = params.check()?;
        if y.len() != x.rows {
            return Err(ProbeError::Shape {
                what: "labels vs rows".into(),
                expected: x.rows,
                got: y.len(),
            });
        }
        let k = n_classes(y, "logistic regression")?;
        let ko = if k == 2 { 1 } else { k };
        let d = x.cols;
        let sw = sample_weights(y, k, p.class_weight);
        let sw_sum: f64 = sw.iter().map(|&v| v as f64).sum();
        let rho = p.penalty.l1_ratio();
        let (l2, l1) = match p.penalty {
            Penalty::None => (0.0, 0.0),
            _ => ((1.0 - rho) / (p.c * sw_sum), rho / (p.c * sw_sum)),
        };
        let fit_b = p.intercept == Intercept::Fit;
        let nw = d * ko;
        let mut x0 = vec![0.0f64; nw + ko];
        if let Some(m) = init
            && m.coef.len() == nw
            && m.intercept.len() == ko
        {
            x0[..nw]
                .iter_mut()
                .zip(&m.coef)
                .for_each(|(a, b)| *a = *b as f64);
            x0[nw..]
                .iter_mut()
                .zip(&m.intercept)
                .for_each(|(a, b)| *a = *b as f64);
        }
        let mut mask = vec![true; nw + ko];
        mask[nw..].iter_mut().for_each(|m| *m = false);
        let inv = 1.0 / sw_sum;
        let obj = |theta: &[f64], grad: &mut [f64]| -> f64 {
            let w = Array2::from_shape_fn((d, ko), |(i, j)| theta[i * ko + j] as f32);
            let b: Vec<f32> = theta[nw..]
                .iter()
                .map(|&v| if fit_b { v as f32 } else { 0.0 })
                .collect();
            let mut z = x_dot(x, w.view());
            let loss: f64 = z
                .as_slice_mut()
                .expect("standard layout")
                .par_chunks_mut(ko)
                .zip(y.par_iter())
                .zip(sw.par_iter())
                .map(|((zr, &yi), &swi)| {
                    zr.iter_mut().zip(&b).for_each(|(v, bb)| *v += bb);
                    let s = swi as f64 * inv;
                    if ko == 1 {
                        let v = zr[0] as f64;
                        let t = if yi == 1 { 1.0 } else { 0.0 };
                        let l = v.max(0.0) + (-v.abs()).exp().ln_1p() - t * v;
                        let pr = 1.0 / (1.0 + (-v).exp());
                        zr[0] = ((pr - t) * s) as f32;
                        l * s
                    } else {
                        let m = zr.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v)) as f64;
                        let mut se = 0.0f64;
                        for v in zr.iter() {
                            se += ((*v as f64) - m).exp();
                        }
                        let lse = m + se.ln();
                        let l = lse - zr[yi] as f64;
                        for (c, v) in zr.iter_mut().enumerate() {
                            let pr = ((*v as f64) - lse).exp();
                            *v = ((pr - if c == yi { 1.0 } else { 0.0 }) * s) as f32;
                        }
                        l * s
                    }
                })
                .sum();
            let gw = xt_dot(x, z.view());
            let mut reg = 0.0;
            for (i, (g, &t)) in grad[..nw].iter_mut().zip(&theta[..nw]).enumerate() {
                *g = gw[(i / ko, i % ko)] as f64 + l2 * t;
                reg += t * t;
            }
            for (c, g) in grad[nw..].iter_mut().enumerate() {
                *g = if fit_b {
                    z.column(c).iter().map(|&v| v as f64).sum()
                } else {
                    0.0
                };
            }
            loss + 0.5 * l2 * reg
        };
        let m = minimize(obj, x0, l1, &mask, p.max_iter, p.tol);
        Ok(LogisticRegression {
            n_features: d,
            n_classes: k,
            coef: m.x[..nw].iter().map(|&v| v as f32).collect(),
            intercept: m.x[nw..]
                .iter()
                .map(|&v| if fit_b { v as f32 } else { 0.0 })
                .collect(),
            iterations: m.iterations,
            converged: m.converged,
        })
    }

    /// Logits, `n × n_logits`.
    pub fn decision(&self, x: &Matrix) -> Result<Array2<f32>> {
        if x.cols != self.n_features {
            return Err(ProbeError::Shape {
                what: "probe input features".into(),
                expected: self.n_features,
                got: x.cols,
            });
        }
        let ko = self.n_logits();
        let w = ArrayView2::from_shape((self.n_features, ko), &self.coef).expect("shape");
        let mut z = x_dot(x, w);
        z.rows_mut()
            .into_iter()
            .for_each(|mut r| r.iter_mut().zip(&self.intercept).for_each(|(v, b)| *v += b));
        Ok(z)
    }

    /// Class probabilities, `n × n_classes`.
    pub fn predict_proba(&self, x: &Matrix) -> Result<Matrix> {
        let z = self.decision(x)?;
        let k = self.n_classes;
        let mut out = Vec::with_capacity(x.rows * k);
        for r in z.rows() {
            if k == 2 {
                let p = 1.0 / (1.0 + (-r[0]).exp());
                out.extend([1.0 - p, p]);
            } else {
                let m = r.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
                let e: Vec<f32> = r.iter().map(|&v| (v - m).exp()).collect();
                let s: f32 = e.iter().sum();
                out.extend(e.iter().map(|v| v / s));
            }
        }
        Matrix::new(x.rows, k, out)
    }

    /// Predicted classes.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<usize>> {
        let z = self.decision(x)?;
        Ok(z.rows()
            .into_iter()
            .map(|r| {
                if r.len() == 1 {
                    (r[0] > 0.0) as usize
                } else {
                    argmax(r.as_slice().expect("row"))
                }
            })
            .collect())
    }

    /// Accuracy on `(x, y)`.
    pub fn score(&self, x: &Matrix, y: &[usize]) -> Result<f64> {
        Ok(crate::metrics::accuracy(y, &self.predict(x)?))
    }

    /// Per-feature importance `Σ_logits |w_jk|`.
    pub fn feature_importance(&self) -> Vec<f64> {
        let ko = self.n_logits();
        self.coef
            .chunks(ko)
            .map(|r| r.iter().map(|v| v.abs() as f64).sum())
            .collect()
    }

    /// Number of features with a non-zero coefficient for some logit.
    pub fn nonzero_features(&self) -> usize {
        self.feature_importance()
            .iter()
            .filter(|&&v| v > 0.0)
            .count()
    }
}

/// Index of the largest element (first on ties).
pub fn argmax(v: &[f32]) -> usize {
    let mut best = 0;
    for (i, &x) in v.iter().enumerate() {
        if x > v[best] {
            best = i;
        }
    }
    best
}

/// Parameters of [`Ridge::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RidgeParams {
    /// L2 strength `α ≥ 0` of `‖y − Xw − b‖² + α‖w‖²` (scikit-learn's `Ridge(alpha)`).
    pub alpha: f64,
    /// Intercept handling.
    pub intercept: Intercept,
}

impl Default for RidgeParams {
    fn default() -> Self {
        RidgeParams {
            alpha: 1.0,
            intercept: Intercept::Fit,
        }
    }
}

impl RidgeParams {
    /// Validate.
    pub fn check(self) -> Result<Self> {
        if !(self.alpha >= 0.0 && self.alpha.is_finite()) {
            return Err(param("alpha", self.alpha, "a finite number >= 0"));
        }
        Ok(self)
    }
}

/// A fitted ridge regression with `t` targets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ridge {
    /// Number of input features.
    pub n_features: usize,
    /// Number of targets.
    pub n_targets: usize,
    /// Coefficients, row-major `n_features × n_targets`.
    pub coef: Vec<f64>,
    /// Intercept per target.
    pub intercept: Vec<f64>,
}

impl Ridge {
    /// Fit on `x` (n × d) and targets `y` (n × t, row-major) by solving the normal equations (Cholesky, f64).
    pub fn fit(x: &Matrix, y: &[f64], n_targets: usize, params: &RidgeParams) -> Result<Ridge> {
        let p = params.check()?;
        let (n, d, t) = (x.rows, x.cols, n_targets);
        if y.len() != n * t {
            return Err(ProbeError::Shape {
                what: "ridge targets".into(),
                expected: n * t,
                got: y.len(),
            });
        }
        if n == 0 {
            return Err(ProbeError::Data {
                what: "ridge".into(),
                reason: "no rows".into(),
            });
        }
        let xm: Vec<f64> = if p.intercept == Intercept::Fit {
            x.col_mean_std().0
        } else {
            vec![0.0; d]
        };
        let ym: Vec<f64> = if p.intercept == Intercept::Fit {
            (0..t)
                .map(|c| (0..n).map(|i| y[i * t + c]).sum::<f64>() / n as f64)
                .collect()
        } else {
            vec![0.0; t]
        };
        let xc = Array2::from_shape_fn((n, d), |(i, j)| x.data[i * d + j] as f64 - xm[j]);
        let yc = Array2::from_shape_fn((n, t), |(i, c)| y[i * t + c] - ym[c]);
        let mut g = xc.t().dot(&xc);
        for j in 0..d {
            g[(j, j)] += p.alpha.max(1e-12 * g[(j, j)].abs().max(1e-300));
        }
        let rhs = xc.t().dot(&yc);
        let l = cholesky(&g).ok_or_else(|| ProbeError::Data {
            what: "ridge".into(),
            reason: "Gram matrix not positive definite; use alpha > 0".into(),
        })?;
        let mut coef = vec![0.0; d * t];
        for c in 0..t {
            let b: Vec<f64> = (0..d).map(|j| rhs[(j, c)]).collect();
            let w = chol_solve(&l, d, &b);
            for j in 0..d {
                coef[j * t + c] = w[j];
            }
        }
        let intercept = (0..t)
            .map(|c| ym[c] - (0..d).map(|j| xm[j] * coef[j * t + c]).sum::<f64>())
            .collect();
        Ok(Ridge {
            n_features: d,
            n_targets: t,
            coef,
            intercept,
        })
    }

    /// Predictions, row-major `n × n_targets`.
    pub fn predict(&self, x: &Matrix) -> Result<Vec<f64>> {
        if x.cols != self.n_features {
            return Err(ProbeError::Shape {
                what: "ridge input features".into(),
                expected: self.n_features,
                got: x.cols,
            });
        }
        let t = self.n_targets;
        let mut out = vec![0.0; x.rows * t];
        out.par_chunks_mut(t).enumerate().for_each(|(i, o)| {
            let r = x.row(i);
            for (c, oc) in o.iter_mut().enumerate() {
                *oc = self.intercept[c]
                    + r.iter()
                        .enumerate()
                        .map(|(j, &v)| v as f64 * self.coef[j * t + c])
                        .sum::<f64>();
            }
        });
        Ok(out)
    }
}

/// Lower Cholesky factor of a symmetric positive-definite matrix (row-major `d × d`).
fn cholesky(a: &Array2<f64>) -> Option<Vec<f64>> {
    let d = a.nrows();
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[(i, j)];
            for k in 0..j {
                s -= l[i * d + k] * l[j * d + k];
            }
            if i == j {
                if s <= 0.0 {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

fn chol_solve(l: &[f64], d: usize, b: &[f64]) -> Vec<f64> {
    let mut z = b.to_vec();
    for i in 0..d {
        for k in 0..i {
            z[i] -= l[i * d + k] * z[k];
        }
        z[i] /= l[i * d + i];
    }
    for i in (0..d).rev() {
        for k in i + 1..d {
            z[i] -= l[k * d + i] * z[k];
        }
        z[i] /= l[i * d + i];
    }
    z
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng, rngs::StdRng};

    #[test]
    fn logistic_gradient_is_zero_at_the_optimum_and_separates_planted_data() {
        let mut rng = StdRng::seed_from_u64(0);
        let (n, d) = (600, 5);
        let data: Vec<f32> = (0..n * d)
            .map(|_| rng.random::<f32>() * 2.0 - 1.0)
            .collect();
        let x = Matrix::new(n, d, data).unwrap();
        let y: Vec<usize> = (0..n)
            .map(|i| (x.row(i)[0] + 0.5 * x.row(i)[1] > 0.0) as usize)
            .collect();
        let m = LogisticRegression::fit(
            &x,
            &y,
            &LogisticParams {
                c: 10.0,
                tol: 1e-6,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(m.converged);
        assert!(m.score(&x, &y).unwrap() > 0.97);
        assert!(
            m.coef[0] > 1.5 * m.coef[1] && m.coef[1] > 0.0,
            "{:?}",
            m.coef
        );
        // Multinomial with three classes.
        let y3: Vec<usize> = (0..n)
            .map(|i| {
                if x.row(i)[2] > 0.3 {
                    2
                } else if x.row(i)[2] < -0.3 {
                    0
                } else {
                    1
                }
            })
            .collect();
        let m3 = LogisticRegression::fit(
            &x,
            &y3,
            &LogisticParams {
                c: 100.0,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(m3.score(&x, &y3).unwrap() > 0.95);
        let p = m3.predict_proba(&x).unwrap();
        assert!((p.row(0).iter().sum::<f32>() - 1.0).abs() < 1e-5);
        // L1 zeroes the irrelevant features.
        let l1 = LogisticRegression::fit(
            &x,
            &y,
            &LogisticParams {
                c: 0.05,
                penalty: Penalty::L1,
                max_iter: 500,
                ..Default::default()
            },
        )
        .unwrap();
        let imp = l1.feature_importance();
        assert!(imp[0] > 0.0);
        assert_eq!(imp[3], 0.0);
        assert_eq!(imp[4], 0.0);
    }

    #[test]
    fn ridge_recovers_a_linear_map() {
        let mut rng = StdRng::seed_from_u64(1);
        let (n, d) = (200, 4);
        let x = Matrix::new(n, d, (0..n * d).map(|_| rng.random::<f32>()).collect()).unwrap();
        let y: Vec<f64> = (0..n)
            .flat_map(|i| {
                let r = x.row(i);
                [3.0 + 2.0 * r[0] as f64 - r[3] as f64, -1.0 + r[1] as f64]
            })
            .collect();
        let m = Ridge::fit(
            &x,
            &y,
            2,
            &RidgeParams {
                alpha: 1e-9,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(
            (m.coef[0] - 2.0).abs() < 1e-6
                && (m.coef[3 * 2] + 1.0).abs() < 1e-6
                && (m.intercept[0] - 3.0).abs() < 1e-6
        );
        assert!((m.coef[2 + 1] - 1.0).abs() < 1e-6 && (m.intercept[1] + 1.0).abs() < 1e-6);
        assert!(
            RidgeParams {
                alpha: -1.0,
                ..Default::default()
            }
            .check()
            .is_err()
        );
    }
}

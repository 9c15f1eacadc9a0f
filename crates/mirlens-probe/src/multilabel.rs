//! Multi-label linear probes: one logistic regression per class (e.g. per MIDI pitch), fitted jointly, for
//! multi-hot frame labels such as the sounding pitches of a frame.
//!
//! The objective is the sum over classes of scikit-learn's binary `LogisticRegression(C)` objective,
//! `Σ_p [Σ_i BCE(σ(x_i·w_p + b_p), y_ip) + ‖w_p‖² / (2C)]` (intercepts unpenalised); classes do not interact, so the
//! joint L-BFGS minimum is each class's own minimum (tested against the binary probe). Inputs are standardised on the
//! training rows. Only classes active in some training row get a probe; the others are never predicted. A class is
//! predicted where its probability is ≥ the threshold (0.5).
//!
//! [`cv_multipitch`] scores a probe by grouped k-fold cross-validation (folds by clip) with mir_eval's multipitch
//! metrics on the pooled out-of-fold predictions, and reports the F-measure of each fold.

use crate::data::{Matrix, Standardizer, grouped_kfold};
use crate::error::{ProbeError, Result};
use crate::metrics::multipitch::{MultipitchMetrics, multipitch};
use crate::optim::{minimize, x_dot, xt_dot};
use ndarray::Array2;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Parameters of [`MultiLabelProbe::fit`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MultiLabelParams {
    /// Inverse regularisation strength per class (scikit-learn's `C`).
    pub c: f64,
    /// Maximum L-BFGS iterations.
    pub max_iter: usize,
    /// Gradient tolerance (largest absolute entry of the per-row-mean gradient).
    pub tol: f64,
    /// Decision threshold on the probability.
    pub threshold: f64,
}

impl Default for MultiLabelParams {
    fn default() -> Self {
        MultiLabelParams {
            c: 1.0,
            max_iter: 200,
            tol: 1e-5,
            threshold: 0.5,
        }
    }
}

/// A fitted multi-label probe.
#[derive(Debug, Clone, PartialEq)]
pub struct MultiLabelProbe {
    /// Label width (number of classes of the multi-hot label).
    pub width: usize,
    /// Classes with a probe (indices into the label), ascending.
    pub classes: Vec<usize>,
    /// Weights `[features, classes.len()]`, row-major, on standardised inputs.
    pub coef: Vec<f32>,
    /// Intercepts per probed class.
    pub intercept: Vec<f32>,
    /// Input standardisation.
    pub standardizer: Standardizer,
    /// Optimiser iterations.
    pub iterations: usize,
    /// Whether the tolerance was reached.
    pub converged: bool,
    /// Decision threshold.
    pub threshold: f64,
}

impl MultiLabelProbe {
    /// Fit on rows `x` with multi-hot targets `y` (`[rows, width]` of 0/1).
    pub fn fit(
        x: &Matrix,
        y: &[u8],
        width: usize,
        params: &MultiLabelParams,
    ) -> Result<MultiLabelProbe> {
        if !(params.c > 0.0 && params.c.is_finite()) {
            return Err(ProbeError::Param {
                name: "c",
                value: params.c.to_string(),
                expected: "a finite number > 0",
            });
        }
        if y.len() != x.rows * width {
            return Err(ProbeError::Shape {
                what: "multi-hot targets".into(),
                expected: x.rows * width,
                got: y.len(),
            });
        }
        if x.rows == 0 {
            return Err(ProbeError::Data {
                what: "multi-label probe".into(),
                reason: "no training rows".into(),
            });
        }
        let standardizer = Standardizer::fit(x, 1e-8);
        let xs = standardizer.transform(x)?;
        let classes: Vec<usize> = (0..width)
            .filter(|&c| (0..x.rows).any(|i| y[i * width + c] == 1))
            .collect();
        let k = classes.len();
        let d = x.cols;
        let n = x.rows;
        let t: Vec<f32> = (0..n)
            .flat_map(|i| {
                classes
                    .iter()
                    .map(move |&c| (y[i * width + c] == 1) as u8 as f32)
            })
            .collect();
        let nw = d * k;
        let inv = 1.0 / n as f64;
        let l2 = 1.0 / (params.c * n as f64);
        let obj = |theta: &[f64], grad: &mut [f64]| -> f64 {
            let w = Array2::from_shape_fn((d, k), |(i, j)| theta[i * k + j] as f32);
            let mut z = x_dot(&xs, w.view());
            let loss: f64 = z
                .as_slice_mut()
                .expect("standard layout")
                .par_chunks_mut(k.max(1))
                .zip(t.par_chunks(k.max(1)))
                .map(|(zr, tr)| {
                    let mut l = 0.0;
                    for ((v, &tt), &b) in zr.iter_mut().zip(tr).zip(&theta[nw..]) {
                        let u = *v as f64 + b;
                        l += u.max(0.0) + (-u.abs()).exp().ln_1p() - tt as f64 * u;
                        *v = ((1.0 / (1.0 + (-u).exp()) - tt as f64) * inv) as f32;
                    }
                    l * inv
                })
                .sum();
            let gw = xt_dot(&xs, z.view());
            let mut reg = 0.0;
            for (i, (g, &th)) in grad[..nw].iter_mut().zip(&theta[..nw]).enumerate() {
                *g = gw[(i / k, i % k)] as f64 + l2 * th;
                reg += th * th;
            }
            for (c, g) in grad[nw..].iter_mut().enumerate() {
                *g = z.column(c).iter().map(|&v| v as f64).sum();
            }
            loss + 0.5 * l2 * reg
        };
        let mut mask = vec![true; nw + k];
        mask[nw..].iter_mut().for_each(|m| *m = false);
        let m = minimize(
            obj,
            vec![0.0; nw + k],
            0.0,
            &mask,
            params.max_iter,
            params.tol,
        );
        Ok(MultiLabelProbe {
            width,
            classes,
            coef: m.x[..nw].iter().map(|&v| v as f32).collect(),
            intercept: m.x[nw..].iter().map(|&v| v as f32).collect(),
            standardizer,
            iterations: m.iterations,
            converged: m.converged,
            threshold: params.threshold,
        })
    }

    /// Probabilities `[rows, classes.len()]` of the probed classes.
    pub fn predict_proba(&self, x: &Matrix) -> Result<Array2<f32>> {
        let xs = self.standardizer.transform(x)?;
        let k = self.classes.len();
        let w = Array2::from_shape_vec((x.cols, k), self.coef.clone()).map_err(|e| {
            ProbeError::Data {
                what: "multi-label weights".into(),
                reason: e.to_string(),
            }
        })?;
        let mut z = x_dot(&xs, w.view());
        for mut row in z.rows_mut() {
            for (v, b) in row.iter_mut().zip(&self.intercept) {
                *v = 1.0 / (1.0 + (-(*v + b)).exp());
            }
        }
        Ok(z)
    }

    /// Predicted active classes per row (label indices, ascending).
    pub fn predict(&self, x: &Matrix) -> Result<Vec<Vec<usize>>> {
        let p = self.predict_proba(x)?;
        Ok(p.rows()
            .into_iter()
            .map(|r| {
                r.iter()
                    .zip(&self.classes)
                    .filter(|(v, _)| **v as f64 >= self.threshold)
                    .map(|(_, &c)| c)
                    .collect()
            })
            .collect())
    }
}

/// Cross-validated multi-pitch scores of a multi-label probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MultipitchCv {
    /// mir_eval multipitch metrics of the pooled out-of-fold predictions.
    pub metrics: MultipitchMetrics,
    /// F-measure of each fold's test rows.
    pub fold_f: Vec<f64>,
    /// Rows scored.
    pub rows: usize,
    /// Whether every fold's optimiser converged.
    pub converged: bool,
}

/// Grouped k-fold cross-validation (groups = clips) of a multi-label probe on `x` with multi-hot `y` whose classes
/// are MIDI pitches (`class index = pitch`), scored with [`multipitch`].
pub fn cv_multipitch(
    x: &Matrix,
    y: &[u8],
    width: usize,
    groups: &[usize],
    folds: usize,
    seed: u64,
    params: &MultiLabelParams,
) -> Result<MultipitchCv> {
    if width > 256 {
        return Err(ProbeError::Data {
            what: "multipitch label".into(),
            reason: format!("{width} classes; expected MIDI pitches (≤ 128)"),
        });
    }
    let splits = grouped_kfold(groups, folds, seed)?;
    let set = |i: usize| -> Vec<u8> {
        (0..width)
            .filter(|&c| y[i * width + c] == 1)
            .map(|c| c as u8)
            .collect()
    };
    let mut est: Vec<Vec<u8>> = vec![Vec::new(); x.rows];
    let mut fold_f = Vec::with_capacity(splits.len());
    let mut converged = true;
    for s in &splits {
        let xtr = x.select_rows(&s.train);
        let ytr: Vec<u8> = s
            .train
            .iter()
            .flat_map(|&i| y[i * width..(i + 1) * width].iter().copied())
            .collect();
        let probe = MultiLabelProbe::fit(&xtr, &ytr, width, params)?;
        converged &= probe.converged;
        let pred = probe.predict(&x.select_rows(&s.test))?;
        let mut r = Vec::with_capacity(s.test.len());
        let mut e = Vec::with_capacity(s.test.len());
        for (&i, p) in s.test.iter().zip(pred) {
            est[i] = p.iter().map(|&c| c as u8).collect();
            r.push(set(i));
            e.push(est[i].clone());
        }
        fold_f.push(multipitch(&r, &e).pitch.f_measure);
    }
    let reference: Vec<Vec<u8>> = (0..x.rows).map(set).collect();
    Ok(MultipitchCv {
        metrics: multipitch(&reference, &est),
        fold_f,
        rows: x.rows,
        converged,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::linear::{LogisticParams, LogisticRegression};
    use rand::{Rng, SeedableRng, rngs::StdRng};

    /// Planted: 3 "pitches", each active when its own feature is high; one extra noise feature.
    fn planted(n: usize, seed: u64) -> (Matrix, Vec<u8>, Vec<usize>) {
        let mut rng = StdRng::seed_from_u64(seed);
        let width = 5;
        let mut x = Vec::new();
        let mut y = vec![0u8; n * width];
        for i in 0..n {
            for c in 0..3 {
                let on = rng.random_bool(0.4);
                y[i * width + c] = on as u8;
                x.push(if on { 1.0 } else { -1.0 } + rng.random_range(-1.2f32..1.2));
            }
            x.push(rng.random_range(-1.0f32..1.0));
        }
        (
            Matrix::new(n, 4, x).unwrap(),
            y,
            (0..n).map(|i| i / 10).collect(),
        )
    }

    /// Both optimisers stop at a gradient tolerance of 1e-9; the f32 coefficients then agree to 5.7e-6.
    const TOL: f32 = 3e-5;

    #[test]
    fn each_class_equals_the_binary_logistic_probe() {
        let (x, y, _) = planted(300, 1);
        let tight = MultiLabelParams {
            tol: 1e-9,
            max_iter: 1000,
            ..MultiLabelParams::default()
        };
        let p = MultiLabelProbe::fit(&x, &y, 5, &tight).unwrap();
        assert_eq!(p.classes, vec![0, 1, 2]);
        assert!(p.converged);
        let xs = p.standardizer.transform(&x).unwrap();
        let mut worst = 0.0f32;
        for (j, &c) in p.classes.iter().enumerate() {
            let yc: Vec<usize> = (0..x.rows).map(|i| y[i * 5 + c] as usize).collect();
            let b = LogisticRegression::fit(
                &xs,
                &yc,
                &LogisticParams {
                    tol: 1e-9,
                    max_iter: 1000,
                    ..LogisticParams::default()
                },
            )
            .unwrap();
            for f in 0..4 {
                let (a, e) = (p.coef[f * 3 + j], b.coef[f]);
                worst = worst.max((a - e).abs());
            }
            worst = worst.max((p.intercept[j] - b.intercept[0]).abs());
        }
        eprintln!("multi-label vs binary logistic: max |Δ| {worst:.1e}");
        assert!(worst < TOL, "{worst}");
    }

    #[test]
    fn planted_pitches_are_recovered_and_shuffled_labels_are_not() {
        let (x, y, g) = planted(600, 2);
        let cv = cv_multipitch(&x, &y, 5, &g, 5, 0, &MultiLabelParams::default()).unwrap();
        assert_eq!(cv.rows, 600);
        assert_eq!(cv.fold_f.len(), 5);
        // each class is separable up to the ±1.2 noise: ≈ 90 % of frames right per class
        assert!(cv.metrics.pitch.f_measure > 0.85, "{:?}", cv.metrics);
        // control: rows shuffled against their labels
        let mut perm: Vec<usize> = (0..600).collect();
        perm.reverse();
        let ys: Vec<u8> = perm
            .iter()
            .flat_map(|&i| y[i * 5..(i + 1) * 5].iter().copied())
            .collect();
        let ctrl = cv_multipitch(&x, &ys, 5, &g, 5, 0, &MultiLabelParams::default()).unwrap();
        assert!(ctrl.metrics.pitch.f_measure < 0.6, "{:?}", ctrl.metrics);
    }
}

//! Layer sweeps (one probe per layer, k-fold CV grouped by clip), time pooling and chunk → file aggregation.

use crate::data::{Matrix, Standardizer, grouped_kfold, n_classes, take};
use crate::error::{ProbeError, Result};
use crate::linear::{LogisticParams, LogisticRegression};
use crate::metrics::accuracy;
use mirlens_core::Pooling;
use serde::{Deserialize, Serialize};

/// Pool rows over time within each group (clip): `None` keeps rows, `Mean`/`Max` give one row per group in order of
/// first appearance. Returns the pooled matrix and, per output row, the index of its first input row.
pub fn pool_rows(x: &Matrix, groups: &[usize], pooling: Pooling) -> Result<(Matrix, Vec<usize>)> {
    if groups.len() != x.rows {
        return Err(ProbeError::Shape {
            what: "groups vs rows".into(),
            expected: x.rows,
            got: groups.len(),
        });
    }
    if pooling == Pooling::None {
        return Ok((x.clone(), (0..x.rows).collect()));
    }
    let mut slot = std::collections::HashMap::new();
    let mut first = Vec::new();
    let mut acc: Vec<Vec<f64>> = Vec::new();
    let mut cnt: Vec<usize> = Vec::new();
    for (i, &g) in groups.iter().enumerate() {
        let s = *slot.entry(g).or_insert_with(|| {
            first.push(i);
            acc.push(vec![
                if pooling == Pooling::Max {
                    f64::NEG_INFINITY
                } else {
                    0.0
                };
                x.cols
            ]);
            cnt.push(0);
            acc.len() - 1
        });
        cnt[s] += 1;
        for (a, &v) in acc[s].iter_mut().zip(x.row(i)) {
            match pooling {
                Pooling::Max => *a = a.max(v as f64),
                _ => *a += v as f64,
            }
        }
    }
    let data: Vec<f32> = acc
        .iter()
        .zip(&cnt)
        .flat_map(|(a, &c)| {
            a.iter().map(move |v| {
                if pooling == Pooling::Mean {
                    (v / c as f64) as f32
                } else {
                    *v as f32
                }
            })
        })
        .collect();
    Ok((Matrix::new(first.len(), x.cols, data)?, first))
}

/// Average chunk-level class probabilities per file (MARBLE's `scatter_mean` before the metric). Returns the
/// per-file mean probabilities (files in order of first appearance) and the file ids.
pub fn aggregate_by_file(proba: &Matrix, files: &[usize]) -> Result<(Matrix, Vec<usize>)> {
    let (m, first) = pool_rows(proba, files, Pooling::Mean)?;
    Ok((m, first.iter().map(|&i| files[i]).collect()))
}

/// Parameters of [`layer_sweep`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepParams {
    /// Probe fitted per layer and fold.
    pub probe: LogisticParams,
    /// Number of grouped CV folds.
    pub folds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
}

impl Default for SweepParams {
    fn default() -> Self {
        SweepParams {
            probe: LogisticParams::default(),
            folds: 5,
            seed: 0,
        }
    }
}

/// Result for one layer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LayerResult {
    /// Layer index (or a name such as `weighted`).
    pub layer: String,
    /// Mean test accuracy over folds.
    pub accuracy: f64,
    /// Standard deviation over folds.
    pub std: f64,
    /// Normal-approximation 95 % interval of the mean (±1.96 · std/√folds).
    pub ci_low: f64,
    /// Upper end of the interval.
    pub ci_high: f64,
    /// Accuracy of each fold.
    pub folds: Vec<f64>,
}

/// Grouped k-fold accuracy of the probe on one design matrix.
pub fn cv_accuracy(
    x: &Matrix,
    y: &[usize],
    groups: &[usize],
    params: &SweepParams,
) -> Result<Vec<f64>> {
    if y.len() != x.rows {
        return Err(ProbeError::Shape {
            what: "labels vs rows".into(),
            expected: x.rows,
            got: y.len(),
        });
    }
    n_classes(y, "layer sweep")?;
    let folds = grouped_kfold(groups, params.folds, params.seed)?;
    let mut out = Vec::new();
    for f in &folds {
        let ytr = take(y, &f.train);
        if n_classes(&ytr, "fold").is_err() {
            return Err(ProbeError::Data {
                what: "layer sweep".into(),
                reason: "a training fold has a single class; use fewer folds".into(),
            });
        }
        let xtr = x.select_rows(&f.train);
        let st = Standardizer::fit(&xtr, 1e-6);
        let m = LogisticRegression::fit(&st.transform(&xtr)?, &ytr, &params.probe)?;
        let pred = m.predict(&st.transform(&x.select_rows(&f.test))?)?;
        out.push(accuracy(&take(y, &f.test), &pred));
    }
    Ok(out)
}

fn summarise(layer: String, folds: Vec<f64>) -> LayerResult {
    let n = folds.len() as f64;
    let mean = folds.iter().sum::<f64>() / n;
    let std = (folds.iter().map(|a| (a - mean).powi(2)).sum::<f64>() / (n - 1.0).max(1.0)).sqrt();
    let h = 1.96 * std / n.sqrt();
    LayerResult {
        layer,
        accuracy: mean,
        std,
        ci_low: mean - h,
        ci_high: mean + h,
        folds,
    }
}

/// One probe per layer: `layers` are `(name, matrix)` pairs with the same rows. Returns one result per layer in
/// the given order.
pub fn layer_sweep(
    layers: &[(String, Matrix)],
    y: &[usize],
    groups: &[usize],
    params: &SweepParams,
) -> Result<Vec<LayerResult>> {
    layers
        .iter()
        .map(|(name, x)| Ok(summarise(name.clone(), cv_accuracy(x, y, groups, params)?)))
        .collect()
}

/// MARBLE's `layer = all`: an MLP probe on the learned softmax-weighted sum of `layers` (pass layers 1..L, i.e.
/// without layer 0), trained on a grouped split; returns the test accuracy as a [`LayerResult`] named `weighted`
/// (one fold: the interval is the bootstrap 95 % interval over test rows) and the learned layer weights.
pub fn weighted_layer_sum(
    layers: &[&Matrix],
    y: &[usize],
    groups: &[usize],
    params: &crate::mlp::MlpParams,
    test_fraction: f64,
    seed: u64,
) -> Result<(LayerResult, Vec<f32>)> {
    let split = crate::data::grouped_split(groups, test_fraction, seed)?;
    let std_layers: Vec<(Matrix, Matrix)> = layers
        .iter()
        .map(|x| {
            let tr = x.select_rows(&split.train);
            let st = Standardizer::fit(&tr, 1e-6);
            Ok((
                st.transform(&tr)?,
                st.transform(&x.select_rows(&split.test))?,
            ))
        })
        .collect::<Result<_>>()?;
    let tr: Vec<&Matrix> = std_layers.iter().map(|p| &p.0).collect();
    let te: Vec<&Matrix> = std_layers.iter().map(|p| &p.1).collect();
    let m = crate::mlp::MlpProbe::fit(
        &tr,
        &take(y, &split.train),
        &take(groups, &split.train),
        params,
    )?;
    let yte = take(y, &split.test);
    let pred = m.predict(&te)?;
    let correct: Vec<bool> = pred.iter().zip(&yte).map(|(a, b)| a == b).collect();
    let e = crate::neurons::bootstrap_accuracy(&correct, 200, seed);
    Ok((
        LayerResult {
            layer: "weighted".into(),
            accuracy: e.value,
            std: 0.0,
            ci_low: e.ci_low,
            ci_high: e.ci_high,
            folds: vec![e.value],
        },
        m.layer_weights,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_and_aggregation() {
        let x = Matrix::new(4, 2, vec![1., 2., 3., 0., 5., 5., 7., 1.]).unwrap();
        let g = [9, 9, 4, 4];
        let (m, first) = pool_rows(&x, &g, Pooling::Mean).unwrap();
        assert_eq!(m.data, vec![2., 1., 6., 3.]);
        assert_eq!(first, vec![0, 2]);
        let (m, _) = pool_rows(&x, &g, Pooling::Max).unwrap();
        assert_eq!(m.data, vec![3., 2., 7., 5.]);
        let (p, files) = aggregate_by_file(&x, &[1, 2, 1, 2]).unwrap();
        assert_eq!(files, vec![1, 2]);
        assert_eq!(p.data, vec![3., 3.5, 5., 0.5]);
    }
}

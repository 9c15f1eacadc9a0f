//! Neuron rankings: Welch's t (binary), one-way ANOVA F (multiclass), mean difference, L1 coefficients; Spearman ρ.

use crate::data::{Matrix, n_classes};
use crate::error::{ProbeError, Result};
use crate::linear::{ClassWeight, LogisticParams, LogisticRegression, Penalty};
use serde::{Deserialize, Serialize};

/// How neurons are scored for a label.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RankMethod {
    /// |Welch t| of class 1 vs class 0 (binary labels only; unpooled sample variances, ddof 1).
    WelchT,
    /// One-way ANOVA F over all classes (pooled; equals Student t² for two classes).
    AnovaF,
    /// Mean difference: |μ₁ − μ₀| for binary labels; Σ over class pairs |μ_a − μ_b| otherwise (probeless ranking).
    MeanDiff,
    /// Σ_k |w_jk| of an L1 logistic regression at inverse strength `c` (balanced classes), on standardised inputs.
    L1 {
        /// Inverse regularisation strength.
        c: f64,
    },
}

impl RankMethod {
    /// Short name used in outputs.
    pub fn name(&self) -> &'static str {
        match self {
            RankMethod::WelchT => "welch_t",
            RankMethod::AnovaF => "anova_f",
            RankMethod::MeanDiff => "mean_diff",
            RankMethod::L1 { .. } => "l1",
        }
    }
}

/// Per-class means, variances (ddof 1) and counts for every column.
fn class_moments(x: &Matrix, y: &[usize], k: usize) -> (Vec<Vec<f64>>, Vec<Vec<f64>>, Vec<usize>) {
    let d = x.cols;
    let mut cnt = vec![0usize; k];
    let mut sum = vec![vec![0.0f64; d]; k];
    for (i, &c) in y.iter().enumerate() {
        cnt[c] += 1;
        for (s, &v) in sum[c].iter_mut().zip(x.row(i)) {
            *s += v as f64;
        }
    }
    let mean: Vec<Vec<f64>> = (0..k)
        .map(|c| sum[c].iter().map(|s| s / cnt[c].max(1) as f64).collect())
        .collect();
    let mut ss = vec![vec![0.0f64; d]; k];
    for (i, &c) in y.iter().enumerate() {
        for ((s, &v), m) in ss[c].iter_mut().zip(x.row(i)).zip(&mean[c]) {
            *s += (v as f64 - m).powi(2);
        }
    }
    let var = (0..k)
        .map(|c| {
            ss[c]
                .iter()
                .map(|s| s / (cnt[c] as f64 - 1.0).max(1.0))
                .collect()
        })
        .collect();
    (mean, var, cnt)
}

/// Signed Welch t per column (class 1 minus class 0); zero-variance columns get 0.
pub fn welch_t(x: &Matrix, y: &[usize]) -> Result<Vec<f64>> {
    check(x, y)?;
    let k = n_classes(y, "Welch t")?;
    if k != 2 {
        return Err(ProbeError::Data {
            what: "Welch t".into(),
            reason: format!("needs a binary label, got {k} classes"),
        });
    }
    let (m, v, n) = class_moments(x, y, 2);
    Ok((0..x.cols)
        .map(|j| {
            let se = (v[1][j] / n[1] as f64 + v[0][j] / n[0] as f64).sqrt();
            if se > 0.0 {
                (m[1][j] - m[0][j]) / se
            } else {
                0.0
            }
        })
        .collect())
}

/// One-way ANOVA F per column (scikit-learn `f_classif`); zero within-class variance gives 0.
pub fn anova_f(x: &Matrix, y: &[usize]) -> Result<Vec<f64>> {
    check(x, y)?;
    let k = n_classes(y, "ANOVA F")?;
    let (m, v, n) = class_moments(x, y, k);
    let ntot = y.len() as f64;
    let present: Vec<usize> = (0..k).filter(|&c| n[c] > 0).collect();
    let kp = present.len() as f64;
    Ok((0..x.cols)
        .map(|j| {
            let grand = present.iter().map(|&c| m[c][j] * n[c] as f64).sum::<f64>() / ntot;
            let ssb: f64 = present
                .iter()
                .map(|&c| n[c] as f64 * (m[c][j] - grand).powi(2))
                .sum();
            let ssw: f64 = present
                .iter()
                .map(|&c| v[c][j] * (n[c] as f64 - 1.0).max(0.0))
                .sum();
            if ssw > 0.0 {
                (ssb / (kp - 1.0)) / (ssw / (ntot - kp))
            } else {
                0.0
            }
        })
        .collect())
}

/// Mean-difference scores (see [`RankMethod::MeanDiff`]).
pub fn mean_diff(x: &Matrix, y: &[usize]) -> Result<Vec<f64>> {
    check(x, y)?;
    let k = n_classes(y, "mean difference")?;
    let (m, _, n) = class_moments(x, y, k);
    let present: Vec<usize> = (0..k).filter(|&c| n[c] > 0).collect();
    Ok((0..x.cols)
        .map(|j| {
            let mut s = 0.0;
            for (a, &ca) in present.iter().enumerate() {
                for &cb in &present[a + 1..] {
                    s += (m[ca][j] - m[cb][j]).abs();
                }
            }
            s
        })
        .collect())
}

fn check(x: &Matrix, y: &[usize]) -> Result<()> {
    if x.rows != y.len() {
        return Err(ProbeError::Shape {
            what: "labels vs rows".into(),
            expected: x.rows,
            got: y.len(),
        });
    }
    Ok(())
}

/// Non-negative importance score per neuron for `method` (larger = more informative).
pub fn scores(x: &Matrix, y: &[usize], method: RankMethod) -> Result<Vec<f64>> {
    match method {
        RankMethod::WelchT => Ok(welch_t(x, y)?.into_iter().map(f64::abs).collect()),
        RankMethod::AnovaF => anova_f(x, y),
        RankMethod::MeanDiff => mean_diff(x, y),
        RankMethod::L1 { c } => {
            let s = crate::data::Standardizer::fit(x, 1e-6);
            let z = s.transform(x)?;
            let p = LogisticParams {
                c,
                penalty: Penalty::L1,
                class_weight: ClassWeight::Balanced,
                max_iter: 300,
                ..Default::default()
            };
            Ok(LogisticRegression::fit(&z, y, &p)?.feature_importance())
        }
    }
}

/// Neuron indices sorted by descending score (ties by index).
pub fn rank(scores: &[f64]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    idx
}

/// Average ranks (1-based; ties get the mean of their positions), as scipy's `rankdata`.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut r = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && v[idx[j + 1]] == v[idx[i]] {
            j += 1;
        }
        let avg = (i + j) as f64 / 2.0 + 1.0;
        for &k in &idx[i..=j] {
            r[k] = avg;
        }
        i = j + 1;
    }
    r
}

/// Spearman rank correlation with average ranks for ties (NaN if either input is constant).
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (ra, rb) = (average_ranks(a), average_ranks(b));
    pearson(&ra, &rb)
}

/// Pearson correlation (NaN if either input is constant).
pub fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        sab += (x - ma) * (y - mb);
        saa += (x - ma).powi(2);
        sbb += (y - mb).powi(2);
    }
    sab / (saa * sbb).sqrt()
}

/// The largest Spearman ρ attainable between `a` and any reordering of `b`'s values (same ties, perfect order):
/// ρ(a, b_opt) where `b_opt` gives `b`'s sorted values to `a`'s order.
pub fn spearman_max(a: &[f64], b: &[f64]) -> f64 {
    let mut vals = b.to_vec();
    vals.sort_by(f64::total_cmp);
    let mut idx: Vec<usize> = (0..a.len()).collect();
    idx.sort_by(|&i, &j| a[i].total_cmp(&a[j]));
    let mut opt = vec![0.0; a.len()];
    for (pos, &i) in idx.iter().enumerate() {
        opt[i] = vals[pos];
    }
    spearman(a, &opt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_on_a_hand_example() {
        // col0: class0 {1,2,3} mean 2 var 1; class1 {5,6,7,8} mean 6.5 var 5/3.
        let x = Matrix::new(
            7,
            2,
            vec![1., 0., 2., 0., 3., 1., 5., 1., 6., 0., 7., 1., 8., 0.],
        )
        .unwrap();
        let y = [0, 0, 0, 1, 1, 1, 1];
        let t = welch_t(&x, &y).unwrap();
        let want = 4.5 / (1.0f64 / 3.0 + (5.0 / 3.0) / 4.0).sqrt();
        assert!((t[0] - want).abs() < 1e-12);
        let f = anova_f(&x, &y).unwrap();
        // grand mean 32/7; SSB = 3(2-32/7)^2 + 4(6.5-32/7)^2; SSW = 2 + 5.
        let g = 32.0 / 7.0;
        let ssb = 3.0 * (2.0f64 - g).powi(2) + 4.0 * (6.5f64 - g).powi(2);
        assert!((f[0] - ssb / (7.0 / 5.0)).abs() < 1e-9);
        assert_eq!(mean_diff(&x, &y).unwrap()[0], 4.5);
        assert_eq!(rank(&[0.1, 3.0, 3.0, 2.0]), vec![1, 2, 3, 0]);
        assert_eq!(
            average_ranks(&[10.0, 20.0, 10.0, 30.0]),
            vec![1.5, 3.0, 1.5, 4.0]
        );
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 5.0, 9.0]) - 1.0).abs() < 1e-12);
        let a = [1.0, 2.0, 3.0, 4.0];
        let m = [0.0, 0.0, 0.0, 0.7];
        assert!((spearman_max(&a, &m) - spearman(&a, &m)).abs() < 1e-12);
        assert!(spearman_max(&a, &[0.7, 0.0, 0.0, 0.0]) > spearman(&a, &[0.7, 0.0, 0.0, 0.0]));
        assert!(welch_t(&x, &[0, 1, 2, 0, 1, 2, 0]).is_err());
    }
}

//! Evaluation metrics with scikit-learn / mir_eval 0.8.2 conventions.
//!
//! Classification and regression metrics live here; MIR metrics in [`mir`] (key, beat, onset, notes, melody) and
//! [`chord`], frame-level multi-pitch scores in [`multipitch`]. Every metric is checked value-for-value against the reference packages by the goldens in
//! `tests/golden/metrics`.

pub mod annotations;
pub mod chord;
pub mod mir;
pub mod multipitch;

use crate::error::{ProbeError, Result};

/// Fraction of equal entries (0 for empty input).
pub fn accuracy(y_true: &[usize], y_pred: &[usize]) -> f64 {
    if y_true.is_empty() {
        return 0.0;
    }
    y_true.iter().zip(y_pred).filter(|(a, b)| a == b).count() as f64 / y_true.len() as f64
}

/// Macro-averaged F1 over the labels present in `y_true ∪ y_pred` (scikit-learn `f1_score(average="macro")`,
/// zero division → 0).
pub fn macro_f1(y_true: &[usize], y_pred: &[usize]) -> f64 {
    let mut labels: Vec<usize> = y_true.iter().chain(y_pred).copied().collect();
    labels.sort_unstable();
    labels.dedup();
    if labels.is_empty() {
        return 0.0;
    }
    let f: f64 = labels
        .iter()
        .map(|&c| {
            let tp = y_true
                .iter()
                .zip(y_pred)
                .filter(|&(&a, &b)| a == c && b == c)
                .count() as f64;
            let fp = y_true
                .iter()
                .zip(y_pred)
                .filter(|&(&a, &b)| a != c && b == c)
                .count() as f64;
            let fn_ = y_true
                .iter()
                .zip(y_pred)
                .filter(|&(&a, &b)| a == c && b != c)
                .count() as f64;
            if 2.0 * tp + fp + fn_ == 0.0 {
                0.0
            } else {
                2.0 * tp / (2.0 * tp + fp + fn_)
            }
        })
        .sum();
    f / labels.len() as f64
}

/// Binary ROC-AUC of `scores` for `y_true ∈ {0,1}` (ties handled as scikit-learn's trapezoidal ROC).
pub fn roc_auc(y_true: &[bool], scores: &[f64]) -> Result<f64> {
    let (tps, fps) = binary_clf_curve(y_true, scores)?;
    let (p, n) = (*tps.last().unwrap_or(&0.0), *fps.last().unwrap_or(&0.0));
    if p == 0.0 || n == 0.0 {
        return Err(ProbeError::Data {
            what: "ROC-AUC".into(),
            reason: "only one class present in y_true".into(),
        });
    }
    let mut auc = 0.0;
    let (mut px, mut py) = (0.0, 0.0);
    for (t, f) in tps.iter().zip(&fps) {
        let (x, y) = (f / n, t / p);
        auc += (x - px) * (y + py) / 2.0;
        px = x;
        py = y;
    }
    Ok(auc)
}

/// Average precision (scikit-learn `average_precision_score`, the step-wise PR-AUC): `Σ (R_i − R_{i−1}) P_i`.
/// With no positive in `y_true` the result is 0 (recall is undefined), as scikit-learn 1.9 returns.
pub fn average_precision(y_true: &[bool], scores: &[f64]) -> Result<f64> {
    let (tps, fps) = binary_clf_curve(y_true, scores)?;
    let p = *tps.last().unwrap_or(&0.0);
    if p == 0.0 {
        return Ok(0.0);
    }
    let mut ap = 0.0;
    let mut prev_r = 0.0;
    for (t, f) in tps.iter().zip(&fps) {
        let prec = if t + f > 0.0 { t / (t + f) } else { 0.0 };
        let r = t / p;
        ap += (r - prev_r) * prec;
        prev_r = r;
    }
    Ok(ap)
}

/// Cumulative true/false positives at each distinct threshold (descending scores).
fn binary_clf_curve(y_true: &[bool], scores: &[f64]) -> Result<(Vec<f64>, Vec<f64>)> {
    if y_true.len() != scores.len() {
        return Err(ProbeError::Shape {
            what: "scores vs labels".into(),
            expected: y_true.len(),
            got: scores.len(),
        });
    }
    if y_true.is_empty() {
        return Err(ProbeError::Data {
            what: "ranking metric".into(),
            reason: "empty input".into(),
        });
    }
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut tps, mut fps) = (Vec::new(), Vec::new());
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in idx.iter().enumerate() {
        if y_true[i] {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if k + 1 == idx.len() || scores[idx[k + 1]] != scores[i] {
            tps.push(tp);
            fps.push(fp);
        }
    }
    Ok((tps, fps))
}

/// Macro average of a binary ranking metric over the columns of a multi-label problem
/// (`y_true`, `scores`: row-major `n × labels`).
pub fn macro_over_labels(
    y_true: &[bool],
    scores: &[f64],
    n_labels: usize,
    metric: fn(&[bool], &[f64]) -> Result<f64>,
) -> Result<f64> {
    if n_labels == 0 || y_true.len() != scores.len() || !y_true.len().is_multiple_of(n_labels) {
        return Err(ProbeError::Shape {
            what: "multi-label matrix".into(),
            expected: y_true.len(),
            got: scores.len(),
        });
    }
    let n = y_true.len() / n_labels;
    let mut s = 0.0;
    for c in 0..n_labels {
        let yt: Vec<bool> = (0..n).map(|i| y_true[i * n_labels + c]).collect();
        let sc: Vec<f64> = (0..n).map(|i| scores[i * n_labels + c]).collect();
        s += metric(&yt, &sc)?;
    }
    Ok(s / n_labels as f64)
}

/// Coefficient of determination (scikit-learn `r2_score`, uniform average over `n_targets` columns; a constant
/// target gives 1 if predicted exactly, else 0).
pub fn r2_score(y_true: &[f64], y_pred: &[f64], n_targets: usize) -> Result<f64> {
    if y_true.len() != y_pred.len() || n_targets == 0 || !y_true.len().is_multiple_of(n_targets) {
        return Err(ProbeError::Shape {
            what: "R² inputs".into(),
            expected: y_true.len(),
            got: y_pred.len(),
        });
    }
    let n = y_true.len() / n_targets;
    if n < 2 {
        return Err(ProbeError::Data {
            what: "R²".into(),
            reason: "needs at least two samples".into(),
        });
    }
    let mut total = 0.0;
    for c in 0..n_targets {
        let mean = (0..n).map(|i| y_true[i * n_targets + c]).sum::<f64>() / n as f64;
        let ss_res: f64 = (0..n)
            .map(|i| (y_true[i * n_targets + c] - y_pred[i * n_targets + c]).powi(2))
            .sum();
        let ss_tot: f64 = (0..n)
            .map(|i| (y_true[i * n_targets + c] - mean).powi(2))
            .sum();
        total += if ss_tot == 0.0 {
            if ss_res == 0.0 { 1.0 } else { 0.0 }
        } else {
            1.0 - ss_res / ss_tot
        };
    }
    Ok(total / n_targets as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_metrics_on_hand_examples() {
        assert_eq!(accuracy(&[0, 1, 1, 2], &[0, 1, 2, 2]), 0.75);
        // class0 f1=1, class1: tp1 fn1 → 2/3, class2: tp1 fp1 → 2/3
        assert!(
            (macro_f1(&[0, 1, 1, 2], &[0, 1, 2, 2]) - (1.0 + 2.0 / 3.0 + 2.0 / 3.0) / 3.0).abs()
                < 1e-12
        );
        let y = [false, false, true, true];
        assert_eq!(roc_auc(&y, &[0.1, 0.4, 0.35, 0.8]).unwrap(), 0.75);
        assert!(
            (average_precision(&y, &[0.1, 0.4, 0.35, 0.8]).unwrap() - 0.8333333333333333).abs()
                < 1e-12
        );
        assert!(roc_auc(&[true, true], &[0.1, 0.2]).is_err());
        assert_eq!(
            r2_score(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0], 1).unwrap(),
            1.0
        );
        assert_eq!(r2_score(&[1.0, 1.0], &[1.0, 2.0], 1).unwrap(), 0.0);
    }
}

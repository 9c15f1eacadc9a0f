//! Frame-level multi-pitch metrics with mir_eval 0.8.2's `multipitch.metrics` conventions, for pitch sets on one
//! frame grid (reference and estimate share their frame times, so mir_eval's resampling of the estimate onto the
//! reference times is the identity).
//!
//! Pitches are MIDI numbers; mir_eval matches frequencies within half a semitone, which for integer pitches is
//! equality (`TP_t = |ref_t ∩ est_t|`), and chroma-wraps for the chroma variants (`TP_t = Σ_pc min(#ref_pc,
//! #est_pc)`, the size of a maximum matching of equal pitch classes). Then, with `N_ref`, `N_est` per frame:
//! precision `ΣTP / ΣN_est`, recall `ΣTP / ΣN_ref`, accuracy `ΣTP / Σ(N_est + N_ref − TP)` (each 0 when its
//! denominator is), and Poliner & Ellis's error scores over `ΣN_ref`: substitution `Σ(min(N_ref, N_est) − TP)`,
//! miss `Σ max(0, N_ref − N_est)`, false alarm `Σ max(0, N_est − N_ref)`, total `Σ(max(N_ref, N_est) − TP)` (all 0
//! when there are no reference pitches). `f_measure` is `2PR / (P + R)` (0 when `P + R = 0`), mir_eval's
//! `util.f_measure` of the two; mir_eval itself does not report it for multipitch.

use serde::{Deserialize, Serialize};

/// mir_eval's multipitch scores plus the F-measure of precision and recall.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MultipitchScores {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// Accuracy.
    pub accuracy: f64,
    /// Substitution error.
    pub substitution_error: f64,
    /// Miss error.
    pub miss_error: f64,
    /// False-alarm error.
    pub false_alarm_error: f64,
    /// Total error.
    pub total_error: f64,
    /// `2PR / (P + R)`.
    pub f_measure: f64,
}

/// Pitch and chroma scores.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct MultipitchMetrics {
    /// Exact-pitch scores.
    pub pitch: MultipitchScores,
    /// Octave-folded scores (mir_eval's `Chroma …`).
    pub chroma: MultipitchScores,
}

fn scores(tp: &[f64], n_ref: &[f64], n_est: &[f64]) -> MultipitchScores {
    let s_tp: f64 = tp.iter().sum();
    let s_ref: f64 = n_ref.iter().sum();
    let s_est: f64 = n_est.iter().sum();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let precision = ratio(s_tp, s_est);
    let recall = ratio(s_tp, s_ref);
    let acc_denom: f64 = (0..tp.len()).map(|t| n_est[t] + n_ref[t] - tp[t]).sum();
    let accuracy = ratio(s_tp, acc_denom);
    let sum = |f: &dyn Fn(usize) -> f64| (0..tp.len()).map(f).sum::<f64>();
    let (sub, miss, fa, tot) = if s_ref == 0.0 {
        (0.0, 0.0, 0.0, 0.0)
    } else {
        (
            sum(&|t| n_ref[t].min(n_est[t]) - tp[t]) / s_ref,
            sum(&|t| (n_ref[t] - n_est[t]).max(0.0)) / s_ref,
            sum(&|t| (n_est[t] - n_ref[t]).max(0.0)) / s_ref,
            sum(&|t| n_ref[t].max(n_est[t]) - tp[t]) / s_ref,
        )
    };
    MultipitchScores {
        precision,
        recall,
        accuracy,
        substitution_error: sub,
        miss_error: miss,
        false_alarm_error: fa,
        total_error: tot,
        f_measure: if precision + recall > 0.0 {
            2.0 * precision * recall / (precision + recall)
        } else {
            0.0
        },
    }
}

/// Scores of estimated pitch sets against reference pitch sets, frame by frame (`reference.len()` frames; missing
/// estimate frames count as empty, extra ones are ignored, as after mir_eval's resampling). Repeated pitches
/// within a frame count once.
pub fn multipitch(reference: &[Vec<u8>], estimate: &[Vec<u8>]) -> MultipitchMetrics {
    let n = reference.len();
    let empty = Vec::new();
    let mut tp = vec![0.0; n];
    let mut tp_c = vec![0.0; n];
    let mut n_ref = vec![0.0; n];
    let mut n_est = vec![0.0; n];
    for t in 0..n {
        let mut r = reference[t].clone();
        let mut e = estimate.get(t).unwrap_or(&empty).clone();
        r.sort_unstable();
        r.dedup();
        e.sort_unstable();
        e.dedup();
        n_ref[t] = r.len() as f64;
        n_est[t] = e.len() as f64;
        tp[t] = r.iter().filter(|p| e.binary_search(p).is_ok()).count() as f64;
        let (mut cr, mut ce) = ([0usize; 12], [0usize; 12]);
        for &p in &r {
            cr[p as usize % 12] += 1;
        }
        for &p in &e {
            ce[p as usize % 12] += 1;
        }
        tp_c[t] = (0..12).map(|c| cr[c].min(ce[c])).sum::<usize>() as f64;
    }
    MultipitchMetrics {
        pitch: scores(&tp, &n_ref, &n_est),
        chroma: scores(&tp_c, &n_ref, &n_est),
    }
}

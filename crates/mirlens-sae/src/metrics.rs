//! Evaluation metrics with one exact definition each (reference §6).
//!
//! * **FVU** = Σ_t ‖x_t − x̂_t‖² / Σ_t ‖x_t − x̄‖², x̄ the mean over the whole evaluation set, computed in two passes
//!   with f64 accumulators; EV = 1 − FVU. Reported in the SAE input space (`fvu`) and in the raw activation space
//!   (`fvu_raw`, after inverting the input normalisation; equal to `fvu` when there is none).
//! * **L0** = mean_t #{i : z_ti > 0}.
//! * **Density** p_i = #{t : z_ti > 0} / N; **dead fraction** = #{i : p_i = 0}/n; **dense fraction** = #{i : p_i > 0.1}/n.
//! * **Log-density histogram** of log10(p_i + 1e-10) over [-10, 0] in 20 bins, plus counts with p_i < 1e-5, < 1e-6.
//! * **Cosine** = mean_t cos(x_t, x̂_t); **ℓ2 ratio** = mean_t ‖x̂_t‖/‖x_t‖ (both in SAE input space; rows with a
//!   zero norm are skipped).
//! * **Relative reconstruction bias** γ = E‖x̂‖² / E⟨x, x̂⟩ (1 = unbiased, < 1 = shrinkage), SAE input space.

use crate::error::Result;
use crate::linalg::{dot, norm2_f64};
use crate::sae::Sae;
use crate::source::ActivationSource;
use serde::{Deserialize, Serialize};

/// Density above which a latent counts as dense.
pub const DENSE_THRESHOLD: f64 = 0.1;
/// Epsilon inside the log-density histogram.
pub const LOG_DENSITY_EPS: f64 = 1e-10;
/// Number of log-density bins over [-10, 0].
pub const LOG_DENSITY_BINS: usize = 20;

/// Histogram of log10(p_i + 1e-10).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogDensityHistogram {
    /// Bin edges (LOG_DENSITY_BINS + 1 values from -10 to 0).
    pub edges: Vec<f64>,
    /// Latents per bin.
    pub counts: Vec<u64>,
    /// Latents with p_i < 1e-5.
    pub below_1e5: u64,
    /// Latents with p_i < 1e-6.
    pub below_1e6: u64,
}

impl LogDensityHistogram {
    /// Build from densities.
    pub fn from_density(density: &[f64]) -> Self {
        let lo = -10.0;
        let w = 10.0 / LOG_DENSITY_BINS as f64;
        let edges: Vec<f64> = (0..=LOG_DENSITY_BINS).map(|i| lo + w * i as f64).collect();
        let mut counts = vec![0u64; LOG_DENSITY_BINS];
        for &p in density {
            let l = (p + LOG_DENSITY_EPS).log10();
            let b =
                (((l - lo) / w).floor() as isize).clamp(0, LOG_DENSITY_BINS as isize - 1) as usize;
            counts[b] += 1;
        }
        LogDensityHistogram {
            edges,
            counts,
            below_1e5: density.iter().filter(|&&p| p < 1e-5).count() as u64,
            below_1e6: density.iter().filter(|&&p| p < 1e-6).count() as u64,
        }
    }
}

/// Metrics of an SAE on an evaluation set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalMetrics {
    /// Evaluation tokens N.
    pub n_tokens: u64,
    /// FVU in SAE input space.
    pub fvu: f64,
    /// FVU in raw activation space.
    pub fvu_raw: f64,
    /// 1 − fvu.
    pub explained_variance: f64,
    /// Mean squared error per token, Σ‖x − x̂‖²/N (SAE input space).
    pub mse_per_token: f64,
    /// Mean active latents per token.
    pub l0: f64,
    /// Fraction of latents that never fired on the set.
    pub dead_fraction: f64,
    /// Fraction of latents with density > 0.1.
    pub dense_fraction: f64,
    /// mean_t cos(x_t, x̂_t).
    pub cosine: f64,
    /// mean_t ‖x̂_t‖/‖x_t‖.
    pub l2_ratio: f64,
    /// E‖x̂‖² / E⟨x, x̂⟩.
    pub relative_reconstruction_bias: f64,
    /// Log-density histogram.
    pub log_density: LogDensityHistogram,
    /// Per-latent density p_i.
    pub density: Vec<f64>,
}

/// Rows per evaluation chunk.
const EVAL_CHUNK: usize = 2048;

/// Evaluate `sae` on rows `rows` of `src` (raw activations; the SAE applies its own input transform).
pub fn evaluate(sae: &Sae, src: &dyn ActivationSource, rows: &[usize]) -> Result<EvalMetrics> {
    let d = sae.d_in;
    if src.d_in() != d {
        return Err(crate::SaeError::shape("activation width", d, src.d_in()));
    }
    let n_tok = rows.len();
    // pass 1: means in both spaces
    let mut mean_raw = vec![0.0f64; d];
    let mut mean_sae = vec![0.0f64; d];
    let mut buf = Vec::new();
    for chunk in rows.chunks(EVAL_CHUNK) {
        buf.resize(chunk.len() * d, 0.0);
        src.fill_rows(chunk, &mut buf)?;
        for r in buf.chunks_exact(d) {
            r.iter()
                .zip(mean_raw.iter_mut())
                .for_each(|(&v, m)| *m += v as f64);
        }
        sae.transform_input(&mut buf);
        for r in buf.chunks_exact(d) {
            r.iter()
                .zip(mean_sae.iter_mut())
                .for_each(|(&v, m)| *m += v as f64);
        }
    }
    let nf = n_tok.max(1) as f64;
    mean_raw
        .iter_mut()
        .chain(mean_sae.iter_mut())
        .for_each(|m| *m /= nf);

    let mut acc = Acc {
        density: vec![0u64; sae.n],
        ..Default::default()
    };
    for chunk in rows.chunks(EVAL_CHUNK) {
        buf.resize(chunk.len() * d, 0.0);
        src.fill_rows(chunk, &mut buf)?;
        let raw = buf.clone();
        let stats = sae.transform_input(&mut buf);
        let codes = sae.encode_normalized(&buf)?;
        let mut y = sae.decode(&codes);
        for b in 0..chunk.len() {
            let x = &buf[b * d..(b + 1) * d];
            let yh = &y[b * d..(b + 1) * d];
            let (ii, _) = codes.row(b);
            acc.l0 += ii.len() as f64;
            for &i in ii {
                acc.density[i as usize] += 1;
            }
            let mut res = 0.0f64;
            let mut var = 0.0f64;
            for j in 0..d {
                res += ((x[j] - yh[j]) as f64).powi(2);
                var += (x[j] as f64 - mean_sae[j]).powi(2);
            }
            acc.res += res;
            acc.var += var;
            let nx = norm2_f64(x);
            let ny = norm2_f64(yh);
            let xy = dot(x, yh) as f64;
            acc.yy += ny;
            acc.xy += xy;
            if nx > 0.0 {
                acc.l2 += (ny / nx).sqrt();
                acc.n_nonzero += 1;
                if ny > 0.0 {
                    acc.cos += xy / (nx.sqrt() * ny.sqrt());
                }
            }
        }
        // raw space
        for (b, s) in stats.iter().enumerate() {
            let yh = &mut y[b * d..(b + 1) * d];
            sae.input.invert_row(yh, *s);
            let x = &raw[b * d..(b + 1) * d];
            for j in 0..d {
                acc.res_raw += ((x[j] - yh[j]) as f64).powi(2);
                acc.var_raw += (x[j] as f64 - mean_raw[j]).powi(2);
            }
        }
    }
    let density: Vec<f64> = acc.density.iter().map(|&c| c as f64 / nf).collect();
    let n = sae.n.max(1) as f64;
    let fvu = if acc.var > 0.0 {
        acc.res / acc.var
    } else {
        f64::NAN
    };
    let nz = acc.n_nonzero.max(1) as f64;
    Ok(EvalMetrics {
        n_tokens: n_tok as u64,
        fvu,
        fvu_raw: if acc.var_raw > 0.0 {
            acc.res_raw / acc.var_raw
        } else {
            f64::NAN
        },
        explained_variance: 1.0 - fvu,
        mse_per_token: acc.res / nf,
        l0: acc.l0 / nf,
        dead_fraction: density.iter().filter(|&&p| p == 0.0).count() as f64 / n,
        dense_fraction: density.iter().filter(|&&p| p > DENSE_THRESHOLD).count() as f64 / n,
        cosine: acc.cos / nz,
        l2_ratio: acc.l2 / nz,
        relative_reconstruction_bias: if acc.xy != 0.0 {
            acc.yy / acc.xy
        } else {
            f64::NAN
        },
        log_density: LogDensityHistogram::from_density(&density),
        density,
    })
}

#[derive(Default)]
struct Acc {
    res: f64,
    var: f64,
    res_raw: f64,
    var_raw: f64,
    l0: f64,
    cos: f64,
    l2: f64,
    yy: f64,
    xy: f64,
    n_nonzero: u64,
    density: Vec<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sae::Architecture;
    use crate::source::Matrix;

    /// FVU against a direct transcription of the definition on a tiny case.
    #[test]
    fn fvu_is_a_ratio_of_sums_about_the_global_mean() {
        // An SAE with no latents reconstructs every row as b_dec.
        let d = 2;
        let mut sae = Sae::zeros(Architecture::Relu, d, 1);
        sae.b_dec = vec![1.0, 0.0];
        let x = Matrix::new(3, 2, vec![1.0, 1.0, 3.0, 1.0, 2.0, 4.0]).unwrap();
        let m = evaluate(&sae, &x, &[0, 1, 2]).unwrap();
        // residuals: (0,1),(2,1),(1,4) → 1+5+17 = 23; about the mean (2,2): (-1,-1),(1,-1),(0,2) → 2+2+4 = 8
        assert!((m.fvu - 23.0 / 8.0).abs() < 1e-12);
        assert_eq!(m.l0, 0.0);
        assert_eq!(m.dead_fraction, 1.0);
        // γ = E‖x̂‖²/E⟨x,x̂⟩ = 1 / ((1+3+2)/3)
        assert!((m.relative_reconstruction_bias - 0.5).abs() < 1e-12);
    }

    #[test]
    fn log_density_histogram_bins() {
        let h = LogDensityHistogram::from_density(&[0.0, 1e-7, 0.5, 1.0]);
        assert_eq!(h.counts.iter().sum::<u64>(), 4);
        assert_eq!(h.counts[0], 1); // p = 0 → log10(1e-10) = -10
        assert_eq!(h.counts[LOG_DENSITY_BINS - 1], 2);
        assert_eq!(h.below_1e6, 2);
    }
}

//! MFCC (`librosa.feature.mfcc`): DCT-II (orthonormal) of the log-mel spectrogram, optional liftering.

use super::db::{DbParams, power_to_db};
use super::mel::{MelSpectrogram, MelSpectrogramParams};
use super::{FrontendError, Spectrogram, invalid};

/// MFCC parameters (librosa defaults: 20 coefficients, no liftering, log-mel with `power_to_db` defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MfccParams {
    /// Mel spectrogram.
    pub mel: MelSpectrogramParams,
    /// dB conversion of the mel spectrogram.
    pub db: DbParams,
    /// Number of coefficients (≤ n_mels).
    pub n_mfcc: usize,
    /// Liftering coefficient `L` (0 = none): `C_k · (1 + L/2 · sin(π(k+1)/L))`.
    pub lifter: f32,
}

impl Default for MfccParams {
    fn default() -> Self {
        MfccParams {
            mel: MelSpectrogramParams::default(),
            db: DbParams::power(),
            n_mfcc: 20,
            lifter: 0.0,
        }
    }
}

impl MfccParams {
    /// Validate.
    pub fn check(&self) -> Result<(), FrontendError> {
        self.mel.check()?;
        self.db.check()?;
        if self.n_mfcc == 0 || self.n_mfcc > self.mel.mel.n_mels {
            return Err(invalid(
                "n_mfcc",
                format!("1 ≤ n_mfcc ≤ n_mels = {}", self.mel.mel.n_mels),
                self.n_mfcc,
            ));
        }
        if !(self.lifter.is_finite() && self.lifter >= 0.0) {
            return Err(invalid("lifter", "lifter ≥ 0", self.lifter));
        }
        Ok(())
    }
}

/// A planned MFCC extractor.
#[derive(Debug, Clone)]
pub struct Mfcc {
    mel: MelSpectrogram,
    db: DbParams,
    n_mfcc: usize,
    /// `[n_mfcc, n_mels]` DCT-II ortho matrix with the lifter folded in.
    dct: Vec<f32>,
}

/// The orthonormal DCT-II matrix `[n_out, n]` (`scipy.fft.dct(type=2, norm='ortho')`).
pub fn dct2_ortho(n_out: usize, n: usize) -> Vec<f64> {
    let mut m = vec![0f64; n_out * n];
    for k in 0..n_out {
        let s = if k == 0 {
            (1.0 / n as f64).sqrt()
        } else {
            (2.0 / n as f64).sqrt()
        };
        for i in 0..n {
            m[k * n + i] =
                s * (std::f64::consts::PI * k as f64 * (2 * i + 1) as f64 / (2 * n) as f64).cos();
        }
    }
    m
}

impl Mfcc {
    /// Validate and plan.
    pub fn new(p: &MfccParams) -> Result<Self, FrontendError> {
        p.check()?;
        let n_mels = p.mel.mel.n_mels;
        let mut d = dct2_ortho(p.n_mfcc, n_mels);
        if p.lifter > 0.0 {
            let l = p.lifter as f64;
            for k in 0..p.n_mfcc {
                let g = 1.0 + (l / 2.0) * (std::f64::consts::PI * (k + 1) as f64 / l).sin();
                for v in &mut d[k * n_mels..(k + 1) * n_mels] {
                    *v *= g;
                }
            }
        }
        Ok(Mfcc {
            mel: MelSpectrogram::new(&p.mel)?,
            db: p.db,
            n_mfcc: p.n_mfcc,
            dct: d.into_iter().map(|v| v as f32).collect(),
        })
    }

    /// The log-mel spectrogram the coefficients are taken from.
    pub fn log_mel(&self, y: &[f32]) -> Result<Spectrogram, FrontendError> {
        let mut s = self.mel.compute(y)?;
        power_to_db(&mut s.data, &self.db)?;
        Ok(s)
    }

    /// MFCCs `[n_mfcc, frames]`.
    pub fn compute(&self, y: &[f32]) -> Result<Spectrogram, FrontendError> {
        let s = self.log_mel(y)?;
        Ok(self.from_log_mel(&s))
    }

    /// Number of coefficients per frame.
    pub fn n_mfcc(&self) -> usize {
        self.n_mfcc
    }

    /// MFCCs of one log-mel frame (`n_mels` values, `top_db` floor already applied) into `out` (`n_mfcc` values),
    /// with the same arithmetic as [`Mfcc::from_log_mel`] (so a frame-by-frame computation is bit-identical).
    pub fn frame_from_log_mel(&self, col: &[f32], out: &mut [f32]) {
        let n_mels = col.len();
        for (k, o) in out.iter_mut().enumerate().take(self.n_mfcc) {
            let row = &self.dct[k * n_mels..(k + 1) * n_mels];
            let mut acc = 0f32;
            for (&w, &sv) in row.iter().zip(col) {
                acc += w * sv;
            }
            *o = acc;
        }
    }

    /// MFCCs from a precomputed log-mel spectrogram `[n_mels, frames]`.
    pub fn from_log_mel(&self, s: &Spectrogram) -> Spectrogram {
        let n_mels = s.n_bins;
        let mut out = Spectrogram::zeros(self.n_mfcc, s.n_frames);
        for k in 0..self.n_mfcc {
            let row = &self.dct[k * n_mels..(k + 1) * n_mels];
            let o = &mut out.data[k * s.n_frames..(k + 1) * s.n_frames];
            for (i, &w) in row.iter().enumerate() {
                for (ov, &sv) in o.iter_mut().zip(s.row(i)) {
                    *ov += w * sv;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dct_matrix_is_orthonormal() {
        let n = 16;
        let d = dct2_ortho(n, n);
        for a in 0..n {
            for b in 0..n {
                let s: f64 = (0..n).map(|i| d[a * n + i] * d[b * n + i]).sum();
                assert!((s - if a == b { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn n_mfcc_above_n_mels_is_rejected() {
        let p = MfccParams {
            n_mfcc: 129,
            ..MfccParams::default()
        };
        assert!(matches!(
            Mfcc::new(&p),
            Err(FrontendError::InvalidParameter {
                parameter: "n_mfcc",
                ..
            })
        ));
    }
}

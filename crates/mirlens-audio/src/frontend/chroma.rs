//! Chroma features: `librosa.feature.chroma_stft` and `chroma_cqt`, with their filterbanks.

use super::cqt::{C1_HZ, Cqt, CqtParams};
use super::stft::{Stft, StftParams};
use super::tuning::{Tuning, estimate_tuning_from_signal, estimate_tuning_from_spectrogram};
use super::{FrontendError, Spectrogram, invalid};

/// Chroma filterbank parameters (`librosa.filters.chroma`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChromaFilterParams {
    /// Sample rate in Hz.
    pub sr: f64,
    /// FFT size.
    pub n_fft: usize,
    /// Number of chroma classes (default 12).
    pub n_chroma: usize,
    /// Tuning in fractions of a chroma bin.
    pub tuning: f64,
    /// Centre octave of the Gaussian octave weighting (default 5.0); `None` disables it.
    pub ctroct_octwidth: Option<(f64, f64)>,
    /// Start at C (default) rather than A.
    pub base_c: bool,
}

impl ChromaFilterParams {
    /// librosa defaults.
    pub fn librosa(sr: f64, n_fft: usize, tuning: f64) -> Self {
        ChromaFilterParams {
            sr,
            n_fft,
            n_chroma: 12,
            tuning,
            ctroct_octwidth: Some((5.0, 2.0)),
            base_c: true,
        }
    }
}

/// The dense chroma filterbank `[n_chroma, 1 + n_fft/2]`, row-major (column L2 norm, octave weighting).
pub fn chroma_filterbank(p: &ChromaFilterParams) -> Result<Vec<f32>, FrontendError> {
    if p.n_fft < 2 {
        return Err(invalid("n_fft", "n_fft ≥ 2", p.n_fft));
    }
    if p.n_chroma == 0 {
        return Err(invalid("n_chroma", "n_chroma > 0", p.n_chroma));
    }
    let nc = p.n_chroma as f64;
    let a440 = 440.0 * 2f64.powf(p.tuning / nc);
    let mut frqbins: Vec<f64> = (1..p.n_fft)
        .map(|k| nc * (k as f64 * p.sr / p.n_fft as f64 / (a440 / 16.0)).log2())
        .collect();
    frqbins.insert(0, frqbins[0] - 1.5 * nc);
    let nf = frqbins.len();
    let widths: Vec<f64> = (0..nf)
        .map(|i| {
            if i + 1 < nf {
                (frqbins[i + 1] - frqbins[i]).max(1.0)
            } else {
                1.0
            }
        })
        .collect();
    let half = (nc / 2.0).round_ties_even();
    let mut w = vec![0f64; p.n_chroma * nf];
    for c in 0..p.n_chroma {
        for f in 0..nf {
            let d = (frqbins[f] - c as f64 + half + 10.0 * nc).rem_euclid(nc) - half;
            w[c * nf + f] = (-0.5 * (2.0 * d / widths[f]).powi(2)).exp();
        }
    }
    for f in 0..nf {
        let norm = (0..p.n_chroma)
            .map(|c| w[c * nf + f].powi(2))
            .sum::<f64>()
            .sqrt();
        if norm >= f64::MIN_POSITIVE {
            for c in 0..p.n_chroma {
                w[c * nf + f] /= norm;
            }
        }
        if let Some((ctroct, octwidth)) = p.ctroct_octwidth {
            let g = (-0.5 * ((frqbins[f] / nc - ctroct) / octwidth).powi(2)).exp();
            for c in 0..p.n_chroma {
                w[c * nf + f] *= g;
            }
        }
    }
    let roll = if p.base_c { 3 * (p.n_chroma / 12) } else { 0 };
    let keep = 1 + p.n_fft / 2;
    let mut out = vec![0f32; p.n_chroma * keep];
    for r in 0..p.n_chroma {
        let src = (r + roll) % p.n_chroma;
        for f in 0..keep {
            out[r * keep + f] = w[src * nf + f] as f32;
        }
    }
    Ok(out)
}

/// Per-frame ∞-norm normalisation (frames whose maximum is below the smallest normal f32 are left as they are).
pub fn normalize_inf(s: &mut Spectrogram) {
    for t in 0..s.n_frames {
        let m = (0..s.n_bins)
            .map(|b| s.data[b * s.n_frames + t].abs())
            .fold(0f32, f32::max);
        if m >= f32::MIN_POSITIVE {
            for b in 0..s.n_bins {
                s.data[b * s.n_frames + t] /= m;
            }
        }
    }
}

fn matmul(w: &[f32], rows: usize, s: &Spectrogram) -> Spectrogram {
    let mut out = Spectrogram::zeros(rows, s.n_frames);
    for r in 0..rows {
        let o = &mut out.data[r * s.n_frames..(r + 1) * s.n_frames];
        for k in 0..s.n_bins {
            let wk = w[r * s.n_bins + k];
            if wk != 0.0 {
                for (ov, &sv) in o.iter_mut().zip(s.row(k)) {
                    *ov += wk * sv;
                }
            }
        }
    }
    out
}

/// `chroma_stft` parameters (librosa defaults: n_fft 2048, hop 512, power 2, tuning estimated, 12 classes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChromaStftParams {
    /// Sample rate in Hz.
    pub sr: f64,
    /// STFT.
    pub stft: StftParams,
    /// Tuning (default estimated).
    pub tuning: Tuning,
    /// Number of chroma classes.
    pub n_chroma: usize,
}

impl ChromaStftParams {
    /// librosa defaults at a sample rate.
    pub fn librosa(sr: f64) -> Self {
        ChromaStftParams {
            sr,
            stft: StftParams::new(2048, 512),
            tuning: Tuning::Estimate,
            n_chroma: 12,
        }
    }
}

/// `chroma_stft`. Returns `[n_chroma, frames]` and the tuning used.
pub fn chroma_stft(p: &ChromaStftParams, y: &[f32]) -> Result<(Spectrogram, f64), FrontendError> {
    let stft = Stft::new(&p.stft)?;
    let s = stft.spectrogram(y, 2.0)?;
    let tuning = match p.tuning {
        Tuning::Fixed(t) => t,
        Tuning::Estimate => estimate_tuning_from_spectrogram(&s, p.sr, p.n_chroma)?,
    };
    let fb = chroma_filterbank(&ChromaFilterParams {
        n_chroma: p.n_chroma,
        ..ChromaFilterParams::librosa(p.sr, p.stft.n_fft, tuning)
    })?;
    let mut c = matmul(&fb, p.n_chroma, &s);
    normalize_inf(&mut c);
    Ok((c, tuning))
}

/// `filters.cq_to_chroma(n_input, bins_per_octave, n_chroma, fmin)`: `[n_chroma, n_input]` folding matrix.
pub fn cq_to_chroma(
    n_input: usize,
    bins_per_octave: usize,
    n_chroma: usize,
    fmin: f64,
) -> Result<Vec<f32>, FrontendError> {
    if n_chroma == 0 || !bins_per_octave.is_multiple_of(n_chroma) {
        return Err(invalid(
            "bins_per_octave",
            format!("a multiple of n_chroma = {n_chroma}"),
            bins_per_octave,
        ));
    }
    let merge = bins_per_octave / n_chroma;
    let shift = merge / 2;
    let midi0 = (12.0 * (fmin / 440.0).log2() + 69.0).rem_euclid(12.0);
    let roll = (midi0 * n_chroma as f64 / 12.0).round() as i64;
    let mut out = vec![0f32; n_chroma * n_input];
    for j in 0..n_input {
        // column j of the tiled, column-rolled repeat(eye)
        let jj = (j % bins_per_octave + shift) % bins_per_octave;
        let class = jj / merge;
        let row = (class as i64 + roll).rem_euclid(n_chroma as i64) as usize;
        out[row * n_input + j] = 1.0;
    }
    Ok(out)
}

/// `chroma_cqt` parameters (librosa defaults: hop 512, C1, 7 octaves × 36 bins, tuning estimated, threshold 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChromaCqtParams {
    /// CQT parameters (`n_bins` = octaves × `bins_per_octave`).
    pub cqt: CqtParams,
    /// Number of chroma classes.
    pub n_chroma: usize,
    /// Values below this are zeroed before normalisation.
    pub threshold: f32,
}

impl ChromaCqtParams {
    /// librosa defaults at a sample rate.
    pub fn librosa(sr: f64) -> Self {
        ChromaCqtParams {
            cqt: CqtParams {
                sr,
                n_bins: 7 * 36,
                bins_per_octave: 36,
                tuning: Tuning::Estimate,
                ..CqtParams::default()
            },
            n_chroma: 12,
            threshold: 0.0,
        }
    }
}

/// `chroma_cqt`. Returns `[n_chroma, frames]` and the tuning used.
pub fn chroma_cqt(p: &ChromaCqtParams, y: &[f32]) -> Result<(Spectrogram, f64), FrontendError> {
    let tuning = match p.cqt.tuning {
        Tuning::Fixed(t) => t,
        Tuning::Estimate => estimate_tuning_from_signal(y, p.cqt.sr, p.cqt.bins_per_octave)?,
    };
    let cqt = Cqt::new(&CqtParams {
        tuning: Tuning::Fixed(tuning),
        ..p.cqt
    })?;
    let c = cqt.magnitude(y)?;
    let m = cq_to_chroma(
        c.n_bins,
        p.cqt.bins_per_octave,
        p.n_chroma,
        p.cqt.fmin.unwrap_or(C1_HZ),
    )?;
    let mut out = matmul(&m, p.n_chroma, &c);
    for v in &mut out.data {
        if *v < p.threshold {
            *v = 0.0;
        }
    }
    normalize_inf(&mut out);
    Ok((out, tuning))
}

//! Tuning estimation (`librosa.estimate_tuning`, `piptrack`, `pitch_tuning`).

use super::stft::{Stft, StftParams};
use super::{FrontendError, Spectrogram, invalid};

/// Tuning offset in fractions of a bin: fixed, or estimated from the signal (librosa `tuning=None`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tuning {
    /// A fixed offset in `[-0.5, 0.5)` bins (0.0 = A440).
    Fixed(f64),
    /// Estimate with `estimate_tuning`.
    Estimate,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning::Fixed(0.0)
    }
}

/// `piptrack` peaks of one spectrogram: `(pitch_hz, magnitude)` of every retained local maximum, frame by frame.
///
/// Parabolic interpolation over frequency, threshold `0.1 · max(frame)`, `fmin ≤ f < fmax` (librosa defaults
/// 150 Hz and 4 kHz). `s` is `[1 + n_fft/2, frames]` (magnitude or power, as given).
pub fn piptrack(s: &Spectrogram, sr: f64, fmin: f64, fmax: f64, threshold: f32) -> Vec<(f32, f32)> {
    let n = s.n_bins;
    if n < 3 {
        return Vec::new();
    }
    let n_fft = 2 * (n - 1);
    let fmin = fmin.max(0.0);
    let fmax = fmax.min(sr / 2.0);
    let fft_freq = |k: usize| k as f64 * (sr / 2.0) / (n - 1) as f64;
    let mut out = Vec::new();
    let mut col = vec![0f32; n];
    let mut masked = vec![0f32; n];
    for t in 0..s.n_frames {
        for (k, c) in col.iter_mut().enumerate() {
            *c = s.data[k * s.n_frames + t];
        }
        let ref_value = threshold * col.iter().fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        for (m, &c) in masked.iter_mut().zip(&col) {
            *m = if c > ref_value { c } else { 0.0 };
        }
        for k in 1..n {
            let is_max = if k == n - 1 {
                masked[k] > masked[k - 1]
            } else {
                masked[k] > masked[k - 1] && masked[k] >= masked[k + 1]
            };
            let f = fft_freq(k);
            if !(is_max && fmin <= f && f < fmax) {
                continue;
            }
            let (shift, avg) = if k == n - 1 {
                (0f32, col[k] - col[k - 1])
            } else {
                let a = col[k + 1] + col[k - 1] - 2.0 * col[k];
                let b = (col[k + 1] - col[k - 1]) / 2.0;
                (
                    if b.abs() >= a.abs() { 0.0 } else { -b / a },
                    (col[k + 1] - col[k - 1]) / 2.0,
                )
            };
            let pitch = ((k as f64 + shift as f64) * sr / n_fft as f64) as f32;
            let mag = col[k] + 0.5 * avg * shift;
            out.push((pitch, mag));
        }
    }
    out
}

/// `pitch_tuning`: histogram (resolution `resolution` bins) of the deviation of each frequency from the
/// equal-tempered grid of `bins_per_octave`; returns the left edge of the fullest bin (0.0 if no frequency).
pub fn pitch_tuning(frequencies: &[f32], resolution: f64, bins_per_octave: usize) -> f64 {
    let n_bins = (1.0 / resolution).ceil() as usize;
    let step = 1.0 / n_bins as f64;
    let edges: Vec<f64> = (0..=n_bins)
        .map(|i| {
            if i == n_bins {
                0.5
            } else {
                -0.5 + i as f64 * step
            }
        })
        .collect();
    let mut counts = vec![0usize; n_bins];
    let b = bins_per_octave as f32;
    let mut any = false;
    for &f in frequencies.iter().filter(|&&f| f > 0.0) {
        any = true;
        let octs = (f / (440.0f32 / 16.0)).log2();
        let mut r = (b * octs).rem_euclid(1.0);
        if r >= 0.5 {
            r -= 1.0;
        }
        let x = r as f64;
        if !(x >= edges[0] && x <= edges[n_bins]) {
            continue;
        }
        let mut i = (((x - edges[0]) * (n_bins as f64 / (edges[n_bins] - edges[0]))) as usize)
            .min(n_bins - 1);
        if x < edges[i] {
            i -= 1;
        }
        if x >= edges[i + 1] && i != n_bins - 1 {
            i += 1;
        }
        counts[i] += 1;
    }
    if !any {
        return 0.0;
    }
    let best = counts
        .iter()
        .enumerate()
        .fold(0, |bi, (i, &c)| if c > counts[bi] { i } else { bi });
    edges[best]
}

/// `estimate_tuning(S=s, sr, bins_per_octave)` with librosa's defaults (`resolution=0.01`, piptrack 150 Hz – 4 kHz,
/// threshold 0.1, peaks at or above the median peak magnitude).
pub fn estimate_tuning_from_spectrogram(
    s: &Spectrogram,
    sr: f64,
    bins_per_octave: usize,
) -> Result<f64, FrontendError> {
    if bins_per_octave == 0 {
        return Err(invalid("bins_per_octave", "bins_per_octave > 0", 0));
    }
    let peaks = piptrack(s, sr, 150.0, 4000.0, 0.1);
    let mut mags: Vec<f32> = peaks.iter().filter(|p| p.0 > 0.0).map(|p| p.1).collect();
    let threshold = if mags.is_empty() {
        0.0
    } else {
        mags.sort_by(|a, b| a.total_cmp(b));
        let m = mags.len();
        if m % 2 == 1 {
            mags[m / 2]
        } else {
            (mags[m / 2 - 1] + mags[m / 2]) / 2.0
        }
    };
    let freqs: Vec<f32> = peaks
        .iter()
        .filter(|p| p.0 > 0.0 && p.1 >= threshold)
        .map(|p| p.0)
        .collect();
    Ok(pitch_tuning(&freqs, 0.01, bins_per_octave))
}

/// `estimate_tuning(y=y, sr, bins_per_octave)`: piptrack on `|STFT|` with n_fft 2048, hop 512.
pub fn estimate_tuning_from_signal(
    y: &[f32],
    sr: f64,
    bins_per_octave: usize,
) -> Result<f64, FrontendError> {
    let s = Stft::new(&StftParams::new(2048, 512))?.spectrogram(y, 1.0)?;
    estimate_tuning_from_spectrogram(&s, sr, bins_per_octave)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a440_multiples_have_zero_tuning_and_detuned_ones_do_not() {
        assert_eq!(pitch_tuning(&[440.0, 880.0, 220.0], 0.01, 12), 0.0);
        // 20 cents sharp = +0.2 semitone
        let f = 440.0 * 2f32.powf(0.2 / 12.0);
        assert!((pitch_tuning(&[f, 2.0 * f], 0.01, 12) - 0.2).abs() < 0.011);
    }
}

//! Spectral front-ends with librosa 0.11 semantics.
//!
//! | librosa / peer | mirlens |
//! |---|---|
//! | `librosa.stft` | [`stft::Stft`] |
//! | `librosa.filters.mel`, `librosa.feature.melspectrogram` | [`mel::MelFilterbank`], [`mel::MelSpectrogram`] |
//! | `librosa.power_to_db`, `librosa.amplitude_to_db` | [`db::power_to_db`], [`db::amplitude_to_db`] |
//! | `librosa.feature.mfcc` | [`mfcc::Mfcc`] |
//! | `librosa.cqt` | [`cqt::Cqt`] |
//! | `librosa.feature.chroma_stft`, `chroma_cqt` | [`chroma::ChromaStft`], [`chroma::ChromaCqt`] |
//! | `librosa.estimate_tuning`, `piptrack` | [`tuning::estimate_tuning`] |
//! | HF `Wav2Vec2FeatureExtractor(do_normalize=True)` | [`normalize::zero_mean_unit_var`] |
//! | torchaudio `MelSpectrogram()` defaults, Whisper log-mel | [`presets`] |
//!
//! Every feature matrix is a [`Spectrogram`] laid out like librosa's output: `[bins, frames]`, row-major.
//! Parameters live in `…Params` structs whose `check()` returns a typed [`FrontendError`] naming the parameter and
//! what was expected; the built objects (`Stft`, `MelSpectrogram`, `Cqt`, …) cache FFT plans and filterbanks and can
//! be reused across signals and threads.

pub mod chroma;
pub mod cqt;
pub mod db;
pub mod mel;
pub mod mfcc;
pub mod normalize;
pub mod presets;
pub mod stft;
pub mod tuning;
pub mod window;

pub use realfft::num_complex::Complex32;

use thiserror::Error;

/// Errors of the front-ends: impossible parameters and unusable input.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum FrontendError {
    /// A parameter has an impossible value.
    #[error("invalid parameter `{parameter}`: expected {expected}, got {got}")]
    InvalidParameter {
        /// Parameter name as in librosa (`n_fft`, `hop_length`, `fmax`, …).
        parameter: &'static str,
        /// What was expected.
        expected: String,
        /// The value given.
        got: String,
    },
    /// The mel filterbank would contain filters with no non-zero weight (too many mels for the FFT resolution).
    #[error(
        "invalid parameter `n_mels`: {n_mels} mel bands need a finer FFT than n_fft={n_fft} at sr={sr} Hz \
         ({empty} filters would be empty, the first is band {first_empty}); expected fewer mels, a larger n_fft or a \
         wider fmin..fmax"
    )]
    EmptyMelFilters {
        /// Requested number of mel bands.
        n_mels: usize,
        /// FFT size.
        n_fft: usize,
        /// Sample rate in Hz.
        sr: f64,
        /// Number of empty filters.
        empty: usize,
        /// Index of the first empty filter.
        first_empty: usize,
    },
    /// The highest CQT filter reaches above the Nyquist frequency.
    #[error(
        "invalid CQT parameters: the top bin's filter reaches {cutoff_hz:.1} Hz, above the Nyquist frequency \
         {nyquist_hz:.1} Hz; expected fewer bins (`n_bins`), a lower `fmin` or a higher sample rate"
    )]
    CqtAboveNyquist {
        /// Upper edge of the highest filter in Hz.
        cutoff_hz: f64,
        /// Nyquist frequency in Hz.
        nyquist_hz: f64,
    },
    /// The input signal has no samples.
    #[error("empty input: expected at least one sample")]
    EmptyInput,
    /// The input signal contains NaN or infinite samples.
    #[error(
        "non-finite input: {count} of {len} samples are NaN or infinite (first at index {first}); expected finite audio"
    )]
    NonFiniteInput {
        /// Number of non-finite samples.
        count: usize,
        /// Signal length.
        len: usize,
        /// Index of the first non-finite sample.
        first: usize,
    },
    /// The input is too short for the requested analysis.
    #[error("input too short: {len} samples, expected at least {needed} ({reason})")]
    InputTooShort {
        /// Signal length.
        len: usize,
        /// Minimum length.
        needed: usize,
        /// Why that many are needed.
        reason: &'static str,
    },
}

/// Shorthand for an [`FrontendError::InvalidParameter`].
pub(crate) fn invalid(
    parameter: &'static str,
    expected: impl Into<String>,
    got: impl ToString,
) -> FrontendError {
    FrontendError::InvalidParameter {
        parameter,
        expected: expected.into(),
        got: got.to_string(),
    }
}

/// Reject empty and non-finite signals.
pub fn check_signal(y: &[f32]) -> Result<(), FrontendError> {
    if y.is_empty() {
        return Err(FrontendError::EmptyInput);
    }
    let mut count = 0;
    let mut first = usize::MAX;
    for (i, v) in y.iter().enumerate() {
        if !v.is_finite() {
            count += 1;
            first = first.min(i);
        }
    }
    if count > 0 {
        return Err(FrontendError::NonFiniteInput {
            count,
            len: y.len(),
            first,
        });
    }
    Ok(())
}

/// A real feature matrix laid out like librosa's output: `data[bin * n_frames + frame]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Spectrogram {
    /// Number of rows (frequency bins, mel bands, coefficients, chroma classes).
    pub n_bins: usize,
    /// Number of columns (frames).
    pub n_frames: usize,
    /// Row-major values, `n_bins * n_frames` long.
    pub data: Vec<f32>,
}

impl Spectrogram {
    /// A zero matrix.
    pub fn zeros(n_bins: usize, n_frames: usize) -> Self {
        Spectrogram {
            n_bins,
            n_frames,
            data: vec![0.0; n_bins * n_frames],
        }
    }

    /// Value at `(bin, frame)`.
    pub fn get(&self, bin: usize, frame: usize) -> f32 {
        self.data[bin * self.n_frames + frame]
    }

    /// One row (all frames of one bin).
    pub fn row(&self, bin: usize) -> &[f32] {
        &self.data[bin * self.n_frames..(bin + 1) * self.n_frames]
    }

    /// Shape as `[n_bins, n_frames]`.
    pub fn shape(&self) -> [usize; 2] {
        [self.n_bins, self.n_frames]
    }
}

/// A complex matrix `[bins, frames]`, row-major (the STFT and CQT outputs).
#[derive(Debug, Clone, PartialEq)]
pub struct ComplexSpectrogram {
    /// Number of rows (frequency bins).
    pub n_bins: usize,
    /// Number of columns (frames).
    pub n_frames: usize,
    /// Row-major values.
    pub data: Vec<Complex32>,
}

impl ComplexSpectrogram {
    /// `|X|^power` element-wise (power 1 = magnitude, 2 = power).
    pub fn magnitude_pow(&self, power: f32) -> Spectrogram {
        let data = self
            .data
            .iter()
            .map(|c| {
                let p = c.re * c.re + c.im * c.im;
                pow_of_power(p, power)
            })
            .collect();
        Spectrogram {
            n_bins: self.n_bins,
            n_frames: self.n_frames,
            data,
        }
    }

    /// Real parts, row-major.
    pub fn re(&self) -> Vec<f32> {
        self.data.iter().map(|c| c.re).collect()
    }

    /// Imaginary parts, row-major.
    pub fn im(&self) -> Vec<f32> {
        self.data.iter().map(|c| c.im).collect()
    }
}

/// Cache-blocked transpose of a row-major `[rows, cols]` matrix into `[cols, rows]`.
pub(crate) fn transpose<T: Copy + Default>(src: &[T], rows: usize, cols: usize) -> Vec<T> {
    const B: usize = 32;
    let mut dst = vec![T::default(); rows * cols];
    for r0 in (0..rows).step_by(B) {
        for c0 in (0..cols).step_by(B) {
            for r in r0..(r0 + B).min(rows) {
                for c in c0..(c0 + B).min(cols) {
                    dst[c * rows + r] = src[r * cols + c];
                }
            }
        }
    }
    dst
}

/// `log10(x)` for normal positive `x`, branch-free (vectorises); within a few f32 ulps of `f32::log10`.
#[inline]
pub(crate) fn fast_log10(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000); // [1, 2)
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i32;
    // ln(m) = 2·atanh(t), t = (m − 1)/(m + 1), |t| ≤ 0.1716
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let p = 1.0 + t2 * (1.0 / 3.0 + t2 * (1.0 / 5.0 + t2 * (1.0 / 7.0 + t2 * (1.0 / 9.0))));
    let ln = 2.0 * t * p + e as f32 * std::f32::consts::LN_2;
    ln * std::f32::consts::LOG10_E
}

/// `|x|^power` given `|x|² = p` (the exponent of [`stft::Stft::spectrogram`]).
#[inline]
pub fn pow_of_power(p: f32, power: f32) -> f32 {
    if power == 2.0 {
        p
    } else if power == 1.0 {
        p.sqrt()
    } else {
        p.sqrt().powf(power)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_log10_is_accurate() {
        let mut worst = 0f64;
        let mut x = 1e-10f32;
        while x < 1e10 {
            let err = (fast_log10(x) as f64 - (x as f64).log10()).abs();
            worst = worst.max(err);
            x *= 1.0137;
        }
        assert!(worst < 2e-6, "worst abs error {worst}");
    }

    #[test]
    fn blocked_transpose() {
        let m: Vec<u32> = (0..70 * 45).collect();
        let t = transpose(&m, 70, 45);
        for r in 0..70 {
            for c in 0..45 {
                assert_eq!(t[c * 70 + r], m[r * 45 + c]);
            }
        }
    }
}

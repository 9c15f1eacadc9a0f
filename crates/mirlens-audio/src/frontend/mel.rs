//! Mel filterbanks (`librosa.filters.mel`) and mel spectrograms (`librosa.feature.melspectrogram`).

use super::stft::{Stft, StftParams, check_power};
use super::{FrontendError, Spectrogram, invalid};

/// Mel scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MelScale {
    /// Slaney (Auditory Toolbox): linear below 1 kHz, logarithmic above (librosa default).
    #[default]
    Slaney,
    /// HTK: `2595 · log10(1 + f/700)` (torchaudio default).
    Htk,
}

impl MelScale {
    /// Hz → mel.
    pub fn hz_to_mel(&self, f: f64) -> f64 {
        match self {
            MelScale::Htk => 2595.0 * (1.0 + f / 700.0).log10(),
            MelScale::Slaney => {
                let f_sp = 200.0 / 3.0;
                if f >= 1000.0 {
                    15.0 + (f / 1000.0).ln() / (6.4f64.ln() / 27.0)
                } else {
                    f / f_sp
                }
            }
        }
    }

    /// mel → Hz.
    pub fn mel_to_hz(&self, m: f64) -> f64 {
        match self {
            MelScale::Htk => 700.0 * (10f64.powf(m / 2595.0) - 1.0),
            MelScale::Slaney => {
                let f_sp = 200.0 / 3.0;
                if m >= 15.0 {
                    1000.0 * ((6.4f64.ln() / 27.0) * (m - 15.0)).exp()
                } else {
                    f_sp * m
                }
            }
        }
    }
}

/// Filter normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum MelNorm {
    /// Slaney area normalisation: row `i` scaled by `2 / (f_{i+2} − f_i)` (librosa default).
    #[default]
    Slaney,
    /// Triangles with peak 1 (torchaudio default).
    None,
}

/// What to do when some filters get no FFT bin (too many mels for the FFT resolution).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EmptyFilters {
    /// Refuse with [`FrontendError::EmptyMelFilters`] (default).
    #[default]
    Reject,
    /// Keep the all-zero rows, as librosa and torchaudio do after a warning (needed for torchaudio's defaults).
    Allow,
}

/// Mel filterbank parameters (librosa names and defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MelParams {
    /// Sample rate in Hz.
    pub sr: f64,
    /// FFT size the bank applies to.
    pub n_fft: usize,
    /// Number of mel bands (default 128).
    pub n_mels: usize,
    /// Lowest frequency in Hz (default 0).
    pub fmin: f64,
    /// Highest frequency in Hz; `None` → `sr / 2`.
    pub fmax: Option<f64>,
    /// Mel scale.
    pub scale: MelScale,
    /// Normalisation.
    pub norm: MelNorm,
    /// Empty-filter policy.
    pub empty_filters: EmptyFilters,
}

impl Default for MelParams {
    fn default() -> Self {
        MelParams {
            sr: 22050.0,
            n_fft: 2048,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            scale: MelScale::Slaney,
            norm: MelNorm::Slaney,
            empty_filters: EmptyFilters::Reject,
        }
    }
}

impl MelParams {
    /// Validate the parameters that do not need the bank itself; returns the resolved `fmax`.
    pub fn check(&self) -> Result<f64, FrontendError> {
        if !(self.sr.is_finite() && self.sr > 0.0) {
            return Err(invalid("sr", "a sample rate > 0 Hz", self.sr));
        }
        if self.n_fft == 0 {
            return Err(invalid("n_fft", "n_fft > 0", self.n_fft));
        }
        if self.n_mels == 0 {
            return Err(invalid("n_mels", "n_mels > 0", self.n_mels));
        }
        let nyq = self.sr / 2.0;
        let fmax = self.fmax.unwrap_or(nyq);
        if !(self.fmin.is_finite() && self.fmin >= 0.0) {
            return Err(invalid("fmin", "fmin ≥ 0 Hz", self.fmin));
        }
        if !(fmax.is_finite() && fmax <= nyq) {
            return Err(invalid("fmax", format!("fmax ≤ sr/2 = {nyq} Hz"), fmax));
        }
        if self.fmin >= fmax {
            return Err(invalid(
                "fmin",
                format!("fmin < fmax = {fmax} Hz"),
                self.fmin,
            ));
        }
        Ok(fmax)
    }
}

/// A mel filterbank `[n_mels, 1 + n_fft/2]`, stored as one contiguous non-zero run per row.
#[derive(Debug, Clone, PartialEq)]
pub struct MelFilterbank {
    n_mels: usize,
    n_freqs: usize,
    /// `(first non-zero column, weights)` per row.
    rows: Vec<(usize, Vec<f32>)>,
}

impl MelFilterbank {
    /// Build the bank exactly as `librosa.filters.mel` (f64 construction, f32 weights).
    pub fn new(p: &MelParams) -> Result<Self, FrontendError> {
        let fmax = p.check()?;
        let n_freqs = p.n_fft / 2 + 1;
        let (mlo, mhi) = (p.scale.hz_to_mel(p.fmin), p.scale.hz_to_mel(fmax));
        let n_pts = p.n_mels + 2;
        let mel_f: Vec<f64> = (0..n_pts)
            .map(|i| {
                // numpy.linspace: start + i * step, last point exact
                let m = if i == n_pts - 1 {
                    mhi
                } else {
                    mlo + i as f64 * ((mhi - mlo) / (n_pts - 1) as f64)
                };
                p.scale.mel_to_hz(m)
            })
            .collect();
        let fftfreqs: Vec<f64> = (0..n_freqs)
            .map(|k| k as f64 * p.sr / p.n_fft as f64)
            .collect();
        let mut rows = Vec::with_capacity(p.n_mels);
        let mut empty = 0;
        let mut first_empty = usize::MAX;
        for i in 0..p.n_mels {
            let (fdl, fdu) = (mel_f[i + 1] - mel_f[i], mel_f[i + 2] - mel_f[i + 1]);
            let enorm = match p.norm {
                MelNorm::Slaney => 2.0 / (mel_f[i + 2] - mel_f[i]),
                MelNorm::None => 1.0,
            };
            let w: Vec<f32> = fftfreqs
                .iter()
                .map(|&f| {
                    let lower = -(mel_f[i] - f) / fdl;
                    let upper = (mel_f[i + 2] - f) / fdu;
                    ((0f64.max(lower.min(upper))) * enorm) as f32
                })
                .collect();
            let start = w.iter().position(|&v| v != 0.0);
            match start {
                None => {
                    if mel_f[i] != 0.0 {
                        empty += 1;
                        first_empty = first_empty.min(i);
                    }
                    rows.push((0, Vec::new()));
                }
                Some(s) => {
                    let e = w.iter().rposition(|&v| v != 0.0).map_or(s, |e| e + 1);
                    rows.push((s, w[s..e].to_vec()));
                }
            }
        }
        if empty > 0 && p.empty_filters == EmptyFilters::Reject {
            return Err(FrontendError::EmptyMelFilters {
                n_mels: p.n_mels,
                n_fft: p.n_fft,
                sr: p.sr,
                empty,
                first_empty,
            });
        }
        Ok(MelFilterbank {
            n_mels: p.n_mels,
            n_freqs,
            rows,
        })
    }

    /// Number of mel bands.
    pub fn n_mels(&self) -> usize {
        self.n_mels
    }

    /// Number of FFT bins the bank expects.
    pub fn n_freqs(&self) -> usize {
        self.n_freqs
    }

    /// The dense bank `[n_mels, n_freqs]`, row-major.
    pub fn to_dense(&self) -> Vec<f32> {
        let mut out = vec![0f32; self.n_mels * self.n_freqs];
        for (i, (s, w)) in self.rows.iter().enumerate() {
            out[i * self.n_freqs + s..i * self.n_freqs + s + w.len()].copy_from_slice(w);
        }
        out
    }

    /// Apply to one spectrum column (`n_freqs` values), writing `n_mels` values.
    #[inline]
    pub fn apply_column(&self, spec: &[f32], out: &mut [f32]) {
        for ((s, w), o) in self.rows.iter().zip(out.iter_mut()) {
            *o = dot(w, &spec[*s..*s + w.len()]);
        }
    }

    /// Apply to a whole spectrogram `[n_freqs, frames]` → `[n_mels, frames]`.
    pub fn apply(&self, s: &Spectrogram) -> Result<Spectrogram, FrontendError> {
        if s.n_bins != self.n_freqs {
            return Err(invalid(
                "S",
                format!("a spectrogram with {} frequency bins", self.n_freqs),
                s.n_bins,
            ));
        }
        let mut out = Spectrogram::zeros(self.n_mels, s.n_frames);
        let mut col = vec![0f32; s.n_bins];
        let mut res = vec![0f32; self.n_mels];
        for t in 0..s.n_frames {
            for (k, c) in col.iter_mut().enumerate() {
                *c = s.data[k * s.n_frames + t];
            }
            self.apply_column(&col, &mut res);
            for (m, v) in res.iter().enumerate() {
                out.data[m * s.n_frames + t] = *v;
            }
        }
        Ok(out)
    }
}

pub(crate) use mirlens_core::kernels::dot;

/// Mel spectrogram parameters: the STFT, the bank and the exponent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MelSpectrogramParams {
    /// STFT parameters (`n_fft` must equal `mel.n_fft`).
    pub stft: StftParams,
    /// Filterbank parameters.
    pub mel: MelParams,
    /// Exponent of the magnitude (2 = power, librosa default).
    pub power: f32,
}

impl Default for MelSpectrogramParams {
    fn default() -> Self {
        MelSpectrogramParams {
            stft: StftParams::new(2048, 512),
            mel: MelParams::default(),
            power: 2.0,
        }
    }
}

impl MelSpectrogramParams {
    /// librosa defaults for a given sample rate, FFT size, hop and number of mels.
    pub fn librosa(sr: f64, n_fft: usize, hop: usize, n_mels: usize) -> Self {
        MelSpectrogramParams {
            stft: StftParams::new(n_fft, hop),
            mel: MelParams {
                sr,
                n_fft,
                n_mels,
                ..MelParams::default()
            },
            power: 2.0,
        }
    }

    /// Validate.
    pub fn check(&self) -> Result<(), FrontendError> {
        self.stft.check()?;
        self.mel.check()?;
        check_power(self.power)?;
        if self.stft.n_fft != self.mel.n_fft {
            return Err(invalid(
                "n_fft",
                format!("the STFT's n_fft = {}", self.stft.n_fft),
                self.mel.n_fft,
            ));
        }
        Ok(())
    }
}

/// A planned mel spectrogram (FFT plan and filterbank cached).
#[derive(Debug, Clone)]
pub struct MelSpectrogram {
    stft: Stft,
    bank: MelFilterbank,
    power: f32,
}

impl MelSpectrogram {
    /// Validate and plan.
    pub fn new(p: &MelSpectrogramParams) -> Result<Self, FrontendError> {
        p.check()?;
        Ok(MelSpectrogram {
            stft: Stft::new(&p.stft)?,
            bank: MelFilterbank::new(&p.mel)?,
            power: p.power,
        })
    }

    /// The STFT.
    pub fn stft(&self) -> &Stft {
        &self.stft
    }

    /// The filterbank.
    pub fn filterbank(&self) -> &MelFilterbank {
        &self.bank
    }

    /// `bank · |STFT(y)|^power`, `[n_mels, frames]`.
    pub fn compute(&self, y: &[f32]) -> Result<Spectrogram, FrontendError> {
        let n_frames = self.stft.n_frames(y.len().max(1))?;
        let n_mels = self.bank.n_mels;
        // frame-major while computing, one blocked transpose at the end (no strided writes per frame)
        let mut frames = vec![0f32; n_frames * n_mels];
        let mut spec = vec![0f32; self.stft.n_bins()];
        let power = self.power;
        self.stft.for_each_frame(y, |t, bins| {
            if power == 2.0 {
                for (s, c) in spec.iter_mut().zip(bins) {
                    *s = c.re * c.re + c.im * c.im;
                }
            } else {
                for (s, c) in spec.iter_mut().zip(bins) {
                    *s = super::pow_of_power(c.re * c.re + c.im * c.im, power);
                }
            }
            self.bank
                .apply_column(&spec, &mut frames[t * n_mels..(t + 1) * n_mels]);
        })?;
        Ok(Spectrogram {
            n_bins: n_mels,
            n_frames,
            data: super::transpose(&frames, n_frames, n_mels),
        })
    }
}

/// The incremental form of [`MelSpectrogram::compute`] (see [`super::stft::StftStream`]): each frame's `n_mels`
/// values are handed over as soon as the frame is complete, bit-identical to the whole-signal computation.
#[derive(Debug, Clone)]
pub struct MelStream {
    stft: super::stft::StftStream,
    bank: MelFilterbank,
    power: f32,
    spec: Vec<f32>,
    col: Vec<f32>,
}

impl MelSpectrogram {
    /// An incremental mel spectrogram with this plan.
    pub fn stream(&self) -> MelStream {
        MelStream {
            stft: self.stft.stream(),
            bank: self.bank.clone(),
            power: self.power,
            spec: vec![0f32; self.stft.n_bins()],
            col: vec![0f32; self.bank.n_mels],
        }
    }
}

impl MelStream {
    /// Samples received so far.
    pub fn samples(&self) -> usize {
        self.stft.samples()
    }

    /// Feed the next piece of the signal; calls `f(frame_index, mel_column)` for every complete frame.
    pub fn push(
        &mut self,
        chunk: &[f32],
        mut f: impl FnMut(usize, &[f32]),
    ) -> Result<(), FrontendError> {
        let (bank, power, spec, col) = (&self.bank, self.power, &mut self.spec, &mut self.col);
        self.stft.push(chunk, |t, bins| {
            Self::column(bank, power, spec, col, t, bins, &mut f)
        })
    }

    /// End of the signal: the remaining frames; returns the total number of frames.
    pub fn finish(&mut self, mut f: impl FnMut(usize, &[f32])) -> Result<usize, FrontendError> {
        let (bank, power, spec, col) = (&self.bank, self.power, &mut self.spec, &mut self.col);
        self.stft
            .finish(|t, bins| Self::column(bank, power, spec, col, t, bins, &mut f))
    }

    fn column(
        bank: &MelFilterbank,
        power: f32,
        spec: &mut [f32],
        col: &mut [f32],
        t: usize,
        bins: &[super::Complex32],
        f: &mut impl FnMut(usize, &[f32]),
    ) {
        // the same arithmetic as `MelSpectrogram::compute`
        if power == 2.0 {
            for (s, c) in spec.iter_mut().zip(bins) {
                *s = c.re * c.re + c.im * c.im;
            }
        } else {
            for (s, c) in spec.iter_mut().zip(bins) {
                *s = super::pow_of_power(c.re * c.re + c.im * c.im, power);
            }
        }
        bank.apply_column(spec, col);
        f(t, col);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slaney_scale_anchor_points() {
        let s = MelScale::Slaney;
        assert!((s.hz_to_mel(1000.0) - 15.0).abs() < 1e-12);
        assert!((s.hz_to_mel(8000.0) - 45.245640471924965).abs() < 1e-9);
        for f in [10.0, 500.0, 999.0, 1000.0, 4000.0, 11025.0] {
            assert!((s.mel_to_hz(s.hz_to_mel(f)) - f).abs() < 1e-9);
            assert!((MelScale::Htk.mel_to_hz(MelScale::Htk.hz_to_mel(f)) - f).abs() < 1e-9);
        }
    }

    #[test]
    fn bad_ranges_are_rejected() {
        let p = MelParams {
            fmax: Some(12000.0),
            ..MelParams::default()
        };
        assert!(matches!(
            p.check(),
            Err(FrontendError::InvalidParameter {
                parameter: "fmax",
                ..
            })
        ));
        let p = MelParams {
            fmin: 5000.0,
            fmax: Some(4000.0),
            ..MelParams::default()
        };
        assert!(matches!(
            p.check(),
            Err(FrontendError::InvalidParameter {
                parameter: "fmin",
                ..
            })
        ));
        let p = MelParams {
            n_fft: 256,
            n_mels: 256,
            ..MelParams::default()
        };
        assert!(matches!(
            MelFilterbank::new(&p),
            Err(FrontendError::EmptyMelFilters { n_mels: 256, .. })
        ));
        let p = MelParams {
            empty_filters: EmptyFilters::Allow,
            ..p
        };
        assert_eq!(MelFilterbank::new(&p).unwrap().n_mels(), 256);
    }
}

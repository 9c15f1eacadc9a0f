//! Spectral helpers used to check generated audio against its labels.

use rustfft::{FftPlanner, num_complex::Complex};

/// Magnitude spectrum of a Hann-windowed segment, zero-padded to `nfft`. Bin `k` is at `k · sr / nfft` Hz.
pub struct Spectrum {
    pub mag: Vec<f64>,
    pub sr: f64,
    pub nfft: usize,
}

impl Spectrum {
    pub fn new(x: &[f32], sr: u32, nfft: usize) -> Self {
        let n = x.len().min(nfft);
        let mut buf: Vec<Complex<f64>> = (0..nfft)
            .map(|i| {
                if i < n {
                    let w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos();
                    Complex::new(x[i] as f64 * w, 0.0)
                } else {
                    Complex::new(0.0, 0.0)
                }
            })
            .collect();
        FftPlanner::new().plan_fft_forward(nfft).process(&mut buf);
        Spectrum {
            mag: buf[..nfft / 2].iter().map(|c| c.norm()).collect(),
            sr: sr as f64,
            nfft,
        }
    }

    /// Max magnitude within ±`rel` (relative) and at least ±1 bin around `f`.
    pub fn around(&self, f: f64, rel: f64) -> f64 {
        let bin = |hz: f64| hz * self.nfft as f64 / self.sr;
        let c = bin(f);
        let half = (bin(f * (1.0 + rel)) - c).max(1.0);
        let lo = (c - half).floor().max(0.0) as usize;
        let hi = ((c + half).ceil() as usize).min(self.mag.len() - 1);
        self.mag[lo..=hi.max(lo)]
            .iter()
            .copied()
            .fold(0.0, f64::max)
    }

    /// Frequency of the largest bin.
    pub fn peak_hz(&self) -> f64 {
        let (k, _) = self
            .mag
            .iter()
            .enumerate()
            .skip(1)
            .fold((0, 0.0), |b, (k, &m)| if m > b.1 { (k, m) } else { b });
        k as f64 * self.sr / self.nfft as f64
    }

    /// Pitch estimate: the lowest spectral peak (above 25 Hz) reaching `rel` of the strongest, as a MIDI number.
    pub fn lowest_peak_pitch(&self, rel: f64) -> f64 {
        let max = self.mag.iter().copied().fold(0.0, f64::max);
        let k0 = (25.0 * self.nfft as f64 / self.sr) as usize;
        let k = (k0.max(1)..self.mag.len() - 1)
            .find(|&k| {
                self.mag[k] >= rel * max
                    && self.mag[k] >= self.mag[k - 1]
                    && self.mag[k] >= self.mag[k + 1]
            })
            .unwrap_or(1);
        // power-weighted mean frequency of the peak region (±3 %), so vibrato sidebands average out
        let lo = ((k as f64 * 0.97).floor() as usize).max(1);
        let hi = ((k as f64 * 1.03).ceil() as usize).min(self.mag.len() - 1);
        let (num, den) = (lo..=hi).fold((0.0, 0.0), |(n, d), i| {
            (n + i as f64 * self.mag[i].powi(2), d + self.mag[i].powi(2))
        });
        let f = num / den * self.sr / self.nfft as f64;
        69.0 + 12.0 * (f / 440.0).log2()
    }

    /// Energy per pitch class: max magnitude around each MIDI pitch `lo..=hi`, summed per class.
    pub fn chroma(&self, lo: u8, hi: u8) -> [f64; 12] {
        let mut c = [0.0; 12];
        for m in lo..=hi {
            c[m as usize % 12] += self.around(midi_hz(m as f64), 0.01);
        }
        c
    }
}

pub fn midi_hz(m: f64) -> f64 {
    440.0 * 2f64.powf((m - 69.0) / 12.0)
}

/// Indices of the `k` largest values.
pub fn top_k(x: &[f64], k: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..x.len()).collect();
    idx.sort_by(|a, b| x[*b].total_cmp(&x[*a]));
    let mut out = idx[..k].to_vec();
    out.sort_unstable();
    out
}

//! Constant-Q transform with `librosa.cqt` semantics (0.11): recursive octave-wise downsampling
//! (Schörkhuber–Klapuri), Hann-windowed complex filters, L1 basis norm, 1 % sparsification, `sqrt(length)` scaling.
//!
//! The octave downsampling uses [`HalfbandDecimator`], a linear-phase FIR whose response follows libsoxr's `HQ`
//! recipe (pass band to 0.913 of the new Nyquist, stop band from the new Nyquist, 120 dB), applied by FFT
//! convolution. librosa uses soxr itself, so results agree closely but not bit-exactly; the low octaves
//! accumulate the difference (see `docs/frontends.md` for the measured tier).

use super::stft::PadMode;
use super::tuning::{Tuning, estimate_tuning_from_signal};
use super::window::WindowSpec;
use super::{Complex32, ComplexSpectrogram, FrontendError, Spectrogram, check_signal, invalid};
use realfft::{ComplexToReal, RealFftPlanner, RealToComplex};
use rustfft::FftPlanner;
use std::f64::consts::PI;
use std::sync::Arc;

/// C1 in Hz (librosa's default `fmin`).
pub const C1_HZ: f64 = 32.703_195_662_574_83;

/// Output scaling of the CQT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CqtScale {
    /// Divide bin `k` by `sqrt(L_k)` (librosa `scale=True`).
    #[default]
    SqrtLength,
    /// No scaling (`scale=False`).
    None,
}

/// Normalisation of each time-domain basis filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum BasisNorm {
    /// Unit L1 norm (librosa `norm=1`).
    #[default]
    L1,
    /// Unit L2 norm (`norm=2`).
    L2,
    /// Unit maximum (`norm=np.inf`).
    Max,
    /// No normalisation (`norm=None`).
    None,
}

/// CQT parameters (librosa names and defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CqtParams {
    /// Sample rate in Hz.
    pub sr: f64,
    /// Hop in samples (default 512).
    pub hop_length: usize,
    /// Lowest bin frequency in Hz; `None` → C1 (32.70 Hz).
    pub fmin: Option<f64>,
    /// Number of bins (default 84).
    pub n_bins: usize,
    /// Bins per octave (default 12).
    pub bins_per_octave: usize,
    /// Tuning offset in fractions of a bin (default fixed 0.0; `Estimate` runs `estimate_tuning` on the signal).
    pub tuning: Tuning,
    /// Filter length multiplier (default 1).
    pub filter_scale: f64,
    /// Basis normalisation (default L1).
    pub norm: BasisNorm,
    /// Fraction of each basis row's magnitude mass dropped (default 0.01).
    pub sparsity: f64,
    /// Basis window (default periodic Hann).
    pub window: WindowSpec,
    /// Output scaling (default `sqrt(L_k)`).
    pub scale: CqtScale,
    /// Padding of the per-octave STFT (default constant).
    pub pad_mode: PadMode,
}

impl Default for CqtParams {
    fn default() -> Self {
        CqtParams {
            sr: 22050.0,
            hop_length: 512,
            fmin: None,
            n_bins: 84,
            bins_per_octave: 12,
            tuning: Tuning::Fixed(0.0),
            filter_scale: 1.0,
            norm: BasisNorm::L1,
            sparsity: 0.01,
            window: WindowSpec::HANN,
            scale: CqtScale::SqrtLength,
            pad_mode: PadMode::Constant,
        }
    }
}

/// Bin geometry shared by planning and validation.
struct Geometry {
    freqs: Vec<f64>,
    alpha: Vec<f64>,
    cutoff: f64,
}

impl CqtParams {
    /// librosa defaults at a sample rate.
    pub fn librosa(sr: f64) -> Self {
        CqtParams {
            sr,
            ..Default::default()
        }
    }

    /// Validate everything that does not depend on the signal (with tuning 0 when it is to be estimated).
    pub fn check(&self) -> Result<(), FrontendError> {
        let t = match self.tuning {
            Tuning::Fixed(t) => t,
            Tuning::Estimate => 0.0,
        };
        self.geometry(t).map(|_| ())
    }

    fn geometry(&self, tuning: f64) -> Result<Geometry, FrontendError> {
        if !(self.sr.is_finite() && self.sr > 0.0) {
            return Err(invalid("sr", "a sample rate > 0 Hz", self.sr));
        }
        if self.hop_length == 0 {
            return Err(invalid("hop_length", "hop_length > 0", self.hop_length));
        }
        if self.n_bins < 2 {
            return Err(invalid("n_bins", "n_bins ≥ 2", self.n_bins));
        }
        if self.bins_per_octave == 0 {
            return Err(invalid(
                "bins_per_octave",
                "bins_per_octave > 0",
                self.bins_per_octave,
            ));
        }
        let fmin = self.fmin.unwrap_or(C1_HZ);
        if !(fmin.is_finite() && fmin > 0.0) {
            return Err(invalid("fmin", "fmin > 0 Hz", fmin));
        }
        if !(tuning.is_finite() && (-0.5..0.5).contains(&tuning)) {
            return Err(invalid(
                "tuning",
                "a tuning offset in [-0.5, 0.5) bins",
                tuning,
            ));
        }
        if !(self.filter_scale.is_finite() && self.filter_scale > 0.0) {
            return Err(invalid(
                "filter_scale",
                "filter_scale > 0",
                self.filter_scale,
            ));
        }
        if !(0.0..1.0).contains(&self.sparsity) {
            return Err(invalid("sparsity", "0 ≤ sparsity < 1", self.sparsity));
        }
        let b = self.bins_per_octave as f64;
        let fmin_t = fmin * 2f64.powf(tuning / b);
        // librosa.interval_frequencies(intervals='equal'): octave multiples of the in-octave ratios, sorted.
        let ratios: Vec<f64> = (0..self.bins_per_octave)
            .map(|j| 2f64.powf(j as f64 / b))
            .collect();
        let freqs: Vec<f64> = (0..self.n_bins)
            .map(|k| {
                fmin_t
                    * 2f64.powi((k / self.bins_per_octave) as i32)
                    * ratios[k % self.bins_per_octave]
            })
            .collect();
        // filters._relative_bandwidth
        let n = freqs.len();
        let logf: Vec<f64> = freqs.iter().map(|f| f.log2()).collect();
        let alpha: Vec<f64> = (0..n)
            .map(|i| {
                let bpo = if i == 0 {
                    1.0 / (logf[1] - logf[0])
                } else if i == n - 1 {
                    1.0 / (logf[n - 1] - logf[n - 2])
                } else {
                    2.0 / (logf[i + 1] - logf[i - 1])
                };
                let r = 2f64.powf(2.0 / bpo);
                (r - 1.0) / (r + 1.0)
            })
            .collect();
        let bw = self.window.bandwidth();
        let cutoff = freqs
            .iter()
            .zip(&alpha)
            .map(|(f, a)| f * (1.0 + 0.5 * bw / (self.filter_scale / a)))
            .fold(f64::NEG_INFINITY, f64::max);
        if cutoff > self.sr / 2.0 {
            return Err(FrontendError::CqtAboveNyquist {
                cutoff_hz: cutoff,
                nyquist_hz: self.sr / 2.0,
            });
        }
        Ok(Geometry {
            freqs,
            alpha,
            cutoff,
        })
    }
}

/// One octave's frequency-domain basis: sparse rows over `n_fft/2 + 1` bins.
#[derive(Clone)]
struct OctaveBasis {
    n_fft: usize,
    hop: usize,
    /// Whether the signal is halved after this octave.
    downsample_after: bool,
    rows: Vec<Vec<(u32, Complex32)>>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for OctaveBasis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OctaveBasis")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .field("filters", &self.rows.len())
            .finish()
    }
}

/// A planned CQT: all octave bases, FFT plans and the decimator are built once.
#[derive(Debug, Clone)]
pub struct Cqt {
    n_bins: usize,
    bins_per_octave: usize,
    early_downsample: usize,
    hop: usize,
    pad_mode: PadMode,
    octaves: Vec<OctaveBasis>,
    /// Per-bin output multiplier (`1/sqrt(L_k)` or 1), low → high.
    out_scale: Vec<f32>,
    early_gain: f32,
    decimator: HalfbandDecimator,
    freqs: Vec<f64>,
}

impl Cqt {
    /// Validate and plan. `params.tuning` must be fixed; use [`Cqt::for_signal`] to estimate it.
    pub fn new(p: &CqtParams) -> Result<Self, FrontendError> {
        let tuning = match p.tuning {
            Tuning::Fixed(t) => t,
            Tuning::Estimate => {
                return Err(invalid(
                    "tuning",
                    "a fixed tuning to plan a reusable CQT (use Cqt::for_signal to estimate it)",
                    "estimate",
                ));
            }
        };
        let g = p.geometry(tuning)?;
        let b = p.bins_per_octave;
        let n_octaves = p.n_bins.div_ceil(b);
        let n_filters = b.min(p.n_bins);
        // __early_downsample_count
        let nyquist = p.sr / 2.0;
        let c1 = ((nyquist / g.cutoff).log2().ceil() as i64 - 1 - 1).max(0) as usize;
        let twos = p.hop_length.trailing_zeros() as usize;
        let c2 = (twos as i64 - n_octaves as i64 + 1).max(0) as usize;
        let early = c1.min(c2);
        let factor = 1usize << early;
        let sr = p.sr / factor as f64;
        let hop = p.hop_length / factor;
        let early_gain = match p.scale {
            CqtScale::SqrtLength => 1.0,
            CqtScale::None => (factor as f32).sqrt(),
        };

        let mut planner = FftPlanner::<f64>::new();
        let mut rplanner = RealFftPlanner::<f32>::new();
        let mut octaves = Vec::with_capacity(n_octaves);
        let (mut my_sr, mut my_hop) = (sr, hop);
        for i in 0..n_octaves {
            let hi = p.n_bins - n_filters * i;
            let lo = hi.saturating_sub(n_filters);
            let (freqs, alpha) = (&g.freqs[lo..hi], &g.alpha[lo..hi]);
            let rows = octave_basis(p, my_sr, freqs, alpha, (sr / my_sr).sqrt(), &mut planner);
            let n_fft = rows.0;
            let downsample_after = my_hop % 2 == 0;
            octaves.push(OctaveBasis {
                n_fft,
                hop: my_hop,
                downsample_after,
                rows: rows.1,
                fft: rplanner.plan_fft_forward(n_fft),
            });
            if downsample_after {
                my_hop /= 2;
                my_sr /= 2.0;
            }
        }
        let out_scale = g
            .freqs
            .iter()
            .zip(&g.alpha)
            .map(|(f, a)| match p.scale {
                CqtScale::SqrtLength => (1.0 / ((p.filter_scale / a) * sr / f).sqrt()) as f32,
                CqtScale::None => 1.0,
            })
            .collect();
        Ok(Cqt {
            n_bins: p.n_bins,
            bins_per_octave: b,
            early_downsample: early,
            hop: p.hop_length,
            pad_mode: p.pad_mode,
            octaves,
            out_scale,
            early_gain,
            decimator: HalfbandDecimator::new(),
            freqs: g.freqs,
        })
    }

    /// Plan for one signal, estimating the tuning from it when `params.tuning` is `Estimate`
    /// (`estimate_tuning(y, sr, bins_per_octave)`, as `librosa.cqt(tuning=None)`).
    pub fn for_signal(p: &CqtParams, y: &[f32]) -> Result<(Self, f64), FrontendError> {
        let t = match p.tuning {
            Tuning::Fixed(t) => t,
            Tuning::Estimate => estimate_tuning_from_signal(y, p.sr, p.bins_per_octave)?,
        };
        Ok((
            Cqt::new(&CqtParams {
                tuning: Tuning::Fixed(t),
                ..*p
            })?,
            t,
        ))
    }

    /// Centre frequencies of the bins in Hz, low → high.
    pub fn frequencies(&self) -> &[f64] {
        &self.freqs
    }

    /// Number of bins.
    pub fn n_bins(&self) -> usize {
        self.n_bins
    }

    /// Bins per octave.
    pub fn bins_per_octave(&self) -> usize {
        self.bins_per_octave
    }

    /// The complex CQT `[n_bins, frames]` (frames = `1 + len / hop`, trimmed to the shortest octave).
    pub fn compute(&self, y: &[f32]) -> Result<ComplexSpectrogram, FrontendError> {
        check_signal(y)?;
        let mut cur: Vec<f32> = y.to_vec();
        if self.early_downsample > 0 {
            for _ in 0..self.early_downsample {
                cur = self.decimator.decimate(&cur);
            }
            // libsoxr returns round(n / factor) samples and librosa zero-pads to ceil(n / factor).
            let factor = (1u64 << self.early_downsample) as f64;
            let kept = (y.len() as f64 / factor + 0.5).floor() as usize;
            for v in cur.iter_mut().skip(kept) {
                *v = 0.0;
            }
        }
        if self.early_gain != 1.0 {
            cur.iter_mut().for_each(|v| *v *= self.early_gain);
        }
        let mut responses: Vec<(usize, Vec<Complex32>)> = Vec::with_capacity(self.octaves.len());
        for oct in &self.octaves {
            responses.push(self.octave_response(oct, &cur));
            if oct.downsample_after {
                cur = self.decimator.decimate(&cur);
            }
        }
        let n_frames = responses.iter().map(|r| r.0).min().unwrap_or(0);
        if n_frames == 0 {
            return Err(FrontendError::InputTooShort {
                len: y.len(),
                needed: self.hop,
                reason: "the CQT needs one frame per octave",
            });
        }
        let mut data = vec![Complex32::new(0.0, 0.0); self.n_bins * n_frames];
        let mut end = self.n_bins;
        for (oct, (frames, resp)) in self.octaves.iter().zip(&responses) {
            let n_oct = oct.rows.len();
            let take = n_oct.min(end);
            for r in 0..take {
                let src_row = n_oct - take + r;
                let dst_row = end - take + r;
                let s = self.out_scale[dst_row];
                for t in 0..n_frames {
                    data[dst_row * n_frames + t] = resp[src_row * frames + t] * s;
                }
            }
            end -= take;
        }
        Ok(ComplexSpectrogram {
            n_bins: self.n_bins,
            n_frames,
            data,
        })
    }

    /// `|CQT|`, `[n_bins, frames]`.
    pub fn magnitude(&self, y: &[f32]) -> Result<Spectrogram, FrontendError> {
        Ok(self.compute(y)?.magnitude_pow(1.0))
    }

    /// One octave: rectangular-window STFT then the sparse basis product. Returns (frames, `[rows, frames]`).
    ///
    /// Frames are processed in blocks of [`FRAME_BLOCK`]: the spectra of a block are stored bin-major with split
    /// real/imaginary parts, so each basis entry becomes a contiguous complex axpy over the block's frames.
    fn octave_response(&self, oct: &OctaveBasis, y: &[f32]) -> (usize, Vec<Complex32>) {
        let n_fft = oct.n_fft;
        let nb = n_fft / 2 + 1;
        let pad = (n_fft / 2) as isize;
        let n_frames = 1 + y.len() / oct.hop;
        let n_rows = oct.rows.len();
        let mut out = vec![Complex32::new(0.0, 0.0); n_rows * n_frames];
        let mut input = vec![0f32; n_fft];
        let mut spec = vec![Complex32::new(0.0, 0.0); nb];
        let mut scratch = oct.fft.make_scratch_vec();
        let mut bre = vec![0f32; nb * FRAME_BLOCK];
        let mut bim = vec![0f32; nb * FRAME_BLOCK];
        let mut acc_re = [0f32; FRAME_BLOCK];
        let mut acc_im = [0f32; FRAME_BLOCK];
        let n = y.len() as isize;
        for t0 in (0..n_frames).step_by(FRAME_BLOCK) {
            let bl = FRAME_BLOCK.min(n_frames - t0);
            for j in 0..bl {
                let start = ((t0 + j) * oct.hop) as isize - pad;
                if start >= 0 && start + n_fft as isize <= n {
                    input.copy_from_slice(&y[start as usize..start as usize + n_fft]);
                } else {
                    for (i, d) in input.iter_mut().enumerate() {
                        *d = self.pad_mode.sample(y, start + i as isize);
                    }
                }
                oct.fft
                    .process_with_scratch(&mut input, &mut spec, &mut scratch)
                    .expect("FFT buffers sized by the plan");
                for (k, c) in spec.iter().enumerate() {
                    bre[k * FRAME_BLOCK + j] = c.re;
                    bim[k * FRAME_BLOCK + j] = c.im;
                }
            }
            for (r, row) in oct.rows.iter().enumerate() {
                acc_re.fill(0.0);
                acc_im.fill(0.0);
                for &(k, w) in row {
                    let xr = &bre[k as usize * FRAME_BLOCK..k as usize * FRAME_BLOCK + FRAME_BLOCK];
                    let xi = &bim[k as usize * FRAME_BLOCK..k as usize * FRAME_BLOCK + FRAME_BLOCK];
                    for j in 0..FRAME_BLOCK {
                        acc_re[j] += w.re * xr[j] - w.im * xi[j];
                        acc_im[j] += w.re * xi[j] + w.im * xr[j];
                    }
                }
                let o = &mut out[r * n_frames + t0..r * n_frames + t0 + bl];
                for (j, v) in o.iter_mut().enumerate() {
                    *v = Complex32::new(acc_re[j], acc_im[j]);
                }
            }
        }
        (n_frames, out)
    }
}

/// Frames per block in the per-octave basis product.
const FRAME_BLOCK: usize = 64;

/// Build one octave's sparse frequency-domain basis (`__vqt_filter_fft`). Returns `(n_fft, rows)`.
fn octave_basis(
    p: &CqtParams,
    sr: f64,
    freqs: &[f64],
    alpha: &[f64],
    gain: f64,
    planner: &mut FftPlanner<f64>,
) -> (usize, Vec<Vec<(u32, Complex32)>>) {
    let lengths: Vec<f64> = freqs
        .iter()
        .zip(alpha)
        .map(|(f, a)| (p.filter_scale / a) * sr / f)
        .collect();
    let max_len = lengths.iter().cloned().fold(0.0, f64::max);
    let n_fft = 2f64.powf(max_len.log2().ceil()) as usize;
    let fft = planner.plan_fft_forward(n_fft);
    let mut rows = Vec::with_capacity(freqs.len());
    for (&len, &f) in lengths.iter().zip(freqs) {
        // np.arange(-len // 2, len // 2): floor division on floats
        let start = (-len / 2.0).floor() as i64;
        let stop = (len / 2.0).floor() as i64;
        let n = (stop - start) as usize;
        let win = p.window.build(n);
        let mut sig: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let ph = (start + i as i64) as f64 * 2.0 * PI * f / sr;
                (ph.cos() * win[i], ph.sin() * win[i])
            })
            .collect();
        let norm = match p.norm {
            BasisNorm::L1 => sig.iter().map(|(a, b)| a.hypot(*b)).sum::<f64>(),
            BasisNorm::L2 => sig.iter().map(|(a, b)| a * a + b * b).sum::<f64>().sqrt(),
            BasisNorm::Max => sig.iter().map(|(a, b)| a.hypot(*b)).fold(0.0, f64::max),
            BasisNorm::None => 1.0,
        };
        let norm = if norm > 0.0 { norm } else { 1.0 };
        let scale = len / n_fft as f64 / norm;
        for s in &mut sig {
            s.0 *= scale;
            s.1 *= scale;
        }
        let lpad = (n_fft - n) / 2;
        let mut buf = vec![rustfft::num_complex::Complex64::new(0.0, 0.0); n_fft];
        for (i, &(re, im)) in sig.iter().enumerate() {
            // librosa builds the basis in complex64
            buf[lpad + i] =
                rustfft::num_complex::Complex64::new(re as f32 as f64, im as f32 as f64);
        }
        fft.process(&mut buf);
        let half = &buf[..n_fft / 2 + 1];
        // util.sparsify_rows(quantile = sparsity)
        let mags: Vec<f64> = half.iter().map(|c| c.norm()).collect();
        let total: f64 = mags.iter().sum();
        let mut sorted = mags.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let mut cum = 0.0;
        let mut thr = sorted[0];
        for &m in &sorted {
            cum += m / total;
            if cum >= p.sparsity {
                thr = m;
                break;
            }
        }
        let row: Vec<(u32, Complex32)> = half
            .iter()
            .enumerate()
            .filter(|(k, _)| mags[*k] >= thr)
            .map(|(k, c)| {
                (
                    k as u32,
                    Complex32::new((c.re * gain) as f32, (c.im * gain) as f32),
                )
            })
            .collect();
        rows.push(row);
    }
    (n_fft, rows)
}

/// 2:1 decimator: a linear-phase 355-tap Kaiser-windowed sinc low-pass (cutoff 0.239 of the input rate, β for
/// 120 dB — pass band ≈ 0.913 of the output Nyquist as libsoxr's `HQ` recipe) evaluated polyphase by overlap-save
/// FFT convolution. Output length `ceil(n/2)`, scaled by `sqrt(2)` (librosa `resample(..., scale=True)`).
#[derive(Clone)]
pub struct HalfbandDecimator {
    /// Centre tap index (`(taps − 1) / 2`, odd).
    c: usize,
    /// FFT size of the overlap-save blocks.
    n: usize,
    /// Length of each polyphase filter.
    l: usize,
    /// Spectra of the even- and odd-tap polyphase filters (scaled by `sqrt(2)/n`).
    h_even: Vec<Complex32>,
    h_odd: Vec<Complex32>,
    fwd: Arc<dyn RealToComplex<f32>>,
    inv: Arc<dyn ComplexToReal<f32>>,
}

impl std::fmt::Debug for HalfbandDecimator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HalfbandDecimator")
            .field("taps", &(2 * self.c + 1))
            .field("fft", &self.n)
            .finish()
    }
}

impl Default for HalfbandDecimator {
    fn default() -> Self {
        Self::new()
    }
}

fn bessel_i0(x: f64) -> f64 {
    let mut sum = 1.0;
    let mut term = 1.0;
    let q = x * x / 4.0;
    for k in 1..200 {
        term *= q / (k as f64 * k as f64);
        sum += term;
        if term < sum * 1e-17 {
            break;
        }
    }
    sum
}

impl HalfbandDecimator {
    /// Number of taps of the prototype low-pass.
    pub const TAPS: usize = 355;
    /// Cutoff in cycles per input sample.
    pub const CUTOFF: f64 = 0.239;

    /// Design the filter and plan the FFTs.
    pub fn new() -> Self {
        let taps = Self::TAPS;
        let c = (taps - 1) / 2;
        let beta = 0.1102 * (120.0 - 8.7);
        let i0b = bessel_i0(beta);
        let fc = 2.0 * Self::CUTOFF; // relative to Nyquist, as scipy.signal.firwin
        let mut h: Vec<f64> = (0..taps)
            .map(|k| {
                let m = k as f64 - c as f64;
                let x = fc * m;
                let sinc = if x == 0.0 {
                    1.0
                } else {
                    (PI * x).sin() / (PI * x)
                };
                let r = 2.0 * k as f64 / (taps - 1) as f64 - 1.0;
                fc * sinc * bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt()) / i0b
            })
            .collect();
        let s: f64 = h.iter().sum();
        h.iter_mut().for_each(|v| *v /= s);
        let n = 2048;
        let mut planner = RealFftPlanner::<f32>::new();
        let fwd = planner.plan_fft_forward(n);
        let inv = planner.plan_fft_inverse(n);
        let gain = std::f64::consts::SQRT_2 / n as f64;
        let spectrum = |taps: Vec<f64>| {
            let mut buf = vec![0f32; n];
            for (i, v) in taps.iter().enumerate() {
                buf[i] = (v * gain) as f32;
            }
            let mut out = fwd.make_output_vec();
            fwd.process(&mut buf, &mut out).expect("sized by the plan");
            out
        };
        let even: Vec<f64> = h.iter().step_by(2).cloned().collect();
        let odd: Vec<f64> = h.iter().skip(1).step_by(2).cloned().collect();
        let l = even.len();
        HalfbandDecimator {
            c,
            n,
            l,
            h_even: spectrum(even),
            h_odd: spectrum(odd),
            fwd,
            inv,
        }
    }

    /// Low-pass and keep every second sample: `y[m] = sqrt(2) · Σ_k h[k] · x[2m + c − k]` (zero outside `x`).
    pub fn decimate(&self, x: &[f32]) -> Vec<f32> {
        let out_len = x.len().div_ceil(2);
        let mut out = vec![0f32; out_len];
        let p = (self.c - 1) / 2; // c = 2p + 1
        let (n, l) = (self.n, self.l);
        let block = n - (l - 1);
        let xe = |i: isize| {
            if i >= 0 && ((2 * i) as usize) < x.len() {
                x[2 * i as usize]
            } else {
                0.0
            }
        };
        let xo = |i: isize| {
            if i >= 0 && ((2 * i + 1) as usize) < x.len() {
                x[2 * i as usize + 1]
            } else {
                0.0
            }
        };
        let mut be = vec![0f32; n];
        let mut bo = vec![0f32; n];
        let mut se = self.fwd.make_output_vec();
        let mut so = self.fwd.make_output_vec();
        let mut scratch_f = self.fwd.make_scratch_vec();
        let mut scratch_i = self.inv.make_scratch_vec();
        let mut time = vec![0f32; n];
        let mut m0 = 0usize;
        while m0 < out_len {
            // conv index q = m + p needs x[q − l + 1 ..= q]
            let s = (m0 + p) as isize - (l as isize - 1);
            for i in 0..n {
                be[i] = xe(s + i as isize);
                bo[i] = xo(s + i as isize);
            }
            self.fwd
                .process_with_scratch(&mut be, &mut se, &mut scratch_f)
                .expect("sized by the plan");
            self.fwd
                .process_with_scratch(&mut bo, &mut so, &mut scratch_f)
                .expect("sized by the plan");
            for k in 0..se.len() {
                se[k] = se[k] * self.h_odd[k] + so[k] * self.h_even[k];
            }
            se[0].im = 0.0;
            if let Some(last) = se.last_mut() {
                last.im = 0.0;
            }
            self.inv
                .process_with_scratch(&mut se, &mut time, &mut scratch_i)
                .expect("sized by the plan");
            let take = block.min(out_len - m0);
            out[m0..m0 + take].copy_from_slice(&time[l - 1..l - 1 + take]);
            m0 += take;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimator_matches_direct_convolution() {
        let x: Vec<f32> = (0..5001)
            .map(|i| ((i as f32) * 0.37).sin() + ((i * i % 97) as f32) / 97.0)
            .collect();
        let d = HalfbandDecimator::new();
        let y = d.decimate(&x);
        assert_eq!(y.len(), 2501);
        // direct form from the same design
        let taps = HalfbandDecimator::TAPS;
        let c = (taps - 1) / 2;
        let beta = 0.1102 * (120.0 - 8.7);
        let fc = 2.0 * HalfbandDecimator::CUTOFF;
        let mut h: Vec<f64> = (0..taps)
            .map(|k| {
                let m = k as f64 - c as f64;
                let xx = fc * m;
                let sinc = if xx == 0.0 {
                    1.0
                } else {
                    (PI * xx).sin() / (PI * xx)
                };
                let r = 2.0 * k as f64 / (taps - 1) as f64 - 1.0;
                fc * sinc * bessel_i0(beta * (1.0 - r * r).max(0.0).sqrt())
            })
            .collect();
        let s: f64 = h.iter().sum();
        h.iter_mut().for_each(|v| *v /= s);
        for m in [0usize, 1, 100, 1234, 2499, 2500] {
            let mut acc = 0.0;
            for (k, hk) in h.iter().enumerate() {
                let j = (2 * m + c) as isize - k as isize;
                if j >= 0 && (j as usize) < x.len() {
                    acc += hk * x[j as usize] as f64;
                }
            }
            acc *= std::f64::consts::SQRT_2;
            assert!((y[m] as f64 - acc).abs() < 1e-5, "m={m}: {} vs {acc}", y[m]);
        }
    }

    #[test]
    fn top_bin_above_nyquist_is_rejected() {
        let p = CqtParams {
            sr: 8000.0,
            ..CqtParams::default()
        };
        assert!(matches!(
            Cqt::new(&p),
            Err(FrontendError::CqtAboveNyquist { .. })
        ));
    }
}

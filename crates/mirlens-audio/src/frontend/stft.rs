//! Short-time Fourier transform with `librosa.stft` semantics (0.11).

use super::window::WindowSpec;
use super::{
    Complex32, ComplexSpectrogram, FrontendError, Spectrogram, check_signal, invalid, pow_of_power,
};
use realfft::{RealFftPlanner, RealToComplex};
use std::sync::Arc;

/// How the signal is extended by `n_fft / 2` samples on both sides when `center` is on (numpy `np.pad` modes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum PadMode {
    /// Zeros (librosa ≥ 0.10 default).
    #[default]
    Constant,
    /// Mirror without repeating the edge sample (torch's default).
    Reflect,
    /// Mirror repeating the edge sample.
    Symmetric,
    /// Repeat the edge sample.
    Edge,
}

impl PadMode {
    /// The sample at (possibly out-of-range) index `j` of the extended signal.
    #[inline]
    pub fn sample(&self, y: &[f32], j: isize) -> f32 {
        let n = y.len() as isize;
        if (0..n).contains(&j) {
            return y[j as usize];
        }
        match self {
            PadMode::Constant => 0.0,
            PadMode::Edge => y[j.clamp(0, n - 1) as usize],
            PadMode::Reflect => {
                if n == 1 {
                    return y[0];
                }
                let p = 2 * (n - 1);
                let mut k = j.rem_euclid(p);
                if k >= n {
                    k = p - k;
                }
                y[k as usize]
            }
            PadMode::Symmetric => {
                let p = 2 * n;
                let mut k = j.rem_euclid(p);
                if k >= n {
                    k = p - 1 - k;
                }
                y[k as usize]
            }
        }
    }
}

/// STFT parameters (librosa names and defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StftParams {
    /// FFT size (librosa default 2048).
    pub n_fft: usize,
    /// Hop in samples; `None` → `win_length / 4`.
    pub hop_length: Option<usize>,
    /// Window length; `None` → `n_fft`. Shorter windows are zero-padded centrally.
    pub win_length: Option<usize>,
    /// Window shape and symmetry (default periodic Hann).
    pub window: WindowSpec,
    /// Pad `n_fft / 2` on both sides so frame `t` is centred at `t · hop`.
    pub center: bool,
    /// Padding used when `center` is on.
    pub pad_mode: PadMode,
}

impl Default for StftParams {
    fn default() -> Self {
        StftParams {
            n_fft: 2048,
            hop_length: None,
            win_length: None,
            window: WindowSpec::HANN,
            center: true,
            pad_mode: PadMode::Constant,
        }
    }
}

impl StftParams {
    /// librosa defaults with the given `n_fft` and `hop_length`.
    pub fn new(n_fft: usize, hop_length: usize) -> Self {
        StftParams {
            n_fft,
            hop_length: Some(hop_length),
            ..Default::default()
        }
    }

    /// Validate; returns `(win_length, hop_length)` resolved.
    pub fn check(&self) -> Result<(usize, usize), FrontendError> {
        if self.n_fft == 0 {
            return Err(invalid("n_fft", "n_fft > 0", self.n_fft));
        }
        let win = self.win_length.unwrap_or(self.n_fft);
        if win == 0 || win > self.n_fft {
            return Err(invalid(
                "win_length",
                format!("1 ≤ win_length ≤ n_fft = {}", self.n_fft),
                win,
            ));
        }
        let hop = self.hop_length.unwrap_or(win / 4);
        if hop == 0 {
            return Err(invalid("hop_length", "hop_length > 0", hop));
        }
        Ok((win, hop))
    }
}

/// A planned STFT: the window and the FFT plan are built once and reused.
#[derive(Clone)]
pub struct Stft {
    n_fft: usize,
    hop: usize,
    center: bool,
    pad_mode: PadMode,
    window: Vec<f32>,
    fft: Arc<dyn RealToComplex<f32>>,
}

impl std::fmt::Debug for Stft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stft")
            .field("n_fft", &self.n_fft)
            .field("hop", &self.hop)
            .field("center", &self.center)
            .field("pad_mode", &self.pad_mode)
            .finish()
    }
}

impl Stft {
    /// Validate the parameters and plan the transform.
    pub fn new(params: &StftParams) -> Result<Self, FrontendError> {
        let (win, hop) = params.check()?;
        let window = params
            .window
            .padded(win, params.n_fft)?
            .into_iter()
            .map(|v| v as f32)
            .collect();
        let fft = RealFftPlanner::<f32>::new().plan_fft_forward(params.n_fft);
        Ok(Stft {
            n_fft: params.n_fft,
            hop,
            center: params.center,
            pad_mode: params.pad_mode,
            window,
            fft,
        })
    }

    /// FFT size.
    pub fn n_fft(&self) -> usize {
        self.n_fft
    }

    /// Hop in samples.
    pub fn hop(&self) -> usize {
        self.hop
    }

    /// Number of frequency bins, `1 + n_fft / 2`.
    pub fn n_bins(&self) -> usize {
        self.n_fft / 2 + 1
    }

    /// Number of frames for a signal of `len` samples (`1 + len / hop` when centred).
    pub fn n_frames(&self, len: usize) -> Result<usize, FrontendError> {
        let padded = if self.center {
            len + 2 * (self.n_fft / 2)
        } else {
            len
        };
        if padded < self.n_fft {
            return Err(FrontendError::InputTooShort {
                len,
                needed: self.n_fft,
                reason: "an uncentred STFT needs at least n_fft samples",
            });
        }
        Ok(1 + (padded - self.n_fft) / self.hop)
    }

    /// Run the transform and hand each frame's `1 + n_fft/2` complex bins to `f(frame_index, bins)`.
    pub fn for_each_frame(
        &self,
        y: &[f32],
        mut f: impl FnMut(usize, &[Complex32]),
    ) -> Result<usize, FrontendError> {
        check_signal(y)?;
        let n_frames = self.n_frames(y.len())?;
        let pad = if self.center {
            (self.n_fft / 2) as isize
        } else {
            0
        };
        let n = y.len() as isize;
        let mut input = vec![0f32; self.n_fft];
        let mut output = vec![Complex32::new(0.0, 0.0); self.n_bins()];
        let mut scratch = self.fft.make_scratch_vec();
        for t in 0..n_frames {
            let start = (t * self.hop) as isize - pad;
            if start >= 0 && start + self.n_fft as isize <= n {
                let seg = &y[start as usize..start as usize + self.n_fft];
                for ((d, &s), &w) in input.iter_mut().zip(seg).zip(&self.window) {
                    *d = s * w;
                }
            } else {
                // edge frame: extend the signal with the pad mode
                for (i, (d, &w)) in input.iter_mut().zip(&self.window).enumerate() {
                    *d = self.pad_mode.sample(y, start + i as isize) * w;
                }
            }
            // Lengths are consistent by construction; an error here would be a bug, not bad input.
            self.fft
                .process_with_scratch(&mut input, &mut output, &mut scratch)
                .expect("FFT buffers sized by the plan");
            f(t, &output);
        }
        Ok(n_frames)
    }

    /// The complex STFT `[1 + n_fft/2, frames]`.
    pub fn stft(&self, y: &[f32]) -> Result<ComplexSpectrogram, FrontendError> {
        let n_bins = self.n_bins();
        let n_frames = self.n_frames(y.len().max(1))?;
        let mut frames = vec![Complex32::new(0.0, 0.0); n_bins * n_frames];
        self.for_each_frame(y, |t, bins| {
            frames[t * n_bins..(t + 1) * n_bins].copy_from_slice(bins)
        })?;
        Ok(ComplexSpectrogram {
            n_bins,
            n_frames,
            data: super::transpose(&frames, n_frames, n_bins),
        })
    }

    /// `|STFT|^power` `[1 + n_fft/2, frames]` (power 1 = magnitude, 2 = power spectrogram).
    pub fn spectrogram(&self, y: &[f32], power: f32) -> Result<Spectrogram, FrontendError> {
        check_power(power)?;
        let n_bins = self.n_bins();
        let n_frames = self.n_frames(y.len().max(1))?;
        let mut frames = vec![0f32; n_bins * n_frames];
        self.for_each_frame(y, |t, bins| {
            for (d, c) in frames[t * n_bins..(t + 1) * n_bins].iter_mut().zip(bins) {
                *d = pow_of_power(c.re * c.re + c.im * c.im, power);
            }
        })?;
        Ok(Spectrogram {
            n_bins,
            n_frames,
            data: super::transpose(&frames, n_frames, n_bins),
        })
    }
}

/// The incremental form of [`Stft::for_each_frame`]: the signal is fed in pieces of any size with
/// [`StftStream::push`] and ended with [`StftStream::finish`]; every frame is handed to the callback as soon as it
/// can be computed, and the frames (indices and values) are bit-identical to [`Stft::for_each_frame`] on the whole
/// signal, centred padding at the start and the end included.
///
/// Memory: the stream holds at most `2 · (n_fft + n_fft/2 + 2 + hop)` samples plus the largest pushed piece, whatever
/// the length of the signal (samples no frame needs any more are dropped, in halves of the buffer).
#[derive(Debug, Clone)]
pub struct StftStream {
    stft: Stft,
    buf: Vec<f32>,
    buf_start: usize,
    received: usize,
    next_t: usize,
    input: Vec<f32>,
    output: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

impl Stft {
    /// An incremental transform with this plan (see [`StftStream`]).
    pub fn stream(&self) -> StftStream {
        StftStream {
            stft: self.clone(),
            buf: Vec::new(),
            buf_start: 0,
            received: 0,
            next_t: 0,
            input: vec![0f32; self.n_fft],
            output: vec![Complex32::new(0.0, 0.0); self.n_bins()],
            scratch: self.fft.make_scratch_vec(),
        }
    }
}

impl StftStream {
    fn pad(&self) -> isize {
        if self.stft.center {
            (self.stft.n_fft / 2) as isize
        } else {
            0
        }
    }

    /// Samples received so far.
    pub fn samples(&self) -> usize {
        self.received
    }

    /// Samples held now (for memory accounting).
    pub fn held_samples(&self) -> usize {
        self.buf.len()
    }

    /// Feed the next piece of the signal; calls `f(frame_index, bins)` for every frame that is complete.
    /// Non-finite samples are an error (with the index in the whole signal).
    pub fn push(
        &mut self,
        chunk: &[f32],
        mut f: impl FnMut(usize, &[Complex32]),
    ) -> Result<(), FrontendError> {
        if let Some(i) = chunk.iter().position(|v| !v.is_finite()) {
            return Err(FrontendError::NonFiniteInput {
                count: chunk.iter().filter(|v| !v.is_finite()).count(),
                len: self.received + chunk.len(),
                first: self.received + i,
            });
        }
        self.buf.extend_from_slice(chunk);
        self.received += chunk.len();
        let pad = self.pad();
        let n_fft = self.stft.n_fft as isize;
        loop {
            let start = (self.next_t * self.stft.hop) as isize - pad;
            // A frame over the start of the signal also needs enough samples for the mirror modes.
            let ready = start + n_fft <= self.received as isize
                && (start >= 0 || self.received as isize >= pad + 2);
            if !ready {
                break;
            }
            self.emit(self.next_t, &mut f);
            self.next_t += 1;
        }
        self.compact();
        Ok(())
    }

    /// End of the signal: emits the remaining frames (those reaching into the end padding) and returns the total
    /// number of frames, which equals [`Stft::n_frames`] of the whole length.
    pub fn finish(
        &mut self,
        mut f: impl FnMut(usize, &[Complex32]),
    ) -> Result<usize, FrontendError> {
        if self.received == 0 {
            return Err(FrontendError::EmptyInput);
        }
        let n_frames = self.stft.n_frames(self.received)?;
        while self.next_t < n_frames {
            self.emit(self.next_t, &mut f);
            self.next_t += 1;
        }
        Ok(n_frames)
    }

    /// Drop the samples no later frame needs: before the next frame's start, keeping the last `n_fft + pad + 2`
    /// samples for the mirror padding at the end.
    fn compact(&mut self) {
        let pad = self.pad();
        let next_start = ((self.next_t * self.stft.hop) as isize - pad).max(0) as usize;
        let tail = self.stft.n_fft + pad as usize + 2;
        let keep_from = next_start.min(self.received.saturating_sub(tail));
        let drop = keep_from.saturating_sub(self.buf_start);
        if drop > 0 && drop >= self.buf.len() / 2 {
            self.buf.drain(..drop);
            self.buf_start += drop;
        }
    }

    fn emit(&mut self, t: usize, f: &mut impl FnMut(usize, &[Complex32])) {
        let start = (t * self.stft.hop) as isize - self.pad() - self.buf_start as isize;
        let n_fft = self.stft.n_fft;
        let n = self.buf.len() as isize;
        if start >= 0 && start + n_fft as isize <= n {
            let seg = &self.buf[start as usize..start as usize + n_fft];
            for ((d, &s), &w) in self.input.iter_mut().zip(seg).zip(&self.stft.window) {
                *d = s * w;
            }
        } else {
            // Within the held samples the pad modes give the same values as on the whole signal: at the start the
            // buffer begins at sample 0, at the end it holds more than the padding's reach.
            for (i, (d, &w)) in self.input.iter_mut().zip(&self.stft.window).enumerate() {
                *d = self.stft.pad_mode.sample(&self.buf, start + i as isize) * w;
            }
        }
        self.stft
            .fft
            .process_with_scratch(&mut self.input, &mut self.output, &mut self.scratch)
            .expect("FFT buffers sized by the plan");
        f(t, &self.output);
    }
}

/// Validate a spectrogram exponent.
pub fn check_power(power: f32) -> Result<(), FrontendError> {
    if !(power.is_finite() && power > 0.0) {
        return Err(invalid(
            "power",
            "a finite exponent > 0 (1 = magnitude, 2 = power)",
            power,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_modes_match_numpy() {
        let y = [1.0, 2.0, 3.0];
        let ext = |m: PadMode| (-4..7).map(|j| m.sample(&y, j)).collect::<Vec<_>>();
        // np.pad([1,2,3], 4, mode=...)
        assert_eq!(
            ext(PadMode::Reflect),
            vec![1., 2., 3., 2., 1., 2., 3., 2., 1., 2., 3.]
        );
        assert_eq!(
            ext(PadMode::Symmetric),
            vec![3., 3., 2., 1., 1., 2., 3., 3., 2., 1., 1.]
        );
        assert_eq!(
            ext(PadMode::Edge),
            vec![1., 1., 1., 1., 1., 2., 3., 3., 3., 3., 3.]
        );
        assert_eq!(
            ext(PadMode::Constant),
            vec![0., 0., 0., 0., 1., 2., 3., 0., 0., 0., 0.]
        );
    }

    #[test]
    fn frame_count_is_one_plus_len_over_hop() {
        let s = Stft::new(&StftParams::new(2048, 512)).unwrap();
        assert_eq!(s.n_frames(66150).unwrap(), 130);
    }

    #[test]
    fn impossible_parameters_are_named() {
        let e = Stft::new(&StftParams::new(0, 512)).unwrap_err();
        assert!(matches!(
            e,
            FrontendError::InvalidParameter {
                parameter: "n_fft",
                ..
            }
        ));
        let e = Stft::new(&StftParams::new(512, 0)).unwrap_err();
        assert!(matches!(
            e,
            FrontendError::InvalidParameter {
                parameter: "hop_length",
                ..
            }
        ));
        let p = StftParams {
            win_length: Some(600),
            ..StftParams::new(512, 128)
        };
        assert!(matches!(
            Stft::new(&p).unwrap_err(),
            FrontendError::InvalidParameter {
                parameter: "win_length",
                ..
            }
        ));
    }
}

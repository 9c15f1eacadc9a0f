//! Long-audio inference in overlapping windows.
//!
//! Attention memory grows with the square of the number of frames (10 minutes of MERT at 75 Hz = 45,000 frames ≈
//! 130 GB of fp32 scores for 16 heads), and the models were pre-trained on ≈ 5 s crops. [`encode_chunked`] runs
//! any [`Encoder`] on windows of `window` samples whose starts are multiples of the hop, so every window's frame
//! grid coincides with the full-input grid (window frame `j` of a window starting at sample `s` is global frame
//! `s / hop + j`).
//!
//! **Windows**: starts `0, stride, 2·stride, …` (`stride = window − overlap`) while the window ends before the
//! input does; the last window starts at `floor((N − window) / hop) · hop` and runs to the end of the input, so
//! the union of windows yields exactly the `floor((N − R)/hop) + 1` frames of the full input (R = receptive field).
//! Inputs no longer than one window are encoded in one piece.
//!
//! **Stitching rule**: consecutive windows overlap on a range of frames; the overlap is split at its middle
//! (integer frame index `⌊(first frame of the next window + one past the last frame of this window) / 2⌋`):
//! frames before the split come from the earlier window, frames from the split on come from the later one. Every
//! frame is therefore taken from the window in which it lies farther from the window edge.
//!
//! **Memory**: one window at a time; the callback form [`encode_chunked_with`] hands over each window's owned
//! frames so the caller can pool or write them without holding the whole track.

use crate::ModelError;
use crate::config::FrameGeometry;
use crate::encoder::{EncodeOptions, Encoder, LayerActivations};
use mirlens_core::{CoreError, LayerSelection};

/// Window and overlap in samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkParams {
    /// Window length in samples.
    pub window: usize,
    /// Overlap between consecutive windows in samples.
    pub overlap: usize,
}

/// Validated chunking plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChunkPlan {
    /// `(start sample, end sample, first owned global frame, one past the last owned global frame)` per window.
    pub windows: Vec<(usize, usize, usize, usize)>,
    /// Total frames of the input.
    pub frames: usize,
}

impl ChunkParams {
    /// `window_s` and `overlap_s` seconds at `sample_rate`, rounded down to multiples of `hop`.
    pub fn from_seconds(window_s: f64, overlap_s: f64, sample_rate: u32, hop: usize) -> Self {
        let snap = |s: f64| ((s * sample_rate as f64) as usize / hop) * hop;
        ChunkParams {
            window: snap(window_s),
            overlap: snap(overlap_s),
        }
    }

    /// The default: 5 s windows (the pre-training crop length) with 1 s overlap.
    pub fn default_for(sample_rate: u32, geom: &FrameGeometry) -> Self {
        Self::from_seconds(5.0, 1.0, sample_rate, geom.hop)
    }

    /// Check against the conv geometry: window and overlap multiples of the hop, overlap ≥ receptive field − hop
    /// (otherwise frames at window joins would be lost) and window > overlap + receptive field.
    pub fn check(&self, geom: &FrameGeometry) -> Result<(), CoreError> {
        let hop = geom.hop;
        if self.window == 0 || !self.window.is_multiple_of(hop) {
            return Err(CoreError::invalid(
                "window",
                self.window,
                format!("a positive multiple of the hop ({hop} samples)"),
            ));
        }
        if !self.overlap.is_multiple_of(hop) {
            return Err(CoreError::invalid(
                "overlap",
                self.overlap,
                format!("a multiple of the hop ({hop} samples)"),
            ));
        }
        let min_overlap = geom.receptive_field.saturating_sub(hop).div_ceil(hop) * hop;
        if self.overlap < min_overlap {
            return Err(CoreError::invalid(
                "overlap",
                self.overlap,
                format!(
                    "at least {min_overlap} samples (receptive field − hop, rounded up to the hop)"
                ),
            ));
        }
        if self.window < self.overlap + geom.receptive_field + hop {
            return Err(CoreError::invalid(
                "window",
                self.window,
                format!(
                    "at least overlap + receptive field + hop = {}",
                    self.overlap + geom.receptive_field + hop
                ),
            ));
        }
        Ok(())
    }

    /// The windows and owned frame ranges for an input of `n` samples.
    pub fn plan(&self, n: usize, geom: &FrameGeometry) -> Result<ChunkPlan, CoreError> {
        self.check(geom)?;
        let hop = geom.hop;
        let frames = geom.num_frames(n);
        if n <= self.window {
            return Ok(ChunkPlan {
                windows: vec![(0, n, 0, frames)],
                frames,
            });
        }
        let stride = self.window - self.overlap;
        let last = ((n - self.window) / hop) * hop;
        let mut starts: Vec<usize> = (0..)
            .map(|k| k * stride)
            .take_while(|&s| s < last)
            .collect();
        starts.push(last);
        let mut windows = Vec::with_capacity(starts.len());
        let mut lo = 0;
        for (k, &s) in starts.iter().enumerate() {
            let end = if k + 1 == starts.len() {
                n
            } else {
                s + self.window
            };
            let hi = if k + 1 == starts.len() {
                frames
            } else {
                let this_end = s / hop + geom.num_frames(end - s);
                (starts[k + 1] / hop + this_end) / 2
            };
            windows.push((s, end, lo, hi));
            lo = hi;
        }
        Ok(ChunkPlan { windows, frames })
    }
}

/// Encode `input` window by window, calling `sink(first_global_frame, activations)` with the frames each window
/// owns (in order, without gaps or repeats). Returns the total number of frames.
pub fn encode_chunked_with(
    enc: &dyn Encoder,
    geom: &FrameGeometry,
    input: &[f32],
    layers: &LayerSelection,
    opts: &EncodeOptions,
    params: &ChunkParams,
    mut sink: impl FnMut(usize, LayerActivations) -> Result<(), ModelError>,
) -> Result<usize, ModelError> {
    if input.len() < geom.receptive_field {
        return Err(ModelError::InputTooShort {
            samples: input.len(),
            receptive_field: geom.receptive_field,
        });
    }
    let plan = params.plan(input.len(), geom)?;
    for w in &plan.windows {
        let owned = encode_window(enc, geom, &input[w.0..w.1], *w, layers, opts)?;
        sink(w.2, owned)?;
    }
    Ok(plan.frames)
}

/// Encode one window of a [`ChunkPlan`] (`samples` = the input's samples `start..end` of `window`) and keep the
/// frames it owns. Lets a caller that streams its input run the same plan without holding the whole input.
pub fn encode_window(
    enc: &dyn Encoder,
    geom: &FrameGeometry,
    samples: &[f32],
    window: (usize, usize, usize, usize),
    layers: &LayerSelection,
    opts: &EncodeOptions,
) -> Result<LayerActivations, ModelError> {
    let (s, _, lo, hi) = window;
    let a = enc.encode(samples, layers, opts)?;
    let off = s / geom.hop;
    let (j0, j1) = (lo - off, hi - off);
    let cut = |v: &Vec<f32>, w: usize| v[j0 * w..j1 * w].to_vec();
    Ok(LayerActivations {
        frames: j1 - j0,
        hidden: a.hidden,
        layers: a
            .layers
            .iter()
            .map(|(l, v)| (*l, cut(v, a.hidden)))
            .collect(),
        conv_features: a.conv_features.as_ref().map(|(c, v)| (*c, cut(v, *c))),
    })
}

/// Encode `input` window by window and stitch the owned frames into one [`LayerActivations`].
pub fn encode_chunked(
    enc: &dyn Encoder,
    geom: &FrameGeometry,
    input: &[f32],
    layers: &LayerSelection,
    opts: &EncodeOptions,
    params: &ChunkParams,
) -> Result<LayerActivations, ModelError> {
    let mut acc: Option<LayerActivations> = None;
    encode_chunked_with(enc, geom, input, layers, opts, params, |_, a| {
        match &mut acc {
            None => acc = Some(a),
            Some(t) => {
                t.frames += a.frames;
                for ((_, dst), (_, src)) in t.layers.iter_mut().zip(a.layers) {
                    dst.extend_from_slice(&src);
                }
                if let (Some((_, dst)), Some((_, src))) = (&mut t.conv_features, a.conv_features) {
                    dst.extend_from_slice(&src);
                }
            }
        }
        Ok(())
    })?;
    acc.ok_or(ModelError::InputTooShort {
        samples: input.len(),
        receptive_field: geom.receptive_field,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> FrameGeometry {
        FrameGeometry::new(&[(10, 5), (3, 2), (2, 2)])
    }

    #[test]
    fn plan_covers_every_frame_once() {
        let g = tiny();
        for n in [30, 500, 999, 1000, 1001, 4321, 20_000] {
            for (w, o) in [(400, 20), (400, 100), (1000, 200), (200, 40)] {
                let p = ChunkParams {
                    window: w,
                    overlap: o,
                };
                let plan = p.plan(n, &g).unwrap();
                assert_eq!(plan.frames, g.num_frames(n));
                let mut next = 0;
                for &(s, e, lo, hi) in &plan.windows {
                    assert_eq!(lo, next, "n {n} w {w} o {o}");
                    assert!(s % g.hop == 0);
                    assert!(e - s <= w + g.hop, "window too long");
                    // owned frames lie inside the window's frames
                    assert!(
                        lo >= s / g.hop && hi <= s / g.hop + g.num_frames(e - s),
                        "n {n} w {w} o {o}"
                    );
                    next = hi;
                }
                assert_eq!(next, plan.frames);
            }
        }
    }

    #[test]
    fn overlap_below_receptive_field_is_rejected() {
        let g = FrameGeometry::new(&[(10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2)]);
        let p = ChunkParams {
            window: 320 * 100,
            overlap: 0,
        };
        assert!(p.check(&g).is_err());
        let p = ChunkParams {
            window: 320 * 100,
            overlap: 320,
        };
        assert!(p.check(&g).is_ok());
        let p = ChunkParams {
            window: 321,
            overlap: 320,
        };
        assert!(p.check(&g).is_err());
    }
}

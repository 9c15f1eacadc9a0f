//! Long clips in bounded encoder memory: [`Windowed`] wraps an [`Encoder`] so that inputs longer than one window are
//! encoded window by window ([`mirlens_models::chunked`]: hop-aligned windows, centre-of-overlap stitching), as
//! `mirlens embed` does. Attention memory then depends on the window, not on the clip: without it a 60 s clip
//! needs four times the attention memory of a 30 s one, and a 2-hour clip cannot be encoded at all.
//!
//! With a pooling (`mean`/`max`), windows are pooled as they are produced and one pooled row is returned
//! (`frames = 1`), so a clip's frames are never all held; without pooling the stitched frames are returned.
//!
//! **Equality with the whole clip**: a clip no longer than one window is passed to the inner encoder unchanged
//! (identical result). For longer clips the stitched frames are exactly the full-context frames only for models
//! whose receptive field fits in the window overlap (convolutional front-ends, frame-wise baselines); a
//! transformer with global attention sees at most one window of context per frame, so its windowed activations
//! (and their mean) differ from a full-context pass, just as the models were pre-trained on ≈ 5 s crops. The
//! pooled result always equals pooling the stitched frames (tested).

use mirlens_core::{LayerSelection, Pooling};
use mirlens_models::chunked::{ChunkParams, encode_chunked, encode_chunked_with, encode_window};
use mirlens_models::{
    EncodeOptions, Encoder, EncoderSpec, FrameGeometry, LayerActivations, ModelError,
};

/// An encoder that cuts long inputs into windows (see the module docs).
pub struct Windowed<'a> {
    inner: &'a dyn Encoder,
    geom: FrameGeometry,
    params: ChunkParams,
    pooling: Pooling,
}

impl std::fmt::Debug for Windowed<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Windowed")
            .field("model", &self.inner.spec().name)
            .field("params", &self.params)
            .field("pooling", &self.pooling)
            .finish()
    }
}

/// Frames seen so far and the per-layer running sums (or maxima) of a pooled windowed encode.
type Accumulated = (usize, Vec<(mirlens_core::LayerId, Vec<f64>)>);

impl<'a> Windowed<'a> {
    /// Wrap `inner` (whose conv geometry is `geom`) with windows `params`; `pooling` other than `none` pools each
    /// long clip to one row as its windows are produced. Errors if the windows do not fit the geometry.
    pub fn new(
        inner: &'a dyn Encoder,
        geom: FrameGeometry,
        params: ChunkParams,
        pooling: Pooling,
    ) -> Result<Self, mirlens_core::CoreError> {
        params.check(&geom)?;
        Ok(Windowed {
            inner,
            geom,
            params,
            pooling,
        })
    }

    /// The window plan.
    pub fn params(&self) -> ChunkParams {
        self.params
    }

    fn pooled(
        &self,
        input: &[f32],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<LayerActivations, ModelError> {
        let mut acc = PoolAcc::new(self.pooling);
        let frames = encode_chunked_with(
            self.inner,
            &self.geom,
            input,
            layers,
            opts,
            &self.params,
            |_, a| {
                acc.add(&a);
                Ok(())
            },
        )?;
        Ok(acc.finish(frames, self.inner.spec().hidden_size))
    }

    /// Encode an input delivered in chunks — the whole input pass by pass: `open()` is called once to count the
    /// samples (and sum them when `normalize`), once more for the variance when `normalize`, and once to encode —
    /// normalised exactly as [`mirlens_models::normalize_waveform`] would normalise the whole input. Returns the
    /// activations and the input length in samples.
    ///
    /// A pooled long input holds one window of samples at a time and gives exactly what [`Encoder::encode`] gives
    /// on the whole input (the same windows, the same sums); a short input, or any input without pooling, is
    /// gathered and passed to [`Encoder::encode`] (its frames are kept anyway).
    pub fn encode_streamed(
        &self,
        open: &ChunkPass<'_>,
        normalize: bool,
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<(LayerActivations, usize), String> {
        let (mut n, mut sum) = (0usize, 0.0f64);
        for c in open()? {
            let c = c?;
            n += c.len();
            if normalize {
                sum = c.iter().fold(sum, |s, &v| s + v as f64);
            }
        }
        if n == 0 {
            return Err("no audio samples".into());
        }
        let norm = if normalize {
            let mean = sum / n as f64;
            let mut var = 0.0f64;
            for c in open()? {
                var = c?.iter().fold(var, |s, &v| s + (v as f64 - mean).powi(2));
            }
            Some((mean, 1.0 / (var / n as f64 + 1e-7).sqrt()))
        } else {
            None
        };
        let apply = |c: &mut [f32]| {
            if let Some((mean, inv)) = norm {
                for v in c.iter_mut() {
                    *v = ((*v as f64 - mean) * inv) as f32;
                }
            }
        };
        let enc_err = |e: ModelError| format!("encoder: {e}");
        if n <= self.params.window || self.pooling == Pooling::None {
            let mut x = Vec::with_capacity(n);
            for c in open()? {
                x.extend_from_slice(&c?);
            }
            apply(&mut x);
            return self
                .encode(&x, layers, opts)
                .map(|a| (a, n))
                .map_err(enc_err);
        }
        if n < self.geom.receptive_field {
            return Err(enc_err(ModelError::InputTooShort {
                samples: n,
                receptive_field: self.geom.receptive_field,
            }));
        }
        let plan = self
            .params
            .plan(n, &self.geom)
            .map_err(|e| enc_err(e.into()))?;
        let mut acc = PoolAcc::new(self.pooling);
        let mut windows = plan.windows.iter().peekable();
        let (mut buf, mut buf_start) = (Vec::<f32>::new(), 0usize);
        for c in open()? {
            let mut c = c?;
            apply(&mut c);
            buf.extend_from_slice(&c);
            while let Some(&&w) = windows.peek() {
                if buf_start + buf.len() < w.1 {
                    break;
                }
                let a = encode_window(
                    self.inner,
                    &self.geom,
                    &buf[w.0 - buf_start..w.1 - buf_start],
                    w,
                    layers,
                    opts,
                )
                .map_err(enc_err)?;
                acc.add(&a);
                windows.next();
                let keep = windows.peek().map_or(buf_start + buf.len(), |w| w.0);
                buf.drain(..keep - buf_start);
                buf_start = keep;
            }
        }
        if windows.next().is_some() {
            return Err(format!(
                "the audio ended before its {n} samples were read a second time"
            ));
        }
        Ok((acc.finish(plan.frames, self.inner.spec().hidden_size), n))
    }
}

/// One pass over an input's chunks (an error names the file and the cause).
pub type Chunks<'a> = Box<dyn Iterator<Item = Result<Vec<f32>, String>> + 'a>;

/// Opens one pass over an input's chunks (see [`Windowed::encode_streamed`]).
pub type ChunkPass<'a> = dyn Fn() -> Result<Chunks<'a>, String> + 'a;

/// Running per-layer sums (or maxima) of the windows of one pooled input.
struct PoolAcc {
    max: bool,
    sums: Option<Accumulated>,
}

impl PoolAcc {
    fn new(pooling: Pooling) -> PoolAcc {
        PoolAcc {
            max: pooling == Pooling::Max,
            sums: None,
        }
    }

    fn add(&mut self, a: &LayerActivations) {
        let h = a.hidden;
        let max = self.max;
        let (_, sums) = self.sums.get_or_insert_with(|| {
            let init = if max { f64::NEG_INFINITY } else { 0.0 };
            (
                h,
                a.layers.iter().map(|(l, _)| (*l, vec![init; h])).collect(),
            )
        });
        for ((_, s), (_, v)) in sums.iter_mut().zip(&a.layers) {
            for row in v.chunks_exact(h) {
                for (t, &x) in s.iter_mut().zip(row) {
                    if max {
                        *t = t.max(x as f64);
                    } else {
                        *t += x as f64;
                    }
                }
            }
        }
    }

    fn finish(self, frames: usize, hidden: usize) -> LayerActivations {
        let (hidden, sums) = self.sums.unwrap_or((hidden, Vec::new()));
        let n = frames.max(1) as f64;
        let max = self.max;
        LayerActivations {
            frames: 1,
            hidden,
            layers: sums
                .into_iter()
                .map(|(l, s)| {
                    let v = s
                        .into_iter()
                        .map(|t| if max { t as f32 } else { (t / n) as f32 })
                        .collect();
                    (l, v)
                })
                .collect(),
            conv_features: None,
        }
    }
}

impl Encoder for Windowed<'_> {
    fn spec(&self) -> &EncoderSpec {
        self.inner.spec()
    }

    fn encode(
        &self,
        input: &[f32],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<LayerActivations, ModelError> {
        if input.len() <= self.params.window {
            return self.inner.encode(input, layers, opts);
        }
        match self.pooling {
            Pooling::None => {
                encode_chunked(self.inner, &self.geom, input, layers, opts, &self.params)
            }
            _ => self.pooled(input, layers, opts),
        }
    }

    fn encode_batch(
        &self,
        inputs: &[&[f32]],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<Vec<LayerActivations>, ModelError> {
        if inputs.iter().all(|x| x.len() <= self.params.window) {
            return self.inner.encode_batch(inputs, layers, opts);
        }
        inputs
            .iter()
            .map(|x| self.encode(x, layers, opts))
            .collect()
    }
}

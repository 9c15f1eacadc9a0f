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
use mirlens_models::chunked::{ChunkParams, encode_chunked, encode_chunked_with};
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
        let mut acc: Option<Accumulated> = None;
        let max = self.pooling == Pooling::Max;
        let frames = encode_chunked_with(
            self.inner,
            &self.geom,
            input,
            layers,
            opts,
            &self.params,
            |_, a| {
                let h = a.hidden;
                let (_, sums) = acc.get_or_insert_with(|| {
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
                Ok(())
            },
        )?;
        let (hidden, sums) = acc.unwrap_or((self.inner.spec().hidden_size, Vec::new()));
        let n = frames.max(1) as f64;
        Ok(LayerActivations {
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
        })
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

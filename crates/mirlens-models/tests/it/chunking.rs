//! Chunked long-audio inference: stitching, bounded windows, deviation from full context.

use super::parity::load;
use mirlens_core::{LayerId, LayerSelection, Modality, Tolerance};
use mirlens_models::chunked::{ChunkParams, encode_chunked, encode_chunked_with};
use mirlens_models::{
    EncodeOptions, Encoder, EncoderSpec, FrameGeometry, LayerActivations, ModelError,
};
use mirlens_test_support::assert_close;
use std::sync::Mutex;

/// A fake encoder whose frame `j` is the first sample of its receptive field, so a ramp input reveals the global
/// frame index; it records the longest window it was given.
struct Probe {
    spec: EncoderSpec,
    geom: FrameGeometry,
    longest: Mutex<usize>,
}

impl Encoder for Probe {
    fn spec(&self) -> &EncoderSpec {
        &self.spec
    }
    fn encode(
        &self,
        x: &[f32],
        _: &LayerSelection,
        _: &EncodeOptions,
    ) -> Result<LayerActivations, ModelError> {
        let mut l = self.longest.lock().unwrap();
        *l = (*l).max(x.len());
        let f = self.geom.num_frames(x.len());
        let v: Vec<f32> = (0..f).map(|j| x[j * self.geom.hop]).collect();
        Ok(LayerActivations {
            frames: f,
            hidden: 1,
            layers: vec![(LayerId(0), v)],
            conv_features: None,
        })
    }
}

#[test]
fn ten_minutes_are_stitched_exactly_with_bounded_windows() {
    let geom = FrameGeometry::new(&[(10, 5), (3, 2), (3, 2), (3, 2), (3, 2), (2, 2), (2, 2)]);
    let probe = Probe {
        spec: EncoderSpec {
            name: "probe".into(),
            modality: Modality::Audio,
            sample_rate: 16_000,
            frame_rate: 50.0,
            num_layers: 0,
            hidden_size: 1,
            normalize_input: false,
        },
        geom,
        longest: Mutex::new(0),
    };
    // 10 minutes at 16 kHz plus an odd tail; sample value = sample index / hop (exact in f32).
    let n = 600 * 16_000 + 777;
    let x: Vec<f32> = (0..n)
        .map(|i| (i / 320) as f32 + (i % 320) as f32 / 1024.0)
        .collect();
    let params = ChunkParams::default_for(16_000, &geom);
    assert_eq!((params.window, params.overlap), (80_000, 16_000));
    let mut next = 0usize;
    let total = encode_chunked_with(
        &probe,
        &geom,
        &x,
        &LayerSelection::All,
        &EncodeOptions::default(),
        &params,
        |first, a| {
            assert_eq!(first, next);
            for (j, v) in a.layers[0].1.iter().enumerate() {
                assert_eq!(*v, (first + j) as f32, "global frame {}", first + j);
            }
            next += a.frames;
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(total, geom.num_frames(n));
    assert_eq!(next, total);
    assert!(*probe.longest.lock().unwrap() < params.window + geom.hop);
}

#[test]
fn short_input_is_one_window_and_equals_full_encode() {
    let enc = load("hubert_group_postln");
    let geom = enc.geometry();
    let x: Vec<f32> = (0..1500).map(|i| (i as f32 * 0.07).sin()).collect();
    let p = ChunkParams {
        window: 2000,
        overlap: 200,
    };
    let a = encode_chunked(
        &enc,
        &geom,
        &x,
        &LayerSelection::All,
        &EncodeOptions::default(),
        &p,
    )
    .unwrap();
    let b = enc
        .encode(&x, &LayerSelection::All, &EncodeOptions::default())
        .unwrap();
    assert_eq!(a, b);
}

/// Non-stationary test signal: a rising chirp whose loudness changes every 0.25 s, plus noise.
pub fn signal(n: usize, sr: f32) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..n)
        .map(|i| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let t = i as f32 / sr;
            let f = 200.0 + 600.0 * t;
            let gain = 0.2 + 0.8 * ((t * 4.0).floor() * 0.618).fract();
            gain * (2.0 * std::f32::consts::PI * f * t).sin() + 0.2 * noise
        })
        .collect()
}

#[test]
fn layer_zero_of_a_layer_norm_pre_ln_model_is_exact_under_chunking() {
    // Layer 0 of a layer-norm/pre-LN model depends on ±K/2 frames only (conv stack + positional conv), so with an
    // overlap of ≥ K frames the centre-stitched result equals full context.
    let enc = load("wav2vec2_layer_preln");
    let geom = enc.geometry();
    let x = signal(16_000, 16_000.0);
    let p = ChunkParams {
        window: 4000,
        overlap: 800,
    };
    let sel = LayerSelection::All;
    let opts = EncodeOptions::default();
    let a = encode_chunked(&enc, &geom, &x, &sel, &opts, &p).unwrap();
    let b = enc.encode(&x, &sel, &opts).unwrap();
    assert_eq!(a.frames, b.frames);
    assert_close(
        "chunked layer 0",
        a.layer(LayerId(0)).unwrap(),
        b.layer(LayerId(0)).unwrap(),
        Tolerance::TIGHT,
    );
    // Deeper layers see only their window: they differ (global attention).
    let r = mirlens_test_support::compare(
        a.layer(LayerId(2)).unwrap(),
        b.layer(LayerId(2)).unwrap(),
        Tolerance::ENCODER,
    );
    assert!(
        r.max_abs > 1e-5,
        "layer 2 should differ under chunking, max {}",
        r.max_abs
    );
}

fn cosine_rows(a: &[f32], b: &[f32], h: usize) -> f64 {
    let mut total = 0.0;
    let rows = a.len() / h;
    for r in 0..rows {
        let (x, y) = (&a[r * h..(r + 1) * h], &b[r * h..(r + 1) * h]);
        let dot: f64 = x.iter().zip(y).map(|(p, q)| *p as f64 * *q as f64).sum();
        let nx: f64 = x.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
        let ny: f64 = y.iter().map(|p| (*p as f64).powi(2)).sum::<f64>().sqrt();
        total += dot / (nx * ny).max(1e-30);
    }
    total / rows as f64
}

#[test]
fn chunked_deviation_on_tiny_models_is_measured() {
    // 4 s of input, 1 s windows, 0.2 s overlap: report per-layer max abs deviation and mean cosine vs full context.
    for v in super::parity::VARIANTS {
        let enc = load(v);
        let geom = enc.geometry();
        let sr = enc.spec().sample_rate;
        let x = signal(4 * sr as usize, sr as f32);
        let p = ChunkParams::from_seconds(1.0, 0.2, sr, geom.hop);
        let sel = LayerSelection::All;
        let opts = EncodeOptions::default();
        let a = encode_chunked(&enc, &geom, &x, &sel, &opts, &p).unwrap();
        let b = enc.encode(&x, &sel, &opts).unwrap();
        assert_eq!(a.frames, b.frames);
        let mut line = format!("chunk deviation {v}:");
        for ((l, ca), (_, cb)) in a.layers.iter().zip(&b.layers) {
            let r = mirlens_test_support::compare(ca, cb, Tolerance::ENCODER);
            let cos = cosine_rows(ca, cb, a.hidden);
            line += &format!(" {}: max {:.2e} cos {:.6};", l.0, r.max_abs, cos);
            // Far from identical maps but strongly aligned: a sanity floor, not a quality claim.
            assert!(cos > 0.5, "{v} layer {l}: mean cosine {cos}");
        }
        println!("{line}");
    }
}

//! One parity suite for both encoder backends: candle (`mirlens-models`), ONNX Runtime (`mirlens-onnx`) and the
//! transformers goldens (`tests/golden/encoders`) must agree on every hidden state of every tiny variant, at several
//! input lengths and for a padded batch. The ONNX side needs the ONNX Runtime library (`ORT_DYLIB_PATH` or
//! `<workspace>/.venv`, see docs/onnx.md); without it this suite fails with the install instructions.

use mirlens_core::{LayerId, LayerSelection, Tolerance};
use mirlens_models::candle_encoder::BatchMask;
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, FinalNorm, LoadOptions};
use mirlens_onnx::{OnnxEncoder, OnnxOptions, RuntimeSearch};
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{CloseReport, assert_close, golden_dir, workspace_root};
use std::path::PathBuf;

/// Variants with goldens and a committed ONNX export.
const VARIANTS: [&str; 5] = [
    "wav2vec2_group_postln",
    "wav2vec2_layer_preln",
    "hubert_group_postln",
    "hubert_group_preln",
    "mert_95m_like",
];

/// Both backends vs transformers, and vs each other: 1e-4 max abs in f32.
const ENCODER: Tolerance = Tolerance::ENCODER;

struct Backends {
    candle: CandleEncoder,
    /// The same weights under the legacy `weight_g` / `weight_v` names.
    candle_legacy: CandleEncoder,
    onnx: OnnxEncoder,
}

fn backends(variant: &str) -> Backends {
    let dir = golden_dir("encoders").join(variant);
    let legacy = golden_dir("encoders").join(format!("{variant}_legacy"));
    let candle = CandleEncoder::load(&dir, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("candle {variant}: {e}"));
    let candle_legacy = CandleEncoder::load(&legacy, &LoadOptions::default())
        .unwrap_or_else(|e| panic!("candle {variant}_legacy: {e}"));
    let opts = OnnxOptions {
        threads: 1,
        runtime: RuntimeSearch::from_env().also_search(workspace_root()),
        ..OnnxOptions::default()
    };
    let onnx = OnnxEncoder::load(golden_dir("onnx").join(format!("{variant}.onnx")), &opts)
        .unwrap_or_else(|e| panic!("onnx {variant}: {e}"));
    Backends {
        candle,
        candle_legacy,
        onnx,
    }
}

fn single_goldens(variant: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(golden_dir("encoders").join(variant))
        .unwrap_or_else(|e| panic!("{variant}: {e}"))
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("hidden_len"))
        })
        .collect();
    v.sort();
    assert!(
        v.len() >= 3,
        "{variant}: expected several input lengths, found {v:?}"
    );
    v
}

fn channels_last(data: &[f32], c: usize, t: usize) -> Vec<f32> {
    let mut out = vec![0.0; c * t];
    for ci in 0..c {
        for ti in 0..t {
            out[ti * c + ci] = data[ci * t + ti];
        }
    }
    out
}

#[derive(Default)]
struct Worst {
    candle: f64,
    onnx: f64,
    between: f64,
}

impl Worst {
    fn add(&mut self, c: CloseReport, o: CloseReport, b: CloseReport) {
        self.candle = self.candle.max(c.max_abs);
        self.onnx = self.onnx.max(o.max_abs);
        self.between = self.between.max(b.max_abs);
    }
}

#[test]
fn candle_onnx_and_transformers_agree_on_every_layer_of_every_variant() {
    let mut worst = Worst::default();
    for v in VARIANTS {
        let b = backends(v);
        assert_eq!(
            b.candle.spec(),
            b.onnx.spec(),
            "{v}: the two backends describe the model differently"
        );
        let n = b.candle.spec().num_layers;
        for path in single_goldens(v) {
            let g = Golden::load(&path);
            let file = path.file_name().unwrap().to_string_lossy().to_string();
            let x = &g.get("input_values").data;
            for final_norm in [FinalNorm::Before, FinalNorm::After] {
                let opts = EncodeOptions {
                    conv_features: true,
                    final_norm,
                };
                let c = b
                    .candle
                    .encode(x, &LayerSelection::All, &opts)
                    .unwrap_or_else(|e| panic!("candle {v}: {e}"));
                let cl = b
                    .candle_legacy
                    .encode(x, &LayerSelection::All, &opts)
                    .unwrap();
                let o = b
                    .onnx
                    .encode(x, &LayerSelection::All, &opts)
                    .unwrap_or_else(|e| panic!("onnx {v}: {e}"));
                assert_eq!(
                    (c.frames, c.layers.len()),
                    (o.frames, o.layers.len()),
                    "{v} {file}"
                );
                for i in 0..=n {
                    let key = if i == n && final_norm == FinalNorm::After {
                        "last_hidden_state".to_string()
                    } else {
                        format!("hidden_states.{i}")
                    };
                    let exp = &g.get(&key).data;
                    let (cv, ov) = (c.layer(LayerId(i)).unwrap(), o.layer(LayerId(i)).unwrap());
                    let what = format!("{v} {file} layer {i} ({final_norm:?})");
                    worst.add(
                        assert_close(&format!("candle vs transformers: {what}"), cv, exp, ENCODER),
                        assert_close(&format!("onnx vs transformers: {what}"), ov, exp, ENCODER),
                        assert_close(&format!("candle vs onnx: {what}"), cv, ov, ENCODER),
                    );
                    assert_close(
                        &format!("legacy names: {what}"),
                        cl.layer(LayerId(i)).unwrap(),
                        cv,
                        Tolerance::EXACT_F32,
                    );
                }
                let conv = g.get("conv_features");
                let exp = channels_last(&conv.data, conv.shape[1], conv.shape[2]);
                let (cc, oc) = (
                    &c.conv_features.as_ref().unwrap().1,
                    &o.conv_features.as_ref().unwrap().1,
                );
                worst.add(
                    assert_close(&format!("candle conv {v} {file}"), cc, &exp, ENCODER),
                    assert_close(&format!("onnx conv {v} {file}"), oc, &exp, ENCODER),
                    assert_close(&format!("candle vs onnx conv {v} {file}"), cc, oc, ENCODER),
                );
            }
        }
    }
    eprintln!(
        "max abs error: candle vs transformers {:.3e}, onnx vs transformers {:.3e}, candle vs onnx {:.3e}",
        worst.candle, worst.onnx, worst.between
    );
}

#[test]
fn padded_batches_agree_across_backends_and_with_transformers() {
    let mut worst = Worst::default();
    for v in VARIANTS {
        let b = backends(v);
        let g = Golden::load(
            golden_dir("encoders")
                .join(v)
                .join("hidden_batch.safetensors"),
        );
        let iv = g.get("input_values");
        let (batch, width) = (iv.shape[0], iv.shape[1]);
        let lengths: Vec<usize> = g.get("lengths").data.iter().map(|&l| l as usize).collect();
        let items: Vec<&[f32]> = (0..batch)
            .map(|i| &iv.data[i * width..i * width + lengths[i]])
            .collect();
        let mask = match g.metadata.get("batch_attention_mask").map(String::as_str) {
            Some("yes") => BatchMask::FromLengths,
            Some("no") => BatchMask::NoMask,
            other => panic!("{v}: batch golden lacks batch_attention_mask metadata ({other:?})"),
        };
        let c = b
            .candle
            .forward_padded(&items, mask)
            .unwrap_or_else(|e| panic!("candle {v}: {e}"));
        let o = b
            .onnx
            .run_padded(
                &iv.data,
                batch,
                &lengths,
                &LayerSelection::All,
                &EncodeOptions::default(),
            )
            .unwrap_or_else(|e| panic!("onnx {v}: {e}"));
        assert_eq!(c.max_frames, o.frames, "{v}");
        for (i, cv) in c.hidden_states.iter().enumerate() {
            let exp = &g.get(&format!("hidden_states.{i}")).data;
            let ov = &o.layers[i].1;
            worst.add(
                assert_close(&format!("candle batch {v} layer {i}"), cv, exp, ENCODER),
                assert_close(&format!("onnx batch {v} layer {i}"), ov, exp, ENCODER),
                assert_close(
                    &format!("candle vs onnx batch {v} layer {i}"),
                    cv,
                    ov,
                    ENCODER,
                ),
            );
        }
        let exp = &g.get("last_hidden_state").data;
        worst.add(
            assert_close(
                &format!("candle batch {v} last"),
                &c.last_hidden_state,
                exp,
                ENCODER,
            ),
            assert_close(
                &format!("onnx batch {v} last"),
                &o.last_hidden_state,
                exp,
                ENCODER,
            ),
            assert_close(
                &format!("candle vs onnx batch {v} last"),
                &c.last_hidden_state,
                &o.last_hidden_state,
                ENCODER,
            ),
        );
    }
    eprintln!(
        "padded batch max abs error: candle vs transformers {:.3e}, onnx vs transformers {:.3e}, candle vs onnx {:.3e}",
        worst.candle, worst.onnx, worst.between
    );
}

#[test]
fn encode_batch_agrees_across_backends_on_mixed_lengths() {
    let xs: Vec<Vec<f32>> = [3200usize, 1601, 3200, 397]
        .iter()
        .enumerate()
        .map(|(s, &n)| mirlens_test_support::signals::noise(s as u64 + 10, 0.5, n))
        .collect();
    let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let sel = LayerSelection::Some(vec![LayerId(0), LayerId(1), LayerId(2)]);
    for v in VARIANTS {
        let b = backends(v);
        let c = b
            .candle
            .encode_batch(&refs, &sel, &EncodeOptions::default())
            .unwrap();
        let o = b
            .onnx
            .encode_batch(&refs, &sel, &EncodeOptions::default())
            .unwrap();
        assert_eq!(c.len(), o.len());
        for (k, (ci, oi)) in c.iter().zip(&o).enumerate() {
            assert_eq!(ci.frames, oi.frames, "{v} item {k}");
            for ((l, cv), (_, ov)) in ci.layers.iter().zip(&oi.layers) {
                assert_close(
                    &format!("{v} item {k} {l}: candle vs onnx"),
                    cv,
                    ov,
                    ENCODER,
                );
            }
        }
    }
}

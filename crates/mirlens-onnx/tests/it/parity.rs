//! ONNX Runtime vs the transformers goldens of `tests/golden/encoders`: every hidden state, the last hidden state
//! and the conv features, at several input lengths and for a padded batch.

use crate::{VARIANTS, channels_last, load, single_goldens};
use mirlens_core::{LayerId, LayerSelection, Tolerance};
use mirlens_models::{EncodeOptions, Encoder, FinalNorm};
use mirlens_test_support::{assert_close, golden::Golden, golden_dir};

/// The parity tier of the encoders: 1e-4 max abs in f32.
const ENCODER: Tolerance = Tolerance::ENCODER;

#[test]
fn every_layer_of_every_variant_matches_transformers_at_several_lengths() {
    let mut worst = 0.0f64;
    for v in VARIANTS {
        let enc = load(v);
        let spec = enc.spec().clone();
        for path in single_goldens(v) {
            let g = Golden::load(&path);
            let input = &g.get("input_values").data;
            let act = enc
                .encode(
                    input,
                    &LayerSelection::All,
                    &EncodeOptions {
                        conv_features: true,
                        ..Default::default()
                    },
                )
                .unwrap_or_else(|e| panic!("{v} {}: {e}", path.display()));
            assert_eq!(act.layers.len(), spec.num_layers + 1);
            for i in 0..=spec.num_layers {
                let exp = g.get(&format!("hidden_states.{i}"));
                assert_eq!(
                    exp.shape,
                    vec![1, act.frames, spec.hidden_size],
                    "{v} layer {i}"
                );
                let what = format!(
                    "{v} {} hidden_states.{i}",
                    path.file_name().unwrap().to_string_lossy()
                );
                let r = assert_close(&what, act.layer(LayerId(i)).unwrap(), &exp.data, ENCODER);
                worst = worst.max(r.max_abs);
            }
            let conv = g.get("conv_features");
            let (c, t) = (conv.shape[1], conv.shape[2]);
            let (cd, got) = act.conv_features.as_ref().expect("conv features requested");
            assert_eq!((*cd, t), (c, act.frames));
            let r = assert_close(
                &format!("{v} conv_features"),
                got,
                &channels_last(&conv.data, c, t),
                ENCODER,
            );
            worst = worst.max(r.max_abs);

            let padded = enc
                .run_padded(
                    input,
                    1,
                    &[input.len()],
                    &LayerSelection::Last,
                    &EncodeOptions::default(),
                )
                .unwrap_or_else(|e| panic!("{v}: {e}"));
            let r = assert_close(
                &format!("{v} last_hidden_state"),
                &padded.last_hidden_state,
                &g.get("last_hidden_state").data,
                ENCODER,
            );
            worst = worst.max(r.max_abs);
        }
    }
    eprintln!("onnx vs transformers, single inputs: max abs error {worst:.3e}");
}

#[test]
fn padded_batch_matches_transformers_including_padding_frames() {
    for v in VARIANTS {
        let enc = load(v);
        let g = Golden::load(
            golden_dir("encoders")
                .join(v)
                .join("hidden_batch.safetensors"),
        );
        let iv = g.get("input_values");
        let lengths: Vec<usize> = g.get("lengths").data.iter().map(|&l| l as usize).collect();
        let out = enc
            .run_padded(
                &iv.data,
                iv.shape[0],
                &lengths,
                &LayerSelection::All,
                &EncodeOptions::default(),
            )
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        let mut worst = 0.0f64;
        for (l, data) in &out.layers {
            let r = assert_close(
                &format!("{v} batch {l}"),
                data,
                &g.get(&format!("hidden_states.{}", l.0)).data,
                ENCODER,
            );
            worst = worst.max(r.max_abs);
        }
        assert_close(
            &format!("{v} batch last"),
            &out.last_hidden_state,
            &g.get("last_hidden_state").data,
            ENCODER,
        );
        eprintln!("{v}: padded batch max abs {worst:.3e}");
    }
}

#[test]
fn batched_encoding_equals_single_encoding() {
    let xs: Vec<Vec<f32>> = [3200usize, 1601, 3200, 900]
        .iter()
        .enumerate()
        .map(|(s, &n)| mirlens_test_support::signals::noise(s as u64, 0.5, n))
        .collect();
    let refs: Vec<&[f32]> = xs.iter().map(Vec::as_slice).collect();
    let opts = EncodeOptions {
        conv_features: true,
        ..Default::default()
    };
    let sel = LayerSelection::Some(vec![LayerId(0), LayerId(2)]);
    for v in VARIANTS {
        let enc = load(v);
        let batch = enc
            .encode_batch(&refs, &sel, &opts)
            .unwrap_or_else(|e| panic!("{v}: {e}"));
        assert_eq!(batch.len(), xs.len());
        for (x, b) in xs.iter().zip(&batch) {
            let s = enc.encode(x, &sel, &opts).unwrap();
            assert_eq!(s.frames, b.frames);
            assert_eq!(
                b.layers.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
                vec![LayerId(0), LayerId(2)]
            );
            for ((l, bs), (_, ss)) in b.layers.iter().zip(&s.layers) {
                assert_close(
                    &format!("{v} batched vs single {l}"),
                    bs,
                    ss,
                    Tolerance::TIGHT,
                );
            }
            assert_close(
                &format!("{v} batched vs single conv"),
                &b.conv_features.as_ref().unwrap().1,
                &s.conv_features.as_ref().unwrap().1,
                Tolerance::TIGHT,
            );
        }
    }
}

#[test]
fn spec_comes_from_the_export_metadata_and_agrees_with_the_checkpoint_config() {
    for v in VARIANTS {
        let enc = load(v);
        let cfg: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(golden_dir("encoders").join(v).join("config.json")).unwrap(),
        )
        .unwrap();
        let pre: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(
                golden_dir("encoders")
                    .join(v)
                    .join("preprocessor_config.json"),
            )
            .unwrap(),
        )
        .unwrap();
        let spec = enc.spec();
        assert_eq!(spec.name, v);
        assert_eq!(
            spec.num_layers as u64,
            cfg["num_hidden_layers"].as_u64().unwrap()
        );
        assert_eq!(
            spec.hidden_size as u64,
            cfg["hidden_size"].as_u64().unwrap()
        );
        assert_eq!(
            spec.sample_rate as u64,
            pre["sampling_rate"].as_u64().unwrap()
        );
        let hop: u64 = cfg["conv_stride"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_u64().unwrap())
            .product();
        assert_eq!(spec.frame_rate, spec.sample_rate as f64 / hop as f64);
        assert_eq!(spec.normalize_input, pre["do_normalize"].as_bool().unwrap());
        assert_eq!(enc.meta().hidden_state_convention, "transformers-v5");
        assert_eq!(enc.meta().min_samples(), 30);
    }
}

#[test]
fn final_norm_after_gives_last_hidden_state_for_pre_ln_and_changes_nothing_for_post_ln() {
    for v in VARIANTS {
        let enc = load(v);
        let n = enc.spec().num_layers;
        let path = &single_goldens(v)[0];
        let g = Golden::load(path);
        let input = &g.get("input_values").data;
        let after = EncodeOptions {
            final_norm: FinalNorm::After,
            ..Default::default()
        };
        let act = enc.encode(input, &LayerSelection::Last, &after).unwrap();
        assert_close(
            &format!("{v} layer N (after)"),
            act.layer(LayerId(n)).unwrap(),
            &g.get("last_hidden_state").data,
            ENCODER,
        );
        let before = enc
            .encode(input, &LayerSelection::Last, &EncodeOptions::default())
            .unwrap();
        assert_close(
            &format!("{v} layer N (before)"),
            before.layer(LayerId(n)).unwrap(),
            &g.get(&format!("hidden_states.{n}")).data,
            ENCODER,
        );
        let differs = mirlens_test_support::compare(
            before.layer(LayerId(n)).unwrap(),
            act.layer(LayerId(n)).unwrap(),
            Tolerance::TIGHT,
        );
        let pre_ln = enc.meta().layout == mirlens_onnx::EncoderLayout::PreLn;
        assert_eq!(
            differs.violations > 0,
            pre_ln,
            "{v}: final norm must matter exactly for pre-LN models"
        );
    }
}

//! Bad input and bad checkpoints give typed errors naming the culprit.

use super::parity::load;
use mirlens_core::{CoreError, LayerId, LayerSelection};
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, LoadOptions, LoadPolicy, ModelError};
use mirlens_test_support::golden_dir;
use std::path::Path;

fn copy_dir(src: &Path, dst: &Path) {
    std::fs::create_dir_all(dst).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap();
        if name.to_string_lossy().starts_with("hidden_") {
            continue;
        }
        std::fs::copy(&p, dst.join(name)).unwrap();
    }
}

fn tiny_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    let t = tempfile::tempdir().unwrap();
    let d = t.path().join("m");
    copy_dir(&golden_dir("encoders").join("hubert_group_postln"), &d);
    (t, d)
}

fn rewrite_config(d: &Path, f: impl FnOnce(&mut serde_json::Map<String, serde_json::Value>)) {
    let p = d.join("config.json");
    let mut v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
    f(v.as_object_mut().unwrap());
    std::fs::write(&p, serde_json::to_string(&v).unwrap()).unwrap();
}

/// Rewrite model.safetensors with a transform over (name, shape, f32 data).
fn rewrite_weights(
    d: &Path,
    f: impl Fn(Vec<(String, Vec<usize>, Vec<f32>)>) -> Vec<(String, Vec<usize>, Vec<f32>)>,
) {
    let p = d.join("model.safetensors");
    let bytes = std::fs::read(&p).unwrap();
    let st = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let mut items: Vec<(String, Vec<usize>, Vec<f32>)> = st
        .tensors()
        .into_iter()
        .map(|(n, v)| {
            let data = v
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            (n, v.shape().to_vec(), data)
        })
        .collect();
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let items = f(items);
    let raw: Vec<(String, Vec<usize>, Vec<u8>)> = items
        .into_iter()
        .map(|(n, s, d)| (n, s, d.iter().flat_map(|x| x.to_le_bytes()).collect()))
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = raw
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                    .unwrap(),
            )
        })
        .collect();
    safetensors::serialize_to_file(views, None, &p).unwrap();
}

#[test]
fn missing_config_and_weights() {
    let (_t, d) = tiny_copy();
    std::fs::remove_file(d.join("model.safetensors")).unwrap();
    match CandleEncoder::load(&d, &LoadOptions::default()) {
        Err(ModelError::MissingFile { what, .. }) => assert!(what.contains("model.safetensors")),
        other => panic!("{other:?}"),
    }
    std::fs::remove_file(d.join("config.json")).unwrap();
    match CandleEncoder::load(&d, &LoadOptions::default()) {
        Err(ModelError::MissingFile { path, what }) => {
            assert_eq!(what, "config.json");
            assert!(path.ends_with("config.json"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn pickle_checkpoint_is_refused_with_a_safe_conversion_hint() {
    let (_t, d) = tiny_copy();
    std::fs::rename(d.join("model.safetensors"), d.join("pytorch_model.bin")).unwrap();
    let e = CandleEncoder::load(&d, &LoadOptions::default()).unwrap_err();
    assert!(matches!(e, ModelError::PickleCheckpoint { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("pytorch_model.bin")
            && msg.contains("weights_only=True")
            && msg.contains("save_file"),
        "{msg}"
    );
    // the hint never suggests running the checkpoint's code
    assert!(!msg.contains("trust_remote_code"), "{msg}");
}

#[test]
fn unknown_model_type() {
    let (_t, d) = tiny_copy();
    rewrite_config(&d, |m| {
        m.insert("model_type".into(), "wavlm".into());
    });
    match CandleEncoder::load(&d, &LoadOptions::default()) {
        Err(ModelError::UnknownModelType { model_type, .. }) => assert_eq!(model_type, "wavlm"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn unsupported_mert_options_are_refused() {
    for (key, value) in [
        ("feature_extractor_cqt", true),
        ("deepnorm", true),
        ("conv_pos_batch_norm", true),
    ] {
        let (_t, d) = tiny_copy();
        rewrite_config(&d, |m| {
            m.insert("model_type".into(), "mert_model".into());
            m.insert(key.into(), value.into());
        });
        match CandleEncoder::load(&d, &LoadOptions::default()) {
            Err(ModelError::Unsupported { option, .. }) => assert_eq!(option, key),
            other => panic!("{key}: {other:?}"),
        }
    }
}

#[test]
fn shape_mismatch_names_the_tensor() {
    let (_t, d) = tiny_copy();
    rewrite_config(&d, |m| {
        m.insert("intermediate_size".into(), 48.into());
    });
    match CandleEncoder::load(&d, &LoadOptions::default()) {
        Err(ModelError::ShapeMismatch {
            tensor,
            expected,
            found,
        }) => {
            assert_eq!(
                tensor,
                "encoder.layers.0.feed_forward.intermediate_dense.weight"
            );
            assert_eq!(expected, vec![48, 32]);
            assert_eq!(found, vec![64, 32]);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn strict_loading_reports_missing_and_unused_and_partial_opt_in() {
    let (_t, d) = tiny_copy();
    rewrite_weights(&d, |mut items| {
        items.retain(|(n, _, _)| n != "encoder.layers.1.final_layer_norm.bias");
        items.push(("extra.tensor".into(), vec![2], vec![1.0, 2.0]));
        items
    });
    match CandleEncoder::load(&d, &LoadOptions::default()) {
        Err(ModelError::StrictLoad { missing, unused }) => {
            assert_eq!(
                missing,
                vec!["encoder.layers.1.final_layer_norm.bias".to_string()]
            );
            assert_eq!(unused, vec!["extra.tensor".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    let opts = LoadOptions {
        policy: LoadPolicy::Partial,
        ..LoadOptions::default()
    };
    let enc = CandleEncoder::load(&d, &opts).unwrap();
    let r = enc.load_report();
    assert_eq!(
        r.missing,
        vec!["encoder.layers.1.final_layer_norm.bias".to_string()]
    );
    assert_eq!(r.unused, vec!["extra.tensor".to_string()]);
    assert_eq!(r.used.len(), 45);
}

#[test]
fn head_model_prefix_and_head_tensors() {
    let (_t, d) = tiny_copy();
    rewrite_weights(&d, |items| {
        let mut out: Vec<_> = items
            .into_iter()
            .map(|(n, s, v)| (format!("hubert.{n}"), s, v))
            .collect();
        out.push(("lm_head.weight".into(), vec![4, 32], vec![0.5; 128]));
        out.push(("lm_head.bias".into(), vec![4], vec![0.0; 4]));
        out
    });
    let enc = CandleEncoder::load(&d, &LoadOptions::default()).unwrap();
    assert_eq!(enc.load_report().prefix, "hubert.");
    assert_eq!(enc.load_report().ignored.len(), 2);
    // Same numbers as the base checkpoint.
    let base = load("hubert_group_postln");
    let x: Vec<f32> = (0..800).map(|i| (i as f32 * 0.05).sin()).collect();
    let a = enc
        .encode(&x, &LayerSelection::All, &EncodeOptions::default())
        .unwrap();
    let b = base
        .encode(&x, &LayerSelection::All, &EncodeOptions::default())
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn bad_inputs() {
    let enc = load("hubert_group_postln");
    let opts = EncodeOptions::default();
    match enc.encode(&[0.1; 29], &LayerSelection::All, &opts) {
        Err(ModelError::InputTooShort {
            samples,
            receptive_field,
        }) => {
            assert_eq!((samples, receptive_field), (29, 30));
        }
        other => panic!("{other:?}"),
    }
    let mut x = vec![0.1f32; 400];
    x[123] = f32::NAN;
    match enc.encode(&x, &LayerSelection::All, &opts) {
        Err(ModelError::NonFiniteInput { index, .. }) => assert_eq!(index, 123),
        other => panic!("{other:?}"),
    }
    let sel = LayerSelection::Some(vec![LayerId(0), LayerId(3)]);
    match enc.encode(&[0.1; 400], &sel, &opts) {
        Err(ModelError::Core(CoreError::LayerOutOfRange { layer, num_layers })) => {
            assert_eq!((layer, num_layers), (3, 2));
        }
        other => panic!("{other:?}"),
    }
    // The shortest valid input gives one frame.
    let a = enc.encode(&[0.1; 30], &LayerSelection::All, &opts).unwrap();
    assert_eq!(a.frames, 1);
}

#[test]
fn corrupt_safetensors_is_a_typed_error() {
    let (_t, d) = tiny_copy();
    std::fs::write(
        d.join("model.safetensors"),
        b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all",
    )
    .unwrap();
    match CandleEncoder::load(&d, &LoadOptions::default()) {
        Err(ModelError::Safetensors { path, .. }) => assert!(path.ends_with("model.safetensors")),
        other => panic!("{other:?}"),
    }
}

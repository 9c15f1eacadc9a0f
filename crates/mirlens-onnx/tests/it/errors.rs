//! Typed errors on bad input and bad files.

use crate::{load, onnx_path, test_options};
use mirlens_core::{CoreError, LayerId, LayerSelection};
use mirlens_models::{EncodeOptions, Encoder, ModelError};
use mirlens_onnx::{OnnxEncoder, OnnxError, OnnxOptions};

#[test]
fn input_shorter_than_the_receptive_field_is_a_typed_error() {
    let enc = load("hubert_group_postln");
    match enc.encode_typed(&[0.1; 29], &LayerSelection::All, &EncodeOptions::default()) {
        Err(OnnxError::InputTooShort {
            index: 0,
            samples: 29,
            min_samples: 30,
        }) => {}
        other => panic!("expected InputTooShort, got {other:?}"),
    }
    // exactly the receptive field gives one frame
    let act = enc
        .encode(&[0.1; 30], &LayerSelection::Last, &EncodeOptions::default())
        .unwrap();
    assert_eq!(act.frames, 1);
    assert!(act.layers[0].1.iter().all(|v| v.is_finite()));
    let ok = vec![0.1f32; 100];
    let short = vec![0.1f32; 10];
    match enc.encode_batch_typed(
        &[&ok, &short],
        &LayerSelection::All,
        &EncodeOptions::default(),
    ) {
        Err(OnnxError::InputTooShort {
            index: 1,
            samples: 10,
            ..
        }) => {}
        other => panic!("expected InputTooShort for item 1, got {other:?}"),
    }
    match enc.encode(&short, &LayerSelection::All, &EncodeOptions::default()) {
        Err(ModelError::InputTooShort {
            samples: 10,
            receptive_field: 30,
        }) => {}
        other => panic!("expected ModelError::InputTooShort, got {other:?}"),
    }
}

#[test]
fn non_finite_input_is_a_typed_error() {
    let enc = load("wav2vec2_layer_preln");
    let mut x = vec![0.0f32; 400];
    x[123] = f32::NAN;
    match enc.encode_typed(&x, &LayerSelection::All, &EncodeOptions::default()) {
        Err(OnnxError::NonFiniteInput {
            index: 0,
            position: 123,
            value,
        }) => assert!(value.is_nan()),
        other => panic!("expected NonFiniteInput, got {other:?}"),
    }
    x[123] = 0.0;
    x[7] = f32::INFINITY;
    match enc.encode(&x, &LayerSelection::All, &EncodeOptions::default()) {
        Err(ModelError::NonFiniteInput { index: 7, value }) => assert_eq!(value, f32::INFINITY),
        other => panic!("expected ModelError::NonFiniteInput, got {other:?}"),
    }
}

#[test]
fn a_layer_beyond_the_depth_is_the_shared_core_error() {
    let enc = load("mert_95m_like");
    let sel = LayerSelection::Some(vec![LayerId(1), LayerId(3)]);
    match enc.encode(&[0.0; 400], &sel, &EncodeOptions::default()) {
        Err(ModelError::Core(CoreError::LayerOutOfRange {
            layer: 3,
            num_layers: 2,
        })) => {}
        other => panic!("expected LayerOutOfRange, got {other:?}"),
    }
}

#[test]
fn a_missing_model_file_names_the_path() {
    let p = onnx_path("no_such_variant");
    match OnnxEncoder::load(&p, &test_options()) {
        Err(OnnxError::ModelNotFound { path }) => assert_eq!(path, p),
        other => panic!("expected ModelNotFound, got {other:?}"),
    }
}

#[test]
fn a_file_that_is_not_onnx_is_a_session_error() {
    let p = mirlens_test_support::golden_dir("encoders")
        .join("hubert_group_postln")
        .join("config.json");
    match OnnxEncoder::load(&p, &test_options()) {
        Err(OnnxError::Session { path, message }) => {
            assert_eq!(path, p);
            assert!(!message.is_empty());
        }
        other => panic!("expected Session error, got {other:?}"),
    }
}

#[test]
fn absurd_thread_counts_are_refused_before_loading() {
    let opts = OnnxOptions {
        threads: 100_000,
        ..test_options()
    };
    match OnnxEncoder::load(onnx_path("hubert_group_postln"), &opts) {
        Err(OnnxError::InvalidOption {
            name: "threads", ..
        }) => {}
        other => panic!("expected InvalidOption, got {other:?}"),
    }
}

//! Integration tests of the ONNX Runtime backend: parity with the transformers goldens, batching, typed errors and
//! runtime discovery. The runtime library is found through `ORT_DYLIB_PATH` or `<workspace>/.venv` (see
//! `docs/onnx.md`); when neither exists these tests fail with the install instructions.

mod errors;
mod parity;
mod runtime;

use mirlens_onnx::{OnnxEncoder, OnnxOptions, RuntimeSearch};
use mirlens_test_support::{golden_dir, workspace_root};
use std::path::PathBuf;

/// Every tiny variant with a committed export.
pub const VARIANTS: [&str; 5] = [
    "wav2vec2_group_postln",
    "wav2vec2_layer_preln",
    "hubert_group_postln",
    "hubert_group_preln",
    "mert_95m_like",
];

/// Runtime search used by the tests: `ORT_DYLIB_PATH`, `$VIRTUAL_ENV`, then `.venv` from the working directory
/// and from the workspace root upwards.
pub fn test_search() -> RuntimeSearch {
    RuntimeSearch::from_env().also_search(workspace_root())
}

/// Options with one thread and the test runtime search.
pub fn test_options() -> OnnxOptions {
    OnnxOptions {
        threads: 1,
        runtime: test_search(),
        ..OnnxOptions::default()
    }
}

/// Path of a committed export.
pub fn onnx_path(variant: &str) -> PathBuf {
    golden_dir("onnx").join(format!("{variant}.onnx"))
}

/// Load a committed export; panics with the typed error's message (which says how to install the runtime).
pub fn load(variant: &str) -> OnnxEncoder {
    OnnxEncoder::load(onnx_path(variant), &test_options())
        .unwrap_or_else(|e| panic!("{variant}: {e}"))
}

/// The hidden-state golden files of a variant (`hidden_len*.safetensors`), sorted.
pub fn single_goldens(variant: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(golden_dir("encoders").join(variant))
        .unwrap_or_else(|e| panic!("golden folder of {variant}: {e}"))
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
        "{variant}: expected at least 3 single-input goldens, found {v:?}"
    );
    v
}

/// `[1, C, T]` channels-first to `[T, C]` row-major.
pub fn channels_last(data: &[f32], c: usize, t: usize) -> Vec<f32> {
    let mut out = vec![0.0; c * t];
    for ci in 0..c {
        for ti in 0..t {
            out[ti * c + ci] = data[ci * t + ti];
        }
    }
    out
}

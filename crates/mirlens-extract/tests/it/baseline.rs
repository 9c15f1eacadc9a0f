//! The log-mel baseline against librosa (`tests/golden/logmel_baseline`).

use mirlens_core::{LayerSelection, Tolerance};
use mirlens_extract::baseline::LOGMEL_LAYER;
use mirlens_extract::{LOGMEL_MODEL_NAME, LogMelEncoder};
use mirlens_models::{EncodeOptions, Encoder};
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{assert_close, golden_dir};

/// Parity of the log-mel baseline with librosa, in dB: f32 FFT and filterbank against librosa in float64
/// (achieved maximum: see docs/baselines.md).
const LOGMEL_VS_LIBROSA: Tolerance = Tolerance {
    name: "logmel-vs-librosa-db",
    atol: 1e-3,
    rtol: 0.0,
};

#[test]
fn logmel_matches_librosa() {
    let g = Golden::load(golden_dir("logmel_baseline").join("expected.safetensors"));
    let signal = &g.get("signal").data;
    let expected = g.get("logmel");
    let enc = LogMelEncoder::new();
    assert_eq!(enc.spec().name, LOGMEL_MODEL_NAME);
    let a = enc
        .encode(signal, &LayerSelection::All, &EncodeOptions::default())
        .unwrap();
    assert_eq!(vec![a.frames, a.hidden], expected.shape);
    let got = a.layer(LOGMEL_LAYER).unwrap();
    let rep = assert_close(
        "log-mel layer 0 vs librosa",
        got,
        &expected.data,
        LOGMEL_VS_LIBROSA,
    );
    eprintln!(
        "log-mel vs librosa: max abs {:.3e} dB, max rel {:.3e}",
        rep.max_abs, rep.max_rel
    );
}

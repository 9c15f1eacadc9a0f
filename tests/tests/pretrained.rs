//! The shipped pretrained model (`models/mirlens-music-small`) and every shipped checkpoint load in mirlens and
//! give the hidden states transformers' `HubertModel.from_pretrained` gives on the same input
//! (`tests/golden/pretrained/generate.py`), within 1e-4.

use mirlens_core::{LayerId, LayerSelection, Tolerance};
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, LoadOptions, normalize_waveform};
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{assert_close, golden_dir, workspace_root};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

#[test]
fn shipped_model_and_checkpoints_match_transformers() {
    let g = Golden::load(golden_dir("pretrained").join("hidden_states.safetensors"));
    let hashes: BTreeMap<String, String> =
        serde_json::from_str(&g.metadata["sha256"]).expect("sha256 metadata");
    let root = workspace_root().join("models").join("mirlens-music-small");
    assert!(
        hashes.len() >= 5,
        "expected the final model and at least 4 checkpoints in the golden, got {:?}",
        hashes.keys()
    );
    let mut worst = 0f64;
    for (name, sha) in &hashes {
        let dir = if name == "final" {
            root.clone()
        } else {
            root.join("checkpoints").join(name)
        };
        let bytes = std::fs::read(dir.join("model.safetensors"))
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let got = format!("{:x}", Sha256::digest(&bytes));
        assert_eq!(
            &got, sha,
            "{name}: the shipped weights differ from those the golden was made from; rerun \
             tests/golden/pretrained/generate.py"
        );
        let enc = CandleEncoder::load(&dir, &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let spec = enc.spec();
        assert_eq!(spec.sample_rate, 24000);
        assert!(spec.normalize_input, "{name}: do_normalize must be on");
        let mut x = g.get("input").data.clone();
        normalize_waveform(&mut x);
        let acts = enc
            .encode(&x, &LayerSelection::All, &EncodeOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(acts.layers.len(), spec.num_layers + 1);
        for i in 0..=spec.num_layers {
            let exp = g.get(&format!("{name}.layer_{i}"));
            assert_eq!(
                exp.shape,
                [acts.frames, spec.hidden_size],
                "{name} layer {i}"
            );
            let r = assert_close(
                &format!("{name} layer {i}"),
                acts.layer(LayerId(i)).unwrap(),
                &exp.data,
                Tolerance::ENCODER,
            );
            worst = worst.max(r.max_abs);
        }
    }
    eprintln!("max |mirlens − transformers| over all shipped weights and layers: {worst:.3e}");
}

//! `--model logmel`: the log-mel baseline through `mirlens extract` and `mirlens embed`.

use mirlens_audio::wav::{WavFormat, write_wav};
use mirlens_core::{LayerId, LayerSelection, Tolerance};
use mirlens_datasets::synth::{NotesParams, SynthDataset};
use mirlens_extract::LogMelEncoder;
use mirlens_models::{EncodeOptions, Encoder};
use mirlens_store::Store;
use mirlens_test_support::assert_close;
use std::path::Path;
use std::process::{Command, Output};

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "command failed: {}\n{}",
        String::from_utf8_lossy(&o.stderr),
        String::from_utf8_lossy(&o.stdout)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Mean over frames of layer 0, accumulated in f64 like the extractor.
fn frame_mean(x: &[f32]) -> Vec<f32> {
    let a = LogMelEncoder::new()
        .encode(x, &LayerSelection::All, &EncodeOptions::default())
        .unwrap();
    let v = a.layer(LayerId(0)).unwrap();
    let mut acc = vec![0f64; a.hidden];
    for row in v.chunks_exact(a.hidden) {
        for (s, &x) in acc.iter_mut().zip(row) {
            *s += x as f64;
        }
    }
    acc.iter().map(|s| (s / a.frames as f64) as f32).collect()
}

#[test]
fn extract_logmel_stores_the_frame_mean_of_the_spectrogram() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("logmel");
    let so = ok(&mirlens()
        .args([
            "extract",
            "--model",
            "logmel",
            "--dataset",
            "synth-notes",
            "--limit",
            "4",
            "--pool",
            "mean",
            "--quiet",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap());
    assert!(
        so.contains("wrote 4 rows from 4 clips (1 layers × 128, f32)"),
        "{so}"
    );
    let store = Store::open(&out).unwrap();
    let h = &store.manifest().header;
    assert_eq!(h.model, "logmel");
    assert_eq!(h.revision, None);
    assert_eq!(h.config_hash, LogMelEncoder::identity().config_hash);
    assert_eq!(h.frame_rate, 75.0);
    assert_eq!(store.layers(), &[LayerId(0)]);
    let (values, rows, d) = store.read_layer(LayerId(0)).unwrap();
    assert_eq!((rows, d), (4, 128));
    let ds = NotesParams::default().check().unwrap();
    for (r, meta) in store.rows().iter().enumerate() {
        let clip = ds.clip(meta.clip_index);
        assert_eq!(clip.id, meta.clip_id);
        assert_eq!(clip.sample_rate, 24_000);
        assert_close(
            &format!("row {r} (clip {})", meta.clip_id),
            &values[r * d..(r + 1) * d],
            &frame_mean(&clip.samples),
            Tolerance::EXACT_F32,
        );
    }
}

/// Read the data of a float32 `.npy` file written by `mirlens embed` (shape from the header).
fn read_npy(p: &Path) -> (String, Vec<f32>) {
    let b = std::fs::read(p).unwrap();
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = String::from_utf8_lossy(&b[10..10 + hl]).into_owned();
    let data = b[10 + hl..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (header, data)
}

#[test]
fn embed_logmel_runs_full_context_and_refuses_onnx() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("tone.wav");
    // 7 s: longer than embed's default 5 s window, which the baseline must not apply
    let x: Vec<f32> = (0..7 * 24_000)
        .map(|i| {
            let t = i as f32 / 24_000.0;
            0.4 * (2.0 * std::f32::consts::PI * 220.0 * t).sin()
                + 0.1 * (2.0 * std::f32::consts::PI * 3_000.0 * t * (1.0 + t)).sin()
        })
        .collect();
    write_wav(&wav, &x, 24_000, WavFormat::Float32).unwrap();
    let out = tmp.path().join("out");
    let o = mirlens()
        .args(["embed", "--model", "logmel", "--out"])
        .arg(&out)
        .arg(&wav)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let a = LogMelEncoder::new()
        .encode(&x, &LayerSelection::All, &EncodeOptions::default())
        .unwrap();
    assert_eq!(a.frames, 1 + x.len() / 320);
    let (header, data) = read_npy(&out.join("tone").join("layer_00.npy"));
    assert!(
        header.contains(&format!("'shape': ({}, 128)", a.frames)),
        "{header}"
    );
    assert_close(
        "embedded log-mel",
        &data,
        a.layer(LayerId(0)).unwrap(),
        Tolerance::EXACT_F32,
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("tone").join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["model"], "logmel");
    assert_eq!(meta["chunking"], "full_context");
    assert_eq!(meta["input_normalisation"], "none");

    let o = mirlens()
        .args(["embed", "--model", "logmel", "--backend", "onnx", "--out"])
        .arg(tmp.path().join("out2"))
        .arg(&wav)
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("--model logmel") && err.contains("--backend candle"),
        "{err}"
    );
}

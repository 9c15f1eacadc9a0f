//! `mirlens embed` and `mirlens models` end to end with the tiny test models.

use mirlens_audio::wav::{WavFormat, write_wav};
use mirlens_core::{LayerSelection, Tolerance};
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, LoadOptions};
use mirlens_test_support::{assert_close, golden_dir};
use std::path::Path;
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

/// Read a float32 `.npy` file: (shape, data).
fn read_npy(p: &Path) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(p).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
    assert!(header.contains("'descr': '<f4'"), "{header}");
    assert_eq!((10 + hl) % 64, 0);
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape = shape_txt
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data = b[10 + hl..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    (shape, data)
}

fn tone(n: usize, sr: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            0.5 * (2.0 * std::f32::consts::PI * 330.0 * i as f32 / sr).sin()
                + 0.1 * ((i * 7919 % 1000) as f32 / 1000.0 - 0.5)
        })
        .collect()
}

#[test]
fn embed_writes_per_layer_arrays_equal_to_the_library() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("clip.wav");
    let x = tone(12_000, 16_000.0);
    write_wav(&wav, &x, 16_000, WavFormat::Float32).unwrap();
    let out = tmp.path().join("out");
    let o = mirlens()
        .args([
            "embed",
            "--model",
            "tiny-wav2vec2-layer-preln",
            "--layers",
            "0,2",
            "--out",
        ])
        .arg(&out)
        .arg(&wav)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let enc = CandleEncoder::load(
        golden_dir("encoders").join("wav2vec2_layer_preln"),
        &LoadOptions::default(),
    )
    .unwrap();
    let a = enc
        .encode(&x, &LayerSelection::All, &EncodeOptions::default())
        .unwrap();
    for l in [0usize, 2] {
        let (shape, data) = read_npy(&out.join("clip").join(format!("layer_{l:02}.npy")));
        assert_eq!(shape, vec![a.frames, 32]);
        assert_close(
            &format!("layer {l}"),
            &data,
            a.layer(mirlens_core::LayerId(l)).unwrap(),
            Tolerance::EXACT_F32,
        );
    }
    assert!(!out.join("clip").join("layer_01.npy").exists());
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("clip").join("meta.json")).unwrap())
            .unwrap();
    assert_eq!(meta["frames"], a.frames);
    assert_eq!(meta["resampled"], false);
}

#[test]
fn embed_resamples_with_a_notice_and_mean_pools() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("audio");
    std::fs::create_dir_all(dir.join("sub")).unwrap();
    write_wav(
        &dir.join("sub").join("a.wav"),
        &tone(8_000, 16_000.0),
        16_000,
        WavFormat::Pcm16,
    )
    .unwrap();
    let out_none = tmp.path().join("none");
    let out_mean = tmp.path().join("mean");
    for (pool, out) in [("none", &out_none), ("mean", &out_mean)] {
        let o = mirlens()
            .args([
                "embed",
                "--model",
                "tiny-mert-95m-like",
                "--pool",
                pool,
                "--out",
            ])
            .arg(out)
            .arg(&dir)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(err.contains("resampling 16000 Hz -> 24000 Hz"), "{err}");
    }
    for l in 0..=2 {
        let (s, frames) = read_npy(&out_none.join("sub__a").join(format!("layer_{l:02}.npy")));
        let (sm, mean) = read_npy(&out_mean.join("sub__a").join(format!("layer_{l:02}.npy")));
        assert_eq!(sm, vec![32]);
        let t = s[0];
        assert_eq!(t, 599); // 12,000 samples at 24 kHz, hop 20, receptive field 30
        let expect: Vec<f32> = (0..32)
            .map(|j| (0..t).map(|i| frames[i * 32 + j] as f64).sum::<f64>() as f32 / t as f32)
            .collect();
        assert_close("mean pooling", &mean, &expect, Tolerance::TIGHT);
    }
}

#[test]
fn embed_errors_are_clear() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("c.wav");
    write_wav(&wav, &tone(4_000, 16_000.0), 16_000, WavFormat::Pcm16).unwrap();
    let run = |args: &[&str]| {
        let o = mirlens()
            .args(args)
            .arg("--out")
            .arg(tmp.path().join("o"))
            .arg(&wav)
            .output()
            .unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let e = run(&[
        "embed",
        "--model",
        "tiny-hubert-group-postln",
        "--layers",
        "0,3",
    ]);
    assert!(e.contains("layer 3") || e.contains("3"), "{e}");
    let e = run(&["embed", "--model", "no-such-model"]);
    assert!(e.contains("not found") && e.contains("MERT-v1-95M"), "{e}");
    if !cfg!(feature = "onnx") {
        let e = run(&[
            "embed",
            "--model",
            "tiny-hubert-group-postln",
            "--backend",
            "onnx",
        ]);
        assert!(e.contains("`onnx` cargo feature"), "{e}");
    }
}

#[test]
fn models_list_and_show() {
    let o = mirlens().args(["models", "list"]).output().unwrap();
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    for name in [
        "MERT-v1-95M",
        "MERT-v1-330M",
        "hubert-base-ls960",
        "wav2vec2-base",
        "tiny-hubert-group-preln",
    ] {
        assert!(s.contains(name), "{s}");
    }
    let o = mirlens()
        .args(["models", "show", "tiny-hubert-group-preln"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let s = String::from_utf8_lossy(&o.stdout);
    assert!(s.contains("pre-LN") && s.contains("24000 Hz"), "{s}");
    let o = mirlens()
        .args(["models", "show", "nothing-like-this"])
        .output()
        .unwrap();
    assert!(!o.status.success());
}

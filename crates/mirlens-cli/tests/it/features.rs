//! `mirlens features` end to end: WAV, FLAC and MP3 fixtures → `.npy` / safetensors arrays compared with librosa
//! values (`tests/golden/frontends/cli.safetensors`, computed from the same files decoded by soundfile).

use mirlens_core::Tolerance;
use mirlens_test_support::golden::Golden;
use mirlens_test_support::{assert_close, golden_dir};
use std::path::{Path, PathBuf};
use std::process::Command;

/// dB-valued features (log-mel, MFCC) through two different decoders (symphonia vs libsndfile).
const CLI_DB: Tolerance = Tolerance {
    name: "cli-db",
    atol: 2e-3,
    rtol: 0.0,
};
/// |CQT| relative to its peak (the resampling tier of the CQT).
const CLI_CQT: Tolerance = Tolerance {
    name: "cli-cqt",
    atol: 1.5e-3,
    rtol: 0.0,
};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

/// Minimal `.npy` reader for the float32 C-order files the CLI writes: `(shape, data)`.
fn read_npy(path: &Path) -> (Vec<usize>, Vec<f32>) {
    let b = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(&b[..6], b"\x93NUMPY", "{}: not an npy file", path.display());
    let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + hl]).unwrap();
    assert!(
        header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"),
        "{header}"
    );
    let shape_txt = header
        .split("'shape': (")
        .nth(1)
        .unwrap()
        .split(')')
        .next()
        .unwrap();
    let shape: Vec<usize> = shape_txt
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(|s| s.trim().parse().unwrap())
        .collect();
    let data: Vec<f32> = b[10 + hl..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    assert_eq!(data.len(), shape.iter().product::<usize>());
    (shape, data)
}

fn fixtures() -> Vec<(&'static str, PathBuf)> {
    ["wav", "flac", "mp3"]
        .into_iter()
        .map(|e| (e, golden_dir("frontends").join(format!("chord.{e}"))))
        .collect()
}

fn peak_scaled(v: &[f32], peak: f32) -> Vec<f32> {
    v.iter().map(|x| x / peak).collect()
}

#[test]
fn features_on_wav_flac_mp3_match_librosa() {
    let g = Golden::load(golden_dir("frontends").join("cli.safetensors"));
    for (kind, key) in [("logmel", "logmel"), ("mfcc", "mfcc"), ("cqt", "cqt_abs")] {
        for (ext, path) in fixtures() {
            let out = tempfile::tempdir().unwrap();
            let st = bin()
                .args(["features", "--kind", kind, "--out"])
                .arg(out.path())
                .arg(&path)
                .output()
                .unwrap();
            assert!(
                st.status.success(),
                "{kind} {ext}: {}",
                String::from_utf8_lossy(&st.stderr)
            );
            let (shape, data) = read_npy(&out.path().join(format!("chord.{kind}.npy")));
            let want = g.get(&format!("{ext}_{key}"));
            assert_eq!(shape, want.shape, "{kind} {ext}: shape");
            if kind == "cqt" {
                let peak = want.data.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert_close(
                    &format!("{kind} {ext}"),
                    &peak_scaled(&data, peak),
                    &peak_scaled(&want.data, peak),
                    CLI_CQT,
                );
            } else {
                assert_close(&format!("{kind} {ext}"), &data, &want.data, CLI_DB);
            }
        }
    }
}

#[test]
fn safetensors_output_carries_values_and_metadata() {
    let g = Golden::load(golden_dir("frontends").join("cli.safetensors"));
    let out = tempfile::tempdir().unwrap();
    let wav = golden_dir("frontends").join("chord.wav");
    let st = bin()
        .args([
            "features",
            "--kind",
            "mfcc",
            "--format",
            "safetensors",
            "--out",
        ])
        .arg(out.path())
        .arg(&wav)
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
    let f = Golden::load(out.path().join("chord.mfcc.safetensors"));
    assert_eq!(f.metadata["kind"], "mfcc");
    assert_eq!(f.metadata["sample_rate"], "22050");
    assert_eq!(f.get("features").shape, g.get("wav_mfcc").shape);
    assert_close(
        "mfcc safetensors",
        &f.get("features").data,
        &g.get("wav_mfcc").data,
        CLI_DB,
    );
}

#[test]
fn a_directory_with_a_bad_file_continues_and_fails_at_the_end() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        golden_dir("frontends").join("chord.wav"),
        dir.path().join("good.wav"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("broken.wav"),
        b"RIFF\x10\x00\x00\x00WAVEjunk",
    )
    .unwrap();
    std::fs::write(dir.path().join("empty.flac"), b"").unwrap();
    let out = tempfile::tempdir().unwrap();
    let st = bin()
        .args(["features", "--kind", "mel", "--out"])
        .arg(out.path())
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!st.status.success(), "a failed file must make the run fail");
    let stderr = String::from_utf8_lossy(&st.stderr);
    let stdout = String::from_utf8_lossy(&st.stdout);
    assert!(stderr.contains("2 file(s) failed"), "{stderr}");
    assert!(
        stderr.contains("broken.wav") && stderr.contains("empty.flac"),
        "{stderr}"
    );
    assert!(stdout.contains("1 of 3 files written"), "{stdout}");
    let (shape, data) = read_npy(&out.path().join("good.mel.npy"));
    assert_eq!(shape, vec![128, 44]);
    assert!(data.iter().all(|v| v.is_finite() && *v >= 0.0) && data.iter().any(|v| *v > 1.0));
}

#[test]
fn impossible_parameters_fail_before_any_file_naming_the_parameter() {
    let out = tempfile::tempdir().unwrap();
    let wav = golden_dir("frontends").join("chord.wav");
    for (args, needle) in [
        (vec!["--kind", "stft", "--n-fft", "0"], "n_fft"),
        (vec!["--kind", "mel", "--hop", "0"], "hop_length"),
        (
            vec!["--kind", "mel", "--sr", "16000", "--fmax", "9000"],
            "fmax",
        ),
        (
            vec![
                "--kind", "mel", "--sr", "16000", "--n-fft", "400", "--n-mels", "256",
            ],
            "n_mels",
        ),
        (vec!["--kind", "cqt", "--sr", "8000"], "Nyquist"),
    ] {
        let st = bin()
            .arg("features")
            .args(&args)
            .arg("--out")
            .arg(out.path())
            .arg(&wav)
            .output()
            .unwrap();
        assert!(!st.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&st.stderr);
        assert!(stderr.contains(needle), "{args:?}: {stderr}");
    }
    assert_eq!(
        std::fs::read_dir(out.path()).unwrap().count(),
        0,
        "nothing written"
    );
}

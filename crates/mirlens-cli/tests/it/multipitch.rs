//! Frame-level labels end to end: `mirlens extract` of the built-in sequences writes them, `mirlens probe
//! multipitch` scores a multi-pitch probe per layer, and the label/command mismatches give errors that say what to
//! do.

use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn ok(args: &[&str]) -> String {
    let out = mirlens().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mirlens {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fails(args: &[&str]) -> String {
    let out = mirlens().args(args).output().unwrap();
    assert!(!out.status.success(), "mirlens {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn log_mel_frames_of_the_sequences_carry_their_pitches() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    ok(&[
        "extract",
        "--model",
        "logmel",
        "--dataset",
        "synth-sequences",
        "--limit",
        "10",
        "--out",
        &p("frames"),
        "--quiet",
    ]);
    let j: serde_json::Value = serde_json::from_str(&ok(&[
        "probe",
        "multipitch",
        "--store",
        &p("frames"),
        "--every",
        "2",
        "--folds",
        "5",
        "--out",
        &p("mp"),
    ]))
    .unwrap();
    // 10 clips × 301 frames (4 s at 75 Hz), frames 0, 2, …, 300 of each
    assert_eq!(j["rows"], 1510);
    assert_eq!(j["clips"], 10);
    let l = &j["layers"][0];
    let f = l["pitch"]["f_measure"].as_f64().unwrap();
    let (pr, rc) = (
        l["pitch"]["precision"].as_f64().unwrap(),
        l["pitch"]["recall"].as_f64().unwrap(),
    );
    assert!((f - 2.0 * pr * rc / (pr + rc)).abs() < 1e-12);
    // the log-mel spectrogram resolves most sounding pitches (0.62 on 16 clips), far above chance
    assert!(f > 0.4 && f < 0.95, "{f}");
    assert!(l["chroma"]["f_measure"].as_f64().unwrap() >= f);
    assert_eq!(l["fold_f"].as_array().unwrap().len(), 5);
    let csv = std::fs::read_to_string(tmp.path().join("mp/multipitch.csv")).unwrap();
    assert!(csv.starts_with("layer,f_measure,"));
    assert!(csv.lines().nth(1).unwrap().starts_with(&format!("0,{f}")));
    // a clip-pooled store has no frame labels; a frame label does not go to `probe sweep`
    ok(&[
        "extract",
        "--model",
        "logmel",
        "--dataset",
        "synth-sequences",
        "--limit",
        "4",
        "--pool",
        "mean",
        "--out",
        &p("pooled"),
        "--quiet",
    ]);
    let e = fails(&[
        "probe",
        "multipitch",
        "--store",
        &p("pooled"),
        "--out",
        &p("x"),
    ]);
    assert!(e.contains("--pool none"), "{e}");
    let e = fails(&[
        "probe",
        "sweep",
        "--store",
        &p("frames"),
        "--label",
        "frame_pitch",
        "--out",
        &p("y"),
    ]);
    assert!(e.contains("probe multipitch"), "{e}");
    // a categorical frame label goes through the ordinary sweep, frame by frame
    let s: serde_json::Value = serde_json::from_str(&ok(&[
        "probe",
        "sweep",
        "--store",
        &p("frames"),
        "--label",
        "frame_chord",
        "--pooling",
        "none",
        "--out",
        &p("chord"),
    ]))
    .unwrap();
    // measured 0.28: the 10 clips are in different keys, so most chords of a test clip are unseen in training
    let acc = s["best_accuracy"].as_f64().unwrap();
    assert!(acc > 0.2 && acc < 0.5, "{acc}");
    assert!(s["classes"].as_array().unwrap().len() > 5);
}

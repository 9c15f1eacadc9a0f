//! `mirlens datasets synth|manifest|show`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../mirlens-datasets/tests/fixtures")
        .join(name)
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn manifest_lines(p: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn synth_notes_writes_wavs_and_a_deterministic_manifest() {
    let d = tempfile::tempdir().unwrap();
    let generate = |dir: &Path, seed: &str| {
        run_ok(
            mirlens()
                .args([
                    "datasets",
                    "synth",
                    "--kind",
                    "notes",
                    "--size",
                    "tiny",
                    "--families",
                    "organ,guitar",
                ])
                .args([
                    "--pitches",
                    "60-72/6",
                    "--duration",
                    "0.2",
                    "--sample-rate",
                    "16000",
                    "--seed",
                    seed,
                    "--out",
                ])
                .arg(dir),
        )
    };
    let out = generate(&d.path().join("a"), "7");
    assert!(out.contains("synth-notes: wrote 6 clips"), "{out}");
    generate(&d.path().join("b"), "7");
    generate(&d.path().join("c"), "8");
    let lines = manifest_lines(&d.path().join("a/manifest.jsonl"));
    assert_eq!(lines.len(), 7);
    assert_eq!(lines[0]["label_schema"]["pitch"], "int");
    assert_eq!(lines[1]["id"], "organ-060-100");
    assert_eq!(lines[1]["labels"]["pitch_class"], 0);
    assert_eq!(lines[1]["labels"]["octave"], 4);
    let wav_a = std::fs::read(d.path().join("a/audio/organ-072-100.wav")).unwrap();
    assert_eq!(wav_a.len(), 44 + 2 * 3200);
    assert_eq!(
        wav_a,
        std::fs::read(d.path().join("b/audio/organ-072-100.wav")).unwrap()
    );
    assert_ne!(
        wav_a,
        std::fs::read(d.path().join("c/audio/organ-072-100.wav")).unwrap()
    );
    assert_eq!(
        std::fs::read(d.path().join("a/manifest.jsonl")).unwrap(),
        std::fs::read(d.path().join("b/manifest.jsonl")).unwrap()
    );
}

#[test]
fn synth_chords_and_show() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("chords");
    run_ok(
        mirlens()
            .args([
                "datasets",
                "synth",
                "--kind",
                "chords",
                "--qualities",
                "maj",
                "--pairs-per-key",
                "1",
                "--duration",
                "0.2",
                "--sample-rate",
                "8000",
                "--out",
            ])
            .arg(&out),
    );
    let lines = manifest_lines(&out.join("manifest.jsonl"));
    assert_eq!(lines.len(), 1 + 36 + 48);
    let pair_in = lines.iter().find(|l| l["id"] == "pair-0000-in").unwrap();
    assert_eq!(pair_in["labels"]["grammatical"], 1);
    assert_eq!(pair_in["labels"]["key"], "C major");
    let show = run_ok(
        mirlens()
            .args(["datasets", "show", "--json", "--check-files"])
            .arg(out.join("manifest.jsonl")),
    );
    let v: serde_json::Value = serde_json::from_str(show.trim()).unwrap();
    assert_eq!(v["clips"], 84);
    let gram = v["labels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "grammatical")
        .unwrap();
    assert_eq!(gram["present"], 48);
    assert_eq!(gram["distinct"], 2);
    let text = run_ok(
        mirlens()
            .args(["datasets", "show"])
            .arg(out.join("manifest.jsonl")),
    );
    assert!(
        text.contains("84 clips") && text.contains("quality"),
        "{text}"
    );
    let seq = d.path().join("seq");
    let o = run_ok(
        mirlens()
            .args([
                "datasets",
                "synth",
                "--kind",
                "sequences",
                "--count",
                "2",
                "--duration",
                "1",
                "--out",
            ])
            .arg(&seq),
    );
    assert!(o.contains("synth-sequences: wrote 2 clips"), "{o}");
    assert_eq!(
        manifest_lines(&seq.join("manifest.jsonl"))[1]["id"],
        "seq-00000"
    );
    // a corrupt clip is found by --probe, named with its manifest line, and fails the command
    std::fs::write(
        out.join("audio/chord-C-maj-inv1.wav"),
        b"RIFF\x00\x00garbage",
    )
    .unwrap();
    let o = mirlens()
        .args(["datasets", "show", "--probe"])
        .arg(out.join("manifest.jsonl"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(!o.status.success(), "{text}");
    assert!(text.contains("probed 84 files: 1 unreadable"), "{text}");
    assert!(
        text.contains("manifest.jsonl:3: chord-C-maj-inv1: "),
        "{text}"
    );
}

#[test]
fn manifest_from_layouts() {
    let d = tempfile::tempdir().unwrap();
    let m = d.path().join("ns.jsonl");
    let out = run_ok(
        mirlens()
            .args(["datasets", "manifest", "--layout", "nsynth"])
            .arg(fixture("nsynth"))
            .arg("--out")
            .arg(&m),
    );
    assert!(out.contains("wrote 4 entries"), "{out}");
    let lines = manifest_lines(&m);
    assert_eq!(lines[0]["label_schema"]["qualities"], "tags");
    let m = d.path().join("gs.csv");
    let out = run_ok(
        mirlens()
            .args(["datasets", "manifest", "--layout", "giantsteps"])
            .arg(fixture("giantsteps-mtg-key"))
            .arg("--out")
            .arg(&m),
    );
    assert!(
        out.contains("wrote 2 entries")
            && out.contains("skipped 2 entries")
            && out.contains("no key annotated"),
        "{out}"
    );
    let csv = std::fs::read_to_string(&m).unwrap();
    assert!(
        csv.starts_with("id,path,offset_secs,duration_secs,split,confidence:int,key:string,"),
        "{csv}"
    );
    assert!(csv.contains("A# major"));
    let m = d.path().join("gtzan.jsonl");
    let splits = fixture("gtzan").join("splits");
    let out = run_ok(
        mirlens()
            .args(["datasets", "manifest", "--layout", "gtzan"])
            .arg(fixture("gtzan"))
            .arg("--gtzan-split")
            .arg(&splits)
            .arg("--out")
            .arg(&m),
    );
    assert!(out.contains("wrote 5 entries"), "{out}");
    let m = d.path().join("jam.jsonl");
    let j = fixture("jamendo");
    let out = run_ok(
        mirlens()
            .args(["datasets", "manifest", "--layout", "jamendo"])
            .arg(j.join("audio"))
            .arg("--tsv")
            .arg(j.join("autotagging-train.tsv"))
            .arg("--out")
            .arg(&m),
    );
    assert!(out.contains("wrote 2 entries"), "{out}");
}

#[test]
fn bad_input_is_a_clear_error() {
    let d = tempfile::tempdir().unwrap();
    // published-style GTZAN lists that name files the tiny tree does not have
    let lists = d.path().join("lists");
    std::fs::create_dir_all(&lists).unwrap();
    std::fs::write(
        lists.join("train_filtered.txt"),
        "blues/blues.00029.wav\nblues/blues.00000.wav\n",
    )
    .unwrap();
    let out = mirlens()
        .args(["datasets", "manifest", "--layout", "gtzan"])
        .arg(fixture("gtzan"))
        .arg("--gtzan-split")
        .arg(&lists)
        .arg("--out")
        .arg(d.path().join("x.jsonl"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("train_filtered.txt:1: refers to missing file"),
        "{err}"
    );
    assert!(!d.path().join("x.jsonl").exists());
    // a manifest with a wrong label type, and one pointing at a missing file
    let m = d.path().join("bad.jsonl");
    std::fs::write(&m, "{\"mirlens_manifest\":1,\"label_schema\":{\"pitch\":\"int\"}}\n{\"id\":\"a\",\"path\":\"a.wav\",\"labels\":{\"pitch\":1.5}}\n").unwrap();
    let out = mirlens()
        .args(["datasets", "show"])
        .arg(&m)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("bad.jsonl:2: label `pitch` should be int but is float (1.5)"),
        "{err}"
    );
    std::fs::write(
        &m,
        "{\"mirlens_manifest\":1,\"label_schema\":{}}\n{\"id\":\"a\",\"path\":\"a.wav\"}\n",
    )
    .unwrap();
    let out = mirlens()
        .args(["datasets", "show", "--check-files"])
        .arg(&m)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("bad.jsonl:2: refers to missing file"),
        "{err}"
    );
    // invalid synth parameter
    let out = mirlens()
        .args([
            "datasets",
            "synth",
            "--kind",
            "notes",
            "--pitches",
            "5-50",
            "--out",
        ])
        .arg(d.path().join("n"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("invalid parameter `pitches`"),
        "{err}"
    );
}

#[test]
fn dataset_cards_are_listed_shown_and_their_layouts_exist() {
    let bin = env!("CARGO_BIN_EXE_mirlens");
    let o = std::process::Command::new(bin)
        .args(["datasets", "list", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success());
    let cards: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let cards = cards.as_array().unwrap();
    let names: Vec<&str> = cards.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "synth-notes",
            "synth-chords",
            "synth-sequences",
            "nsynth",
            "gtzan",
            "giantsteps",
            "maestro",
            "mtg-jamendo"
        ]
    );
    let tmp = tempfile::tempdir().unwrap();
    for c in cards {
        let name = c["name"].as_str().unwrap();
        let o = std::process::Command::new(bin)
            .args(["datasets", "show", name])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            o.status.success() && text.contains(c["licence"].as_str().unwrap()),
            "{name}: {text}"
        );
        if let Some(layout) = c["layout"].as_str() {
            // the card's layout is one the adapter command accepts: it fails on the missing root, not the flag
            let o = std::process::Command::new(bin)
                .args(["datasets", "manifest", "--layout", layout, "--out"])
                .arg(tmp.path().join("m.jsonl"))
                .arg(tmp.path().join("absent"))
                .output()
                .unwrap();
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(
                !o.status.success() && !err.contains("invalid value"),
                "{layout}: {err}"
            );
        }
    }
    let o = std::process::Command::new(bin)
        .args(["datasets", "show", "nosuch"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        !o.status.success()
            && err.contains("neither a manifest file nor a dataset card (cards: synth-notes"),
        "{err}"
    );
}

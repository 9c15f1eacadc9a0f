//! Reliability end to end: hostile input names never make a command write or delete outside its `--out`;
//! FIFOs are refused at once; `score` reads and validates annotation files as mir_eval does; `run` checks its
//! labels before working, keeps going past a failing label and never overwrites a foreign `summary.json`.

use mirlens_audio::wav::{WavFormat, write_wav};
use mirlens_test_support::golden_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

/// Run with a generous deadline: a command blocked on a FIFO fails the test instead of hanging it.
fn run_bounded(mut c: Command) -> Output {
    use std::io::Read;
    let mut child = c
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let (mut so, mut se) = (Vec::new(), Vec::new());
            child.stdout.take().unwrap().read_to_end(&mut so).unwrap();
            child.stderr.take().unwrap().read_to_end(&mut se).unwrap();
            return Output {
                status,
                stdout: so,
                stderr: se,
            };
        }
        if start.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            panic!("command blocked (still running after 120 s)");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn tone_wav(p: &Path) {
    let x: Vec<f32> = (0..8000).map(|i| 0.4 * (i as f32 * 0.07).sin()).collect();
    write_wav(p, &x, 16_000, WavFormat::Float32).unwrap();
}

/// Every path under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(d: &Path, root: &Path, out: &mut Vec<String>) {
        let mut es: Vec<PathBuf> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        es.sort();
        for p in es {
            out.push(p.strip_prefix(root).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                walk(&p, root, out);
            }
        }
    }
    walk(dir, dir, &mut out);
    out
}

fn mkfifo(p: &Path) {
    assert!(Command::new("mkfifo").arg(p).status().unwrap().success());
}

#[test]
fn embed_with_dot_dot_stems_never_touches_anything_outside_out() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("p");
    let inp = tmp.path().join("in");
    std::fs::create_dir_all(p.join("keep")).unwrap();
    std::fs::write(p.join("keep").join("precious.txt"), "data").unwrap();
    std::fs::create_dir_all(inp.join("sub")).unwrap();
    // stems `..` and `.`, a hidden-looking stem, and the same again inside a folder input
    for n in ["...wav", "..wav", ".hidden.wav"] {
        tone_wav(&inp.join(n));
        tone_wav(&inp.join("sub").join(n));
    }
    let out = p.join("out");
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("mine.txt"), "user file in --out").unwrap();
    let before_p = std::fs::read_dir(&p).unwrap().count();
    for round in 0..2 {
        // the second round replaces the first's outputs, never anything else
        let mut c = bin();
        c.args([
            "embed",
            "--model",
            "tiny-wav2vec2-layer-preln",
            "--layers",
            "0",
            "--pool",
            "mean",
            "--out",
        ])
        .arg(&out)
        .arg(inp.join("...wav"))
        .arg(inp.join("..wav"))
        .arg(inp.join(".hidden.wav"))
        .arg(inp.join("sub"));
        let o = run_bounded(c);
        assert!(o.status.success(), "round {round}: {}", stderr(&o));
    }
    assert_eq!(
        std::fs::read_to_string(p.join("keep").join("precious.txt")).unwrap(),
        "data"
    );
    assert_eq!(std::fs::read_dir(&p).unwrap().count(), before_p);
    assert_eq!(
        std::fs::read_to_string(out.join("mine.txt")).unwrap(),
        "user file in --out"
    );
    let mut top: Vec<String> = std::fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(
        top,
        [
            // `...wav` → stem `..` → `_._`; `..wav` → stem `.` → `_`; inside the folder input the relative path of
            // `..wav` loses its extension to `..` (std's `with_extension`), so it too becomes `_._`
            "_",
            "_._",
            "_._-2",
            "_._-3",
            "_hidden",
            "_hidden-2",
            "mine.txt"
        ]
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .tap_sort()
    );
    for d in top.iter().filter(|n| *n != "mine.txt") {
        assert!(out.join(d).join("layer_00.npy").is_file(), "{d}");
        assert!(out.join(d).join("meta.json").is_file(), "{d}");
    }
}

trait TapSort {
    fn tap_sort(self) -> Self;
}
impl TapSort for Vec<String> {
    fn tap_sort(mut self) -> Self {
        self.sort();
        self
    }
}

#[test]
fn embed_never_replaces_a_folder_it_did_not_write() {
    let tmp = tempfile::tempdir().unwrap();
    let wav = tmp.path().join("clip.wav");
    tone_wav(&wav);
    let out = tmp.path().join("out");
    std::fs::create_dir_all(out.join("clip")).unwrap();
    std::fs::write(out.join("clip").join("notes.txt"), "mine").unwrap();
    let o = bin()
        .args(["embed", "--model", "tiny-wav2vec2-layer-preln", "--out"])
        .arg(&out)
        .arg(&wav)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a folder written by `mirlens embed`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(tree(&out), ["clip", "clip/notes.txt"]);
}

#[test]
fn features_with_hostile_stems_stay_in_out() {
    let tmp = tempfile::tempdir().unwrap();
    let inp = tmp.path().join("in");
    std::fs::create_dir_all(&inp).unwrap();
    tone_wav(&inp.join("..wav"));
    tone_wav(&inp.join("...wav"));
    let out = tmp.path().join("p").join("out");
    let o = bin()
        .args(["features", "--kind", "mel", "--out"])
        .arg(&out)
        .arg(&inp)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        tree(&tmp.path().join("p")),
        ["out", "out/_._.mel.npy", "out/_.mel.npy"]
    );
}

#[test]
fn fifos_are_refused_at_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let fifo = d.join("pipe.wav");
    mkfifo(&fifo);
    tone_wav(&d.join("ok.wav"));
    // info
    let mut c = bin();
    c.arg("info").arg(&fifo);
    let o = run_bounded(c);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not a regular file (named pipe (FIFO))")
            || String::from_utf8_lossy(&o.stdout).contains("named pipe"),
        "{}",
        stderr(&o)
    );
    // features over a folder holding the FIFO: the good file is written, the FIFO reported
    let mut c = bin();
    c.args(["features", "--kind", "mel", "--out"])
        .arg(d.join("f"))
        .arg(d);
    let o = run_bounded(c);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("pipe.wav") && stderr(&o).contains("FIFO"),
        "{}",
        stderr(&o)
    );
    assert!(d.join("f").join("ok.mel.npy").is_file());
    // extract with a manifest naming the FIFO (skipped as a bad clip), and a manifest that is itself a FIFO
    std::fs::write(
        d.join("m.jsonl"),
        "{\"id\":\"ok\",\"path\":\"ok.wav\",\"labels\":{\"pitch\":60}}\n{\"id\":\"p\",\"path\":\"pipe.wav\",\"labels\":{\"pitch\":61}}\n",
    )
    .unwrap();
    let model = golden_dir("encoders").join("hubert_group_postln");
    let mut c = bin();
    c.args(["extract", "--quiet", "--pool", "mean", "--model"])
        .arg(&model)
        .arg("--dataset")
        .arg(d.join("m.jsonl"))
        .arg("--out")
        .arg(d.join("store"));
    let o = run_bounded(c);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("FIFO"));
    let mfifo = d.join("fifo.jsonl");
    mkfifo(&mfifo);
    let mut c = bin();
    c.args(["extract", "--quiet", "--model"])
        .arg(&model)
        .arg("--dataset")
        .arg(&mfifo)
        .arg("--out")
        .arg(d.join("store2"));
    let o = run_bounded(c);
    assert!(!o.status.success());
    // datasets show --probe
    let mut c = bin();
    c.args(["datasets", "show", "--probe"])
        .arg(d.join("m.jsonl"));
    let o = run_bounded(c);
    let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
    // no header line: the FIFO's entry is on line 2 of the file
    assert!(
        all.contains("m.jsonl:2: p:") && all.contains("FIFO"),
        "{all}"
    );
    // score
    let mut c = bin();
    c.args(["score", "beat", "--ref"])
        .arg(&fifo)
        .arg("--est")
        .arg(&fifo);
    let o = run_bounded(c);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("FIFO"), "{}", stderr(&o));
}

fn score(kind: &str, r: &Path, e: &Path) -> Output {
    bin()
        .args(["score", kind, "--ref"])
        .arg(r)
        .arg("--est")
        .arg(e)
        .output()
        .unwrap()
}

#[test]
fn score_reads_mir_eval_files_and_refuses_what_mir_eval_refuses() {
    let g = golden_dir("mir_eval_regression");
    // mir_eval's own key files are tab-separated
    let o = score("key", &g.join("key/ref00.txt"), &g.join("key/est00.txt"));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(g.join("key/output00.json")).unwrap())
            .unwrap();
    assert_eq!(v["weighted_score"], want["Weighted Score"]);
    let o = score("beat", &g.join("beat/ref03.txt"), &g.join("beat/est03.txt"));
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let want: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(g.join("beat/output03.json")).unwrap())
            .unwrap();
    assert!((v["f_measure"].as_f64().unwrap() - want["F-measure"].as_f64().unwrap()).abs() < 1e-12);

    let tmp = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let good_beats = w("good.txt", "1.0\n2.0\n");
    for (kind, text, needle) in [
        ("beat", "2.0\n1.0\n", "increasing order"),
        ("beat", "1e308\n", "max_time"),
        ("beat", "1.0 2.0\n", "could not convert"),
        ("onset", "nan\n", "non-finite"),
        ("notes", "-1 1 440\n", "negative interval"),
        ("notes", "nan 1 440\n", "non-finite"),
        ("notes", "2 1 440\n", "strictly positive"),
        ("notes", "0 1 0\n", "non-positive pitch"),
        ("notes", "0 1\n", "expected 3 columns, got 2"),
        ("key", "C major\nD minor\n", "only one line"),
    ] {
        let bad = w("bad.txt", text);
        let other = if kind == "key" {
            w("k.txt", "C\tmajor\n")
        } else if kind == "notes" {
            w("n.txt", "0 1 440\n")
        } else {
            good_beats.clone()
        };
        for (r, e) in [(&bad, &other), (&other, &bad)] {
            let o = score(kind, r, e);
            assert!(!o.status.success(), "{kind} {text:?} accepted");
            let msg = stderr(&o);
            assert!(
                msg.contains(needle) && msg.contains("bad.txt"),
                "{kind} {text:?}: {msg}"
            );
            // printed once, not repeated by a wrapping context
            assert_eq!(msg.matches("bad.txt").count(), 1, "{msg}");
        }
    }
}

#[test]
fn run_checks_labels_before_extracting_and_never_overwrites_a_foreign_summary() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    for (labels, needle) in [
        ("", "names no label"),
        (" , ", "names no label"),
        ("nosuch", "\"nosuch\" not in dataset"),
    ] {
        let o = bin()
            .args([
                "run", "--quiet", "--limit", "8", "--labels", labels, "--out",
            ])
            .arg(&out)
            .output()
            .unwrap();
        assert!(!o.status.success(), "{labels:?}");
        assert!(stderr(&o).contains(needle), "{labels:?}: {}", stderr(&o));
        // refused before any extraction
        assert!(!out.join("store").exists());
    }
    std::fs::create_dir_all(&out).unwrap();
    std::fs::write(out.join("summary.json"), "{\"mine\": true}").unwrap();
    let o = bin()
        .args(["run", "--quiet", "--limit", "8", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("not written by `mirlens run`"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        std::fs::read_to_string(out.join("summary.json")).unwrap(),
        "{\"mine\": true}"
    );
    assert!(!out.join("store").exists());
}

#[test]
fn run_with_a_hostile_label_writes_only_under_out() {
    // `../x` is no label of the dataset: refused before anything is written anywhere
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("p").join("run");
    let o = bin()
        .args([
            "run", "--quiet", "--limit", "8", "--labels", "../../x", "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert_eq!(tree(tmp.path()), Vec::<String>::new());
}

#[test]
fn extract_with_every_clip_bad_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    std::fs::write(d.join("bad.wav"), b"RIFF\x24\x00\x00\x00WAVEfmt garbage").unwrap();
    std::fs::write(
        d.join("m.jsonl"),
        "{\"id\":\"a\",\"path\":\"bad.wav\",\"labels\":{\"pitch\":60}}\n{\"id\":\"b\",\"path\":\"gone.wav\",\"labels\":{\"pitch\":61}}\n",
    )
    .unwrap();
    let o = bin()
        .args(["extract", "--quiet", "--pool", "mean", "--model"])
        .arg(golden_dir("encoders").join("hubert_group_postln"))
        .arg("--dataset")
        .arg(d.join("m.jsonl"))
        .arg("--out")
        .arg(d.join("store"))
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("every clip failed (2 bad clip(s)"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn hostile_config_is_refused_before_allocating() {
    let tmp = tempfile::tempdir().unwrap();
    let src = golden_dir("encoders").join("hubert_group_postln");
    let m = tmp.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    for f in ["model.safetensors", "preprocessor_config.json"] {
        std::fs::copy(src.join(f), m.join(f)).unwrap();
    }
    let mut cfg: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap()).unwrap();
    cfg["num_hidden_layers"] = serde_json::json!(100_000_000u64);
    std::fs::write(m.join("config.json"), cfg.to_string()).unwrap();
    let wav = tmp.path().join("a.wav");
    tone_wav(&wav);
    let o = bin()
        .args(["embed", "--model"])
        .arg(&m)
        .arg("--out")
        .arg(tmp.path().join("out"))
        .arg(&wav)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("num_hidden_layers = 100000000 exceeds the sanity limit 1024"),
        "{}",
        stderr(&o)
    );
}

/// An OS error reaches the user once: error types either interpolate a cause or return it as their source, never
/// both (the chain `a: b: c` used to end in `…(os error 20): …(os error 20)`).
#[test]
fn os_errors_are_printed_once() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // a path through a regular file: every open fails with ENOTDIR
    std::fs::write(d.join("f"), b"not a folder").unwrap();
    let bad = d.join("f").join("x.wav");
    tone_wav(&d.join("ok.wav"));
    std::fs::write(
        d.join("m.jsonl"),
        format!(
            "{{\"id\":\"ok\",\"path\":\"ok.wav\",\"labels\":{{}}}}\n{{\"id\":\"bad\",\"path\":{:?},\"labels\":{{}}}}\n",
            bad.to_str().unwrap()
        ),
    )
    .unwrap();
    // a store whose manifest.json is not UTF-8: reading it fails with an I/O error (InvalidData)
    std::fs::create_dir_all(d.join("store")).unwrap();
    std::fs::write(d.join("store").join("manifest.json"), b"\xff\xfe{").unwrap();
    let enotdir = "(os error 20)";
    let cases: Vec<(Vec<std::ffi::OsString>, &str)> = vec![
        (vec!["info".into(), bad.clone().into()], enotdir),
        (
            vec![
                "features".into(),
                "--kind".into(),
                "logmel".into(),
                bad.clone().into(),
                "--out".into(),
                d.join("o").into(),
            ],
            enotdir,
        ),
        (
            vec![
                "extract".into(),
                "--quiet".into(),
                "--model".into(),
                "logmel".into(),
                "--pool".into(),
                "mean".into(),
                "--dataset".into(),
                d.join("m.jsonl").into(),
                "--out".into(),
                d.join("s").into(),
            ],
            enotdir,
        ),
        (
            vec![
                "probe".into(),
                "sweep".into(),
                "--store".into(),
                d.join("store").into(),
                "--label".into(),
                "x".into(),
                "--out".into(),
                d.join("p").into(),
            ],
            "did not contain valid UTF-8",
        ),
        (
            vec![
                "datasets".into(),
                "show".into(),
                d.join("f").join("m.jsonl").into(),
            ],
            enotdir,
        ),
        (
            vec![
                "midi".into(),
                "info".into(),
                d.join("f").join("x.mid").into(),
            ],
            enotdir,
        ),
    ];
    for (args, os) in cases {
        let mut c = bin();
        c.args(&args);
        let o = run_bounded(c);
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert_eq!(all.matches(os).count(), 1, "{args:?}:\n{all}");
    }
}

/// A store whose layer 1 has planted constant columns 3 and 6 (8 neurons, 40 clips × 2 frames, label `family`).
fn store_with_constant_columns(dir: &Path) {
    store_with_names(dir, &|c| format!("clip{c:03}"), &["brass", "string"]);
}

/// The store of [`store_with_constant_columns`] with clip ids `clip_id(c)` and `family` = `families[c % len]`.
fn store_with_names(dir: &Path, clip_id: &dyn Fn(usize) -> String, families: &[&str]) {
    use mirlens_core::{DType, LabelSet, LabelValue, LayerId, Pooling};
    use mirlens_store::{Part, RowMeta, ShardData, StoreHeader, StoreWriter};
    let (clips, frames, hidden) = (40usize, 2usize, 8usize);
    let header = StoreHeader {
        model: "constant-columns".into(),
        revision: None,
        config_hash: "0".repeat(64),
        layers: vec![LayerId(0), LayerId(1)],
        hidden_size: hidden,
        dtype: DType::F32,
        pooling: Pooling::None,
        frame_rate: 10.0,
        dataset: "planted".into(),
        dataset_hash: "0".repeat(64),
        dataset_clips: clips,
        clips_per_shard: clips,
    };
    let mut w = StoreWriter::open(dir, header, Part::WHOLE).unwrap();
    let mut rows = Vec::new();
    let mut layers = vec![Vec::new(), Vec::new()];
    for c in 0..clips {
        let mut labels = LabelSet::new();
        labels.insert(
            "family".into(),
            LabelValue::Str(families[c % families.len()].into()),
        );
        for f in 0..frames {
            rows.push(RowMeta {
                clip_id: clip_id(c),
                clip_index: c,
                frame: f,
                time: f as f64 / 10.0,
                split: None,
                labels: labels.clone(),
            });
            for (l, buf) in layers.iter_mut().enumerate() {
                for j in 0..hidden {
                    let varying = ((c * 7 + f * 3 + j * 5) % 11) as f32 / 11.0 + (c % 2) as f32;
                    buf.push(if l == 1 && (j == 3 || j == 6) {
                        0.25
                    } else {
                        varying
                    });
                }
            }
        }
    }
    w.write_shard(ShardData {
        index: 0,
        rows,
        layers,
        clips,
        bad_clips: Vec::new(),
    })
    .unwrap();
    w.finalize().unwrap();
}

/// `probe sweep`, `sae train` and `sae features` name the constant input columns of a layer (as `neurons` and
/// `eval` do), and only for the layer that has them.
#[test]
fn constant_features_are_reported_by_probe_sweep_and_sae() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let store = d.join("store");
    store_with_constant_columns(&store);
    let warning = "layer 1: 2 of 8 features are constant over the 80 rows (first: [3, 6])";
    let mut c = bin();
    c.args(["probe", "sweep", "--label", "family", "--store"])
        .arg(&store)
        .arg("--out")
        .arg(d.join("sweep"));
    let o = run_bounded(c);
    assert!(o.status.success(), "{}", stderr(&o));
    // the sweep pools frames per clip (40 rows); the SAE reads every frame (80)
    let pooled = "layer 1: 2 of 8 features are constant over the 40 rows (first: [3, 6])";
    assert_eq!(stderr(&o).matches(pooled).count(), 1, "{}", stderr(&o));
    assert!(!stderr(&o).contains("layer 0:"), "{}", stderr(&o));
    let small = [
        "--k",
        "2",
        "--latents",
        "16",
        "--tokens",
        "2000",
        "--batch",
        "64",
        "--threads",
        "1",
    ];
    let mut c = bin();
    c.args(["sae", "train", "--layer", "1"])
        .args(small)
        .arg("--store")
        .arg(&store)
        .arg("--out")
        .arg(d.join("sae"));
    let o = run_bounded(c);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o).matches(warning).count(), 1, "{}", stderr(&o));
    let mut c = bin();
    c.args(["sae", "features", "--layer", "1", "--sae"])
        .arg(d.join("sae"))
        .arg("--store")
        .arg(&store)
        .arg("--out")
        .arg(d.join("features"));
    let o = run_bounded(c);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o).matches(warning).count(), 1, "{}", stderr(&o));
    // layer 0 has none
    let mut c = bin();
    c.args(["sae", "train", "--layer", "0"])
        .args(small)
        .arg("--store")
        .arg(&store)
        .arg("--out")
        .arg(d.join("sae0"));
    let o = run_bounded(c);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("constant"), "{}", stderr(&o));
}

/// Labels and clip ids that look like spreadsheet formulas come out of `sae features` CSVs neutralised (a leading
/// `'`), while negative numbers stay numbers.
#[test]
fn hostile_labels_are_neutralised_in_csv() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let store = d.join("store");
    let hostile = ["=cmd|' /C calc'!A0", "+1+1", "@SUM(A1)", "-x"];
    store_with_names(
        &store,
        &|c| format!("=HYPERLINK(\"http://x/{c}\")"),
        &hostile,
    );
    let small = [
        "--k",
        "2",
        "--latents",
        "16",
        "--tokens",
        "2000",
        "--batch",
        "64",
        "--threads",
        "1",
    ];
    let mut c = bin();
    c.args(["sae", "train", "--layer", "0"])
        .args(small)
        .arg("--store")
        .arg(&store)
        .arg("--out")
        .arg(d.join("sae"));
    let o = run_bounded(c);
    assert!(o.status.success(), "{}", stderr(&o));
    let mut c = bin();
    c.args([
        "sae", "features", "--layer", "0", "--labels", "family", "--sae",
    ])
    .arg(d.join("sae"))
    .arg("--store")
    .arg(&store)
    .arg("--out")
    .arg(d.join("f"));
    let o = run_bounded(c);
    assert!(o.status.success(), "{}", stderr(&o));
    let csv = std::fs::read_to_string(d.join("f").join("features.csv")).unwrap();
    let mut neutralised = 0;
    let mut numbers = 0;
    for line in csv.lines().skip(1) {
        // split on commas outside quotes
        let (mut fields, mut cur, mut quoted) = (Vec::new(), String::new(), false);
        for ch in line.chars() {
            match ch {
                '"' => quoted = !quoted,
                ',' if !quoted => fields.push(std::mem::take(&mut cur)),
                _ => cur.push(ch),
            }
        }
        fields.push(cur);
        for f in &fields {
            if f.starts_with(['=', '+', '@', '-', '\t', '\r']) {
                assert!(
                    f.parse::<f64>().is_ok(),
                    "formula-like cell {f:?} in {line:?}"
                );
                numbers += 1;
            }
            if f.starts_with("'=HYPERLINK(") || hostile.iter().any(|h| *f == format!("'{h}")) {
                neutralised += 1;
            }
        }
    }
    // every feature row names its top clip (a hostile id); the class cells hold hostile labels
    assert!(
        neutralised >= 16,
        "{neutralised} neutralised cells in\n{csv}"
    );
    // the precision/recall/MI columns of the hostile labels hold numbers, some signed: kept as numbers
    assert!(numbers + neutralised > 0);
}

#[test]
fn non_finite_activations_follow_the_on_nonfinite_policy() {
    // a model with one NaN weight: every activation after the feature projection is NaN
    let tmp = tempfile::tempdir().unwrap();
    let src = golden_dir("encoders").join("hubert_group_postln");
    let m = tmp.path().join("m");
    std::fs::create_dir_all(&m).unwrap();
    for f in ["config.json", "preprocessor_config.json"] {
        std::fs::copy(src.join(f), m.join(f)).unwrap();
    }
    let mut b = std::fs::read(src.join("model.safetensors")).unwrap();
    let n = u64::from_le_bytes(b[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&b[8..8 + n]).unwrap();
    let t = &header["feature_projection.projection.bias"];
    assert_eq!(t["dtype"], "F32");
    let at = 8 + n + t["data_offsets"][0].as_u64().unwrap() as usize;
    b[at..at + 4].copy_from_slice(&f32::NAN.to_le_bytes());
    std::fs::write(m.join("model.safetensors"), b).unwrap();
    for i in 0..2 {
        tone_wav(&tmp.path().join(format!("t{i}.wav")));
    }
    std::fs::write(
        tmp.path().join("m.jsonl"),
        "{\"id\":\"a\",\"path\":\"t0.wav\",\"labels\":{\"pitch\":60}}\n{\"id\":\"b\",\"path\":\"t1.wav\",\"labels\":{\"pitch\":61}}\n",
    )
    .unwrap();
    let extract = |policy: Option<&str>, out: &str| {
        let mut c = bin();
        c.args(["extract", "--quiet", "--pool", "mean", "--model"])
            .arg(&m)
            .arg("--dataset")
            .arg(tmp.path().join("m.jsonl"))
            .arg("--out")
            .arg(tmp.path().join(out));
        if let Some(p) = policy {
            c.args(["--on-nonfinite", p]);
        }
        c.output().unwrap()
    };
    let o = extract(None, "s-error");
    assert!(!o.status.success());
    assert!(stderr(&o).contains("non-finite"), "{}", stderr(&o));
    let o = extract(Some("keep"), "s-keep");
    assert!(o.status.success(), "{}", stderr(&o));
    let man: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("s-keep").join("manifest.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(man["on_nonfinite"], "keep");
    assert_eq!(man["nonfinite_rows"], 2, "{man}");
    let o = extract(Some("skip"), "s-skip");
    assert!(o.status.success(), "{}", stderr(&o));
    let man: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(tmp.path().join("s-skip").join("manifest.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(man["on_nonfinite"], "skip", "{man}");
    assert_eq!(man["nonfinite_rows"], 2, "{man}");
    assert_eq!(man["num_rows"], 0, "{man}");
    let o = extract(Some("sometimes"), "s-bad");
    assert!(
        stderr(&o).contains("'error', 'skip' or 'keep'"),
        "{}",
        stderr(&o)
    );
}

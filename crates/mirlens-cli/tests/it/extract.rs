//! `mirlens extract` and `mirlens store`: end to end through the binary, including `kill -9` and resume.

use mirlens_core::LayerId;
use mirlens_store::Store;
use mirlens_test_support::dir_files;
use mirlens_test_support::golden_dir;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn tiny_model() -> String {
    golden_dir("encoders")
        .join("hubert_group_postln")
        .display()
        .to_string()
}

fn extract(out: &Path, extra: &[&str]) -> Output {
    let mut c = bin();
    c.args(["extract", "--model", &tiny_model(), "--out"])
        .arg(out)
        .arg("--quiet");
    c.args(extra);
    c.output().unwrap()
}

fn ok(o: &Output) -> String {
    let (so, se) = (
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr),
    );
    assert!(o.status.success(), "command failed: {se}\n{so}");
    so.into_owned()
}

fn err(o: &Output) -> String {
    assert!(!o.status.success(), "command succeeded unexpectedly");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn same_files(a: &Path, b: &Path) {
    let (x, y) = (dir_files(a), dir_files(b));
    assert_eq!(
        x.iter().map(|f| &f.0).collect::<Vec<_>>(),
        y.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((n, p), (_, q)) in x.iter().zip(&y) {
        assert!(p == q, "{} differs", n.display());
    }
}

const SYNTH: [&str; 8] = [
    "--dataset",
    "synth-notes",
    "--limit",
    "10",
    "--clips-per-shard",
    "3",
    "--pool",
    "mean",
];

#[test]
fn extract_synth_notes_then_info_stats_and_read_back() {
    let root = tempfile::tempdir().unwrap();
    let out = root.path().join("s");
    let so = ok(&extract(
        &out,
        &[&SYNTH[..], &["--dtype", "f16", "--layers", "0,2"]].concat(),
    ));
    assert!(
        so.contains("wrote 10 rows from 10 clips (2 layers × 32, f16)"),
        "{so}"
    );
    let store = Store::open(&out).unwrap();
    assert_eq!(store.layers(), &[LayerId(0), LayerId(2)]);
    assert_eq!(store.num_rows(), 10);
    assert_eq!(store.manifest().header.dataset, "synth-notes");
    let pitches: Vec<i64> = store
        .rows()
        .iter()
        .map(|r| r.labels["pitch"].as_f64().unwrap() as i64)
        .collect();
    assert!(
        pitches.iter().all(|p| (21..=108).contains(p)),
        "{pitches:?}"
    );
    let info = ok(&bin().args(["store", "info"]).arg(&out).output().unwrap());
    assert!(info.contains("rows        10 from 10 clips"), "{info}");
    assert!(info.contains("layers      [0,2] × hidden 32"), "{info}");
    let stats = ok(&bin().args(["store", "stats"]).arg(&out).output().unwrap());
    let st = store.stats(LayerId(2)).unwrap();
    assert!(stats.contains(&format!("{:.4}", st.norms.mean)), "{stats}");
}

#[test]
fn sharded_jobs_merge_into_the_single_job_store() {
    let root = tempfile::tempdir().unwrap();
    let whole = root.path().join("whole");
    ok(&extract(&whole, &SYNTH));
    let mut parts = Vec::new();
    for i in 0..2 {
        let p = root.path().join(format!("part{i}"));
        ok(&extract(
            &p,
            &[&SYNTH[..], &["--shard", &format!("{i}/2")]].concat(),
        ));
        parts.push(p);
    }
    let merged = root.path().join("merged");
    let so = ok(&bin()
        .args(["store", "merge", "--out"])
        .arg(&merged)
        .args(&parts)
        .output()
        .unwrap());
    assert!(so.contains("merged 2 part(s): 4 shards, 10 rows"), "{so}");
    same_files(&whole, &merged);
    let e = err(&bin()
        .args(["store", "merge", "--out"])
        .arg(root.path().join("m2"))
        .arg(&parts[0])
        .output()
        .unwrap());
    assert!(e.contains("part 1/2 is missing"), "{e}");
}

#[test]
fn kill_9_mid_run_then_resume_gives_identical_shards() {
    let root = tempfile::tempdir().unwrap();
    let args = [
        "--dataset",
        "synth-notes",
        "--limit",
        "60",
        "--clips-per-shard",
        "1",
        "--threads",
        "1",
    ];
    let whole = root.path().join("whole");
    ok(&extract(&whole, &args));
    let out = root.path().join("killed");
    let mut child = bin()
        .args(["extract", "--model", &tiny_model(), "--quiet", "--out"])
        .arg(&out)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let journal = out.join("journal.jsonl");
    loop {
        let lines = std::fs::read_to_string(&journal)
            .map(|t| t.lines().count())
            .unwrap_or(0);
        if lines >= 3 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "extraction finished before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let committed = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert!(committed < 60, "all shards were committed before the kill");
    let e = err(&bin().args(["store", "stats"]).arg(&out).output().unwrap());
    assert!(e.contains("incomplete"), "{e}");
    let so = ok(&extract(&out, &args));
    assert!(
        so.contains(&format!(
            "{} shard(s) written, {committed} resumed",
            60 - committed
        )),
        "{so}"
    );
    same_files(&whole, &out);
}

fn write_manifest(dir: &Path, lines: &[String]) -> PathBuf {
    let p = dir.join("manifest.jsonl");
    std::fs::write(&p, lines.join("\n") + "\n").unwrap();
    p
}

#[test]
fn bad_clips_are_listed_and_fail_mode_names_the_clip() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    let tone = mirlens_test_support::signals::sine(440.0, 0.5, 16000, 8000);
    mirlens_audio::wav::write_wav(
        &d.join("ok.wav"),
        &tone,
        16000,
        mirlens_audio::wav::WavFormat::Pcm16,
    )
    .unwrap();
    std::fs::write(
        d.join("corrupt.wav"),
        b"RIFF\x24\x00\x00\x00WAVEfmt garbage",
    )
    .unwrap();
    let m = write_manifest(
        d,
        &[
            r#"{"id":"ok","path":"ok.wav","labels":{"pitch":69}}"#.into(),
            r#"{"id":"corrupt","path":"corrupt.wav","labels":{"pitch":60}}"#.into(),
            r#"{"id":"gone","path":"missing.wav","labels":{"pitch":61}}"#.into(),
        ],
    );
    let out = d.join("store");
    let so = ok(&extract(
        &out,
        &["--dataset", m.to_str().unwrap(), "--pool", "mean"],
    ));
    assert!(so.contains("2 bad clip(s) skipped"), "{so}");
    assert!(
        so.contains("gone (") && so.contains("file not found"),
        "{so}"
    );
    let s = Store::open(&out).unwrap();
    assert_eq!(s.num_rows(), 1);
    assert_eq!(
        s.manifest()
            .bad_clips
            .iter()
            .map(|b| b.clip_id.as_str())
            .collect::<Vec<_>>(),
        ["corrupt", "gone"]
    );
    let e = err(&extract(
        &d.join("strict"),
        &["--dataset", m.to_str().unwrap(), "--on-bad-clip", "fail"],
    ));
    assert!(e.contains("clip \"corrupt\" (#1"), "{e}");
}

#[test]
fn wrong_label_types_and_other_models_are_refused_clearly() {
    let root = tempfile::tempdir().unwrap();
    let d = root.path();
    let m = write_manifest(
        d,
        &[
            r#"{"mirlens_manifest":1,"label_schema":{"pitch":"int"}}"#.into(),
            r#"{"id":"a","path":"a.wav","labels":{"pitch":60}}"#.into(),
            r#"{"id":"b","path":"b.wav","labels":{"pitch":"C4"}}"#.into(),
        ],
    );
    let e = err(&extract(&d.join("s"), &["--dataset", m.to_str().unwrap()]));
    assert!(
        e.contains("manifest.jsonl:3") && e.contains("label `pitch` should be int"),
        "{e}"
    );
    assert!(!d.join("s").exists());
    // a store of one model is not appended to by another
    let out = d.join("store");
    ok(&extract(
        &out,
        &["--dataset", "synth-notes", "--limit", "2", "--pool", "mean"],
    ));
    let before = dir_files(&out);
    let other = golden_dir("encoders").join("hubert_group_preln");
    let e = err(&bin()
        .args([
            "extract",
            "--quiet",
            "--dataset",
            "synth-notes",
            "--limit",
            "2",
            "--pool",
            "mean",
            "--model",
        ])
        .arg(&other)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap());
    assert!(
        e.contains("refusing to append") && e.contains("model = hubert_group_postln"),
        "{e}"
    );
    assert!(dir_files(&out) == before);
}

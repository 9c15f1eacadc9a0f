//! End to end: built-in `synth-notes` → extract every layer with a tiny golden encoder → read the store back; and a
//! separate process killed with SIGKILL mid-extraction, resumed, and compared byte for byte with an uninterrupted
//! run.

use mirlens_audio::resample::{ResampleQuality, resample};
use mirlens_core::{DType, LabelValue, LayerId, LayerSelection, Pooling, Tolerance};
use mirlens_datasets::synth::{NotesParams, SynthDataset, SynthNotes};
use mirlens_extract::{
    Dataset, ExtractParams, ModelIdentity, Progress, SynthSource, extract, synth_manifest,
};
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, LoadOptions};
use mirlens_store::{BatchOptions, SplitPolicy, Store};
use mirlens_test_support::dir_files;
use mirlens_test_support::{assert_close, golden_dir};
use std::collections::BTreeMap;
use std::path::Path;

const CLIPS: usize = 16;
const CHILD_ENV: &str = "MIRLENS_PIPELINE_CHILD_OUT";

fn notes() -> SynthNotes {
    NotesParams {
        seed: 3,
        duration_secs: 0.5,
        ..NotesParams::default()
    }
    .check()
    .unwrap()
}

fn model() -> (CandleEncoder, ModelIdentity) {
    let dir = golden_dir("encoders").join("mert_95m_like");
    let id = ModelIdentity::from_dir("tiny-mert-95m-like", None, &dir).unwrap();
    (
        CandleEncoder::load(&dir, &LoadOptions::default()).unwrap(),
        id,
    )
}

fn params(dtype: DType) -> ExtractParams {
    ExtractParams {
        layers: LayerSelection::All,
        pooling: Pooling::None,
        dtype,
        clips_per_shard: 2,
        batch_size: 2,
        ..ExtractParams::default()
    }
}

fn run(
    out: &Path,
    dtype: DType,
    progress: &mut dyn FnMut(&Progress),
) -> mirlens_extract::ExtractSummary {
    let ds = notes();
    let manifest = synth_manifest(&ds, Some(CLIPS));
    let (enc, id) = model();
    let source = SynthSource { dataset: &ds };
    let d = Dataset {
        name: "synth-notes".into(),
        manifest: &manifest,
        source: &source,
    };
    extract(&enc, &id, &d, &params(dtype), out, progress).unwrap()
}

#[test]
fn synth_notes_extract_all_layers_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let sum = run(dir.path(), DType::F32, &mut |_| {});
    assert_eq!(
        (sum.manifest.num_clips, sum.manifest.bad_clips.len()),
        (CLIPS, 0)
    );
    let store = Store::open(dir.path()).unwrap();
    let (enc, _) = model();
    assert_eq!(store.layers(), &[LayerId(0), LayerId(1), LayerId(2)]);
    assert_eq!(store.hidden_size(), enc.spec().hidden_size);
    // every layer equals the encoder run on each generated clip by itself
    let ds = notes();
    for &l in store.layers() {
        let (all, rows, d) = store.read_layer(l).unwrap();
        let mut want = Vec::new();
        for i in 0..CLIPS {
            let c = ds.clip(i);
            let x = if c.sample_rate == enc.spec().sample_rate {
                c.samples
            } else {
                resample(
                    &c.samples,
                    c.sample_rate,
                    enc.spec().sample_rate,
                    ResampleQuality::High,
                )
                .unwrap()
            };
            let a = enc
                .encode(
                    &x,
                    &LayerSelection::Some(vec![l]),
                    &EncodeOptions::default(),
                )
                .unwrap();
            want.extend_from_slice(a.layer(l).unwrap());
        }
        assert_eq!(rows * d, want.len());
        let rep = assert_close(&format!("synth-notes {l}"), &all, &want, Tolerance::ENCODER);
        eprintln!("synth-notes {l}: max abs error {:.3e}", rep.max_abs);
    }
    // labels travel with every frame; splits never divide a clip
    let ds_labels: Vec<i64> = (0..CLIPS)
        .map(|i| ds.clip(i).labels["pitch"].as_f64().unwrap() as i64)
        .collect();
    for r in store.rows() {
        assert_eq!(r.labels["pitch"], LabelValue::Int(ds_labels[r.clip_index]));
    }
    let split = store
        .split(&SplitPolicy::ByClip {
            val: 0.25,
            test: 0.25,
            seed: 1,
        })
        .unwrap();
    let mut owner = BTreeMap::new();
    for (k, part) in [&split.train, &split.val, &split.test].iter().enumerate() {
        for &r in part.iter() {
            assert_eq!(*owner.entry(store.rows()[r].clip_index).or_insert(k), k);
        }
    }
    // streaming batches over the training rows only
    let n: usize = store
        .batches(BatchOptions {
            batch_size: 64,
            rows: Some(split.train.clone()),
            ..BatchOptions::default()
        })
        .unwrap()
        .map(|b| b.unwrap().rows.len())
        .sum();
    assert_eq!(n, split.train.len());
}

/// The child side of the kill test: runs only when spawned by it (otherwise returns at once). It extracts slowly
/// (a pause after each committed shard) so that the parent can kill it mid-run.
#[test]
fn child_extraction_process() {
    let Some(out) = std::env::var_os(CHILD_ENV) else {
        return;
    };
    run(Path::new(&out), DType::Bf16, &mut |p| {
        if matches!(p, Progress::Shard { .. }) {
            std::thread::sleep(std::time::Duration::from_millis(150));
        }
    });
}

#[test]
fn kill_9_mid_extraction_then_resume_is_byte_identical() {
    let root = tempfile::tempdir().unwrap();
    let whole = root.path().join("whole");
    run(&whole, DType::Bf16, &mut |_| {});
    let out = root.path().join("killed");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_extraction_process",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_ENV, &out)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let journal = out.join("journal.jsonl");
    while std::fs::read_to_string(&journal)
        .map(|t| t.lines().count())
        .unwrap_or(0)
        < 3
    {
        assert!(
            child.try_wait().unwrap().is_none(),
            "child exited before it could be killed"
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let committed = std::fs::read_to_string(&journal).unwrap().lines().count();
    assert!(
        committed < CLIPS / 2,
        "{committed} shards committed: the child was not interrupted"
    );
    assert!(Store::open(&out).is_err());
    let mut start = None;
    let s = run(&out, DType::Bf16, &mut |p| {
        if let Progress::Start { shards_done, .. } = p {
            start = Some(*shards_done);
        }
    });
    assert_eq!(start, Some(committed));
    assert_eq!(s.shards_resumed, committed);
    let (a, b) = (dir_files(&whole), dir_files(&out));
    assert_eq!(
        a.iter().map(|f| &f.0).collect::<Vec<_>>(),
        b.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    for ((n, x), (_, y)) in a.iter().zip(&b) {
        assert!(x == y, "{} differs after kill -9 and resume", n.display());
    }
}

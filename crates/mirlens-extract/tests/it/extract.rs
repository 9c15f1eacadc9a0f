//! Extraction end to end on a tiny random wav2vec2-family model and generated tones.

use mirlens_audio::Waveform;
use mirlens_core::{DType, LabelValue, LayerId, LayerSelection, Pooling, Tolerance};
use mirlens_datasets::{Manifest, ManifestEntry, Split};
use mirlens_extract::{
    BadClipPolicy, ClipSource, Dataset, ExtractError, ExtractParams, FileSource, ModelIdentity,
    Progress, extract, merge,
};
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, LoadOptions};
use mirlens_store::{Part, Store, StoreError};
use mirlens_test_support::dir_files;
use mirlens_test_support::{assert_close, golden_dir, signals::sine};
use std::path::Path;

const CLIPS: usize = 7;
const SR: u32 = 22050;

fn model() -> (CandleEncoder, ModelIdentity) {
    let dir = golden_dir("encoders").join("hubert_group_postln");
    let enc = CandleEncoder::load(&dir, &LoadOptions::default()).unwrap();
    let id = ModelIdentity::from_dir("tiny-hubert-group-postln", None, &dir).unwrap();
    (enc, id)
}

/// Tones of different pitch and length at 22.05 kHz (resampled to the model's 16 kHz); clip 3 fails to load.
struct Tones;

fn tone(i: usize) -> Vec<f32> {
    sine(
        220.0 * (1.0 + i as f64 / 4.0),
        0.5,
        SR,
        (SR as usize / 5) + i * 1000,
    )
}

impl ClipSource for Tones {
    fn load(&self, index: usize, e: &ManifestEntry) -> Result<Waveform, String> {
        if index == 3 {
            return Err(format!(
                "{}: corrupt audio data: bad header",
                e.path.display()
            ));
        }
        Ok(Waveform {
            samples: tone(index),
            sample_rate: SR,
        })
    }
}

fn manifest() -> Manifest {
    let entries = (0..CLIPS)
        .map(|i| {
            ManifestEntry::new(format!("tone{i}"), format!("tones/tone{i}.wav"))
                .with_label("pitch", LabelValue::Int(57 + i as i64))
                .with_split([Split::Train, Split::Valid, Split::Test][i % 3])
        })
        .collect();
    Manifest::from_entries(entries, Path::new("tones")).unwrap()
}

fn params(pooling: Pooling) -> ExtractParams {
    ExtractParams {
        layers: LayerSelection::All,
        pooling,
        dtype: DType::F32,
        clips_per_shard: 2,
        batch_size: 2,
        ..ExtractParams::default()
    }
}

fn run(out: &Path, p: &ExtractParams) -> Result<mirlens_extract::ExtractSummary, ExtractError> {
    let (enc, id) = model();
    let m = manifest();
    let ds = Dataset {
        name: "tones".into(),
        manifest: &m,
        source: &Tones,
    };
    extract(&enc, &id, &ds, p, out, &mut |_| {})
}

#[test]
fn stored_rows_equal_the_encoder_run_clip_by_clip() {
    let dir = tempfile::tempdir().unwrap();
    let sum = run(dir.path(), &params(Pooling::None)).unwrap();
    assert_eq!(sum.manifest.bad_clips.len(), 1);
    assert_eq!(sum.manifest.bad_clips[0].clip_id, "tone3");
    assert!(
        sum.manifest.bad_clips[0]
            .reason
            .contains("corrupt audio data")
    );
    assert_eq!(sum.manifest.num_clips, CLIPS - 1);
    let store = Store::open(dir.path()).unwrap();
    assert_eq!(store.layers(), &[LayerId(0), LayerId(1), LayerId(2)]);
    let (enc, _) = model();
    let rs = mirlens_audio::resample::ResampleQuality::High;
    for &l in store.layers() {
        let (all, _, d) = store.read_layer(l).unwrap();
        let mut expected = Vec::new();
        for i in (0..CLIPS).filter(|&i| i != 3) {
            let x = mirlens_audio::resample::resample(&tone(i), SR, 16000, rs).unwrap();
            let a = enc
                .encode(
                    &x,
                    &LayerSelection::Some(vec![l]),
                    &EncodeOptions::default(),
                )
                .unwrap();
            expected.extend_from_slice(a.layer(l).unwrap());
        }
        // batched (equal-length batches only for group-norm models) vs single: same maths
        let rep = assert_close(
            &format!("extracted {l}"),
            &all,
            &expected,
            Tolerance::ENCODER,
        );
        eprintln!(
            "extracted {l}: max abs error {:.3e} vs the encoder clip by clip",
            rep.max_abs
        );
        assert_eq!(all.len() / d, store.num_rows());
    }
    let r = store
        .rows()
        .iter()
        .find(|r| r.clip_id == "tone1" && r.frame == 2)
        .unwrap();
    assert_eq!(r.labels["pitch"], LabelValue::Int(58));
    assert_eq!(r.split.as_deref(), Some("valid"));
    let fr = store.manifest().header.frame_rate;
    assert_eq!(fr, enc.spec().frame_rate);
    assert!((r.time - 2.0 / fr).abs() < 1e-12, "{}", r.time);
}

#[test]
fn mean_pooling_gives_one_row_per_clip_equal_to_the_frame_mean() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    run(a.path(), &params(Pooling::None)).unwrap();
    run(b.path(), &params(Pooling::Mean)).unwrap();
    let (frames, pooled) = (
        Store::open(a.path()).unwrap(),
        Store::open(b.path()).unwrap(),
    );
    assert_eq!(pooled.num_rows(), CLIPS - 1);
    let (fv, _, d) = frames.read_layer(LayerId(2)).unwrap();
    let (pv, _, _) = pooled.read_layer(LayerId(2)).unwrap();
    for (k, row) in pooled.rows().iter().enumerate() {
        let idx: Vec<usize> = (0..frames.num_rows())
            .filter(|&r| frames.rows()[r].clip_index == row.clip_index)
            .collect();
        let mean: Vec<f32> = (0..d)
            .map(|j| {
                idx.iter().map(|&r| fv[r * d + j] as f64).sum::<f64>() as f32 / idx.len() as f32
            })
            .collect();
        assert_close(
            &format!("mean of clip {}", row.clip_id),
            &pv[k * d..(k + 1) * d],
            &mean,
            Tolerance::EXACT_F32,
        );
    }
}

#[test]
fn an_interrupted_run_resumes_to_identical_files() {
    let whole = tempfile::tempdir().unwrap();
    run(whole.path(), &params(Pooling::None)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (enc, id) = model();
    let m = manifest();
    let ds = Dataset {
        name: "tones".into(),
        manifest: &m,
        source: &Tones,
    };
    // stop abruptly after the second committed shard
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut n = 0;
        extract(
            &enc,
            &id,
            &ds,
            &params(Pooling::None),
            dir.path(),
            &mut |p| {
                if matches!(p, Progress::Shard { .. }) {
                    n += 1;
                    if n == 2 {
                        panic!("interrupted");
                    }
                }
            },
        )
    }));
    assert!(r.is_err());
    let mut events = Vec::new();
    let s = extract(
        &enc,
        &id,
        &ds,
        &params(Pooling::None),
        dir.path(),
        &mut |p| events.push(p.clone()),
    )
    .unwrap();
    assert_eq!((s.shards_resumed, s.shards_written), (2, 2));
    assert_eq!(
        events[0],
        Progress::Start {
            clips_total: 7,
            clips_done: 4,
            shards_total: 4,
            shards_done: 2
        }
    );
    assert!(dir_files(whole.path()) == dir_files(dir.path()));
}

#[test]
fn a_different_model_or_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    run(dir.path(), &params(Pooling::None)).unwrap();
    let before = dir_files(dir.path());
    let other = golden_dir("encoders").join("hubert_group_preln");
    let enc = CandleEncoder::load(&other, &LoadOptions::default()).unwrap();
    let id = ModelIdentity::from_dir("tiny-hubert-group-preln", None, &other).unwrap();
    let m = manifest();
    let ds = Dataset {
        name: "tones".into(),
        manifest: &m,
        source: &Tones,
    };
    let e = extract(
        &enc,
        &id,
        &ds,
        &params(Pooling::None),
        dir.path(),
        &mut |_| {},
    )
    .unwrap_err();
    assert!(
        matches!(
            &e,
            ExtractError::Store(StoreError::Incompatible { field: "model", .. })
        ),
        "{e}"
    );
    let e = run(dir.path(), &params(Pooling::Mean)).unwrap_err();
    assert!(e.to_string().contains("pooling = none"), "{e}");
    assert!(dir_files(dir.path()) == before);
}

#[test]
fn parts_merge_into_the_single_job_store() {
    let whole = tempfile::tempdir().unwrap();
    run(whole.path(), &params(Pooling::Mean)).unwrap();
    let root = tempfile::tempdir().unwrap();
    let mut parts = Vec::new();
    for i in 0..3 {
        let p = root.path().join(format!("part{i}"));
        run(
            &p,
            &ExtractParams {
                part: Part { index: i, count: 3 },
                ..params(Pooling::Mean)
            },
        )
        .unwrap();
        parts.push(p);
    }
    let out = root.path().join("merged");
    merge(&parts, &out).unwrap();
    assert!(dir_files(whole.path()) == dir_files(&out));
}

#[test]
fn missing_and_corrupt_files_are_listed_and_fail_policy_stops() {
    let root = tempfile::tempdir().unwrap();
    let audio = root.path().join("audio");
    std::fs::create_dir_all(&audio).unwrap();
    mirlens_audio::wav::write_wav(
        &audio.join("ok.wav"),
        &tone(0),
        SR,
        mirlens_audio::wav::WavFormat::Pcm16,
    )
    .unwrap();
    std::fs::write(
        audio.join("corrupt.wav"),
        b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk",
    )
    .unwrap();
    let entries = ["ok", "corrupt", "missing"]
        .iter()
        .map(|n| {
            ManifestEntry::new(*n, audio.join(format!("{n}.wav")))
                .with_label("pitch", LabelValue::Int(60))
        })
        .collect();
    let m = Manifest::from_entries(entries, Path::new("files")).unwrap();
    let (enc, id) = model();
    let ds = Dataset {
        name: "files".into(),
        manifest: &m,
        source: &FileSource::default(),
    };
    let out = root.path().join("store");
    let s = extract(&enc, &id, &ds, &params(Pooling::Mean), &out, &mut |_| {}).unwrap();
    let bad: Vec<(&str, &str)> = s
        .manifest
        .bad_clips
        .iter()
        .map(|b| (b.clip_id.as_str(), b.reason.as_str()))
        .collect();
    assert_eq!(bad.len(), 2, "{bad:?}");
    assert_eq!(bad[0].0, "corrupt");
    assert_eq!(bad[1].0, "missing");
    assert!(bad[1].1.contains("file not found"), "{}", bad[1].1);
    assert_eq!(Store::open(&out).unwrap().num_rows(), 1);
    let out2 = root.path().join("strict");
    let p = ExtractParams {
        bad_clips: BadClipPolicy::Fail,
        ..params(Pooling::Mean)
    };
    let e = extract(&enc, &id, &ds, &p, &out2, &mut |_| {}).unwrap_err();
    assert!(
        matches!(&e, ExtractError::BadClip { clip_id, index: 1, .. } if clip_id == "corrupt"),
        "{e}"
    );
}

//! Frame-level score labels: extraction of a synthetic dataset writes them row by row, equal to the score's labels
//! on the encoder's frame grid and aligned with the audio; a MIDI file named by a manifest gives the same labels;
//! an unreadable MIDI file makes a bad clip that names it.

use mirlens_core::{LabelValue, LayerId, LayerSelection, Pooling};
use mirlens_datasets::synth::{NotesParams, SequencesParams, SynthDataset};
use mirlens_extract::frames::{FRAME_LABELS, labels_of};
use mirlens_extract::{
    Dataset, ExtractParams, FileSource, LogMelEncoder, ModelIdentity, SynthSource, extract,
    synth_manifest,
};
use mirlens_models::Encoder;
use mirlens_store::{LabelData, LabelLevel, Store};
use std::path::Path;

fn params() -> ExtractParams {
    ExtractParams {
        layers: LayerSelection::All,
        pooling: Pooling::None,
        clips_per_shard: 3,
        ..ExtractParams::default()
    }
}

fn run_synth(ds: &dyn SynthDataset, out: &Path, pooling: Pooling) -> Store {
    let enc = LogMelEncoder::new();
    let m = synth_manifest(ds, None);
    let src = SynthSource { dataset: ds };
    let dataset = Dataset {
        name: ds.name().into(),
        manifest: &m,
        source: &src,
    };
    let id = ModelIdentity::from_config_string("logmel", None, "logmel");
    extract(
        &enc,
        &id,
        &dataset,
        &ExtractParams {
            pooling,
            ..params()
        },
        out,
        &mut |_| {},
    )
    .unwrap();
    Store::open(out).unwrap()
}

fn multi_hot_rows(store: &Store, name: &str) -> Vec<Vec<u8>> {
    match store.row_label(name).unwrap() {
        LabelData::MultiHot { width, values } => values
            .chunks(*width)
            .map(|r| {
                r.iter()
                    .enumerate()
                    .filter(|(_, b)| **b == 1)
                    .map(|(p, _)| p as u8)
                    .collect()
            })
            .collect(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn sequence_frames_carry_the_score_labels_of_their_clip() {
    let ds = SequencesParams {
        seed: 3,
        sample_rate: 16000,
        duration_secs: 3.0,
        count: 4,
        ..SequencesParams::default()
    }
    .check()
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = run_synth(&ds, &dir.path().join("s"), Pooling::None);
    let schema = &store.manifest().layout.label_schema;
    for name in FRAME_LABELS {
        assert_eq!(schema.get(name).unwrap().level, LabelLevel::Row, "{name}");
    }
    let rate = store.manifest().header.frame_rate;
    let clips = store.row_clips().unwrap().to_vec();
    let pos = store.positions().unwrap().to_vec();
    let pitch = multi_hot_rows(&store, "frame_pitch");
    let onset = multi_hot_rows(&store, "frame_onset");
    let chord = store.label_values("frame_chord").unwrap();
    let key = store.label_values("frame_key").unwrap();
    let beat = store.label_values("frame_beat").unwrap();
    let n_notes = store.label_values("frame_n_notes").unwrap();
    let mut onsets_seen = 0;
    for c in 0..ds.len() {
        let rows: Vec<usize> = (0..clips.len())
            .filter(|&r| clips[r] as usize == c)
            .collect();
        let score = ds.score(c).unwrap();
        let want = labels_of(&score, rate, rows.len()).unwrap();
        let piece = ds.piece(c);
        for (f, &r) in rows.iter().enumerate() {
            assert_eq!(pos[r] as usize, f);
            assert_eq!(pitch[r], want.pitches[f], "clip {c} frame {f}");
            assert_eq!(onset[r], want.onsets[f]);
            assert_eq!(
                n_notes[r],
                Some(LabelValue::Int(want.pitches[f].len() as i64))
            );
            let ch = want.chords[f].map_or("N".into(), |c| c.harte());
            assert_eq!(chord[r], Some(LabelValue::Str(ch)));
            let LabelValue::Str(k) = key[r].clone().unwrap() else {
                panic!()
            };
            assert_eq!(
                k,
                format!(
                    "{} {}",
                    mirlens_symbolic::frames::PC_NAMES[piece.tonic as usize],
                    if piece.minor { "minor" } else { "major" }
                )
            );
            let Some(LabelValue::Float(b)) = beat[r] else {
                panic!()
            };
            // 4/4 at the piece's tempo: beats since the clip start, modulo 4
            let expect = (f as f64 / rate * piece.tempo_bpm / 60.0).rem_euclid(4.0);
            assert!(
                (b - expect).abs() < 1e-3 || (b - expect).abs() > 4.0 - 1e-3,
                "{b} vs {expect}"
            );
            onsets_seen += onset[r].len();
        }
        // every note of the piece starts in exactly the frame of its onset
        for n in &piece.notes {
            let f = (n.onset * rate) as usize;
            if f < rows.len() {
                assert!(onset[rows[f]].contains(&n.pitch), "clip {c}: {n:?}");
            }
        }
    }
    assert!(onsets_seen > 20);
    // pooled stores have no frame labels
    let pooled = run_synth(&ds, &dir.path().join("p"), Pooling::Mean);
    assert!(
        pooled
            .manifest()
            .layout
            .label_schema
            .get("frame_pitch")
            .is_none()
    );
}

#[test]
fn frame_labels_are_aligned_with_the_audio() {
    // single notes held for 0.75 s of 1 s: log-mel energy is high where the label says a note sounds and falls
    // after the release
    let ds = NotesParams {
        pitches: mirlens_datasets::synth::notes::PitchRange {
            lo: 48,
            hi: 72,
            step: 5,
        },
        velocities: vec![100],
        duration_secs: 1.0,
        sample_rate: 16000,
        ..NotesParams::default()
    }
    .check()
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = run_synth(&ds, &dir.path().join("n"), Pooling::None);
    let (x, rows, d) = store.read_layer(LayerId(0)).unwrap();
    let n_notes = store.label_values("frame_n_notes").unwrap();
    let pos = store.positions().unwrap();
    let rate = store.manifest().header.frame_rate;
    let energy = |r: usize| x[r * d..(r + 1) * d].iter().map(|&v| v as f64).sum::<f64>() / d as f64;
    let (mut on, mut non, mut off, mut noff) = (0.0, 0, 0.0, 0);
    for r in 0..rows {
        let t = pos[r] as f64 / rate;
        match n_notes[r] {
            Some(LabelValue::Int(1)) if t > 0.1 => {
                on += energy(r);
                non += 1;
            }
            Some(LabelValue::Int(0)) if t > 0.95 => {
                off += energy(r);
                noff += 1;
            }
            _ => {}
        }
    }
    assert!(non > 100 && noff > 10, "{non} {noff}");
    let gap = on / non as f64 - off / noff as f64;
    eprintln!("log-mel mean: sounding − released = {gap:.2} dB");
    assert!(gap > 6.0, "{gap}"); // 9.0 dB measured
    // the labels switch off at 0.75 s, to the frame
    let first_off = (0..rows)
        .filter(|&r| n_notes[r] == Some(LabelValue::Int(0)))
        .map(|r| pos[r])
        .min()
        .unwrap();
    assert_eq!(first_off as usize, (0.75 * rate) as usize);
}

#[test]
fn manifest_midi_files_give_the_same_labels_and_bad_midi_is_a_bad_clip() {
    let ds = SequencesParams {
        seed: 9,
        sample_rate: 16000,
        duration_secs: 2.0,
        count: 3,
        ..SequencesParams::default()
    }
    .check()
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut m =
        mirlens_datasets::synth::write_dataset(&ds, &dir.path().join("data"), 1, &|_| {}).unwrap();
    let bad = dir.path().join("bad.mid");
    std::fs::write(&bad, b"MThd\x00\x00\x00\x06\x00\x01").unwrap();
    m.entries[2].midi = Some(bad.clone());
    let enc = LogMelEncoder::new();
    let src = FileSource::default();
    let dataset = Dataset {
        name: "seq".into(),
        manifest: &m,
        source: &src,
    };
    let id = ModelIdentity::from_config_string("logmel", None, "logmel");
    let out = dir.path().join("store");
    extract(&enc, &id, &dataset, &params(), &out, &mut |_| {}).unwrap();
    let store = Store::open(&out).unwrap();
    let bad_clips = &store.manifest().bad_clips;
    assert_eq!(bad_clips.len(), 1);
    assert!(
        bad_clips[0].reason.contains("bad.mid"),
        "{}",
        bad_clips[0].reason
    );
    let synth = run_synth(&ds, &dir.path().join("s"), Pooling::None);
    // clips 0 and 1: the same rows and labels as the in-memory scores
    let n0 = store.num_rows();
    assert_eq!(
        multi_hot_rows(&store, "frame_pitch")[..n0],
        multi_hot_rows(&synth, "frame_pitch")[..n0]
    );
    assert_eq!(
        store.label_values("frame_chord").unwrap()[..n0],
        synth.label_values("frame_chord").unwrap()[..n0]
    );
    assert!(enc.spec().frame_rate > 0.0);
}

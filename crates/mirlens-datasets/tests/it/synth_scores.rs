//! Every built-in synthetic clip has a score aligned with its audio: notes at the rendered times and pitches, the
//! labelled key and chord, programs whose NSynth family is the clip's family, and MIDI files that read back as
//! the same score.

use mirlens_core::LabelValue;
use mirlens_datasets::Manifest;
use mirlens_datasets::synth::{
    ChordsParams, Family, NotesParams, SequencesParams, SynthDataset, write_dataset,
};
use mirlens_symbolic::frames::{FrameLabelOptions, chord_of, frame_labels};
use mirlens_symbolic::gm::nsynth_family_name;
use mirlens_symbolic::{MidiFile, ParseOptions};

fn int(v: Option<&LabelValue>) -> i64 {
    match v {
        Some(LabelValue::Int(i)) => *i,
        other => panic!("not an int: {other:?}"),
    }
}

#[test]
fn family_programs_map_back_to_their_family() {
    for f in Family::ALL {
        assert_eq!(nsynth_family_name(f.gm_program()), Some(f.name()), "{f}");
    }
}

#[test]
fn sequence_scores_hold_the_generated_notes_key_and_tempo() {
    let ds = SequencesParams {
        seed: 5,
        sample_rate: 16000,
        duration_secs: 4.0,
        count: 6,
        ..SequencesParams::default()
    }
    .check()
    .unwrap();
    for i in 0..ds.len() {
        let piece = ds.piece(i);
        let score = SynthDataset::score(&ds, i).unwrap();
        let map = score.tempo_map();
        let mut got: Vec<(f64, f64, u8, u8)> = score
            .tracks
            .iter()
            .flat_map(|t| {
                t.notes
                    .iter()
                    .map(|n| (map.sec(n.start), map.sec(n.end), n.pitch, n.velocity))
            })
            .collect();
        let mut want: Vec<(f64, f64, u8, u8)> = piece
            .notes
            .iter()
            .map(|n| (n.onset, n.offset, n.pitch, n.velocity))
            .collect();
        got.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.cmp(&b.2)));
        assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            assert_eq!((g.2, g.3), (w.2, w.3), "clip {i}");
            // one tick at 960 tpq is at most 0.65 ms at 96 bpm; rounding to ticks errs by half of it
            assert!(
                (g.0 - w.0).abs() < 4e-4 && (g.1 - w.1).abs() < 4e-4,
                "clip {i}: {g:?} vs {w:?}"
            );
        }
        assert_eq!(score.key_sigs[0].tonic(), piece.tonic);
        assert_eq!(score.key_sigs[0].minor, piece.minor);
        assert!((score.tempos[0].qpm() - piece.tempo_bpm).abs() < 1e-3);
        // the accompaniment's held triad is the frame chord at the start of every bar
        let labels = frame_labels(&score, &FrameLabelOptions::new(75.0, 300)).unwrap();
        let beat = 60.0 / piece.tempo_bpm;
        for bar in 0..2 {
            let f = ((bar as f64 * 4.0 * beat + 0.1) * 75.0) as usize;
            let sounding: Vec<u8> = piece
                .notes
                .iter()
                .filter(|n| {
                    n.voice == 1 && n.onset <= f as f64 / 75.0 && f as f64 / 75.0 < n.offset
                })
                .map(|n| n.pitch)
                .collect();
            let triad = chord_of(&sounding).unwrap();
            let c = labels.chords[f].unwrap();
            assert_eq!(c.root, triad.root, "clip {i} bar {bar}");
        }
    }
}

#[test]
fn note_and_chord_scores_match_their_labels() {
    let notes = NotesParams {
        families: vec![Family::Guitar, Family::Reed],
        ..NotesParams::default()
    }
    .check()
    .unwrap();
    for i in (0..notes.len()).step_by(37) {
        let clip = notes.clip(i);
        let s = notes.score(i).unwrap();
        assert_eq!(s.tracks.len(), 1);
        let n = s.tracks[0].notes[0];
        assert_eq!(n.pitch as i64, int(clip.labels.get("pitch")));
        assert_eq!(n.velocity as i64, int(clip.labels.get("velocity")));
        assert_eq!(n.start, 0);
        let end = s.tempo_map().sec(n.end);
        assert!((end - 0.75 * clip.duration_secs()).abs() < 3e-4, "{end}");
        let LabelValue::Str(fam) = &clip.labels["family"] else {
            panic!()
        };
        assert_eq!(nsynth_family_name(s.tracks[0].program), Some(fam.as_str()));
    }
    let chords = ChordsParams {
        pairs_per_key: 1,
        ..ChordsParams::default()
    }
    .check()
    .unwrap();
    let mut checked = 0;
    for i in (0..chords.len()).step_by(7) {
        let clip = chords.clip(i);
        let s = chords.score(i).unwrap();
        let last_onset = s.tracks[0].notes.iter().map(|n| n.start).max().unwrap();
        let last: Vec<u8> = s.tracks[0]
            .notes
            .iter()
            .filter(|n| n.start == last_onset)
            .map(|n| n.pitch)
            .collect();
        let quality = match &clip.labels["quality"] {
            LabelValue::Str(q) => q.clone(),
            _ => panic!(),
        };
        let root = int(clip.labels.get("root")) as u8;
        // a triad-based chord: the frame rule names its root whenever the bass is the root
        if int(clip.labels.get("inversion")) == 0 {
            let c = chord_of(&last).unwrap();
            assert_eq!(c.root, root, "{} ({quality})", clip.id);
            let expect = match quality.as_str() {
                "maj" | "7" | "maj7" => "maj",
                "min" | "min7" => "min",
                "dim" => "dim",
                "aug" => "aug",
                q => panic!("quality {q}"),
            };
            assert_eq!(c.quality.shorthand(), expect, "{}", clip.id);
            checked += 1;
        }
        if i >= chords.num_chords() {
            assert_eq!(s.key_sigs.len(), 1, "pairs have a key");
        }
    }
    assert!(checked > 5);
}

#[test]
fn written_datasets_carry_midi_files_that_read_back_as_the_score() {
    let ds = SequencesParams {
        seed: 1,
        sample_rate: 16000,
        duration_secs: 2.0,
        count: 3,
        ..SequencesParams::default()
    }
    .check()
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let m = write_dataset(&ds, dir.path(), 1, &|_| {}).unwrap();
    let again = Manifest::read(&dir.path().join("manifest.jsonl")).unwrap();
    let ids_midi = |m: &Manifest| {
        m.entries
            .iter()
            .map(|e| (e.id.clone(), e.midi.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(ids_midi(&again), ids_midi(&m));
    for (i, e) in m.entries.iter().enumerate() {
        let midi = e.midi.as_ref().unwrap();
        assert!(midi.starts_with(dir.path().join("midi")));
        let back = MidiFile::read(midi, &ParseOptions::default())
            .unwrap()
            .scores
            .remove(0);
        let want = ds.score(i).unwrap();
        let notes = |s: &mirlens_symbolic::Score| {
            let mut v: Vec<(u64, u64, u8, u8, u8)> = s
                .tracks
                .iter()
                .flat_map(|t| {
                    t.notes
                        .iter()
                        .map(move |n| (n.start, n.end, n.pitch, n.velocity, t.program))
                })
                .collect();
            v.sort();
            v
        };
        assert_eq!(notes(&back), notes(&want));
        assert_eq!(back.key_sigs, want.key_sigs);
        assert_eq!(back.tempos, want.tempos);
    }
    // CSV keeps the midi column
    let csv = dir.path().join("m.csv");
    m.write(&csv).unwrap();
    assert_eq!(
        Manifest::read(&csv).unwrap().entries[1].midi,
        m.entries[1].midi
    );
}

#[test]
fn describe_gives_the_manifest_facts_of_the_rendered_clip() {
    let seq = SequencesParams {
        seed: 4,
        sample_rate: 16000,
        duration_secs: 1.5,
        count: 4,
        ..SequencesParams::default()
    }
    .check()
    .unwrap();
    let notes = NotesParams::default().check().unwrap();
    let sets: [&dyn SynthDataset; 2] = [&seq, &notes];
    for ds in sets {
        for i in [0, 3] {
            let c = ds.clip(i);
            let d = ds.describe(i);
            assert_eq!(
                (d.id, d.split, d.labels, d.duration_secs),
                (c.id.clone(), c.split, c.labels.clone(), c.duration_secs()),
                "{} #{i}",
                ds.name()
            );
        }
    }
}

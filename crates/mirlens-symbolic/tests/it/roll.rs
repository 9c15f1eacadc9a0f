//! Rolls against pretty_midi 0.2.11 `get_piano_roll` / `get_chroma` at 100, 50 and 75 frames per second, and the
//! label rolls and note_seq sustain on planted notes.

use super::{golden, names, parse, parse_all};
use mirlens_symbolic::ParseOptions;
use mirlens_symbolic::roll::{RollKind, RollOptions, Sustain, apply_sustain, piano_roll};
use mirlens_test_support::{Tolerance, assert_close};
use serde_json::Value;

fn dense(v: &Value) -> (usize, usize, Vec<f32>) {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let mut d = vec![0f32; shape[0] * shape[1]];
    for e in v["nz"].as_array().unwrap() {
        let (p, t, x) = (
            e[0].as_u64().unwrap() as usize,
            e[1].as_u64().unwrap() as usize,
            e[2].as_f64().unwrap(),
        );
        d[p * shape[1] + t] = x as f32;
    }
    (shape[0], shape[1], d)
}

fn check(what: &str, score: &mirlens_symbolic::Score, g: &Value) -> f64 {
    let mut worst: f64 = 0.0;
    for (key, fs, kind, pedal) in [
        ("100", 100.0, RollKind::Frame, Some(64)),
        ("50", 50.0, RollKind::Frame, Some(64)),
        ("75", 75.0, RollKind::Frame, Some(64)),
        ("100_nopedal", 100.0, RollKind::Frame, None),
    ]
    .into_iter()
    .chain(std::iter::once((
        "chroma",
        100.0,
        RollKind::Chroma,
        Some(64),
    ))) {
        let want = if key == "chroma" {
            &g["chroma"]["100"]
        } else {
            &g["rolls"][key]
        };
        let (rows, frames, w) = dense(want);
        let opts = RollOptions {
            fs,
            kind,
            pedal_threshold: pedal,
            ..Default::default()
        };
        let r = piano_roll(score, &opts).unwrap();
        assert_eq!((r.rows, r.frames), (rows, frames), "{what} {key}: shape");
        // Equal up to f32 storage; bends interpolate in f64 exactly as numpy does.
        let rep = assert_close(
            &format!("{what} roll {key}"),
            &r.to_f32(),
            &w,
            Tolerance::EXACT_F32,
        );
        worst = worst.max(rep.max_abs);
    }
    worst
}

#[test]
fn piano_rolls_equal_pretty_midi() {
    let pm = ParseOptions::pretty_midi();
    let mut worst: f64 = 0.0;
    for name in names() {
        let g = &golden()["files"][&name];
        if name == "format2" {
            let f = parse_all(&name, &pm);
            for (s, gp) in f.scores.iter().zip(g["patterns"].as_array().unwrap()) {
                worst = worst.max(check(&name, s, gp));
            }
        } else {
            worst = worst.max(check(&name, &parse(&name, &pm), &g["pretty_midi"]));
        }
    }
    eprintln!("piano roll / chroma vs pretty_midi: max abs error {worst:.3e}");
    assert_eq!(worst, 0.0, "rolls are bit-identical after f32 storage");
}

#[test]
fn label_rolls_mark_onsets_offsets_and_velocities() {
    // tempo_changes: note i at tick 480·i for 400 ticks; 120 qpm until tick 1920, then 80 qpm.
    let s = parse("tempo_changes", &ParseOptions::default());
    let map = s.tempo_map();
    let fs = 50.0;
    let on = piano_roll(
        &s,
        &RollOptions {
            fs,
            kind: RollKind::Onset,
            ..Default::default()
        },
    )
    .unwrap();
    let off = piano_roll(
        &s,
        &RollOptions {
            fs,
            kind: RollKind::Offset,
            ..Default::default()
        },
    )
    .unwrap();
    let vel = piano_roll(
        &s,
        &RollOptions {
            fs,
            kind: RollKind::Velocity,
            ..Default::default()
        },
    )
    .unwrap();
    let frame = piano_roll(
        &s,
        &RollOptions {
            fs,
            ..Default::default()
        },
    )
    .unwrap();
    let notes = s.tracks[0].sorted_notes();
    assert_eq!(on.data.iter().filter(|&&x| x > 0.0).count(), notes.len());
    for n in &notes {
        let f_on = (map.sec(n.start) * fs) as usize;
        let f_off = ((map.sec(n.end) * fs) as usize).min(off.frames - 1);
        assert_eq!(on.get(n.pitch as usize, f_on), 1.0);
        assert_eq!(off.get(n.pitch as usize, f_off), 1.0);
        assert!((vel.get(n.pitch as usize, f_on) - n.velocity as f64 / 127.0).abs() < 1e-12);
        assert!(frame.get(n.pitch as usize, f_on) > 0.0);
    }
    // the 5th note (tick 1920 = 2 s, now at 80 qpm) lasts 400·0.75/480 s = 0.625 s
    assert_eq!(notes[4].start, 1920);
    assert!((map.sec(notes[4].end) - 2.625).abs() < 1e-12);
}

#[test]
fn note_seq_sustain_extends_to_release_or_next_onset() {
    // pedal.mid: pedal down 100–900, 980–1300, 1400–end (tpq 480, 120 qpm).
    let s = parse("pedal", &ParseOptions::default());
    let ext = apply_sustain(&s, 64);
    let got: Vec<(u8, u64, u64)> = ext.tracks[0]
        .sorted_notes()
        .iter()
        .map(|n| (n.pitch, n.start, n.end))
        .collect();
    let want = vec![
        (60, 0, 900),    // released at 120 under the pedal → to the release at 900
        (64, 240, 900),  //
        (67, 480, 900),  //
        (60, 960, 1300), // released at 1000 under the second pedal
        (62, 1100, 1300),
        (72, 1500, 1700), // pedal never lifted: cut by the next C5 onset at 1700
        (72, 1700, 1750), // last note: extends to the end of the score (its own end)
    ];
    assert_eq!(got, want);
    // With note_seq sustain the frame roll uses the extended notes and no pedal maximum.
    let r = piano_roll(
        &s,
        &RollOptions {
            sustain: Sustain::NoteSeq,
            ..Default::default()
        },
    )
    .unwrap();
    let m = s.tempo_map();
    let c = (m.sec(850) * 100.0) as usize;
    assert_eq!(r.get(60, c), 100.0);
    assert_eq!(r.get(64, c), 80.0);
}

#[test]
fn refuses_absurd_roll_sizes() {
    let s = parse("long_notes", &ParseOptions::default());
    let e = piano_roll(
        &s,
        &RollOptions {
            fs: 1e9,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        matches!(e, mirlens_symbolic::SymbolicError::TooLarge { .. }),
        "{e}"
    );
}

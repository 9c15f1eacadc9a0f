//! Parser parity with pretty_midi (close-all options) and symusic (defaults), writer identity, robustness.

use super::{golden, names, parse, parse_all};
use mirlens_symbolic::{
    Division, MidiFile, Pairing, ParseOptions, ProgramAt, Score, SmpteFps, SymbolicError,
    TempoSource, write_smf,
};
use serde_json::Value;
use std::path::Path;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12
}

/// pretty_midi's instruments for a score: (program, is_drum, notes as (start s, end s, pitch, velocity)).
fn check_pretty(name: &str, score: &Score, g: &Value) {
    let map = score.tempo_map();
    let insts = g["instruments"].as_array().unwrap();
    assert_eq!(score.tracks.len(), insts.len(), "{name}: instrument count");
    for (t, gi) in score.tracks.iter().zip(insts) {
        assert_eq!(t.program as u64, gi["program"].as_u64().unwrap(), "{name}");
        assert_eq!(t.is_drum, gi["is_drum"].as_bool().unwrap(), "{name}");
        let gn = gi["notes"].as_array().unwrap();
        assert_eq!(
            t.notes.len(),
            gn.len(),
            "{name}: notes of program {}",
            t.program
        );
        for (n, w) in t.notes.iter().zip(gn) {
            // The tempo map repeats pretty_midi's arithmetic; the only difference left is serde_json's decimal
            // parsing of the golden (within an ulp).
            assert!(
                close(map.sec(n.start), w[0].as_f64().unwrap()),
                "{name}: start of {n:?}"
            );
            assert!(
                close(map.sec(n.end), w[1].as_f64().unwrap()),
                "{name}: end of {n:?}"
            );
            assert_eq!(n.pitch as u64, w[2].as_u64().unwrap());
            assert_eq!(n.velocity as u64, w[3].as_u64().unwrap());
        }
        let gc = gi["controls"].as_array().unwrap();
        assert_eq!(t.controls.len(), gc.len(), "{name}: controls");
        for (c, w) in t.controls.iter().zip(gc) {
            assert!(close(map.sec(c.tick), w[0].as_f64().unwrap()));
            assert_eq!(
                (c.controller as u64, c.value as u64),
                (w[1].as_u64().unwrap(), w[2].as_u64().unwrap())
            );
        }
        let gb = gi["bends"].as_array().unwrap();
        assert_eq!(t.bends.len(), gb.len(), "{name}: bends");
        for (b, w) in t.bends.iter().zip(gb) {
            assert!(close(map.sec(b.tick), w[0].as_f64().unwrap()));
            assert_eq!(b.value as i64, w[1].as_i64().unwrap());
        }
    }
}

#[test]
fn close_all_options_reproduce_pretty_midi_instruments() {
    let pm = ParseOptions::pretty_midi();
    for name in names() {
        let g = &golden()["files"][&name];
        if name == "format2" {
            let f = parse_all(&name, &pm);
            assert_eq!(f.format, 2);
            assert_eq!(f.scores.len(), 2);
            for (s, gp) in f.scores.iter().zip(g["patterns"].as_array().unwrap()) {
                check_pretty(&name, s, gp);
            }
            continue;
        }
        let s = parse(&name, &pm);
        check_pretty(&name, &s, &g["pretty_midi"]);
        // pretty_midi's end time: last event of any kind over the instruments, metas and tempos.
        if name != "smpte" {
            let end = g["pretty_midi"]["end_time"].as_f64().unwrap();
            assert!(
                (s.duration_secs() - end).abs() < 1e-12,
                "{name}: {} vs {end}",
                s.duration_secs()
            );
        }
    }
}

/// symusic tracks as (program, is_drum, [(time, duration, pitch, velocity)]).
fn symusic_tracks(v: &Value) -> Vec<(u8, bool, Vec<[i64; 4]>)> {
    v["tracks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["program"].as_u64().unwrap() as u8,
                t["is_drum"].as_bool().unwrap(),
                t["notes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| {
                        let a = n.as_array().unwrap();
                        [0, 1, 2, 3].map(|i| a[i].as_i64().unwrap())
                    })
                    .collect(),
            )
        })
        .collect()
}

#[test]
fn default_options_reproduce_symusic_notes() {
    for name in names() {
        let g = &golden()["files"][&name]["miditok"];
        if g.is_null() {
            continue;
        }
        let s = parse(&name, &ParseOptions::default());
        let want = symusic_tracks(&g["symusic"]);
        let got: Vec<(u8, bool, Vec<[i64; 4]>)> = s
            .tracks_in_source_order()
            .iter()
            .map(|t| {
                (
                    t.program,
                    t.is_drum,
                    t.sorted_notes()
                        .iter()
                        .map(|n| {
                            [
                                n.start as i64,
                                n.duration() as i64,
                                n.pitch as i64,
                                n.velocity as i64,
                            ]
                        })
                        .collect(),
                )
            })
            .collect();
        assert_eq!(got, want, "{name}");
    }
}

#[test]
fn pairing_rules_on_planted_cases() {
    // overlap_same_pitch: on@0, on@240, off@480, off@960 on C4.
    let fifo = parse("overlap_same_pitch", &ParseOptions::default());
    let c4: Vec<(u64, u64)> = fifo.tracks[0]
        .sorted_notes()
        .iter()
        .filter(|n| n.pitch == 60)
        .map(|n| (n.start, n.end))
        .collect();
    assert_eq!(c4, vec![(0, 480), (240, 960)]);
    let close = parse("overlap_same_pitch", &ParseOptions::pretty_midi());
    let c4: Vec<(u64, u64)> = close.tracks[0]
        .sorted_notes()
        .iter()
        .filter(|n| n.pitch == 60)
        .map(|n| (n.start, n.end))
        .collect();
    assert_eq!(c4, vec![(0, 480), (240, 480)]);
    // G4 on and off at 1920: kept and flagged with FIFO, dropped with close-all.
    assert_eq!(fifo.stats.zero_length, 1);
    assert!(
        fifo.tracks[0]
            .notes
            .iter()
            .any(|n| n.pitch == 67 && n.is_zero_length())
    );
    assert_eq!(close.stats.zero_length_dropped, 1);
    // unterminated F4 and the spurious note-off of A#4
    let z = parse("zero_unterminated", &ParseOptions::default());
    assert_eq!(z.stats.unterminated, 1);
    assert_eq!(z.stats.spurious_note_offs, 1);
    assert!(!z.tracks[0].notes.iter().any(|n| n.pitch == 65));
    // program at note-on vs note-off: a note held across a program change.
    let mut bytes = b"MThd\0\0\0\x06\0\0\0\x01\x01\xe0MTrk".to_vec();
    let trk = [
        0x00, 0xC0, 0x00, 0x00, 0x90, 60, 100, 0x60, 0xC0, 0x28, 0x60, 0x80, 60, 0, 0x00, 0xFF,
        0x2F, 0x00,
    ];
    bytes.extend_from_slice(&(trk.len() as u32).to_be_bytes());
    bytes.extend_from_slice(&trk);
    let on = Score::parse(Path::new("p.mid"), &bytes, &ParseOptions::default()).unwrap();
    assert_eq!(on.tracks[0].program, 0);
    let off_opts = ParseOptions {
        program_at: ProgramAt::NoteOff,
        ..Default::default()
    };
    let off = Score::parse(Path::new("p.mid"), &bytes, &off_opts).unwrap();
    assert_eq!(off.tracks[0].program, 40);
}

#[test]
fn tempo_map_signatures_and_divisions() {
    let s = parse("tempo_changes", &ParseOptions::default());
    let m = s.tempo_map();
    // 120 qpm for 1920 ticks (2 s), then 80 qpm: tick 3840 is 2 + 1920·0.75/480 = 5 s.
    assert!((m.sec(3840) - 5.0).abs() < 1e-12);
    assert!((m.tick_at(5.0) - 3840.0).abs() < 1e-9);
    let ts = parse("timesig_changes", &ParseOptions::default());
    let sigs: Vec<(u64, u8, u32)> = ts
        .time_sigs
        .iter()
        .map(|t| (t.tick, t.numerator, t.denominator()))
        .collect();
    assert_eq!(
        sigs,
        vec![
            (0, 4, 4),
            (1920, 3, 4),
            (3360, 6, 8),
            (4800, 5, 8),
            (6000, 4, 4)
        ]
    );
    let keys: Vec<String> = ts.key_sigs.iter().map(|k| k.name()).collect();
    assert_eq!(keys, vec!["D major", "Bb minor"]);
    assert_eq!(ts.key_sigs[1].key_number(), 10 + 12);
    let smpte = parse("smpte", &ParseOptions::default());
    assert_eq!(
        smpte.division,
        Division::Smpte {
            fps: SmpteFps::Fps25,
            tpf: 40
        }
    );
    assert!((smpte.tempo_map().sec(1500) - 1.5).abs() < 1e-12);
    let f2 = parse_all("format2", &ParseOptions::default());
    // pattern 1 runs at 60 qpm: its 480-tick note lasts 1 s, its second note starts at 1 s.
    let p1 = &f2.scores[1];
    assert_eq!(p1.tracks[0].program, 40);
    assert!((p1.tempo_map().sec(p1.tracks[0].notes[1].start) - 1.0).abs() < 1e-12);
    assert!((f2.scores[0].tempo_map().sec(480) - 0.5).abs() < 1e-12);
    // running status: five notes, program 5, tempo 600,000 µs.
    let rs = parse("running_status", &ParseOptions::default());
    assert_eq!(rs.note_count(), 5);
    assert_eq!(rs.tempos[0].us_per_quarter, 600_000);
    // drums on channel 10
    let d = parse("drums", &ParseOptions::default());
    assert!(d.tracks.iter().any(|t| t.is_drum && t.channel == 9));
    // tempo source: a tempo in track 1 counts for AllTracks only.
    let all = ParseOptions {
        tempo_source: TempoSource::AllTracks,
        pairing: Pairing::Fifo,
        ..Default::default()
    };
    assert_eq!(parse("programs", &all).tempos.len(), 1);
}

#[test]
fn pedal_intervals_from_cc64() {
    let s = parse("pedal", &ParseOptions::default());
    let p: Vec<(u64, Option<u64>)> = s.tracks[0]
        .pedals(64)
        .iter()
        .map(|p| (p.start, p.end))
        .collect();
    assert_eq!(p, vec![(100, Some(900)), (980, Some(1300)), (1400, None)]);
}

fn identity_fields(s: &Score) -> impl PartialEq + std::fmt::Debug {
    let tracks: Vec<_> = s
        .tracks
        .iter()
        .map(|t| {
            let notes: Vec<_> = t
                .sorted_notes()
                .iter()
                .map(|n| (n.start, n.end, n.pitch, n.velocity))
                .collect();
            (
                t.channel,
                t.program,
                t.is_drum,
                t.name.clone(),
                notes,
                t.controls.clone(),
                t.bends.clone(),
            )
        })
        .collect();
    (
        s.division,
        s.tempos.clone(),
        s.time_sigs.clone(),
        s.key_sigs.clone(),
        tracks,
    )
}

#[test]
fn parse_write_parse_is_identity() {
    for name in names() {
        let f = parse_all(&name, &ParseOptions::default());
        for s in &f.scores {
            let bytes = write_smf(s).unwrap();
            let back = Score::parse(Path::new("rt.mid"), &bytes, &ParseOptions::default()).unwrap();
            assert_eq!(identity_fields(&back), identity_fields(s), "{name}");
            // and writing again gives the same bytes
            assert_eq!(write_smf(&back).unwrap(), bytes, "{name}");
        }
    }
}

/// splitmix64, for reproducible random bytes without a dependency.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[test]
fn any_bytes_give_a_score_or_a_located_error() {
    let seeds: Vec<Vec<u8>> = names()
        .iter()
        .map(|n| std::fs::read(super::midi_path(n)).unwrap())
        .collect();
    let mut st = 7u64;
    let mut errors = 0;
    for round in 0..3000 {
        let mut b = if round % 10 == 0 {
            (0..(next(&mut st) % 200))
                .map(|_| next(&mut st) as u8)
                .collect::<Vec<u8>>()
        } else {
            seeds[round % seeds.len()].clone()
        };
        // mutate: flip bytes, truncate, or overwrite lengths with huge values
        let k = 1 + next(&mut st) % 6;
        for _ in 0..k {
            if b.is_empty() {
                break;
            }
            let i = (next(&mut st) as usize) % b.len();
            match next(&mut st) % 4 {
                0 => b[i] = next(&mut st) as u8,
                1 => b.truncate(i),
                2 => b[i] ^= 0x80,
                _ => {
                    let j = i.min(b.len().saturating_sub(4));
                    for x in b.iter_mut().skip(j).take(4) {
                        *x = 0xFF;
                    }
                }
            }
        }
        match MidiFile::parse(Path::new("fuzz.mid"), &b, &ParseOptions::default()) {
            Ok(f) => {
                for s in &f.scores {
                    // whatever parses also writes, and its rolls are bounded by the limit
                    let _ = write_smf(s);
                    let _ = mirlens_symbolic::roll::piano_roll(
                        s,
                        &mirlens_symbolic::roll::RollOptions::default(),
                    );
                }
            }
            Err(SymbolicError::Malformed { path, offset, .. }) => {
                assert_eq!(path, Path::new("fuzz.mid"));
                assert!(
                    offset <= b.len() as u64,
                    "offset {offset} past {} bytes",
                    b.len()
                );
                errors += 1;
            }
            Err(e) => panic!("unexpected error kind: {e}"),
        }
    }
    assert!(
        errors > 500,
        "only {errors} errors: the mutations are too weak"
    );
}

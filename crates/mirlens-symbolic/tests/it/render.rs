//! Rendering: onset sample positions agree with the score (additive: exact; SoundFont: on the 64-sample block grid).

use mirlens_symbolic::render::{BLOCK, DEFAULT_SOUNDFONT, render_additive, render_soundfont};
use mirlens_symbolic::{Division, Note, Score, Tempo, Track};
use std::path::Path;

/// tpq 480 at 120 qpm (1 tick = 1/960 s); notes (start s, end s, pitch, program).
fn score(notes: &[(f64, f64, u8)], program: u8) -> Score {
    let tick = |s: f64| (s * 960.0).round() as u64;
    Score {
        format: 1,
        division: Division::Tpq(480),
        tempos: vec![Tempo {
            tick: 0,
            us_per_quarter: 500_000,
        }],
        time_sigs: vec![],
        key_sigs: vec![],
        tracks: vec![Track {
            midi_track: 1,
            channel: 0,
            program,
            is_drum: false,
            name: String::new(),
            notes: notes
                .iter()
                .enumerate()
                .map(|(i, &(a, b, p))| Note {
                    start: tick(a),
                    end: tick(b),
                    pitch: p,
                    velocity: 100,
                    order: i as u32,
                })
                .collect(),
            controls: vec![],
            bends: vec![],
        }],
        end_tick: tick(notes.iter().map(|n| n.1).fold(0.0, f64::max)),
        stats: Default::default(),
    }
}

fn energy(x: &[f32]) -> f64 {
    x.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>()
}

#[test]
fn additive_onsets_are_exact_to_the_sample_and_pitched() {
    let sr = 24_000;
    let s = score(&[(0.3, 0.5, 69), (1.0, 1.4, 57)], 0);
    let r = render_additive(&s, sr).unwrap();
    assert_eq!(r.onsets, vec![(69, 7200, 7200), (57, 24_000, 24_000)]);
    // silence until the first onset, sound right after it
    assert!(r.samples[..7201].iter().all(|&x| x == 0.0));
    assert!(energy(&r.samples[7201..7300]) > 1e-4);
    // the first note is released by 0.5 s + 50 ms: silence until the second onset
    assert!(r.samples[13_201..24_001].iter().all(|&x| x == 0.0));
    // pitch: the DFT of the first note peaks at 440 Hz, not at its neighbours a semitone away
    let seg = &r.samples[7200..7200 + 4800];
    let mag = |f: f64| {
        let (mut re, mut im) = (0.0, 0.0);
        for (i, &x) in seg.iter().enumerate() {
            let ph = 2.0 * std::f64::consts::PI * f * i as f64 / sr as f64;
            re += x as f64 * ph.cos();
            im += x as f64 * ph.sin();
        }
        (re * re + im * im).sqrt()
    };
    assert!(mag(440.0) > 10.0 * mag(466.16));
    assert!(mag(440.0) > 10.0 * mag(415.3));
    // length: last note end + 1 s
    assert_eq!(r.samples.len(), (1.4 * 24_000.0) as usize + 24_000);
}

#[test]
fn soundfont_onsets_fall_on_the_next_block_boundary() {
    let sf = Path::new(DEFAULT_SOUNDFONT);
    if !sf.is_file() {
        // .ci/run installs timgm6mb-soundfont; without it the additive test above covers rendering.
        eprintln!("{DEFAULT_SOUNDFONT} not installed: SoundFont onset check skipped");
        return;
    }
    let sr = 24_000;
    let s = score(&[(0.3, 0.5, 60), (3.0, 3.2, 72)], 0);
    let r = render_soundfont(&s, sr, sf).unwrap();
    // 0.3 s = 7200 samples → block 113 → 7232 (the reference's checked value)
    assert_eq!(r.onsets[0], (60, 7200, 7232));
    let s2 = r.onsets[1].2;
    assert_eq!(s2 % BLOCK, 0);
    assert!(
        r.samples[..7232].iter().all(|&x| x == 0.0),
        "sound before the first block onset"
    );
    assert!(energy(&r.samples[7232..7232 + 4 * BLOCK]) > 1e-6);
    // the second onset: much more energy in the 4 blocks after it than in the 4 before
    let before = energy(&r.samples[s2 - 4 * BLOCK..s2]);
    let after = energy(&r.samples[s2..s2 + 4 * BLOCK]);
    assert!(after > 10.0 * before, "after {after} before {before}");
}

#[test]
fn rendering_refuses_bad_rates_and_soundfonts() {
    let s = score(&[(0.0, 0.1, 60)], 0);
    assert!(render_soundfont(&s, 8000, Path::new(DEFAULT_SOUNDFONT)).is_err());
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.sf2");
    std::fs::write(&bad, b"RIFF\x04\0\0\0sfbk").unwrap();
    let e = render_soundfont(&s, 24_000, &bad).unwrap_err();
    assert!(e.to_string().contains("bad.sf2"), "{e}");
}

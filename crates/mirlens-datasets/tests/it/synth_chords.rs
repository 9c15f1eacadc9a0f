//! `synth-chords`: chord tones, bass notes and minimal pairs checked against the signal.

use crate::spectrum::{Spectrum, top_k};
use mirlens_core::LabelValue;
use mirlens_datasets::synth::chords::{ChordQuality, Key, PC_NAMES};
use mirlens_datasets::synth::{ChordsParams, SynthDataset};

fn params(seed: u64) -> ChordsParams {
    ChordsParams {
        seed,
        sample_rate: 16000,
        chord_secs: 0.5,
        progression_chord_secs: 0.5,
        pairs_per_key: 1,
        ..ChordsParams::default()
    }
}

fn pcs_of(v: &LabelValue) -> Vec<usize> {
    let LabelValue::Tags(t) = v else {
        panic!("pitch_classes should be tags")
    };
    let mut out: Vec<usize> = t
        .iter()
        .map(|n| PC_NAMES.iter().position(|p| p == n).unwrap())
        .collect();
    out.sort_unstable();
    out
}

#[test]
fn chords_contain_their_labelled_pitch_classes_and_bass() {
    let ds = params(3).check().unwrap();
    assert_eq!(ds.num_chords(), 12 * (4 * 3 + 3 * 4));
    let sr = 16000;
    let mut bad = Vec::new();
    // every 5th chord of the grid: all roots, qualities, inversions and timbres get sampled
    for i in (0..ds.num_chords()).step_by(5) {
        let c = ds.clip(i);
        let chord = ds.chord(i);
        let pcs = pcs_of(&c.labels["pitch_classes"]);
        let mut expect: Vec<usize> = chord.pitch_classes().iter().map(|p| *p as usize).collect();
        expect.sort_unstable();
        assert_eq!(pcs, expect);
        let s = Spectrum::new(&c.samples[800..6400], sr, 16384);
        let chroma = s.chroma(48, 71);
        let got = top_k(&chroma, pcs.len());
        if got != pcs {
            bad.push(format!(
                "{} ({:?}): chroma top {:?}",
                c.id, c.labels["timbre"], got
            ));
        }
        // bass: the lowest voiced pitch (MIDI 36–71) carrying ≥ 15 % of the strongest pitch's energy
        let e: Vec<f64> = (36..=71)
            .map(|m| s.around(crate::spectrum::midi_hz(m as f64), 0.01))
            .collect();
        let emax = e.iter().copied().fold(0.0, f64::max);
        let lowest = (36..=71)
            .zip(&e)
            .find(|(_, v)| **v >= 0.15 * emax)
            .map(|(m, _)| m % 12)
            .unwrap();
        if lowest != chord.bass_pc() as usize {
            bad.push(format!(
                "{} ({:?}): lowest strong pitch class {} but bass_pc {}",
                c.id,
                c.labels["timbre"],
                lowest,
                chord.bass_pc()
            ));
        }
        assert_eq!(c.labels["bass_pc"], LabelValue::Int(chord.bass_pc() as i64));
    }
    assert!(bad.is_empty(), "{} mismatches: {bad:#?}", bad.len());
}

#[test]
fn minimal_pairs_differ_only_in_the_last_chord() {
    let ds = params(9).check().unwrap();
    let sr = 16000;
    let seg = (0.5 * sr as f64).round() as usize;
    assert_eq!(ds.num_pairs(), 24);
    for pair in 0..ds.num_pairs() {
        let a = ds.clip(ds.num_chords() + 2 * pair);
        let b = ds.clip(ds.num_chords() + 2 * pair + 1);
        assert_eq!(a.labels["grammatical"], LabelValue::Int(1));
        assert_eq!(b.labels["grammatical"], LabelValue::Int(0));
        assert_eq!(a.labels["pair_id"], b.labels["pair_id"]);
        assert_eq!(a.labels["key"], b.labels["key"]);
        assert_eq!(a.split, b.split, "members of a pair share a split");
        assert_eq!(a.samples.len(), 4 * seg);
        // identical up to the onset of the last chord, different after it
        assert_eq!(
            a.samples[..3 * seg],
            b.samples[..3 * seg],
            "pair {pair}: prefix differs"
        );
        let diff = a.samples[3 * seg..]
            .iter()
            .zip(&b.samples[3 * seg..])
            .map(|(x, y)| (x - y).abs())
            .fold(0f32, f32::max);
        assert!(
            diff > 0.05,
            "pair {pair}: endings are nearly identical ({diff})"
        );

        let d = ds.pair_design(pair);
        let scale = d.key.scale();
        assert_eq!(a.labels["key"], LabelValue::Str(d.key.name()));
        // in-key ending: every tone in the key; out-of-key ending: root and ≥ 2 tones outside
        assert!(
            d.in_key_end
                .pitch_classes()
                .iter()
                .all(|p| scale.contains(p))
        );
        let outside = d
            .out_of_key_end
            .pitch_classes()
            .iter()
            .filter(|p| !scale.contains(p))
            .count();
        assert!(
            !scale.contains(&d.out_of_key_end.root) && outside >= 2,
            "pair {pair}: {d:?}"
        );
        for c in &d.opening {
            assert!(
                c.pitch_classes().iter().all(|p| scale.contains(p)),
                "pair {pair}: opening chord {} not diatonic",
                c.name()
            );
        }
        // the signal agrees: the last chord's chroma peaks on the labelled tones
        for (clip, end) in [(&a, d.in_key_end), (&b, d.out_of_key_end)] {
            let s = Spectrum::new(&clip.samples[3 * seg + seg / 2..4 * seg], sr, 16384);
            let mut expect: Vec<usize> = end.pitch_classes().iter().map(|p| *p as usize).collect();
            expect.sort_unstable();
            assert_eq!(pcs_of(&clip.labels["pitch_classes"]), expect);
            let got = top_k(&s.chroma(48, 71), 3);
            assert_eq!(
                got, expect,
                "{} ({:?}): last-chord chroma",
                clip.id, clip.labels["timbre"]
            );
        }
    }
}

#[test]
fn pairs_cover_both_modes_and_all_tonics() {
    let ds = params(1).check().unwrap();
    let keys: std::collections::BTreeSet<String> = (0..ds.num_pairs())
        .map(|p| ds.pair_design(p).key.name())
        .collect();
    assert_eq!(keys.len(), 24);
    assert!(keys.contains("F# minor") && keys.contains("C major"));
    let _: Key = ds.pair_design(0).key;
}

#[test]
fn chords_are_deterministic_by_seed() {
    let a = params(5).check().unwrap();
    let b = params(6).check().unwrap();
    let i = 100;
    assert_eq!(a.clip(i), params(5).check().unwrap().clip(i));
    assert_eq!(a.clip(i).labels["chord"], b.clip(i).labels["chord"]);
    assert_ne!(a.clip(i).samples, b.clip(i).samples);
    assert_eq!(
        "maj7".parse::<ChordQuality>().unwrap(),
        ChordQuality::Major7
    );
}

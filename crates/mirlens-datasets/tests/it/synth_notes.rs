//! `synth-notes`: labels checked against the signal.

use crate::spectrum::{Spectrum, midi_hz};
use mirlens_core::LabelValue;
use mirlens_datasets::synth::dsp::Rng;
use mirlens_datasets::synth::notes::{Family, NoteSpec, PitchRange, render_note, velocity_gain};
use mirlens_datasets::synth::{NotesParams, SynthDataset, write_dataset};
use mirlens_datasets::{Manifest, Split};

const SR: u32 = 24000;

fn note(family: Family, midi: u8, velocity: u8, seed: u64) -> Vec<f32> {
    let spec = NoteSpec {
        family,
        midi: midi as f64,
        velocity,
        hold_secs: 0.75,
        total_secs: 1.0,
    };
    render_note(&spec, SR, &mut Rng::new(seed))
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// The 0.1–0.6 s segment (past the attack, before the release).
fn body(x: &[f32]) -> &[f32] {
    &x[(0.1 * SR as f64) as usize..(0.6 * SR as f64) as usize]
}

#[test]
fn harmonic_families_have_their_labelled_pitch() {
    // the fundamental is the lowest strong spectral peak, within 30 cents of the label
    let pitches = [24u8, 33, 41, 50, 60, 67, 74, 81, 90, 100, 106];
    let mut failures = Vec::new();
    for fam in Family::ALL.iter().filter(|f| f.is_harmonic()) {
        for &p in &pitches {
            let x = note(*fam, p, 100, 3);
            let est = Spectrum::new(body(&x), SR, 32768).lowest_peak_pitch(0.1);
            if (est - p as f64).abs() > 0.3 {
                failures.push(format!("{fam} {p}: estimated {est:.2}"));
            }
        }
    }
    assert!(failures.is_empty(), "pitch mismatches: {failures:?}");
}

#[test]
fn mallet_fundamental_is_the_strongest_mode() {
    for p in [36u8, 48, 60, 72, 84, 96] {
        let x = note(Family::Mallet, p, 100, 5);
        let s = Spectrum::new(&x[..12000], SR, 32768);
        let f = s.peak_hz();
        let cents = 1200.0 * (f / midi_hz(p as f64)).log2();
        assert!(
            cents.abs() < 50.0,
            "mallet {p}: peak at {f:.1} Hz ({cents:.0} cents off)"
        );
    }
}

#[test]
fn velocity_sets_level_and_brass_brightness() {
    for fam in Family::ALL {
        for v in [25u8, 100] {
            let x = note(fam, 60, v, 1);
            let peak = x.iter().fold(0f32, |m, s| m.max(s.abs())) as f64;
            assert!(
                (peak - velocity_gain(v)).abs() < 1e-6,
                "{fam} v{v}: peak {peak}"
            );
        }
    }
    // spectral centroid (normalised level) rises with velocity for brass
    let centroid = |v: u8| {
        let s = Spectrum::new(body(&note(Family::Brass, 55, v, 1)), SR, 32768);
        let (num, den) = s
            .mag
            .iter()
            .enumerate()
            .fold((0.0, 0.0), |(n, d), (k, m)| (n + k as f64 * m, d + m));
        num / den * SR as f64 / 32768.0
    };
    let (soft, loud) = (centroid(30), centroid(127));
    assert!(
        loud > 1.2 * soft,
        "brass centroid soft {soft:.0} Hz vs loud {loud:.0} Hz"
    );
}

/// Features: log amplitudes of harmonics 1–8 relative to the strongest, plus the RMS envelope in 10 segments.
fn timbre_features(x: &[f32], midi: u8) -> Vec<f64> {
    let s = Spectrum::new(body(x), SR, 32768);
    let f0 = midi_hz(midi as f64);
    let h: Vec<f64> = (1..=8).map(|h| s.around(h as f64 * f0, 0.015)).collect();
    let hm = h.iter().copied().fold(1e-12, f64::max);
    let mut f: Vec<f64> = h.iter().map(|v| (v / hm + 1e-4).ln()).collect();
    let seg = x.len() / 10;
    let rms: Vec<f64> = (0..10)
        .map(|i| {
            (x[i * seg..(i + 1) * seg]
                .iter()
                .map(|v| (*v as f64).powi(2))
                .sum::<f64>()
                / seg as f64)
                .sqrt()
        })
        .collect();
    let rm = rms.iter().copied().fold(1e-12, f64::max);
    f.extend(rms.iter().map(|v| 3.0 * (v / rm + 1e-3).ln()));
    f
}

#[test]
fn families_are_distinguishable_across_seeds() {
    // Nearest neighbour on simple timbre features: references from seed 10, queries from seed 20.
    for midi in [48u8, 64] {
        let refs: Vec<Vec<f64>> = Family::ALL
            .iter()
            .map(|f| timbre_features(&note(*f, midi, 80, 10), midi))
            .collect();
        let mut correct = 0;
        let mut confused = Vec::new();
        for (i, f) in Family::ALL.iter().enumerate() {
            let q = timbre_features(&note(*f, midi, 80, 20), midi);
            let nn = (0..refs.len())
                .min_by(|a, b| {
                    let d =
                        |r: &Vec<f64>| r.iter().zip(&q).map(|(x, y)| (x - y).powi(2)).sum::<f64>();
                    d(&refs[*a]).total_cmp(&d(&refs[*b]))
                })
                .unwrap();
            if nn == i {
                correct += 1;
            } else {
                confused.push(format!("{f} → {}", Family::ALL[nn]));
            }
        }
        assert!(
            correct >= 10,
            "midi {midi}: only {correct}/11 families recognised across seeds: {confused:?}"
        );
    }
}

fn small_params(seed: u64) -> NotesParams {
    NotesParams {
        seed,
        duration_secs: 0.25,
        sample_rate: 16000,
        families: vec![Family::Guitar, Family::Organ, Family::Vocal],
        pitches: PitchRange {
            lo: 40,
            hi: 80,
            step: 7,
        },
        velocities: vec![40, 110],
        ..NotesParams::default()
    }
}

#[test]
fn labels_match_the_grid_and_seeds_control_the_samples() {
    let ds = small_params(1).check().unwrap();
    assert_eq!(ds.len(), 3 * 6 * 2);
    let c = ds.clip(13);
    let (fam, pitch, vel, _) = ds.cell(13);
    assert_eq!(c.labels["family"], LabelValue::Str(fam.name().into()));
    assert_eq!(c.labels["pitch"], LabelValue::Int(pitch as i64));
    assert_eq!(c.labels["pitch_class"], LabelValue::Int(pitch as i64 % 12));
    assert_eq!(c.labels["octave"], LabelValue::Int(pitch as i64 / 12 - 1));
    assert_eq!(c.labels["velocity"], LabelValue::Int(vel as i64));
    assert_eq!(c.samples.len(), 4000);
    assert_eq!(c.sample_rate, 16000);
    // same seed → identical; different seed → different samples, same labels
    assert_eq!(small_params(1).check().unwrap().clip(13), c);
    let other = small_params(2).check().unwrap().clip(13);
    assert_eq!(other.labels, c.labels);
    let diff = other
        .samples
        .iter()
        .zip(&c.samples)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        diff > 0.01,
        "different seeds gave nearly identical samples (max diff {diff})"
    );
    // ids are unique and every clip is labelled per the schema
    let clips: Vec<_> = ds.clips().collect();
    let mut ids: Vec<_> = clips.iter().map(|c| c.id.clone()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), ds.len());
    let schema = ds.label_schema();
    for c in &clips {
        assert_eq!(c.labels.len(), schema.len());
        for (k, v) in &c.labels {
            assert!(schema.get(k).unwrap().coerce(v.clone()).is_some(), "{k}");
        }
    }
}

#[test]
fn default_size_is_small_and_splits_are_roughly_as_requested() {
    let ds = NotesParams::default().check().unwrap();
    assert_eq!(ds.len(), 11 * 18 * 2);
    // every pitch class is covered by the default pitch set
    let mut pcs: Vec<u8> = ds
        .params()
        .pitches
        .pitches()
        .iter()
        .map(|p| p % 12)
        .collect();
    pcs.sort();
    pcs.dedup();
    assert_eq!(pcs.len(), 12);
    let bad = NotesParams {
        pitches: PitchRange {
            lo: 10,
            hi: 50,
            step: 1,
        },
        ..NotesParams::default()
    };
    assert!(bad.check().unwrap_err().to_string().contains("pitches"));
}

#[test]
fn written_dataset_round_trips_wav_and_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let ds = small_params(4).check().unwrap();
    let count = std::sync::atomic::AtomicUsize::new(0);
    let m = write_dataset(&ds, dir.path(), 2, &|_| {
        count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    assert_eq!(count.into_inner(), ds.len());
    let back = Manifest::read(&dir.path().join("manifest.jsonl")).unwrap();
    assert_eq!(back.entries.len(), ds.len());
    assert_eq!(back.content_hash(), m.content_hash());
    assert!(back.split_counts().contains_key(&Some(Split::Train)));
    // the manifest stores relative paths
    let text = std::fs::read_to_string(dir.path().join("manifest.jsonl")).unwrap();
    assert!(
        text.contains("\"path\":\"audio/guitar-040-040.wav\""),
        "{}",
        &text[..300]
    );
    // decoded WAV equals the in-memory clip to 16-bit precision
    for i in [0, 17, 35] {
        let e = &back.entries[i];
        let clip = ds.clip(i);
        assert_eq!(e.id, clip.id);
        assert_eq!(e.labels, clip.labels);
        let d = mirlens_audio::decode::decode_file(&e.path, &Default::default()).unwrap();
        assert_eq!(d.waveform.sample_rate, 16000);
        assert_eq!(d.waveform.samples.len(), clip.samples.len());
        let err = d
            .waveform
            .samples
            .iter()
            .zip(&clip.samples)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(err <= 1.0 / 32768.0, "clip {i}: max error {err}");
    }
}

//! `synth-sequences`: the score stays in the labelled key, the audio's chroma agrees, seeds control the samples.

use crate::spectrum::Spectrum;
use mirlens_core::LabelValue;
use mirlens_datasets::synth::chords::{Key, Mode};
use mirlens_datasets::synth::{SequencesParams, SynthDataset};

fn params(seed: u64) -> SequencesParams {
    SequencesParams {
        seed,
        sample_rate: 16000,
        duration_secs: 3.0,
        count: 12,
        ..SequencesParams::default()
    }
}

#[test]
fn score_is_in_key_and_audio_chroma_finds_the_key() {
    let ds = params(2).check().unwrap();
    let mut hits = 0;
    let mut misses = Vec::new();
    for i in 0..ds.len() {
        let piece = ds.piece(i);
        let key = Key {
            tonic: piece.tonic,
            mode: if piece.minor {
                Mode::Minor
            } else {
                Mode::Major
            },
        };
        let scale = key.scale();
        assert!(
            piece.notes.iter().all(|n| scale.contains(&(n.pitch % 12))),
            "clip {i}: a note outside {}",
            key.name()
        );
        let beat = 60.0 / piece.tempo_bpm;
        assert!(piece.notes.iter().filter(|n| n.voice == 2).all(|n| {
            let x = n.onset / beat / 2.0;
            (x - x.round()).abs() < 1e-6
        }));
        let clip = ds.clip(i);
        assert_eq!(clip.labels["key"], LabelValue::Str(key.name()));
        assert_eq!(
            clip.labels["n_notes"],
            LabelValue::Int(piece.notes.len() as i64)
        );
        let peak = clip.samples.iter().fold(0f32, |m, v| m.max(v.abs())) as f64;
        let want = 10f64.powf(piece.loudness_db / 20.0);
        assert!(
            (peak - want).abs() < 0.05 * want + 0.01,
            "clip {i}: peak {peak} vs loudness {want}"
        );
        // bass notes fall on beats 1 and 3 (checked above); chroma of the whole clip
        let mut chroma = [0.0; 12];
        for w in clip.samples.chunks(8192) {
            let c = Spectrum::new(w, 16000, 8192).chroma(36, 84);
            chroma.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        }
        // among keys of the labelled mode, the labelled one holds the most chroma mass in its scale
        let mass = |t: u8| {
            let k = Key {
                tonic: t,
                mode: key.mode,
            };
            k.scale().iter().map(|p| chroma[*p as usize]).sum::<f64>() / chroma.iter().sum::<f64>()
        };
        let best_t = (0..12u8)
            .max_by(|a, b| mass(*a).total_cmp(&mass(*b)))
            .unwrap();
        if best_t != piece.tonic {
            misses.push(format!(
                "clip {i}: {} but chroma favours tonic {best_t}",
                key.name()
            ));
        }
        assert!(
            mass(piece.tonic) > 0.8,
            "clip {i}: only {:.2} of the chroma in {}",
            mass(piece.tonic),
            key.name()
        );
        hits += (best_t == piece.tonic) as usize;
    }
    assert!(
        hits >= 11,
        "key found from audio in only {hits}/12 clips: {misses:?}"
    );
}
#[test]
fn sequences_are_deterministic_and_varied() {
    let a = params(4).check().unwrap();
    assert_eq!(a.clip(3), params(4).check().unwrap().clip(3));
    assert_ne!(
        a.clip(3).samples,
        params(5).check().unwrap().clip(3).samples
    );
    let tempi: Vec<f64> = (0..a.len()).map(|i| a.piece(i).tempo_bpm).collect();
    assert!(tempi.iter().all(|t| (70.0..160.0).contains(t)));
    let distinct_keys: std::collections::BTreeSet<_> = (0..a.len())
        .map(|i| (a.piece(i).tonic, a.piece(i).minor))
        .collect();
    assert!(distinct_keys.len() >= 6, "{distinct_keys:?}");
    assert_eq!(a.clip(0).samples.len(), 48000);
}

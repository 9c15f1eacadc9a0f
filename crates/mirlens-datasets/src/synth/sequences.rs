//! `synth-sequences`: short pieces with a melody, block-chord accompaniment and a bass line, in a random key, tempo,
//! timbre and loudness, with light reverb and noise — varied material for pre-training and for probing key, tempo
//! and timbre.
//!
//! Each clip follows a four-bar diatonic progression (the openings of `synth-chords` plus the tonic), looped to the
//! clip length. The melody walks over the scale in octave 4–5 and lands on chord tones on strong beats; the bass
//! plays the chord root on beats 1 and 3. [`SynthSequences::piece`] returns the exact notes of a clip, [`SynthDataset::score`] the same as a score.

use super::chords::{Chord, MAJOR_OPENINGS, MINOR_OPENINGS};
use super::dsp::{self, Rng};
use super::notes::{Family, NoteSpec, render_raw};
use super::{SynthClip, SynthDataset, assign_split};
use crate::manifest::{LabelSchema, LabelType};
use mirlens_core::{CoreError, LabelSet, LabelValue};

/// Parameters of `synth-sequences`.
#[derive(Debug, Clone, PartialEq)]
pub struct SequencesParams {
    /// Dataset seed.
    pub seed: u64,
    /// Sample rate in Hz (default 24000).
    pub sample_rate: u32,
    /// Clip duration in seconds (default 4.0).
    pub duration_secs: f64,
    /// Number of clips (default 64).
    pub count: usize,
    /// Tempo range in beats per minute (default 70–160).
    pub tempo_bpm: (f64, f64),
    /// Fractions assigned to valid and test (default 0.1 each).
    pub valid_fraction: f64,
    /// See `valid_fraction`.
    pub test_fraction: f64,
}

impl Default for SequencesParams {
    fn default() -> Self {
        SequencesParams {
            seed: 0,
            sample_rate: 24000,
            duration_secs: 4.0,
            count: 64,
            tempo_bpm: (70.0, 160.0),
            valid_fraction: 0.1,
            test_fraction: 0.1,
        }
    }
}

impl SequencesParams {
    /// Validates the parameters.
    pub fn check(self) -> Result<SynthSequences, CoreError> {
        super::check_common(
            self.sample_rate,
            self.duration_secs,
            self.valid_fraction,
            self.test_fraction,
        )?;
        if self.count == 0 {
            return Err(CoreError::invalid("count", 0, ">= 1"));
        }
        let (lo, hi) = self.tempo_bpm;
        if !(lo.is_finite() && hi.is_finite() && 20.0 <= lo && lo <= hi && hi <= 400.0) {
            return Err(CoreError::invalid(
                "tempo_bpm",
                format!("{lo}..{hi}"),
                "20 <= lo <= hi <= 400",
            ));
        }
        Ok(SynthSequences { params: self })
    }
}

/// One note of a generated piece.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreNote {
    /// Onset, seconds.
    pub onset: f64,
    /// Key-release time, seconds.
    pub offset: f64,
    /// MIDI pitch.
    pub pitch: u8,
    /// MIDI velocity.
    pub velocity: u8,
    /// Instrument family.
    pub family: Family,
    /// Voice: 0 melody, 1 accompaniment, 2 bass.
    pub voice: u8,
}

/// The design of one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Piece {
    /// Tonic pitch class.
    pub tonic: u8,
    /// Minor (true) or major.
    pub minor: bool,
    /// Tempo in beats per minute.
    pub tempo_bpm: f64,
    /// Melody timbre.
    pub melody: Family,
    /// Accompaniment timbre.
    pub accompaniment: Family,
    /// Overall gain in dB (peak-referenced).
    pub loudness_db: f64,
    /// Reverb mix.
    pub reverb_wet: f64,
    /// Signal-to-noise ratio of the added white noise, dB.
    pub snr_db: f64,
    /// The notes.
    pub notes: Vec<ScoreNote>,
}

/// The validated `synth-sequences` generator.
#[derive(Debug, Clone)]
pub struct SynthSequences {
    params: SequencesParams,
}

const SEQ_TAG: u64 = 0x5345_5155; // "SEQU"
const MELODY: [Family; 8] = [
    Family::Flute,
    Family::Reed,
    Family::Brass,
    Family::String,
    Family::SynthLead,
    Family::Vocal,
    Family::Keyboard,
    Family::Guitar,
];
const ACCOMP: [Family; 4] = [
    Family::Keyboard,
    Family::Organ,
    Family::Guitar,
    Family::String,
];

impl SynthSequences {
    /// The parameters.
    pub fn params(&self) -> &SequencesParams {
        &self.params
    }

    /// The design and notes of clip `index` (a pure function of the seed and the index).
    pub fn piece(&self, index: usize) -> Piece {
        let p = &self.params;
        let mut rng = Rng::new(dsp::derive_seed(p.seed, SEQ_TAG, index as u64));
        let tonic = rng.below(12) as u8;
        let minor = rng.uniform() < 0.5;
        let tempo_bpm = rng.range(p.tempo_bpm.0, p.tempo_bpm.1);
        let melody = *rng.pick(&MELODY);
        let accompaniment = *rng.pick(&ACCOMP);
        let loudness_db = rng.range(-18.0, -3.0);
        let reverb_wet = rng.range(0.05, 0.25);
        let snr_db = rng.range(30.0, 50.0);
        let opening = if minor {
            *rng.pick(&MINOR_OPENINGS)
        } else {
            *rng.pick(&MAJOR_OPENINGS)
        };
        let tonic_q = if minor {
            super::chords::ChordQuality::Minor
        } else {
            super::chords::ChordQuality::Major
        };
        let prog: Vec<Chord> = opening
            .iter()
            .copied()
            .chain(std::iter::once((0u8, tonic_q)))
            .map(|(deg, q)| Chord {
                root: (tonic + deg) % 12,
                quality: q,
                inversion: 0,
            })
            .collect();
        let scale_steps: &[u8] = if minor {
            &[0, 2, 3, 5, 7, 8, 11]
        } else {
            &[0, 2, 4, 5, 7, 9, 11]
        };
        // melody pitches: the scale over MIDI 60..=84
        let mel_pitches: Vec<u8> = (60u8..=84)
            .filter(|m| scale_steps.contains(&((m + 12 - tonic % 12) % 12)))
            .collect();
        let beat = 60.0 / tempo_bpm;
        let dur = p.duration_secs;
        let mut notes = Vec::new();
        let mut t = 0.0;
        let mut bar = 0usize;
        let mut mi = mel_pitches.len() / 2;
        let mel_vel = 60 + rng.below(60) as u8;
        while t < dur {
            let chord = prog[bar % prog.len()];
            let pcs = chord.pitch_classes();
            // accompaniment: block chord held for the bar
            for m in chord.voicing() {
                notes.push(ScoreNote {
                    onset: t,
                    offset: t + 3.8 * beat,
                    pitch: m,
                    velocity: 70,
                    family: accompaniment,
                    voice: 1,
                });
            }
            // bass: root on beats 1 and 3
            for b in [0.0, 2.0] {
                notes.push(ScoreNote {
                    onset: t + b * beat,
                    offset: t + (b + 1.8) * beat,
                    pitch: 36 + chord.root,
                    velocity: 90,
                    family: Family::Bass,
                    voice: 2,
                });
            }
            // melody: eighths or quarters, chord tones on beats 1 and 3
            let mut bt: f64 = 0.0;
            while bt < 4.0 - 1e-9 {
                let len = if rng.uniform() < 0.35 { 0.5 } else { 1.0 };
                let step = rng.below(5) as i64 - 2;
                mi = (mi as i64 + step).clamp(0, mel_pitches.len() as i64 - 1) as usize;
                if bt.fract() == 0.0 && (bt as usize).is_multiple_of(2) {
                    // move to the nearest chord tone
                    if let Some(j) = (0..mel_pitches.len())
                        .filter(|&j| pcs.contains(&(mel_pitches[j] % 12)))
                        .min_by_key(|&j| (j as i64 - mi as i64).abs())
                    {
                        mi = j;
                    }
                }
                notes.push(ScoreNote {
                    onset: t + bt * beat,
                    offset: t + (bt + 0.9 * len) * beat,
                    pitch: mel_pitches[mi],
                    velocity: mel_vel,
                    family: melody,
                    voice: 0,
                });
                bt += len;
            }
            t += 4.0 * beat;
            bar += 1;
        }
        notes.retain(|n| n.onset < dur);
        Piece {
            tonic,
            minor,
            tempo_bpm,
            melody,
            accompaniment,
            loudness_db,
            reverb_wet,
            snr_db,
            notes,
        }
    }
}

impl SynthSequences {
    fn labels(piece: &Piece) -> LabelSet {
        let mut labels = LabelSet::new();
        labels.insert(
            "key".into(),
            LabelValue::Str(crate::adapters::giantsteps::key_name(
                piece.tonic,
                piece.minor,
            )),
        );
        labels.insert("key_tonic".into(), LabelValue::Int(piece.tonic as i64));
        labels.insert(
            "mode".into(),
            LabelValue::Str(if piece.minor { "minor" } else { "major" }.into()),
        );
        labels.insert("tempo_bpm".into(), LabelValue::Float(piece.tempo_bpm));
        labels.insert(
            "melody_timbre".into(),
            LabelValue::Str(piece.melody.name().into()),
        );
        labels.insert(
            "accompaniment_timbre".into(),
            LabelValue::Str(piece.accompaniment.name().into()),
        );
        labels.insert("loudness_db".into(), LabelValue::Float(piece.loudness_db));
        labels.insert("reverb_wet".into(), LabelValue::Float(piece.reverb_wet));
        labels.insert("snr_db".into(), LabelValue::Float(piece.snr_db));
        labels.insert("n_notes".into(), LabelValue::Int(piece.notes.len() as i64));
        labels
    }
}

impl SynthDataset for SynthSequences {
    fn name(&self) -> &'static str {
        "synth-sequences"
    }

    fn len(&self) -> usize {
        self.params.count
    }

    fn sample_rate(&self) -> u32 {
        self.params.sample_rate
    }

    fn label_schema(&self) -> LabelSchema {
        LabelSchema::new()
            .with("key", LabelType::String)
            .with("key_tonic", LabelType::Int)
            .with("mode", LabelType::String)
            .with("tempo_bpm", LabelType::Float)
            .with("melody_timbre", LabelType::String)
            .with("accompaniment_timbre", LabelType::String)
            .with("loudness_db", LabelType::Float)
            .with("reverb_wet", LabelType::Float)
            .with("snr_db", LabelType::Float)
            .with("n_notes", LabelType::Int)
    }

    fn describe(&self, index: usize) -> super::SynthMeta {
        let p = &self.params;
        let n = (p.duration_secs * p.sample_rate as f64).round() as usize;
        super::SynthMeta {
            id: format!("seq-{index:05}"),
            split: assign_split(p.seed, SEQ_TAG, index, p.valid_fraction, p.test_fraction),
            labels: Self::labels(&self.piece(index)),
            duration_secs: n as f64 / p.sample_rate as f64,
        }
    }

    fn score(&self, index: usize) -> Option<super::Score> {
        let piece = self.piece(index);
        let notes: Vec<super::TimedNote> = piece
            .notes
            .iter()
            .map(|n| super::TimedNote {
                onset: n.onset,
                offset: n.offset,
                pitch: n.pitch,
                velocity: n.velocity,
                family: n.family,
            })
            .collect();
        Some(super::timed_score(
            &notes,
            piece.tempo_bpm,
            Some((piece.tonic, piece.minor)),
        ))
    }

    fn clip(&self, index: usize) -> SynthClip {
        let p = &self.params;
        let piece = self.piece(index);
        let sr = p.sample_rate as f64;
        let n = (p.duration_secs * sr).round() as usize;
        let mut y = vec![0.0f64; n];
        let stream = dsp::derive_seed(p.seed, SEQ_TAG ^ 0xAB, index as u64);
        for (k, note) in piece.notes.iter().enumerate() {
            let mut rng = Rng::new(dsp::derive_seed(stream, 0, k as u64));
            let start = (note.onset * sr).round() as usize;
            let hold = note.offset - note.onset;
            let spec = NoteSpec {
                family: note.family,
                midi: note.pitch as f64,
                velocity: note.velocity,
                hold_secs: hold,
                total_secs: (hold + 0.4).min((n - start.min(n)) as f64 / sr).max(0.01),
            };
            let mut x = render_raw(&spec, p.sample_rate, &mut rng);
            let pk = dsp::peak(&x).max(1e-12);
            let gain = super::notes::velocity_gain(note.velocity) / pk
                * if note.voice == 0 { 1.0 } else { 0.5 };
            x.iter_mut().for_each(|v| *v *= gain);
            for (i, v) in x.iter().enumerate() {
                if let Some(o) = y.get_mut(start + i) {
                    *o += v;
                }
            }
        }
        let mut y = dsp::reverb(&y, sr, piece.reverb_wet, 0.8);
        let pk = dsp::peak(&y).max(1e-12);
        let g = 10f64.powf(piece.loudness_db / 20.0) / pk;
        y.iter_mut().for_each(|v| *v *= g);
        let rms = (y.iter().map(|v| v * v).sum::<f64>() / y.len().max(1) as f64).sqrt();
        let sigma = rms * 10f64.powf(-piece.snr_db / 20.0);
        let mut nrng = Rng::new(dsp::derive_seed(stream, 1, 0));
        let samples = y
            .iter()
            .map(|v| (v + sigma * nrng.normal()).clamp(-1.0, 1.0) as f32)
            .collect();
        let labels = Self::labels(&piece);
        SynthClip {
            id: format!("seq-{index:05}"),
            samples,
            sample_rate: p.sample_rate,
            split: assign_split(p.seed, SEQ_TAG, index, p.valid_fraction, p.test_fraction),
            labels,
        }
    }
}

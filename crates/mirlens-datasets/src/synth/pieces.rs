//! `synth-pieces`: a symbolic corpus of short multi-track pieces — the scores a symbolic music LM is pretrained
//! on, with captions for a caption LM. No audio: every piece is a [`Score`] (format 1, 480 ticks per quarter, one
//! tempo, time signature and key signature at tick 0, one track per instrument with its GM program).
//!
//! Each piece is a pure function of the seed and its index (seed-derived stream per piece):
//! - **key**: one of 24 (tonic uniform, major or minor with equal probability); **tempo** uniform in 60–180 qpm;
//!   **meter** 4/4 (½), 3/4 (¼) or 6/8 (¼); **4–8 bars**;
//! - **harmony**: one chord per bar, cycling a diatonic progression template of the mode (major: I–IV–V–I,
//!   I–vi–IV–V, I–V–vi–IV, ii–V–I–I, I–iii–IV–V; minor: i–iv–V–i, i–VI–III–VII, i–iv–VII–III, i–VI–iv–V), the last
//!   bar on the tonic;
//! - **instruments**: a melody (one of 8 families, each in its own register), an accompaniment with probability
//!   0.7 (keyboard, organ, guitar or string; block chords, arpeggiated in 6/8) and a bass line with probability 0.6
//!   (roots on the strong beats);
//! - **melody**: a walk over the scale in the family's register (steps of −2…+2 scale degrees) that moves to the
//!   nearest chord tone on every strong beat; rhythms by meter (quarters and eighths; in 6/8 dotted quarters,
//!   quarter + eighth or three eighths);
//! - **dynamics**: one velocity level 40–110 per piece (accompaniment and bass 10 softer).
//!
//! Splits are drawn per piece (10 % valid, 10 % test by default), so held-out pieces are different pieces, not
//! re-seeded copies.

use super::chords::{Chord, ChordQuality};
use super::dsp::{self, Rng};
use super::notes::Family;
use crate::adapters::giantsteps::key_name;
use crate::manifest::Split;
use mirlens_core::{CoreError, LabelSet, LabelValue};
use mirlens_symbolic::{Division, KeySig, Note, Score, Tempo, TimeSig, Track};

/// Ticks per quarter of `synth-pieces` scores.
pub const PIECES_TPQ: u16 = 480;

const PIECE_TAG: u64 = 0x5049_4543; // "PIEC"

/// Parameters of `synth-pieces`.
#[derive(Debug, Clone, PartialEq)]
pub struct PiecesParams {
    /// Corpus seed.
    pub seed: u64,
    /// Number of pieces.
    pub count: usize,
    /// Fraction of pieces in the valid split.
    pub valid_fraction: f64,
    /// Fraction of pieces in the test split.
    pub test_fraction: f64,
}

impl Default for PiecesParams {
    fn default() -> Self {
        PiecesParams {
            seed: 0,
            count: 4000,
            valid_fraction: 0.1,
            test_fraction: 0.1,
        }
    }
}

impl PiecesParams {
    /// Validates the parameters.
    pub fn check(self) -> Result<SynthPieces, CoreError> {
        if self.count == 0 {
            return Err(CoreError::invalid("count", 0, ">= 1"));
        }
        let ok = |f: f64| (0.0..1.0).contains(&f);
        if !(ok(self.valid_fraction)
            && ok(self.test_fraction)
            && self.valid_fraction + self.test_fraction < 1.0)
        {
            return Err(CoreError::invalid(
                "valid_fraction + test_fraction",
                self.valid_fraction + self.test_fraction,
                "fractions in [0, 1) with a sum below 1",
            ));
        }
        Ok(SynthPieces { params: self })
    }
}

/// The design of one piece.
#[derive(Debug, Clone, PartialEq)]
pub struct PieceDesign {
    /// Tonic pitch class.
    pub tonic: u8,
    /// Minor mode.
    pub minor: bool,
    /// Tempo, quarter notes per minute.
    pub qpm: f64,
    /// Time signature (numerator, denominator).
    pub meter: (u8, u8),
    /// Number of bars.
    pub bars: usize,
    /// Melody family.
    pub melody: Family,
    /// Accompaniment family, if any.
    pub accompaniment: Option<Family>,
    /// Whether a bass line plays.
    pub bass: bool,
    /// Melody velocity.
    pub velocity: u8,
    /// One chord per bar.
    pub chords: Vec<Chord>,
}

impl PieceDesign {
    /// The families of the tracks, melody first.
    pub fn families(&self) -> Vec<Family> {
        let mut f = vec![self.melody];
        f.extend(self.accompaniment);
        if self.bass {
            f.push(Family::Bass);
        }
        f
    }
}

/// The validated `synth-pieces` generator.
#[derive(Debug, Clone)]
pub struct SynthPieces {
    params: PiecesParams,
}

/// Melody families and their registers (lowest, highest MIDI pitch).
const MELODY: [(Family, u8, u8); 8] = [
    (Family::Flute, 72, 96),
    (Family::Reed, 58, 82),
    (Family::Brass, 55, 79),
    (Family::String, 60, 88),
    (Family::SynthLead, 60, 84),
    (Family::Vocal, 57, 79),
    (Family::Keyboard, 60, 84),
    (Family::Guitar, 52, 76),
];
const ACCOMP: [Family; 4] = [
    Family::Keyboard,
    Family::Organ,
    Family::Guitar,
    Family::String,
];

type Degree = (u8, ChordQuality);
const MAJOR_PROGRESSIONS: [[Degree; 4]; 5] = {
    use ChordQuality::{Major as M, Minor as m};
    [
        [(0, M), (5, M), (7, M), (0, M)],
        [(0, M), (9, m), (5, M), (7, M)],
        [(0, M), (7, M), (9, m), (5, M)],
        [(2, m), (7, M), (0, M), (0, M)],
        [(0, M), (4, m), (5, M), (7, M)],
    ]
};
const MINOR_PROGRESSIONS: [[Degree; 4]; 4] = {
    use ChordQuality::{Major as M, Minor as m};
    [
        [(0, m), (5, m), (7, M), (0, m)],
        [(0, m), (8, M), (3, M), (10, M)],
        [(0, m), (5, m), (10, M), (3, M)],
        [(0, m), (8, M), (5, m), (7, M)],
    ]
};

impl SynthPieces {
    /// The parameters.
    pub fn params(&self) -> &PiecesParams {
        &self.params
    }

    /// Number of pieces.
    pub fn len(&self) -> usize {
        self.params.count
    }

    /// Whether the corpus is empty (never: `count >= 1`).
    pub fn is_empty(&self) -> bool {
        self.params.count == 0
    }

    /// Id of piece `index` (`piece-00042`).
    pub fn id(&self, index: usize) -> String {
        format!("piece-{index:05}")
    }

    /// Split of piece `index`.
    pub fn split(&self, index: usize) -> Split {
        let p = &self.params;
        super::assign_split(p.seed, PIECE_TAG, index, p.valid_fraction, p.test_fraction)
            .unwrap_or(Split::Train)
    }

    fn rng(&self, index: usize) -> Rng {
        Rng::new(dsp::derive_seed(self.params.seed, PIECE_TAG, index as u64))
    }

    /// The design of piece `index`.
    pub fn design(&self, index: usize) -> PieceDesign {
        self.design_and_rng(index).0
    }

    fn design_and_rng(&self, index: usize) -> (PieceDesign, Rng) {
        let mut rng = self.rng(index);
        let tonic = rng.below(12) as u8;
        let minor = rng.uniform() < 0.5;
        let qpm = rng.range(60.0, 180.0).round();
        let u = rng.uniform();
        let meter = if u < 0.5 {
            (4, 4)
        } else if u < 0.75 {
            (3, 4)
        } else {
            (6, 8)
        };
        let bars = 4 + rng.below(5);
        let melody = rng.pick(&MELODY).0;
        let accompaniment = (rng.uniform() < 0.7).then(|| *rng.pick(&ACCOMP));
        let bass = rng.uniform() < 0.6;
        let velocity = 40 + rng.below(71) as u8;
        let template: [Degree; 4] = if minor {
            *rng.pick(&MINOR_PROGRESSIONS)
        } else {
            *rng.pick(&MAJOR_PROGRESSIONS)
        };
        let chord = |(deg, q): Degree| Chord {
            root: (tonic + deg) % 12,
            quality: q,
            inversion: 0,
        };
        let mut chords: Vec<Chord> = (0..bars).map(|b| chord(template[b % 4])).collect();
        chords[bars - 1] = chord((
            0,
            if minor {
                ChordQuality::Minor
            } else {
                ChordQuality::Major
            },
        ));
        (
            PieceDesign {
                tonic,
                minor,
                qpm,
                meter,
                bars,
                melody,
                accompaniment,
                bass,
                velocity,
                chords,
            },
            rng,
        )
    }

    /// The score of piece `index`.
    pub fn score(&self, index: usize) -> Score {
        let (d, mut rng) = self.design_and_rng(index);
        let q = PIECES_TPQ as u64;
        // bar length and strong beats in ticks
        let (bar_len, strong): (u64, Vec<u64>) = match d.meter {
            (4, 4) => (4 * q, vec![0, 2 * q]),
            (3, 4) => (3 * q, vec![0]),
            _ => (3 * q, vec![0, 3 * q / 2]),
        };
        let mut order = 0u32;
        let mut note = |start: u64, dur: u64, pitch: u8, velocity: u8| {
            order += 1;
            Note {
                start,
                end: start + dur.max(1),
                pitch,
                velocity: velocity.clamp(1, 127),
                order: order - 1,
            }
        };
        let steps: &[u8] = if d.minor {
            &[0, 2, 3, 5, 7, 8, 11]
        } else {
            &[0, 2, 4, 5, 7, 9, 11]
        };
        let (lo, hi) = MELODY
            .iter()
            .find(|m| m.0 == d.melody)
            .map_or((60, 84), |m| (m.1, m.2));
        let scale: Vec<u8> = (lo..=hi)
            .filter(|m| steps.contains(&((m + 12 - d.tonic) % 12)))
            .collect();
        let mut mi = scale.len() / 2;
        let mut melody = Vec::new();
        let mut acc = Vec::new();
        let mut bass = Vec::new();
        let soft = d.velocity.saturating_sub(10);
        for (b, chord) in d.chords.iter().enumerate() {
            let t0 = b as u64 * bar_len;
            let pcs = chord.pitch_classes();
            // melody rhythm of the bar (durations in ticks)
            let mut rhythm: Vec<u64> = Vec::new();
            if d.meter == (6, 8) {
                for _ in 0..2 {
                    match rng.below(3) {
                        0 => rhythm.push(3 * q / 2),
                        1 => rhythm.extend([q, q / 2]),
                        _ => rhythm.extend([q / 2; 3]),
                    }
                }
            } else {
                let mut left = bar_len;
                while left > 0 {
                    let len = if left >= q && rng.uniform() < 0.6 {
                        q
                    } else {
                        q / 2
                    };
                    rhythm.push(len);
                    left -= len;
                }
            }
            let mut t = t0;
            for len in rhythm {
                let step = rng.below(5) as i64 - 2;
                mi = (mi as i64 + step).clamp(0, scale.len() as i64 - 1) as usize;
                if strong.contains(&(t - t0))
                    && let Some(j) = (0..scale.len())
                        .filter(|&j| pcs.contains(&(scale[j] % 12)))
                        .min_by_key(|&j| (j as i64 - mi as i64).abs())
                {
                    mi = j;
                }
                melody.push(note(t, len * 9 / 10, scale[mi], d.velocity));
                t += len;
            }
            if d.accompaniment.is_some() {
                let voicing = chord.voicing();
                if d.meter == (6, 8) {
                    for k in 0..6u64 {
                        let p = voicing[k as usize % voicing.len()];
                        acc.push(note(t0 + k * q / 2, q / 2, p, soft));
                    }
                } else {
                    for &p in &voicing {
                        acc.push(note(t0, bar_len - q / 4, p, soft));
                    }
                }
            }
            if d.bass {
                let root = 36 + chord.root;
                let root = if root > 45 { root - 12 } else { root };
                for (k, &s) in strong.iter().enumerate() {
                    let end = strong.get(k + 1).copied().unwrap_or(bar_len);
                    bass.push(note(t0 + s, (end - s) * 9 / 10, root, soft));
                }
            }
        }
        let track = |k: usize, family: Family, notes: Vec<Note>| Track {
            midi_track: k + 1,
            channel: k as u8,
            program: family.gm_program(),
            is_drum: false,
            name: family.name().to_string(),
            notes,
            controls: Vec::new(),
            bends: Vec::new(),
        };
        let mut tracks = vec![track(0, d.melody, melody)];
        if let Some(f) = d.accompaniment {
            tracks.push(track(tracks.len(), f, acc));
        }
        if d.bass {
            tracks.push(track(tracks.len(), Family::Bass, bass));
        }
        let end_tick = tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(|n| n.end))
            .max()
            .unwrap_or(0);
        Score {
            format: 1,
            division: Division::Tpq(PIECES_TPQ),
            tempos: vec![Tempo {
                tick: 0,
                us_per_quarter: (6e7 / d.qpm).round() as u32,
            }],
            time_sigs: vec![TimeSig {
                tick: 0,
                numerator: d.meter.0,
                denominator_exp: d.meter.1.trailing_zeros() as u8,
                clocks_per_click: 24,
                n32_per_quarter: 8,
            }],
            key_sigs: vec![KeySig {
                tick: 0,
                sharps: mirlens_symbolic::captions::sharps_of(d.tonic, d.minor),
                minor: d.minor,
            }],
            tracks,
            end_tick,
            stats: Default::default(),
        }
    }

    /// Labels of piece `index`: `key`, `key_tonic`, `mode`, `tempo_bpm`, `time_sig`, `n_bars`, `melody_family`,
    /// `instruments` (tags), `n_tracks`.
    pub fn labels(&self, index: usize) -> LabelSet {
        let d = self.design(index);
        let mut l = LabelSet::new();
        l.insert("key".into(), LabelValue::Str(key_name(d.tonic, d.minor)));
        l.insert("key_tonic".into(), LabelValue::Int(d.tonic as i64));
        l.insert(
            "mode".into(),
            LabelValue::Str(if d.minor { "minor" } else { "major" }.into()),
        );
        l.insert("tempo_bpm".into(), LabelValue::Float(d.qpm));
        l.insert(
            "time_sig".into(),
            LabelValue::Str(format!("{}/{}", d.meter.0, d.meter.1)),
        );
        l.insert("n_bars".into(), LabelValue::Int(d.bars as i64));
        l.insert(
            "melody_family".into(),
            LabelValue::Str(d.melody.name().into()),
        );
        let fams = d.families();
        l.insert("n_tracks".into(), LabelValue::Int(fams.len() as i64));
        l.insert(
            "instruments".into(),
            LabelValue::Tags(fams.iter().map(|f| f.name().to_string()).collect()),
        );
        l
    }

    /// Captions of piece `index`: the clip caption templates (`mirlens_symbolic::captions`, on the melody's
    /// program) and one sentence naming every instrument and the progression, as MidiCaps' captions do.
    pub fn captions(&self, index: usize) -> Vec<String> {
        use mirlens_symbolic::captions::{ClipKind, ClipMeta, captions, tempo_word};
        let d = self.design(index);
        let score = self.score(index);
        let events = super::caption_events(score.tracks[0].notes.iter(), PIECES_TPQ as f64);
        let meta = ClipMeta {
            id: self.id(index),
            kind: ClipKind::Sequence,
            program: d.melody.gm_program(),
            events,
            chord: None,
            key: Some((d.tonic, d.minor)),
            qpm: d.qpm,
            time_sig: d.meter,
        };
        let mut out = captions(&meta);
        let names: Vec<String> = d
            .families()
            .iter()
            .map(|f| f.name().replace('_', " "))
            .collect();
        let instruments = match names.len() {
            1 => names[0].clone(),
            2 => format!("{} and {}", names[0], names[1]),
            _ => format!("{}, {} and {}", names[0], names[1], names[2]),
        };
        let mut seen = Vec::new();
        for c in &d.chords {
            let name = format!(
                "{}{}",
                super::chords::PC_NAMES[c.root as usize % 12],
                if c.quality == ChordQuality::Minor {
                    "m"
                } else {
                    ""
                }
            );
            if seen.last() != Some(&name) {
                seen.push(name);
            }
        }
        let sentence = format!(
            "A {} piece in {}, {}/{} at {} BPM, featuring {instruments}; the chords cycle through {}.",
            tempo_word(d.qpm).to_lowercase(),
            key_name(d.tonic, d.minor),
            d.meter.0,
            d.meter.1,
            d.qpm as i64,
            seen.join(", ")
        );
        let at = out.len().saturating_sub(1);
        out.insert(at, sentence);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> SynthPieces {
        PiecesParams {
            seed: 7,
            count: 400,
            ..PiecesParams::default()
        }
        .check()
        .unwrap()
    }

    #[test]
    fn pieces_follow_their_design() {
        let c = corpus();
        let mut meters = std::collections::BTreeMap::new();
        for i in 0..c.len() {
            let d = c.design(i);
            let s = c.score(i);
            *meters.entry(d.meter).or_insert(0) += 1;
            assert_eq!(s.tracks.len(), d.families().len());
            assert_eq!(s.tracks[0].program, d.melody.gm_program());
            let ks = s.key_sigs[0];
            assert_eq!((ks.tonic(), ks.minor), (d.tonic, d.minor), "piece {i}");
            assert_eq!(s.time_sigs[0].numerator, d.meter.0);
            assert_eq!(s.time_sigs[0].denominator(), d.meter.1 as u32);
            let bar = match d.meter {
                (4, 4) => 4 * 480,
                _ => 3 * 480,
            };
            // every note inside its bar count, every melody note in the scale of the key
            let steps: &[u8] = if d.minor {
                &[0, 2, 3, 5, 7, 8, 11]
            } else {
                &[0, 2, 4, 5, 7, 9, 11]
            };
            for n in &s.tracks[0].notes {
                assert!(n.end <= (d.bars as u64) * bar, "piece {i}");
                assert!(
                    steps.contains(&((n.pitch + 12 - d.tonic) % 12)),
                    "piece {i}"
                );
            }
            // strong-beat melody notes are chord tones
            for n in s.tracks[0].notes.iter().filter(|n| n.start % bar == 0) {
                let chord = d.chords[(n.start / bar) as usize];
                assert!(chord.pitch_classes().contains(&(n.pitch % 12)));
            }
            assert_eq!(d.chords.last().unwrap().root, d.tonic);
        }
        // the three meters all occur in roughly the designed shares
        assert!(meters[&(4, 4)] > 150 && meters[&(3, 4)] > 60 && meters[&(6, 8)] > 60);
        // deterministic
        assert_eq!(c.score(11), corpus().score(11));
        assert_ne!(c.score(11), c.score(12));
    }

    #[test]
    fn captions_name_key_meter_and_instruments() {
        let c = corpus();
        for i in 0..20 {
            let d = c.design(i);
            let caps = c.captions(i);
            assert!(caps.len() >= 4);
            let key = key_name(d.tonic, d.minor);
            assert!(caps.iter().any(|s| s.contains(&key)), "{caps:?}");
            let full = &caps[caps.len() - 2];
            assert!(full.contains(&format!("{}/{}", d.meter.0, d.meter.1)));
            for f in d.families() {
                assert!(full.contains(&f.name().replace('_', " ")), "{full}");
            }
        }
    }
}

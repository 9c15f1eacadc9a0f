//! `synth-chords`: single chords (every root × quality × inversion) and harmonic-syntax minimal pairs.
//!
//! * **Chords** (`kind = chord`): one chord in close position, bass in octave 3, labels `root`, `quality`,
//!   `inversion`, `bass_pc`, `pitch_classes`.
//! * **Minimal pairs** (`kind = pair`): a four-chord progression in a key whose first three chords are a common
//!   diatonic pattern (e.g. I–IV–V) and whose last chord is either the tonic (`grammatical = 1`) or a chord whose root
//!   and at least two of its tones lie outside the key (`grammatical = 0`, e.g. ♭II or ♯IV in major). The two members
//!   of a pair share `pair_id`, timbre, voicing and noise: their samples are identical up to the onset of the last
//!   chord — the musical analogue of BLiMP's grammatical/ungrammatical sentence pairs. Labels also carry the key
//!   (`"C major"`, `"A minor"`, sharps spelling), and root/quality/inversion of the last chord.

use super::dsp::{self, Rng};
use super::notes::{Family, NoteSpec, render_note};
use super::{SynthClip, SynthDataset, assign_split};
use crate::manifest::{LabelSchema, LabelType, Split};
use mirlens_core::{CoreError, LabelSet, LabelValue};
use std::fmt;
use std::str::FromStr;

/// Pitch-class names, sharps spelling (index = pitch class, 0 = C).
pub const PC_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// Chord quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChordQuality {
    /// Major triad (0, 4, 7).
    Major,
    /// Minor triad (0, 3, 7).
    Minor,
    /// Diminished triad (0, 3, 6).
    Diminished,
    /// Augmented triad (0, 4, 8).
    Augmented,
    /// Dominant seventh (0, 4, 7, 10).
    Dominant7,
    /// Major seventh (0, 4, 7, 11).
    Major7,
    /// Minor seventh (0, 3, 7, 10).
    Minor7,
}

impl ChordQuality {
    /// All qualities.
    pub const ALL: [ChordQuality; 7] = [
        ChordQuality::Major,
        ChordQuality::Minor,
        ChordQuality::Diminished,
        ChordQuality::Augmented,
        ChordQuality::Dominant7,
        ChordQuality::Major7,
        ChordQuality::Minor7,
    ];

    /// Semitone intervals above the root.
    pub fn intervals(&self) -> &'static [u8] {
        match self {
            ChordQuality::Major => &[0, 4, 7],
            ChordQuality::Minor => &[0, 3, 7],
            ChordQuality::Diminished => &[0, 3, 6],
            ChordQuality::Augmented => &[0, 4, 8],
            ChordQuality::Dominant7 => &[0, 4, 7, 10],
            ChordQuality::Major7 => &[0, 4, 7, 11],
            ChordQuality::Minor7 => &[0, 3, 7, 10],
        }
    }

    /// Short name used in labels (`maj`, `min`, `dim`, `aug`, `7`, `maj7`, `min7`).
    pub fn name(&self) -> &'static str {
        match self {
            ChordQuality::Major => "maj",
            ChordQuality::Minor => "min",
            ChordQuality::Diminished => "dim",
            ChordQuality::Augmented => "aug",
            ChordQuality::Dominant7 => "7",
            ChordQuality::Major7 => "maj7",
            ChordQuality::Minor7 => "min7",
        }
    }
}

impl fmt::Display for ChordQuality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ChordQuality {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChordQuality::ALL
            .iter()
            .copied()
            .find(|q| q.name() == s.trim())
            .ok_or(CoreError::Parse {
                what: "chord quality",
                input: s.to_string(),
                expected: "one of maj, min, dim, aug, 7, maj7, min7",
            })
    }
}

/// A chord: root pitch class, quality, inversion (0 = root position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    /// Root pitch class (0 = C).
    pub root: u8,
    /// Quality.
    pub quality: ChordQuality,
    /// Inversion: which chord tone (0 = root, 1 = third, …) is in the bass.
    pub inversion: u8,
}

impl Chord {
    /// Pitch classes of the chord tones, in chord order (root first).
    pub fn pitch_classes(&self) -> Vec<u8> {
        self.quality
            .intervals()
            .iter()
            .map(|i| (self.root + i) % 12)
            .collect()
    }

    /// Pitch class of the bass note.
    pub fn bass_pc(&self) -> u8 {
        self.pitch_classes()[self.inversion as usize % self.quality.intervals().len()]
    }

    /// Close-position voicing in MIDI pitches, bass in octave 3 (MIDI 48–59).
    pub fn voicing(&self) -> Vec<u8> {
        let ivs = self.quality.intervals();
        let mut tones: Vec<u8> = ivs.iter().map(|i| 48 + self.root + i).collect();
        for t in tones.iter_mut().take(self.inversion as usize % ivs.len()) {
            *t += 12;
        }
        tones.sort_unstable();
        if tones[0] > 59 {
            tones.iter_mut().for_each(|t| *t -= 12);
        }
        tones
    }

    /// Name such as `C#:min7/1`.
    pub fn name(&self) -> String {
        format!(
            "{}:{}/{}",
            PC_NAMES[self.root as usize], self.quality, self.inversion
        )
    }
}

/// Key mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Major.
    Major,
    /// Minor (harmonic minor: the raised leading tone counts as in-key).
    Minor,
}

/// A key: tonic pitch class and mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Key {
    /// Tonic pitch class.
    pub tonic: u8,
    /// Mode.
    pub mode: Mode,
}

impl Key {
    /// Pitch classes considered in-key (major scale; natural minor plus the leading tone).
    pub fn scale(&self) -> Vec<u8> {
        let steps: &[u8] = match self.mode {
            Mode::Major => &[0, 2, 4, 5, 7, 9, 11],
            Mode::Minor => &[0, 2, 3, 5, 7, 8, 10, 11],
        };
        steps.iter().map(|s| (self.tonic + s) % 12).collect()
    }

    /// mir_eval-style name, e.g. `C# minor`.
    pub fn name(&self) -> String {
        format!(
            "{} {}",
            PC_NAMES[self.tonic as usize],
            match self.mode {
                Mode::Major => "major",
                Mode::Minor => "minor",
            }
        )
    }
}

/// Parameters of `synth-chords`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChordsParams {
    /// Dataset seed.
    pub seed: u64,
    /// Sample rate in Hz (default 24000).
    pub sample_rate: u32,
    /// Duration of a single-chord clip, seconds (default 1.0).
    pub chord_secs: f64,
    /// Duration of each chord of a progression, seconds (default 0.5; progressions have 4 chords).
    pub progression_chord_secs: f64,
    /// Qualities of the single chords (default: all seven); every root and inversion of each is generated.
    pub qualities: Vec<ChordQuality>,
    /// Repeats of the single-chord grid (default 1), each with a new timbre draw.
    pub chord_repeats: usize,
    /// Minimal pairs per key (default 2; 24 keys, so 48 pairs = 96 clips).
    pub pairs_per_key: usize,
    /// Timbres drawn from (default: keyboard, organ, string, guitar, brass, reed, synth_lead, flute).
    pub timbres: Vec<Family>,
    /// Fractions of clips (of pairs, for pairs) assigned to valid and test (default 0.1 each).
    pub valid_fraction: f64,
    /// See `valid_fraction`.
    pub test_fraction: f64,
}

impl Default for ChordsParams {
    fn default() -> Self {
        ChordsParams {
            seed: 0,
            sample_rate: 24000,
            chord_secs: 1.0,
            progression_chord_secs: 0.5,
            qualities: ChordQuality::ALL.to_vec(),
            chord_repeats: 1,
            pairs_per_key: 2,
            timbres: vec![
                Family::Keyboard,
                Family::Organ,
                Family::String,
                Family::Guitar,
                Family::Brass,
                Family::Reed,
                Family::SynthLead,
                Family::Flute,
            ],
            valid_fraction: 0.1,
            test_fraction: 0.1,
        }
    }
}

impl ChordsParams {
    /// Validates the parameters.
    pub fn check(self) -> Result<SynthChords, CoreError> {
        super::check_common(
            self.sample_rate,
            self.chord_secs,
            self.valid_fraction,
            self.test_fraction,
        )?;
        super::check_common(self.sample_rate, self.progression_chord_secs, 0.0, 0.0)?;
        if self.timbres.is_empty() {
            return Err(CoreError::invalid("timbres", "[]", "at least one family"));
        }
        let mut grid = Vec::new();
        for _ in 0..self.chord_repeats {
            for q in &self.qualities {
                for root in 0..12u8 {
                    for inv in 0..q.intervals().len() as u8 {
                        grid.push(Chord {
                            root,
                            quality: *q,
                            inversion: inv,
                        });
                    }
                }
            }
        }
        if grid.is_empty() && self.pairs_per_key == 0 {
            return Err(CoreError::invalid(
                "qualities / pairs_per_key",
                "no chords and no pairs",
                "at least one clip",
            ));
        }
        Ok(SynthChords { params: self, grid })
    }
}

/// The validated `synth-chords` generator.
#[derive(Debug, Clone)]
pub struct SynthChords {
    params: ChordsParams,
    grid: Vec<Chord>,
}

const CHORDS_TAG: u64 = 0x4348_4F52; // "CHOR"
const PAIRS_TAG: u64 = 0x5041_4952; // "PAIR"

const D: ChordQuality = ChordQuality::Diminished;
const MAJ: ChordQuality = ChordQuality::Major;
const MIN: ChordQuality = ChordQuality::Minor;

/// Opening three chords (degree in semitones above the tonic, quality) of the pair progressions.
pub(crate) const MAJOR_OPENINGS: [[(u8, ChordQuality); 3]; 6] = [
    [(0, MAJ), (5, MAJ), (7, MAJ)],
    [(0, MAJ), (2, MIN), (7, MAJ)],
    [(0, MAJ), (9, MIN), (7, MAJ)],
    [(0, MAJ), (9, MIN), (5, MAJ)],
    [(0, MAJ), (4, MIN), (5, MAJ)],
    [(5, MAJ), (2, MIN), (7, MAJ)],
];
pub(crate) const MINOR_OPENINGS: [[(u8, ChordQuality); 3]; 6] = [
    [(0, MIN), (5, MIN), (7, MAJ)],
    [(0, MIN), (8, MAJ), (7, MAJ)],
    [(0, MIN), (2, D), (7, MAJ)],
    [(0, MIN), (3, MAJ), (5, MIN)],
    [(8, MAJ), (5, MIN), (7, MAJ)],
    [(0, MIN), (8, MAJ), (5, MIN)],
];
/// Out-of-key endings: root and ≥ 2 tones outside the key.
const MAJOR_VIOLATIONS: [(u8, ChordQuality); 4] = [(1, MAJ), (6, MAJ), (3, MIN), (6, MIN)];
const MINOR_VIOLATIONS: [(u8, ChordQuality); 4] = [(9, MAJ), (6, MIN), (1, MIN), (6, MAJ)];

/// The design of one minimal pair (both members).
#[derive(Debug, Clone, PartialEq)]
pub struct PairDesign {
    /// Pair number.
    pub pair: usize,
    /// Key of the progression.
    pub key: Key,
    /// The shared first three chords.
    pub opening: [Chord; 3],
    /// Last chord of the grammatical member (the tonic).
    pub in_key_end: Chord,
    /// Last chord of the ungrammatical member.
    pub out_of_key_end: Chord,
    /// Timbre of both members.
    pub timbre: Family,
}

impl SynthChords {
    /// The parameters.
    pub fn params(&self) -> &ChordsParams {
        &self.params
    }

    /// Number of single-chord clips (they come first; pairs follow, grammatical member first).
    pub fn num_chords(&self) -> usize {
        self.grid.len()
    }

    /// Number of minimal pairs.
    pub fn num_pairs(&self) -> usize {
        24 * self.params.pairs_per_key
    }

    /// The chord of single-chord clip `i`.
    pub fn chord(&self, i: usize) -> Chord {
        self.grid[i]
    }

    /// The design of pair `p` (a pure function of the seed and `p`).
    pub fn pair_design(&self, p: usize) -> PairDesign {
        let kidx = p % 24;
        let key = Key {
            tonic: (kidx % 12) as u8,
            mode: if kidx < 12 { Mode::Major } else { Mode::Minor },
        };
        let mut rng = Rng::new(dsp::derive_seed(self.params.seed, PAIRS_TAG, p as u64));
        let (openings, violations) = match key.mode {
            Mode::Major => (&MAJOR_OPENINGS, &MAJOR_VIOLATIONS),
            Mode::Minor => (&MINOR_OPENINGS, &MINOR_VIOLATIONS),
        };
        let op = *rng.pick(openings);
        let mk = |(deg, q): (u8, ChordQuality), inv: u8| Chord {
            root: (key.tonic + deg) % 12,
            quality: q,
            inversion: inv,
        };
        let opening = [
            mk(op[0], rng.below(3) as u8),
            mk(op[1], rng.below(3) as u8),
            mk(op[2], rng.below(3) as u8),
        ];
        let tonic_q = if key.mode == Mode::Major { MAJ } else { MIN };
        let in_key_end = mk((0, tonic_q), 0);
        let out_of_key_end = mk(*rng.pick(violations), 0);
        let timbre = *rng.pick(&self.params.timbres);
        PairDesign {
            pair: p,
            key,
            opening,
            in_key_end,
            out_of_key_end,
            timbre,
        }
    }

    /// Renders a sequence of chords, each `secs` long, with tails overlapping the next chord. Note `j` of chord `c`
    /// draws its randomness from `(stream, c, j)`, so a shared prefix renders identically.
    fn render(&self, chords: &[Chord], secs: f64, timbre: Family, stream: u64) -> Vec<f32> {
        let sr = self.params.sample_rate as f64;
        let seg = (secs * sr).round() as usize;
        let total = seg * chords.len();
        let mut y = vec![0.0f64; total];
        for (c, chord) in chords.iter().enumerate() {
            for (j, &m) in chord.voicing().iter().enumerate() {
                let mut rng = Rng::new(dsp::derive_seed(stream, c as u64, j as u64));
                // to the end of the clip, but at most 1 s past the release (the tail is then below -55 dB)
                let remaining = ((total - c * seg) as f64 / sr).min(0.9 * secs + 1.0);
                let spec = NoteSpec {
                    family: timbre,
                    midi: m as f64,
                    velocity: 90,
                    hold_secs: 0.9 * secs,
                    total_secs: remaining,
                };
                let note = render_note(&spec, self.params.sample_rate, &mut rng);
                for (k, v) in note.iter().enumerate() {
                    if let Some(o) = y.get_mut(c * seg + k) {
                        *o += v;
                    }
                }
            }
        }
        // fixed gain (not peak normalisation) so that both members of a pair share their prefix exactly
        y.iter()
            .map(|v| (0.4 * v).clamp(-1.0, 1.0) as f32)
            .collect()
    }

    fn chord_labels(l: &mut LabelSet, c: &Chord) {
        l.insert("root".into(), LabelValue::Int(c.root as i64));
        l.insert(
            "root_name".into(),
            LabelValue::Str(PC_NAMES[c.root as usize].into()),
        );
        l.insert("quality".into(), LabelValue::Str(c.quality.name().into()));
        l.insert("inversion".into(), LabelValue::Int(c.inversion as i64));
        l.insert("bass_pc".into(), LabelValue::Int(c.bass_pc() as i64));
        let mut pcs = c.pitch_classes();
        pcs.sort_unstable();
        l.insert(
            "pitch_classes".into(),
            LabelValue::Tags(
                pcs.iter()
                    .map(|p| PC_NAMES[*p as usize].to_string())
                    .collect(),
            ),
        );
        l.insert("chord".into(), LabelValue::Str(c.name()));
    }
}

impl SynthDataset for SynthChords {
    fn name(&self) -> &'static str {
        "synth-chords"
    }

    fn len(&self) -> usize {
        self.grid.len() + 2 * self.num_pairs()
    }

    fn sample_rate(&self) -> u32 {
        self.params.sample_rate
    }

    fn label_schema(&self) -> LabelSchema {
        LabelSchema::new()
            .with("kind", LabelType::String)
            .with("root", LabelType::Int)
            .with("root_name", LabelType::String)
            .with("quality", LabelType::String)
            .with("inversion", LabelType::Int)
            .with("bass_pc", LabelType::Int)
            .with("pitch_classes", LabelType::Tags)
            .with("chord", LabelType::String)
            .with("timbre", LabelType::String)
            .with("key", LabelType::String)
            .with("key_tonic", LabelType::Int)
            .with("mode", LabelType::String)
            .with("grammatical", LabelType::Int)
            .with("pair_id", LabelType::String)
            .with("n_chords", LabelType::Int)
    }

    fn score(&self, index: usize) -> Option<super::Score> {
        let p = &self.params;
        let (chords, secs, timbre, key) = if index < self.grid.len() {
            let stream = dsp::derive_seed(p.seed, CHORDS_TAG, index as u64);
            let timbre = *Rng::new(stream).pick(&p.timbres);
            (vec![self.grid[index]], p.chord_secs, timbre, None)
        } else {
            let k = index - self.grid.len();
            let d = self.pair_design(k / 2);
            let last = if k.is_multiple_of(2) {
                d.in_key_end
            } else {
                d.out_of_key_end
            };
            (
                vec![d.opening[0], d.opening[1], d.opening[2], last],
                p.progression_chord_secs,
                d.timbre,
                Some((d.key.tonic, d.key.mode == Mode::Minor)),
            )
        };
        // as `render`: chord c starts at sample c · round(secs · sr), its notes are released 0.9 · secs later
        let sr = p.sample_rate as f64;
        let seg = (secs * sr).round() / sr;
        let notes: Vec<super::TimedNote> = chords
            .iter()
            .enumerate()
            .flat_map(|(c, chord)| {
                chord.voicing().into_iter().map(move |m| super::TimedNote {
                    onset: c as f64 * seg,
                    offset: c as f64 * seg + 0.9 * secs,
                    pitch: m,
                    velocity: 90,
                    family: timbre,
                })
            })
            .collect();
        Some(super::timed_score(&notes, 120.0, key))
    }

    fn clip(&self, index: usize) -> SynthClip {
        let p = &self.params;
        let mut labels = LabelSet::new();
        if index < self.grid.len() {
            let chord = self.grid[index];
            let stream = dsp::derive_seed(p.seed, CHORDS_TAG, index as u64);
            let timbre = *Rng::new(stream).pick(&p.timbres);
            let samples = self.render(&[chord], p.chord_secs, timbre, stream ^ 1);
            labels.insert("kind".into(), LabelValue::Str("chord".into()));
            Self::chord_labels(&mut labels, &chord);
            labels.insert("timbre".into(), LabelValue::Str(timbre.name().into()));
            labels.insert("n_chords".into(), LabelValue::Int(1));
            let rep = index / (self.grid.len() / p.chord_repeats.max(1)).max(1);
            let id = if p.chord_repeats > 1 {
                format!(
                    "chord-{}-{}-inv{}-r{rep}",
                    PC_NAMES[chord.root as usize].replace('#', "s"),
                    chord.quality,
                    chord.inversion
                )
            } else {
                format!(
                    "chord-{}-{}-inv{}",
                    PC_NAMES[chord.root as usize].replace('#', "s"),
                    chord.quality,
                    chord.inversion
                )
            };
            return SynthClip {
                id,
                samples,
                sample_rate: p.sample_rate,
                split: assign_split(p.seed, CHORDS_TAG, index, p.valid_fraction, p.test_fraction),
                labels,
            };
        }
        let k = index - self.grid.len();
        let (pair, member) = (k / 2, k % 2);
        let d = self.pair_design(pair);
        let grammatical = member == 0;
        let last = if grammatical {
            d.in_key_end
        } else {
            d.out_of_key_end
        };
        let chords = [d.opening[0], d.opening[1], d.opening[2], last];
        let stream = dsp::derive_seed(p.seed, PAIRS_TAG ^ 0xFF, pair as u64);
        let samples = self.render(&chords, p.progression_chord_secs, d.timbre, stream);
        labels.insert("kind".into(), LabelValue::Str("pair".into()));
        Self::chord_labels(&mut labels, &last);
        labels.insert("timbre".into(), LabelValue::Str(d.timbre.name().into()));
        labels.insert("key".into(), LabelValue::Str(d.key.name()));
        labels.insert("key_tonic".into(), LabelValue::Int(d.key.tonic as i64));
        labels.insert(
            "mode".into(),
            LabelValue::Str(
                if d.key.mode == Mode::Major {
                    "major"
                } else {
                    "minor"
                }
                .into(),
            ),
        );
        labels.insert("grammatical".into(), LabelValue::Int(grammatical as i64));
        labels.insert("pair_id".into(), LabelValue::Str(format!("pair-{pair:04}")));
        labels.insert("n_chords".into(), LabelValue::Int(4));
        let split: Option<Split> =
            assign_split(p.seed, PAIRS_TAG, pair, p.valid_fraction, p.test_fraction);
        SynthClip {
            id: format!("pair-{pair:04}-{}", if grammatical { "in" } else { "out" }),
            samples,
            sample_rate: p.sample_rate,
            split,
            labels,
        }
    }
}

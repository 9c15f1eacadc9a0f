//! Frame-level labels of a score on an encoder's frame grid: which pitches sound, which start, how many notes,
//! the chord, the key and the position in the bar, per frame.
//!
//! Frame `f` covers `[f / fs, (f + 1) / fs)`. The conventions are pretty_midi's piano roll (a note of pitch `p`
//! sounds in frames `int(start · fs) .. int(end · fs)`, an onset marks frame `int(start · fs)`), computed from the
//! pitched notes (drums never count) after the chosen sustain convention ([`Sustain::NoteSeq`] by default: the
//! MAESTRO / Onsets-and-Frames label convention, where a note released while the pedal is down lasts until the pedal
//! is lifted). Pitch bends do not move labels (a bent note keeps its written pitch).
//!
//! * **Chord** (mirlens convention, a template rule, not a chord recogniser): among the 48 triads (12 roots ×
//!   major, minor, diminished, augmented) those whose three pitch classes all sound in the frame; if several, the one
//!   whose root is the bass (lowest sounding pitch) wins, then major < minor < diminished < augmented, then the
//!   lowest root pitch class. No complete triad gives no chord (`N`). A seventh chord is labelled by its triad
//!   (C7 → C:maj; Am7 → A:min since its bass is A, C:maj otherwise). Names follow Harte / mir_eval
//!   (`C:maj`, `F#:min`, `N`).
//! * **Key**: the last key signature at or before the frame start (`C major`, `F# minor`); none before the first.
//! * **Beat position**: metrical scores only, the position in the bar at the frame start in beats of the time
//!   signature (`0 ≤ b < numerator`), counted from the last time signature (4/4 from tick 0 when there is none).

use crate::error::{Result, SymbolicError};
use crate::roll::{Sustain, note_events};
use crate::score::{KeySig, Score};
use crate::smf::Division;
use serde::{Deserialize, Serialize};

/// Pitch-class names with sharps (Harte / mir_eval spelling).
pub const PC_NAMES: [&str; 12] = [
    "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
];

/// Triad qualities of the chord labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Triad {
    /// (0, 4, 7)
    Maj,
    /// (0, 3, 7)
    Min,
    /// (0, 3, 6)
    Dim,
    /// (0, 4, 8)
    Aug,
}

impl Triad {
    /// All qualities in tie-breaking order.
    pub const ALL: [Triad; 4] = [Triad::Maj, Triad::Min, Triad::Dim, Triad::Aug];

    /// Semitones above the root.
    pub fn intervals(self) -> [u8; 3] {
        match self {
            Triad::Maj => [0, 4, 7],
            Triad::Min => [0, 3, 7],
            Triad::Dim => [0, 3, 6],
            Triad::Aug => [0, 4, 8],
        }
    }

    /// Harte shorthand (`maj`, `min`, `dim`, `aug`).
    pub fn shorthand(self) -> &'static str {
        match self {
            Triad::Maj => "maj",
            Triad::Min => "min",
            Triad::Dim => "dim",
            Triad::Aug => "aug",
        }
    }
}

/// A chord label: root pitch class and triad quality.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FrameChord {
    /// Root pitch class, 0 = C.
    pub root: u8,
    /// Quality.
    pub quality: Triad,
}

impl FrameChord {
    /// Harte label (`C:maj`).
    pub fn harte(&self) -> String {
        format!(
            "{}:{}",
            PC_NAMES[self.root as usize % 12],
            self.quality.shorthand()
        )
    }

    /// Every chord label in a fixed order: `N` first, then roots C…B × maj, min, dim, aug.
    pub fn all_labels() -> Vec<String> {
        let mut v = vec!["N".to_string()];
        for root in 0..12u8 {
            for quality in Triad::ALL {
                v.push(FrameChord { root, quality }.harte());
            }
        }
        v
    }
}

/// The chord of a set of sounding pitches (see the module rule), `None` for no complete triad.
pub fn chord_of(pitches: &[u8]) -> Option<FrameChord> {
    let bass = *pitches.iter().min()? % 12;
    let mut pcs = [false; 12];
    for &p in pitches {
        pcs[p as usize % 12] = true;
    }
    let mut best: Option<(u8, usize, u8, FrameChord)> = None;
    for root in 0..12u8 {
        for (qi, quality) in Triad::ALL.into_iter().enumerate() {
            if quality
                .intervals()
                .iter()
                .all(|i| pcs[((root + i) % 12) as usize])
            {
                let key = ((root != bass) as u8, qi, root, FrameChord { root, quality });
                if best.is_none_or(|b| (key.0, key.1, key.2) < (b.0, b.1, b.2)) {
                    best = Some(key);
                }
            }
        }
    }
    best.map(|b| b.3)
}

/// Options of [`frame_labels`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FrameLabelOptions {
    /// Frames per second (the encoder's frame rate).
    pub fs: f64,
    /// Number of frames to label (the encoder's frame count for the clip; frames past the score are silent).
    pub frames: usize,
    /// Note-length convention.
    pub sustain: Sustain,
}

impl FrameLabelOptions {
    /// `frames` frames at `fs` with note_seq sustain.
    pub fn new(fs: f64, frames: usize) -> FrameLabelOptions {
        FrameLabelOptions {
            fs,
            frames,
            sustain: Sustain::NoteSeq,
        }
    }
}

/// Labels of every frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FrameLabels {
    /// Frames per second.
    pub fs: f64,
    /// Sounding MIDI pitches per frame, ascending.
    pub pitches: Vec<Vec<u8>>,
    /// Pitches whose note starts in the frame, ascending.
    pub onsets: Vec<Vec<u8>>,
    /// Chord per frame.
    pub chords: Vec<Option<FrameChord>>,
    /// Key signature in force per frame.
    pub keys: Vec<Option<KeySig>>,
    /// Position in the bar in beats per frame (metrical scores only).
    pub beats: Vec<Option<f64>>,
}

impl FrameLabels {
    /// Number of frames.
    pub fn len(&self) -> usize {
        self.pitches.len()
    }

    /// Whether there are no frames.
    pub fn is_empty(&self) -> bool {
        self.pitches.is_empty()
    }
}

/// Most frames [`frame_labels`] accepts (≈ 15.5 hours at 75 Hz).
pub const MAX_LABEL_FRAMES: usize = 1 << 22;

/// Frame labels of `score` (see the module documentation for every rule).
pub fn frame_labels(score: &Score, opts: &FrameLabelOptions) -> Result<FrameLabels> {
    if !(opts.fs.is_finite() && opts.fs > 0.0) {
        return Err(SymbolicError::InvalidOption {
            what: "fs",
            value: opts.fs.to_string(),
            expected: "a positive frame rate".into(),
        });
    }
    if opts.frames > MAX_LABEL_FRAMES {
        return Err(SymbolicError::TooLarge {
            what: "label frames",
            value: opts.frames as u64,
            limit: MAX_LABEL_FRAMES as u64,
        });
    }
    let n = opts.frames;
    let fs = opts.fs;
    let col = |t: f64| -> usize {
        if t.is_finite() && t > 0.0 {
            (t * fs) as usize
        } else {
            0
        }
    };
    let mut pitches: Vec<Vec<u8>> = vec![Vec::new(); n];
    let mut onsets: Vec<Vec<u8>> = vec![Vec::new(); n];
    for (start, end, note) in note_events(score, opts.sustain) {
        let (a, b) = (col(start).min(n), col(end).min(n));
        for f in &mut pitches[a..b] {
            f.push(note.pitch);
        }
        if let Some(f) = onsets.get_mut(col(start)) {
            f.push(note.pitch);
        }
    }
    for v in pitches.iter_mut().chain(onsets.iter_mut()) {
        v.sort_unstable();
        v.dedup();
    }
    let chords = pitches.iter().map(|p| chord_of(p)).collect();
    let map = score.tempo_map();
    let mut key_sigs = score.key_sigs.clone();
    key_sigs.sort_by_key(|k| k.tick);
    let key_times: Vec<f64> = key_sigs.iter().map(|k| map.sec(k.tick)).collect();
    let keys = (0..n)
        .map(|f| {
            let t = f as f64 / fs;
            let k = key_times.partition_point(|&s| s <= t);
            (k > 0).then(|| key_sigs[k - 1])
        })
        .collect();
    let beats = match score.division {
        Division::Tpq(tpq) => {
            let mut sigs = score.time_sigs.clone();
            sigs.sort_by_key(|s| s.tick);
            (0..n)
                .map(|f| {
                    let tick = map.tick_at(f as f64 / fs).max(0.0);
                    let k = sigs.partition_point(|s| (s.tick as f64) <= tick + 1e-9);
                    let (start, num, den) = if k == 0 {
                        (0.0, 4.0, 4.0)
                    } else {
                        let s = &sigs[k - 1];
                        (
                            s.tick as f64,
                            s.numerator.max(1) as f64,
                            s.denominator() as f64,
                        )
                    };
                    let per_beat = tpq as f64 * 4.0 / den;
                    let b = ((tick - start) / per_beat).rem_euclid(num);
                    // snap values within a millionth of a beat of an integer (tick ↔ second round trips)
                    let r = b.round();
                    Some(if (b - r).abs() < 1e-6 { r % num } else { b })
                })
                .collect()
        }
        Division::Smpte { .. } => vec![None; n],
    };
    Ok(FrameLabels {
        fs,
        pitches,
        onsets,
        chords,
        keys,
        beats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::score::{Note, Tempo, TimeSig, Track};

    fn score(notes: &[(u64, u64, u8)], tpq: u16, us: u32, sigs: Vec<TimeSig>) -> Score {
        Score {
            format: 1,
            division: Division::Tpq(tpq),
            tempos: vec![Tempo {
                tick: 0,
                us_per_quarter: us,
            }],
            time_sigs: sigs,
            key_sigs: vec![
                KeySig {
                    tick: 0,
                    sharps: 0,
                    minor: false,
                },
                KeySig {
                    tick: tpq as u64 * 4,
                    sharps: 1,
                    minor: true,
                },
            ],
            tracks: vec![Track {
                midi_track: 1,
                channel: 0,
                program: 0,
                is_drum: false,
                name: String::new(),
                notes: notes
                    .iter()
                    .enumerate()
                    .map(|(i, &(start, end, pitch))| Note {
                        start,
                        end,
                        pitch,
                        velocity: 80,
                        order: i as u32,
                    })
                    .collect(),
                controls: vec![],
                bends: vec![],
            }],
            end_tick: notes.iter().map(|n| n.1).max().unwrap_or(0),
            stats: Default::default(),
        }
    }

    #[test]
    fn planted_notes_give_frames_onsets_chords_keys_and_beats() {
        // 120 qpm, tpq 100: one quarter = 0.5 s = 50 frames at 100 Hz; 3/4 from bar 0
        let sig = TimeSig {
            tick: 0,
            numerator: 3,
            denominator_exp: 2,
            clocks_per_click: 24,
            n32_per_quarter: 8,
        };
        let s = score(
            &[
                (0, 100, 60),
                (0, 100, 64),
                (0, 100, 67),
                (100, 250, 57),
                (150, 250, 45),
            ],
            100,
            500_000,
            vec![sig],
        );
        let l = frame_labels(&s, &FrameLabelOptions::new(100.0, 150)).unwrap();
        assert_eq!(l.len(), 150);
        assert_eq!(l.pitches[0], vec![60, 64, 67]);
        assert_eq!(l.pitches[49], vec![60, 64, 67]);
        assert_eq!(l.pitches[50], vec![57]);
        assert_eq!(l.pitches[75], vec![45, 57]);
        assert_eq!(l.pitches[124], vec![45, 57]);
        assert!(l.pitches[125].is_empty() && l.pitches[149].is_empty());
        assert_eq!(l.onsets[0], vec![60, 64, 67]);
        assert_eq!(l.onsets[50], vec![57]);
        assert_eq!(l.onsets[75], vec![45]);
        assert!(l.onsets[1].is_empty());
        assert_eq!(l.chords[0].unwrap().harte(), "C:maj");
        assert_eq!(l.chords[50], None);
        assert_eq!(l.chords[75], None);
        // keys: C major until tick 400 = 2 s = frame 200 (beyond), so C major everywhere
        assert!(l.keys.iter().all(|k| k.unwrap().name() == "C major"));
        // beats: 0 at frame 0, 1 at frame 50, 2 at frame 100, 0.5 at frame 25
        assert_eq!(l.beats[0], Some(0.0));
        assert_eq!(l.beats[25], Some(0.5));
        assert_eq!(l.beats[50], Some(1.0));
        assert_eq!(l.beats[100], Some(2.0));
        let long = frame_labels(&s, &FrameLabelOptions::new(100.0, 260)).unwrap();
        assert_eq!(long.beats[150], Some(0.0));
        assert_eq!(long.keys[199].unwrap().name(), "C major");
        assert_eq!(long.keys[200].unwrap().name(), "E minor");
    }

    #[test]
    fn chord_rule_prefers_the_bass_root_then_quality_order() {
        let c = |p: &[u8]| chord_of(p).map(|c| c.harte()).unwrap_or("N".into());
        assert_eq!(c(&[48, 52, 55, 58]), "C:maj"); // C7: C:maj and E:dim are complete; the bass is C
        assert_eq!(c(&[57, 60, 64, 67]), "A:min"); // Am7 with A in the bass
        assert_eq!(c(&[48, 57, 64, 67]), "C:maj"); // Am7 over C
        assert_eq!(c(&[60, 64, 68]), "C:aug");
        assert_eq!(c(&[64, 68, 72]), "E:aug");
        assert_eq!(c(&[59, 62, 65]), "B:dim");
        assert_eq!(c(&[60, 67]), "N");
        assert_eq!(c(&[]), "N");
        assert_eq!(FrameChord::all_labels().len(), 49);
    }

    #[test]
    fn sustain_extends_notes_under_the_pedal() {
        let mut s = score(&[(0, 50, 60)], 100, 500_000, vec![]);
        s.tracks[0].controls = vec![
            crate::score::Control {
                tick: 10,
                controller: 64,
                value: 127,
            },
            crate::score::Control {
                tick: 100,
                controller: 64,
                value: 0,
            },
        ];
        let plain = FrameLabelOptions {
            sustain: Sustain::None,
            ..FrameLabelOptions::new(100.0, 60)
        };
        let a = frame_labels(&s, &plain).unwrap();
        let b = frame_labels(&s, &FrameLabelOptions::new(100.0, 60)).unwrap();
        assert_eq!(a.pitches[24], vec![60]);
        assert!(a.pitches[25].is_empty());
        assert_eq!(b.pitches[49], vec![60]); // held to the pedal release at tick 100 = 0.5 s
        assert!(b.pitches[50].is_empty());
        assert!(frame_labels(&s, &FrameLabelOptions::new(0.0, 1)).is_err());
        assert!(frame_labels(&s, &FrameLabelOptions::new(100.0, MAX_LABEL_FRAMES + 1)).is_err());
    }
}

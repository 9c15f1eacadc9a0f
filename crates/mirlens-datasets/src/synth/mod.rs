//! Built-in synthetic music with exact ground truth, deterministic by seed, needing no files.
//!
//! * [`notes`] — `synth-notes`: NSynth-like single notes from eleven instrument families;
//! * [`chords`] — `synth-chords`: chords with root/quality/inversion labels and in-key vs out-of-key minimal pairs;
//! * [`sequences`] — `synth-sequences`: melody + chords + bass in varied key, tempo, timbre and loudness.
//!
//! Every generator implements [`SynthDataset`]: clip `i` is a pure function of `(seed, i)`, so clips can be produced
//! in any order or in parallel, and has a score aligned with its audio ([`SynthDataset::score`], the source of
//! frame-level labels). [`write_dataset`] writes `audio/<id>.wav` (16-bit PCM), `midi/<id>.mid` and
//! `manifest.jsonl`.

pub mod chords;
pub mod dsp;
pub mod notes;
pub mod pieces;
pub mod sequences;

use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, Manifest, ManifestEntry, Split};
use mirlens_core::{CoreError, LabelSet};
use mirlens_symbolic::{Division, KeySig, Note, Score, Tempo, TimeSig, Track};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};

pub use chords::{ChordQuality, ChordsParams, SynthChords};
pub use notes::{Family, NotesParams, SynthNotes};
pub use pieces::{PieceDesign, PiecesParams, SynthPieces};
pub use sequences::{SequencesParams, SynthSequences};

/// One generated clip: waveform and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthClip {
    /// Unique id within the dataset (also the WAV file stem).
    pub id: String,
    /// Mono samples, peak ≤ 1.
    pub samples: Vec<f32>,
    /// Sample rate in Hz.
    pub sample_rate: u32,
    /// Split the clip is assigned to.
    pub split: Option<Split>,
    /// Typed labels (see the generator's [`SynthDataset::label_schema`]).
    pub labels: LabelSet,
}

impl SynthClip {
    /// Duration in seconds.
    pub fn duration_secs(&self) -> f64 {
        self.samples.len() as f64 / self.sample_rate as f64
    }
}

/// A deterministic, random-access synthetic dataset.
pub trait SynthDataset: Sync {
    /// Short name (`synth-notes`, `synth-chords`).
    fn name(&self) -> &'static str;
    /// Number of clips.
    fn len(&self) -> usize;
    /// Whether there are no clips.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Sample rate of every clip.
    fn sample_rate(&self) -> u32;
    /// Types of the labels every clip carries.
    fn label_schema(&self) -> LabelSchema;
    /// Generates clip `index` (`< len()`); a pure function of the seed and the index.
    fn clip(&self, index: usize) -> SynthClip;
    /// Generates all clips in order.
    fn clips(&self) -> Box<dyn Iterator<Item = SynthClip> + '_> {
        Box::new((0..self.len()).map(|i| self.clip(i)))
    }
    /// The manifest facts of clip `index` (id, split, labels, duration). The default renders the clip; generators
    /// that know them without rendering override it (the manifest of a built-in set is then cheap).
    fn describe(&self, index: usize) -> SynthMeta {
        let c = self.clip(index);
        let text = self
            .score(index)
            .map(|s| clip_captions(self.name(), &c.id, &c.labels, &s))
            .unwrap_or_default();
        SynthMeta {
            duration_secs: c.duration_secs(),
            id: c.id,
            split: c.split,
            labels: c.labels,
            text,
        }
    }
    /// The score of clip `index`, aligned with its audio (time 0 = the first sample): the source of frame-level
    /// labels. Every built-in generator has one.
    fn score(&self, index: usize) -> Option<Score>;
}

/// What a manifest needs of a generated clip.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthMeta {
    /// Clip id.
    pub id: String,
    /// Split.
    pub split: Option<Split>,
    /// Labels.
    pub labels: LabelSet,
    /// Duration in seconds.
    pub duration_secs: f64,
    /// Captions ([`clip_captions`]).
    pub text: Vec<String>,
}

/// 3–5 English captions of a generated clip (`mirlens_symbolic::captions`), from its score and labels: kind by
/// dataset (`synth-notes` one note, `synth-chords` one chord — a minimal pair is a sequence —, `synth-sequences` a
/// sequence), the program of the track with the most notes, the notes in beats, the chord from the `root_name` and
/// `quality` labels, the key signature and tempo of the score.
pub fn clip_captions(dataset: &str, id: &str, labels: &LabelSet, score: &Score) -> Vec<String> {
    use mirlens_core::LabelValue;
    use mirlens_symbolic::captions::{ClipKind, ClipMeta, captions};
    let tpq = match score.division {
        Division::Tpq(t) => t.max(1) as f64,
        Division::Smpte { .. } => return Vec::new(),
    };
    let s = |k: &str| match labels.get(k) {
        Some(LabelValue::Str(v)) => Some(v.clone()),
        _ => None,
    };
    let kind = match (dataset, s("kind").as_deref()) {
        ("synth-notes", _) => ClipKind::Note,
        ("synth-chords", Some("chord")) => ClipKind::Chord,
        _ => ClipKind::Sequence,
    };
    let chord = match (s("root_name"), s("quality")) {
        (Some(r), Some(q)) if kind == ClipKind::Chord => {
            let q = match q.as_str() {
                "maj" => "major",
                "min" => "minor",
                "dim" => "diminished",
                "aug" => "augmented",
                "7" => "dominant seventh",
                "maj7" => "major seventh",
                "min7" => "minor seventh",
                other => other,
            };
            Some(format!("{r} {q}"))
        }
        _ => None,
    };
    let program = score
        .tracks
        .iter()
        .max_by_key(|t| t.notes.len())
        .map_or(0, |t| t.program);
    let events = caption_events(score.tracks.iter().flat_map(|t| t.notes.iter()), tpq);
    let meta = ClipMeta {
        id: id.to_string(),
        kind,
        program,
        events,
        chord,
        key: score.key_sigs.first().map(|k| (k.tonic(), k.minor)),
        qpm: score.tempos.first().map_or(120.0, |t| t.qpm()),
        time_sig: score
            .time_sigs
            .first()
            .map_or((4, 4), |t| (t.numerator, t.denominator() as u8)),
    };
    captions(&meta)
}

/// Notes as caption events `(onset, duration, [pitch], velocity)`, times in beats of `tpq` ticks.
pub(crate) fn caption_events<'a>(
    notes: impl Iterator<Item = &'a mirlens_symbolic::Note>,
    tpq: f64,
) -> Vec<(f64, f64, Vec<u8>, u8)> {
    notes
        .map(|n| {
            (
                n.start as f64 / tpq,
                n.duration() as f64 / tpq,
                vec![n.pitch],
                n.velocity,
            )
        })
        .collect()
}

/// One note of a generated clip, in seconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimedNote {
    /// Onset, seconds.
    pub onset: f64,
    /// Key release, seconds.
    pub offset: f64,
    /// MIDI pitch.
    pub pitch: u8,
    /// MIDI velocity.
    pub velocity: u8,
    /// Instrument family (one track per family, with [`Family::gm_program`]).
    pub family: Family,
}

/// Ticks per quarter of generated scores.
pub const SCORE_TPQ: u16 = 960;

/// A generated clip as a score: format 1, [`SCORE_TPQ`] ticks per quarter, one tempo, 4/4, an optional key
/// signature, one track per instrument family (channel = track index, skipping the drum channel) in order of first
/// appearance. Times are rounded to the nearest tick (≤ 0.3 ms at 100 qpm).
pub fn timed_score(notes: &[TimedNote], qpm: f64, key: Option<(u8, bool)>) -> Score {
    let qpm = qpm.clamp(10.0, 1000.0);
    let us = (6e7 / qpm).round() as u32;
    let sec_per_tick = us as f64 / 1e6 / SCORE_TPQ as f64;
    let tick = |t: f64| (t.max(0.0) / sec_per_tick).round() as u64;
    let mut tracks: Vec<Track> = Vec::new();
    for (order, n) in notes.iter().enumerate() {
        let program = n.family.gm_program();
        let k = match tracks.iter().position(|t| t.program == program) {
            Some(k) => k,
            None => {
                let ch = tracks.len() as u8;
                tracks.push(Track {
                    midi_track: tracks.len() + 1,
                    channel: if ch >= 9 { ch + 1 } else { ch },
                    program,
                    is_drum: false,
                    name: n.family.name().to_string(),
                    notes: Vec::new(),
                    controls: Vec::new(),
                    bends: Vec::new(),
                });
                tracks.len() - 1
            }
        };
        let start = tick(n.onset);
        tracks[k].notes.push(Note {
            start,
            end: tick(n.offset).max(start + 1),
            pitch: n.pitch.min(127),
            velocity: n.velocity.clamp(1, 127),
            order: order as u32,
        });
    }
    let end_tick = tracks
        .iter()
        .flat_map(|t| t.notes.iter().map(|n| n.end))
        .max()
        .unwrap_or(0);
    Score {
        format: 1,
        division: Division::Tpq(SCORE_TPQ),
        tempos: vec![Tempo {
            tick: 0,
            us_per_quarter: us,
        }],
        time_sigs: vec![TimeSig {
            tick: 0,
            numerator: 4,
            denominator_exp: 2,
            clocks_per_click: 24,
            n32_per_quarter: 8,
        }],
        key_sigs: key
            .map(|(tonic, minor)| {
                vec![KeySig {
                    tick: 0,
                    sharps: mirlens_symbolic::captions::sharps_of(tonic, minor),
                    minor,
                }]
            })
            .unwrap_or_default(),
        tracks,
        end_tick,
        stats: Default::default(),
    }
}

/// Common parameter checks.
pub(crate) fn check_common(
    sample_rate: u32,
    duration: f64,
    valid: f64,
    test: f64,
) -> Result<(), CoreError> {
    if !(8000..=192_000).contains(&sample_rate) {
        return Err(CoreError::invalid(
            "sample_rate",
            sample_rate,
            "8000..=192000 Hz",
        ));
    }
    if !(duration.is_finite() && (0.05..=60.0).contains(&duration)) {
        return Err(CoreError::invalid("duration_secs", duration, "0.05..=60 s"));
    }
    if !(valid >= 0.0 && test >= 0.0 && valid + test <= 1.0) {
        return Err(CoreError::invalid(
            "valid_fraction + test_fraction",
            format!("{valid} + {test}"),
            "non-negative fractions summing to at most 1",
        ));
    }
    Ok(())
}

/// Assigns a clip to a split from `(seed, tag, index)` alone.
pub(crate) fn assign_split(
    seed: u64,
    tag: u64,
    index: usize,
    valid: f64,
    test: f64,
) -> Option<Split> {
    let u = dsp::Rng::new(dsp::derive_seed(seed, tag ^ 0x5350_4C49, index as u64)).uniform();
    Some(if u < test {
        Split::Test
    } else if u < test + valid {
        Split::Valid
    } else {
        Split::Train
    })
}

/// Writes every clip of `ds` as `out/audio/<id>.wav` (16-bit PCM), its score as `out/midi/<id>.mid` (the
/// manifest's `midi` field: frame-level labels at extraction) plus `out/manifest.jsonl`, using up to `threads`
/// threads (0 = all cores). `progress(done)` is called after each clip. Returns the manifest (absolute paths).
/// Each file is written atomically; the manifest is written last, so an interrupted run leaves no manifest.
pub fn write_dataset(
    ds: &dyn SynthDataset,
    out: &Path,
    threads: usize,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<Manifest> {
    let audio = out.join("audio");
    std::fs::create_dir_all(&audio).map_err(|e| DatasetError::io(&audio, e))?;
    let midi_dir = out.join("midi");
    std::fs::create_dir_all(&midi_dir).map_err(|e| DatasetError::io(&midi_dir, e))?;
    let n = ds.len();
    let threads = if threads == 0 {
        std::thread::available_parallelism()
            .map(|p| p.get())
            .unwrap_or(1)
    } else {
        threads
    }
    .clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Vec<Result<Vec<(usize, ManifestEntry)>>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| -> Result<Vec<(usize, ManifestEntry)>> {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break;
                        }
                        let clip = ds.clip(i);
                        let path = audio.join(format!("{}.wav", clip.id));
                        mirlens_audio::wav::write_wav(
                            &path,
                            &clip.samples,
                            clip.sample_rate,
                            mirlens_audio::wav::WavFormat::Pcm16,
                        )
                        .map_err(|e| DatasetError::Wav {
                            path: path.clone(),
                            message: mirlens_core::error_chain(&e),
                        })?;
                        let midi = match ds.score(i) {
                            Some(score) => {
                                let m = midi_dir.join(format!("{}.mid", clip.id));
                                mirlens_symbolic::write_midi_file(&m, &score).map_err(|e| {
                                    DatasetError::Midi {
                                        path: m.clone(),
                                        message: mirlens_core::error_chain(&e),
                                    }
                                })?;
                                Some(m)
                            }
                            None => None,
                        };
                        let duration = clip.duration_secs();
                        let text = ds
                            .score(i)
                            .map(|s| clip_captions(ds.name(), &clip.id, &clip.labels, &s))
                            .unwrap_or_default();
                        mine.push((
                            i,
                            ManifestEntry {
                                id: clip.id,
                                path,
                                offset_secs: 0.0,
                                duration_secs: Some(duration),
                                split: clip.split,
                                labels: clip.labels,
                                midi,
                                text,
                            },
                        ));
                        progress(done.fetch_add(1, Ordering::Relaxed) + 1);
                    }
                    Ok(mine)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| {
                    Err(DatasetError::Wav {
                        path: audio.clone(),
                        message: "a generator thread panicked".into(),
                    })
                })
            })
            .collect()
    });
    let mut all = Vec::with_capacity(n);
    for r in results {
        all.extend(r?);
    }
    all.sort_by_key(|(i, _)| *i);
    let manifest = Manifest {
        entries: all.into_iter().map(|(_, e)| e).collect(),
        label_schema: ds.label_schema(),
    };
    let mpath = out.join("manifest.jsonl");
    manifest.validate(&mpath)?;
    manifest.write(&mpath)?;
    Ok(manifest)
}

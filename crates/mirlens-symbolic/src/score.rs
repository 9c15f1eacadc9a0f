//! The [`Score`] model: notes in ticks per (MIDI track, channel, program), tempo / time-signature / key-signature
//! maps, controls, pitch bends and sustain-pedal intervals, built from a framed SMF with explicit pairing rules.

use crate::error::{Result, SymbolicError};
use crate::smf::{Division, RawKind, RawSmf, read_smf};
use midly::MidiMessage;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::path::Path;

/// How a note-off is matched to open notes of the same (track, channel, pitch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pairing {
    /// The oldest open note is closed (miditoolkit, symusic, miditok, most synths). Zero-length notes are kept.
    #[default]
    Fifo,
    /// pretty_midi 0.2.11: a note-off closes every open note that started at an earlier tick; notes that started at
    /// the note-off's own tick stay open if others were closed, and are dropped otherwise.
    CloseAll,
}

/// Which program a note is assigned to when a program change falls between its note-on and note-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgramAt {
    /// The program in force at the note-on (symusic).
    #[default]
    NoteOn,
    /// The program in force at the note-off (pretty_midi, miditoolkit).
    NoteOff,
}

/// Which tracks tempo, time-signature and key-signature events are read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TempoSource {
    /// Every track, merged by tick (miditoolkit, symusic, rustysynth).
    #[default]
    AllTracks,
    /// Track 0 only (pretty_midi).
    FirstTrack,
}

/// Options of [`Score`] construction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ParseOptions {
    /// Note pairing rule.
    pub pairing: Pairing,
    /// Program assignment rule.
    pub program_at: ProgramAt,
    /// Where tempo and signature events are read.
    pub tempo_source: TempoSource,
}

impl ParseOptions {
    /// The options that reproduce `pretty_midi.PrettyMIDI` 0.2.11 instruments and timing.
    pub fn pretty_midi() -> Self {
        ParseOptions {
            pairing: Pairing::CloseAll,
            program_at: ProgramAt::NoteOff,
            tempo_source: TempoSource::FirstTrack,
        }
    }
}

/// A note, times in ticks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Note {
    /// Onset tick.
    pub start: u64,
    /// Offset tick (`>= start`).
    pub end: u64,
    /// MIDI pitch 0–127.
    pub pitch: u8,
    /// Note-on velocity 1–127.
    pub velocity: u8,
    /// Index of the note-on among all note-ons of the file (source order, for stable ordering).
    pub order: u32,
}

impl Note {
    /// Whether the note starts and ends on the same tick.
    pub fn is_zero_length(&self) -> bool {
        self.end == self.start
    }
    /// Duration in ticks.
    pub fn duration(&self) -> u64 {
        self.end - self.start
    }
}

/// A tempo change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tempo {
    /// Tick.
    pub tick: u64,
    /// Microseconds per quarter note.
    pub us_per_quarter: u32,
}

impl Tempo {
    /// Quarter notes per minute.
    pub fn qpm(&self) -> f64 {
        6e7 / self.us_per_quarter as f64
    }
}

/// A time signature `numerator / 2^denominator_exp`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeSig {
    /// Tick.
    pub tick: u64,
    /// Numerator.
    pub numerator: u8,
    /// Denominator exponent as stored in the file (denominator = 2^exp).
    pub denominator_exp: u8,
    /// MIDI clocks per metronome click.
    pub clocks_per_click: u8,
    /// Notated 32nd notes per quarter note.
    pub n32_per_quarter: u8,
}

impl TimeSig {
    /// The denominator (2^exp; exponents above 31 saturate).
    pub fn denominator(&self) -> u32 {
        1u32 << self.denominator_exp.min(31)
    }
}

/// A key signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeySig {
    /// Tick.
    pub tick: u64,
    /// Sharps (positive) or flats (negative), −7…7.
    pub sharps: i8,
    /// Minor mode.
    pub minor: bool,
}

impl KeySig {
    /// Tonic pitch class 0–11: major `7·sf mod 12`, minor `7·sf + 9 mod 12`.
    pub fn tonic(&self) -> u8 {
        let base = 7 * self.sharps as i32 + if self.minor { 9 } else { 0 };
        base.rem_euclid(12) as u8
    }
    /// pretty_midi's key number: tonic + 12 for minor (0–23).
    pub fn key_number(&self) -> u8 {
        self.tonic() + if self.minor { 12 } else { 0 }
    }
    /// Name such as `D major` or `B minor` (sharps spelled with `#`, flats with `b` by the signature's sign).
    pub fn name(&self) -> String {
        const SHARP: [&str; 12] = [
            "C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B",
        ];
        const FLAT: [&str; 12] = [
            "C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B",
        ];
        let t = self.tonic() as usize;
        let n = if self.sharps < 0 { FLAT[t] } else { SHARP[t] };
        format!("{n} {}", if self.minor { "minor" } else { "major" })
    }
}

/// A control change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Control {
    /// Tick.
    pub tick: u64,
    /// Controller number 0–127.
    pub controller: u8,
    /// Value 0–127.
    pub value: u8,
}

/// A pitch bend, value −8192…8191 (±2 semitones by default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bend {
    /// Tick.
    pub tick: u64,
    /// Bend value.
    pub value: i16,
}

/// A sustain-pedal interval (CC64 ≥ 64 down, < 64 up); `end` is `None` when the pedal is never released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pedal {
    /// Tick the pedal goes down.
    pub start: u64,
    /// Tick the pedal goes up.
    pub end: Option<u64>,
}

/// The notes of one (MIDI track, channel, program) with the controls and bends of that channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// Index of the `MTrk` chunk in the file.
    pub midi_track: usize,
    /// Channel 0–15.
    pub channel: u8,
    /// Program 0–127.
    pub program: u8,
    /// Channel 10 (index 9).
    pub is_drum: bool,
    /// Track name (first track-name meta event of the MIDI track).
    pub name: String,
    /// Notes in the order they were closed (pretty_midi order); use [`Track::sorted_notes`] for onset order.
    pub notes: Vec<Note>,
    /// Control changes in file order.
    pub controls: Vec<Control>,
    /// Pitch bends in file order.
    pub bends: Vec<Bend>,
}

impl Track {
    /// Sustain-pedal intervals from CC64 at `threshold` (down when `value >= threshold`).
    pub fn pedals(&self, threshold: u8) -> Vec<Pedal> {
        let mut out = Vec::new();
        let mut down: Option<u64> = None;
        for c in self.controls.iter().filter(|c| c.controller == 64) {
            let on = c.value >= threshold;
            match (down, on) {
                (None, true) => down = Some(c.tick),
                (Some(s), false) => {
                    out.push(Pedal {
                        start: s,
                        end: Some(c.tick),
                    });
                    down = None;
                }
                _ => {}
            }
        }
        if let Some(s) = down {
            out.push(Pedal {
                start: s,
                end: None,
            });
        }
        out
    }

    /// Notes sorted by onset, then source order (stable, like symusic).
    pub fn sorted_notes(&self) -> Vec<Note> {
        let mut v = self.notes.clone();
        v.sort_by_key(|n| (n.start, n.order));
        v
    }
}

/// Counts of irregularities met while pairing notes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ParseStats {
    /// Note-ons never closed (dropped).
    pub unterminated: usize,
    /// Zero-length notes kept (FIFO) — see [`Note::is_zero_length`].
    pub zero_length: usize,
    /// Zero-length notes dropped (close-all pairing).
    pub zero_length_dropped: usize,
    /// Note-offs with no open note (ignored).
    pub spurious_note_offs: usize,
}

/// Conversion between ticks and seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct TempoMap {
    /// `(start tick, start second, seconds per tick)` per segment, sorted by tick, first at tick 0.
    segments: Vec<(u64, f64, f64)>,
}

impl TempoMap {
    /// Build from a division and tempo events (sorted by tick). Metrical timing follows pretty_midi's arithmetic
    /// exactly (`scale = 60 / ((6e7 / µspq) · tpq)`, `sec = s_k + scale_k · (tick − τ_k)`), so seconds agree to the
    /// last bit; SMPTE timing is `tick / (fps · tpf)`.
    pub fn new(division: Division, tempos: &[Tempo]) -> TempoMap {
        match division {
            Division::Smpte { fps, tpf } => TempoMap {
                segments: vec![(0, 0.0, 1.0 / (fps.as_f64() * tpf as f64))],
            },
            Division::Tpq(tpq) => {
                let scale = |us: u32| 60.0 / ((6e7 / us as f64) * tpq as f64);
                let mut scales: Vec<(u64, f64)> = vec![(0, scale(500_000))];
                for t in tempos {
                    let s = scale(t.us_per_quarter);
                    if t.tick == 0 {
                        scales = vec![(0, s)];
                    } else if scales.last().map(|l| l.1) != Some(s) {
                        scales.push((t.tick, s));
                    }
                }
                let mut segments = Vec::with_capacity(scales.len());
                let mut sec = 0.0;
                for (i, &(tick, s)) in scales.iter().enumerate() {
                    if i > 0 {
                        let (pt, ps) = scales[i - 1];
                        sec += ps * (tick - pt) as f64;
                    }
                    segments.push((tick, sec, s));
                }
                TempoMap { segments }
            }
        }
    }

    /// Seconds at a tick.
    pub fn sec(&self, tick: u64) -> f64 {
        let k = self.segment(tick);
        let (t0, s0, scale) = self.segments[k];
        s0 + scale * (tick - t0) as f64
    }

    /// Fractional tick at a time in seconds (inverse of [`TempoMap::sec`]).
    pub fn tick_at(&self, sec: f64) -> f64 {
        let k = self
            .segments
            .partition_point(|s| s.1 <= sec)
            .saturating_sub(1);
        let (t0, s0, scale) = self.segments[k];
        t0 as f64 + (sec - s0) / scale
    }

    fn segment(&self, tick: u64) -> usize {
        self.segments
            .partition_point(|s| s.0 <= tick)
            .saturating_sub(1)
    }
}

/// A parsed score (one per file for formats 0 and 1, one per track for format 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// SMF format of the source (0, 1 or 2).
    pub format: u16,
    /// Time division.
    pub division: Division,
    /// Tempo events sorted by tick (before the first: 500,000 µs per quarter).
    pub tempos: Vec<Tempo>,
    /// Time signatures sorted by tick (before the first: 4/4).
    pub time_sigs: Vec<TimeSig>,
    /// Key signatures sorted by tick.
    pub key_sigs: Vec<KeySig>,
    /// Tracks, one per (MIDI track, channel, program) that has notes, in order of their first completed note.
    pub tracks: Vec<Track>,
    /// Largest tick of any event read (notes, controls, meta events).
    pub end_tick: u64,
    /// Pairing irregularities.
    pub stats: ParseStats,
}

/// A parsed file: its format and its scores (one per `MTrk` chunk for format 2).
#[derive(Debug, Clone, PartialEq)]
pub struct MidiFile {
    /// SMF format.
    pub format: u16,
    /// One score for formats 0 and 1; one per track for format 2.
    pub scores: Vec<Score>,
}

impl MidiFile {
    /// Parse bytes; `path` labels errors.
    pub fn parse(path: &Path, bytes: &[u8], opts: &ParseOptions) -> Result<MidiFile> {
        let raw = read_smf(path, bytes)?;
        let scores = if raw.format == 2 {
            (0..raw.tracks.len())
                .map(|i| build_score(&raw, &[i], opts))
                .collect()
        } else {
            let all: Vec<usize> = (0..raw.tracks.len()).collect();
            vec![build_score(&raw, &all, opts)]
        };
        Ok(MidiFile {
            format: raw.format,
            scores,
        })
    }

    /// Read and parse a file.
    pub fn read(path: &Path, opts: &ParseOptions) -> Result<MidiFile> {
        let bytes = std::fs::read(path).map_err(|source| SymbolicError::Io {
            path: path.to_path_buf(),
            action: "cannot read MIDI file",
            source,
        })?;
        MidiFile::parse(path, &bytes, opts)
    }
}

impl Score {
    /// Parse a format 0 or 1 file (format 2: the first pattern; use [`MidiFile`] for all of them).
    pub fn parse(path: &Path, bytes: &[u8], opts: &ParseOptions) -> Result<Score> {
        let mut f = MidiFile::parse(path, bytes, opts)?;
        if f.scores.is_empty() {
            return Err(SymbolicError::Malformed {
                path: path.to_path_buf(),
                offset: 0,
                reason: "format 2 file without tracks".into(),
            });
        }
        Ok(f.scores.swap_remove(0))
    }

    /// Read and parse a file (see [`Score::parse`]).
    pub fn read(path: &Path, opts: &ParseOptions) -> Result<Score> {
        let bytes = std::fs::read(path).map_err(|source| SymbolicError::Io {
            path: path.to_path_buf(),
            action: "cannot read MIDI file",
            source,
        })?;
        Score::parse(path, &bytes, opts)
    }

    /// Ticks per quarter note (`None` for SMPTE timing).
    pub fn tpq(&self) -> Option<u16> {
        match self.division {
            Division::Tpq(t) => Some(t),
            Division::Smpte { .. } => None,
        }
    }

    /// The tick ↔ second map.
    pub fn tempo_map(&self) -> TempoMap {
        TempoMap::new(self.division, &self.tempos)
    }

    /// Number of notes over all tracks.
    pub fn note_count(&self) -> usize {
        self.tracks.iter().map(|t| t.notes.len()).sum()
    }

    /// Largest note offset tick (0 without notes).
    pub fn last_note_end(&self) -> u64 {
        self.tracks
            .iter()
            .flat_map(|t| t.notes.iter().map(|n| n.end))
            .max()
            .unwrap_or(0)
    }

    /// Tracks ordered by MIDI track, then by their first note-on (symusic's order, which miditok follows).
    pub fn tracks_in_source_order(&self) -> Vec<&Track> {
        let mut v: Vec<&Track> = self.tracks.iter().collect();
        v.sort_by_key(|t| {
            (
                t.midi_track,
                t.notes.iter().map(|n| n.order).min().unwrap_or(u32::MAX),
            )
        });
        v
    }

    /// Duration in seconds: the time of the last event of any kind (pretty_midi's `get_end_time`).
    pub fn duration_secs(&self) -> f64 {
        self.tempo_map().sec(self.end_tick)
    }
}

/// Open note: (start tick, velocity, program at note-on, order).
type Open = (u64, u8, u8, u32);

fn build_score(raw: &RawSmf, track_ids: &[usize], opts: &ParseOptions) -> Score {
    let meta_tracks: Vec<usize> = match opts.tempo_source {
        TempoSource::AllTracks => track_ids.to_vec(),
        TempoSource::FirstTrack => track_ids.iter().copied().take(1).collect(),
    };
    let mut tempos = Vec::new();
    let mut time_sigs = Vec::new();
    let mut key_sigs = Vec::new();
    for &ti in &meta_tracks {
        for e in &raw.tracks[ti] {
            match e.kind {
                RawKind::Tempo(us) => tempos.push(Tempo {
                    tick: e.tick,
                    us_per_quarter: us,
                }),
                RawKind::TimeSig(n, d, c, b) => time_sigs.push(TimeSig {
                    tick: e.tick,
                    numerator: n,
                    denominator_exp: d,
                    clocks_per_click: c,
                    n32_per_quarter: b,
                }),
                RawKind::KeySig(sf, mi) => key_sigs.push(KeySig {
                    tick: e.tick,
                    sharps: sf,
                    minor: mi,
                }),
                _ => {}
            }
        }
    }
    // Stable sorts: same-tick events keep track order, then file order.
    tempos.sort_by_key(|t| t.tick);
    time_sigs.sort_by_key(|t| t.tick);
    key_sigs.sort_by_key(|t| t.tick);

    let mut stats = ParseStats::default();
    let mut end_tick = 0u64;
    // Instruments keyed (program, channel, midi track), created at their first completed note; controls and bends
    // go to lists shared like pretty_midi's "stragglers".
    let mut tracks: Vec<Track> = Vec::new();
    let mut track_lists: Vec<usize> = Vec::new();
    let mut index: HashMap<(u8, u8, usize), usize> = HashMap::new();
    let mut lists: Vec<(Vec<Control>, Vec<Bend>)> = Vec::new();
    let mut stragglers: HashMap<(u8, usize), usize> = HashMap::new();
    let mut order: u32 = 0;
    for &ti in track_ids {
        let mut name: Option<String> = None;
        let mut program = [0u8; 16];
        let mut open: HashMap<(u8, u8), Vec<Open>> = HashMap::new();
        for e in &raw.tracks[ti] {
            end_tick = end_tick.max(e.tick);
            let (channel, message) = match &e.kind {
                RawKind::TrackName(n) => {
                    name.get_or_insert_with(|| n.clone());
                    continue;
                }
                RawKind::Channel { channel, message } => (*channel, *message),
                _ => continue,
            };
            match message {
                MidiMessage::ProgramChange { program: p } => program[channel as usize] = p.as_int(),
                MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                    open.entry((channel, key.as_int())).or_default().push((
                        e.tick,
                        vel.as_int(),
                        program[channel as usize],
                        order,
                    ));
                    order = order.wrapping_add(1);
                }
                MidiMessage::NoteOn { key, .. } | MidiMessage::NoteOff { key, .. } => {
                    let pitch = key.as_int();
                    let Some(list) = open.get_mut(&(channel, pitch)) else {
                        stats.spurious_note_offs += 1;
                        continue;
                    };
                    let closed: Vec<Open> = match opts.pairing {
                        Pairing::Fifo => vec![list.remove(0)],
                        Pairing::CloseAll => {
                            let (close, keep): (Vec<Open>, Vec<Open>) =
                                list.iter().partition(|o| o.0 != e.tick);
                            if !close.is_empty() && !keep.is_empty() {
                                *list = keep;
                            } else {
                                stats.zero_length_dropped += keep.len();
                                list.clear();
                            }
                            close
                        }
                    };
                    if list.is_empty() {
                        open.remove(&(channel, pitch));
                    }
                    for (start, velocity, prog_on, ord) in closed {
                        let prog = match opts.program_at {
                            ProgramAt::NoteOn => prog_on,
                            ProgramAt::NoteOff => program[channel as usize],
                        };
                        let key = (prog, channel, ti);
                        let idx = match index.get(&key) {
                            Some(&i) => i,
                            None => {
                                let list_id = match stragglers.get(&(channel, ti)) {
                                    Some(&l) => l,
                                    None => {
                                        lists.push((Vec::new(), Vec::new()));
                                        lists.len() - 1
                                    }
                                };
                                tracks.push(Track {
                                    midi_track: ti,
                                    channel,
                                    program: prog,
                                    is_drum: channel == 9,
                                    name: name.clone().unwrap_or_default(),
                                    notes: Vec::new(),
                                    controls: Vec::new(),
                                    bends: Vec::new(),
                                });
                                track_lists.push(list_id);
                                index.insert(key, tracks.len() - 1);
                                tracks.len() - 1
                            }
                        };
                        if e.tick == start {
                            stats.zero_length += 1;
                        }
                        tracks[idx].notes.push(Note {
                            start,
                            end: e.tick,
                            pitch,
                            velocity,
                            order: ord,
                        });
                    }
                }
                MidiMessage::Controller { controller, value } => {
                    let l = list_for(
                        &index,
                        &track_lists,
                        &mut stragglers,
                        &mut lists,
                        program[channel as usize],
                        channel,
                        ti,
                    );
                    lists[l].0.push(Control {
                        tick: e.tick,
                        controller: controller.as_int(),
                        value: value.as_int(),
                    });
                }
                MidiMessage::PitchBend { bend } => {
                    let l = list_for(
                        &index,
                        &track_lists,
                        &mut stragglers,
                        &mut lists,
                        program[channel as usize],
                        channel,
                        ti,
                    );
                    lists[l].1.push(Bend {
                        tick: e.tick,
                        value: bend.as_int(),
                    });
                }
                _ => {}
            }
        }
        stats.unterminated += open.values().map(Vec::len).sum::<usize>();
    }
    for (t, &l) in tracks.iter_mut().zip(&track_lists) {
        t.controls = lists[l].0.clone();
        t.bends = lists[l].1.clone();
    }
    Score {
        format: raw.format,
        division: raw.division,
        tempos,
        time_sigs,
        key_sigs,
        tracks,
        end_tick,
        stats,
    }
}

/// The control/bend list of the instrument (program, channel, track), or of the channel's straggler.
fn list_for(
    index: &HashMap<(u8, u8, usize), usize>,
    track_lists: &[usize],
    stragglers: &mut HashMap<(u8, usize), usize>,
    lists: &mut Vec<(Vec<Control>, Vec<Bend>)>,
    program: u8,
    channel: u8,
    ti: usize,
) -> usize {
    if let Some(&i) = index.get(&(program, channel, ti)) {
        return track_lists[i];
    }
    *stragglers.entry((channel, ti)).or_insert_with(|| {
        lists.push((Vec::new(), Vec::new()));
        lists.len() - 1
    })
}

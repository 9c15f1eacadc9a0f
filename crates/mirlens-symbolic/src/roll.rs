//! Piano rolls and frame labels at any frame rate.
//!
//! [`piano_roll`] with [`RollKind::Frame`] reproduces pretty_midi 0.2.11's `PrettyMIDI.get_piano_roll(fs,
//! pedal_threshold)` exactly (on a score parsed with [`ParseOptions::pretty_midi`](crate::ParseOptions::pretty_midi)):
//! per instrument, `int(fs · end)` columns, `roll[p, int(start·fs):int(end·fs)] += velocity`, a running maximum
//! inside each completed sustain-pedal interval, pitch bends shifting rows with linear interpolation, drums
//! contributing zero rows; instruments summed into the widest roll. Onset / offset / velocity rolls mark the frame
//! `floor(t · fs)` of each pitched note's onset or offset (offsets at the very end land in the last frame);
//! [`RollKind::Chroma`] folds the frame roll into 12 pitch classes like `get_chroma`.

use crate::error::{Result, SymbolicError};
use crate::score::{Note, Score, Track};
use serde::{Deserialize, Serialize};

/// Which roll to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RollKind {
    /// pretty_midi's piano roll: sum of velocities of the notes covering each frame (`> 0` = multi-hot labels).
    #[default]
    Frame,
    /// 1 where a note starts.
    Onset,
    /// 1 where a note ends.
    Offset,
    /// `velocity / 127` where a note starts (the largest when several start in one frame).
    Velocity,
    /// 12 rows: the frame roll summed over octaves (pretty_midi's `get_chroma`).
    Chroma,
}

/// Note-length convention of the labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sustain {
    /// Notes as written; the frame roll still applies pretty_midi's pedal running maximum (see `pedal_threshold`).
    #[default]
    None,
    /// magenta note_seq's `apply_sustain_control_changes`: a note released while the pedal is down lasts until the
    /// pedal is lifted or the same pitch starts again (the MAESTRO / Onsets-and-Frames convention); drums untouched.
    /// The pedal is then not applied a second time.
    NoteSeq,
}

/// Options of [`piano_roll`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RollOptions {
    /// Frames per second.
    pub fs: f64,
    /// Which roll.
    pub kind: RollKind,
    /// CC64 value at or above which the pedal is down (`None`: ignore CC64), frame and chroma rolls only.
    pub pedal_threshold: Option<u8>,
    /// Sustain convention.
    pub sustain: Sustain,
    /// Refuse rolls wider than this many frames (protects against absurd end times).
    pub max_frames: usize,
}

impl Default for RollOptions {
    fn default() -> Self {
        RollOptions {
            fs: 100.0,
            kind: RollKind::Frame,
            pedal_threshold: Some(64),
            sustain: Sustain::None,
            max_frames: 1 << 22,
        }
    }
}

/// A dense roll, row-major `[rows, frames]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Roll {
    /// 128 (pitches) or 12 (chroma).
    pub rows: usize,
    /// Number of frames.
    pub frames: usize,
    /// Values, `data[row * frames + frame]`.
    pub data: Vec<f64>,
}

impl Roll {
    fn zeros(rows: usize, frames: usize) -> Roll {
        Roll {
            rows,
            frames,
            data: vec![0.0; rows * frames],
        }
    }
    /// Value at (row, frame).
    pub fn get(&self, row: usize, frame: usize) -> f64 {
        self.data[row * self.frames + frame]
    }
    /// As f32, row-major (the layout of a `[rows, frames]` .npy).
    pub fn to_f32(&self) -> Vec<f32> {
        self.data.iter().map(|&x| x as f32).collect()
    }
    /// Multi-hot labels: `[frames][rows]` booleans (value > 0).
    pub fn active(&self) -> Vec<Vec<bool>> {
        (0..self.frames)
            .map(|t| (0..self.rows).map(|r| self.get(r, t) > 0.0).collect())
            .collect()
    }
}

/// Python's `int(x)` for the non-negative, finite values used as column indices (negative → 0).
fn col(x: f64) -> usize {
    if x.is_finite() && x > 0.0 {
        x as usize
    } else {
        0
    }
}

/// End time of a track in seconds (pretty_midi `Instrument.get_end_time`: notes, bends, controls).
fn track_end(t: &Track, sec: &dyn Fn(u64) -> f64) -> f64 {
    let mut e: f64 = 0.0;
    let mut any = false;
    for n in &t.notes {
        e = if any { e.max(sec(n.end)) } else { sec(n.end) };
        any = true;
    }
    for b in &t.bends {
        e = if any { e.max(sec(b.tick)) } else { sec(b.tick) };
        any = true;
    }
    for c in &t.controls {
        e = if any { e.max(sec(c.tick)) } else { sec(c.tick) };
        any = true;
    }
    e
}

/// Compute a roll of a score.
pub fn piano_roll(score: &Score, opts: &RollOptions) -> Result<Roll> {
    if !(opts.fs.is_finite() && opts.fs > 0.0) {
        return Err(SymbolicError::InvalidOption {
            what: "fs",
            value: opts.fs.to_string(),
            expected: "a positive frame rate".into(),
        });
    }
    let sustained;
    let (score, pedal) = match opts.sustain {
        Sustain::None => (score, opts.pedal_threshold),
        Sustain::NoteSeq => {
            sustained = apply_sustain(score, 64);
            (&sustained, None)
        }
    };
    let map = score.tempo_map();
    let sec = |t: u64| map.sec(t);
    let fs = opts.fs;
    // Widths first, so that a huge end time is refused before anything is allocated.
    let mut widths = Vec::with_capacity(score.tracks.len());
    for t in &score.tracks {
        let w = if t.notes.is_empty() {
            0.0
        } else {
            fs * track_end(t, &sec)
        };
        if w.is_nan() || w >= opts.max_frames as f64 {
            return Err(SymbolicError::TooLarge {
                what: "piano roll frames",
                value: if w.is_finite() { w as u64 } else { u64::MAX },
                limit: opts.max_frames as u64,
            });
        }
        widths.push(col(w));
    }
    let frames = widths.iter().copied().max().unwrap_or(0);
    match opts.kind {
        RollKind::Frame | RollKind::Chroma => {
            let mut total = Roll::zeros(128, frames);
            for (t, &w) in score.tracks.iter().zip(&widths) {
                if t.is_drum || t.notes.is_empty() {
                    continue;
                }
                let r = instrument_roll(t, w, fs, pedal, &sec, track_end(t, &sec));
                for p in 0..128 {
                    for c in 0..w {
                        total.data[p * frames + c] += r.data[p * w + c];
                    }
                }
            }
            if opts.kind == RollKind::Frame {
                return Ok(total);
            }
            let mut chroma = Roll::zeros(12, frames);
            for c in 0..12 {
                for p in (c..128).step_by(12) {
                    for f in 0..frames {
                        chroma.data[c * frames + f] += total.data[p * frames + f];
                    }
                }
            }
            Ok(chroma)
        }
        RollKind::Onset | RollKind::Offset | RollKind::Velocity => {
            let mut r = Roll::zeros(128, frames);
            if frames == 0 {
                return Ok(r);
            }
            for t in score.tracks.iter().filter(|t| !t.is_drum) {
                for n in &t.notes {
                    let p = n.pitch as usize;
                    match opts.kind {
                        RollKind::Onset => {
                            let f = col(sec(n.start) * fs).min(frames - 1);
                            r.data[p * frames + f] = 1.0;
                        }
                        RollKind::Offset => {
                            let f = col(sec(n.end) * fs).min(frames - 1);
                            r.data[p * frames + f] = 1.0;
                        }
                        _ => {
                            let f = col(sec(n.start) * fs).min(frames - 1);
                            let v = n.velocity as f64 / 127.0;
                            let cell = &mut r.data[p * frames + f];
                            *cell = cell.max(v);
                        }
                    }
                }
            }
            Ok(r)
        }
    }
}

/// pretty_midi's `Instrument.get_piano_roll` for one track of width `w`.
fn instrument_roll(
    t: &Track,
    w: usize,
    fs: f64,
    pedal: Option<u8>,
    sec: &dyn Fn(u64) -> f64,
    end_time: f64,
) -> Roll {
    let mut r = Roll::zeros(128, w);
    for n in &t.notes {
        let (a, b) = (col(sec(n.start) * fs).min(w), col(sec(n.end) * fs).min(w));
        let p = n.pitch as usize;
        for c in a..b {
            r.data[p * w + c] += n.velocity as f64;
        }
    }
    if let Some(th) = pedal {
        let mut on_at = 0usize;
        let mut down = false;
        for c in t.controls.iter().filter(|c| c.controller == 64) {
            let now = col(sec(c.tick) * fs);
            let cur = c.value >= th;
            if !down && cur {
                on_at = now;
                down = true;
            } else if down && !cur {
                let (a, b) = (on_at.min(w), now.min(w));
                if a < b {
                    for p in 0..128 {
                        let row = &mut r.data[p * w + a..p * w + b];
                        for i in 1..row.len() {
                            if row[i - 1] > row[i] {
                                row[i] = row[i - 1];
                            }
                        }
                    }
                }
                down = false;
            }
        }
    }
    // Pitch bends: rows shifted by the integer part, interpolated by the fraction (±2 semitones).
    let mut bends: Vec<(f64, i16)> = t.bends.iter().map(|b| (sec(b.tick), b.value)).collect();
    bends.sort_by(|x, y| x.0.total_cmp(&y.0));
    for i in 0..bends.len() {
        let (t0, pitch) = bends[i];
        let t1 = if i + 1 < bends.len() {
            bends[i + 1].0
        } else {
            end_time
        };
        if pitch == 0 {
            continue;
        }
        let semis = 2.0 * pitch as f64 / 8192.0;
        let bend_int = (semis.signum() * semis.abs().floor()) as i64;
        let dec = (semis - bend_int as f64).abs();
        let (a, b) = (col(t0 * fs).min(w), col(t1 * fs).min(w));
        if a >= b {
            continue;
        }
        for c in a..b {
            let src: Vec<f64> = (0..128).map(|p| r.data[p * w + c]).collect();
            let mut bent = vec![0.0f64; 128];
            if pitch >= 0 {
                let k = bend_int as usize;
                bent[k..128].copy_from_slice(&src[..128 - k]);
                let prev = bent.clone();
                for p in 1..128 {
                    bent[p] = (1.0 - dec) * prev[p] + dec * prev[p - 1];
                }
            } else {
                let k = (-bend_int) as usize;
                bent[..128 - k].copy_from_slice(&src[k..128]);
                let prev = bent.clone();
                for p in 0..127 {
                    bent[p] = (1.0 - dec) * prev[p] + dec * prev[p + 1];
                }
            }
            for (p, &x) in bent.iter().enumerate() {
                r.data[p * w + c] = x;
            }
        }
    }
    r
}

/// note_seq sustain extension (see [`Sustain::NoteSeq`]) applied to every pitched track, CC64 down at `threshold`.
/// A pedal never lifted extends its notes to the end of the last note of the score.
pub fn apply_sustain(score: &Score, threshold: u8) -> Score {
    let mut out = score.clone();
    let score_end = score.last_note_end();
    for t in out.tracks.iter_mut().filter(|t| !t.is_drum) {
        let pedals = t.pedals(threshold);
        if pedals.is_empty() {
            continue;
        }
        let mut starts: Vec<Vec<u64>> = vec![Vec::new(); 128];
        for n in &t.notes {
            starts[n.pitch as usize].push(n.start);
        }
        for s in starts.iter_mut() {
            s.sort_unstable();
        }
        for n in t.notes.iter_mut() {
            let Some(p) = pedals
                .iter()
                .find(|p| p.start <= n.end && p.end.is_none_or(|e| n.end < e))
            else {
                continue;
            };
            let release = p.end.unwrap_or(score_end.max(n.end));
            let s = &starts[n.pitch as usize];
            let next = s[s.partition_point(|&x| x <= n.start)..]
                .iter()
                .copied()
                .find(|&x| x >= n.end);
            let new_end = next.map_or(release, |x| x.min(release));
            n.end = n.end.max(new_end);
        }
    }
    out
}

/// Notes of the pitched tracks with onset/offset in seconds (after the chosen sustain), sorted by onset.
pub fn note_events(score: &Score, sustain: Sustain) -> Vec<(f64, f64, Note)> {
    let s = match sustain {
        Sustain::None => score.clone(),
        Sustain::NoteSeq => apply_sustain(score, 64),
    };
    let map = s.tempo_map();
    let mut v: Vec<(f64, f64, Note)> = s
        .tracks
        .iter()
        .filter(|t| !t.is_drum)
        .flat_map(|t| {
            t.notes
                .iter()
                .map(|n| (map.sec(n.start), map.sec(n.end), *n))
        })
        .collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.2.order.cmp(&b.2.order)));
    v
}

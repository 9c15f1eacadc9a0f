//! Writing a [`Score`] back to a Standard MIDI File (format 1, through midly, with running status).
//!
//! Layout: track 0 holds tempos, time and key signatures; every [`Track`] gets its own `MTrk` with its name, a
//! program change at tick 0, its controls, bends and notes. Events at one tick are ordered so that FIFO pairing reads
//! the notes back unchanged: note-offs of notes that started earlier, controls and bends, note-ons in source order,
//! then note-offs of zero-length notes. Same-pitch notes nested inside one another (a later note ending first) cannot
//! be expressed for FIFO readers and come back re-paired.

use crate::error::{Result, SymbolicError};
use crate::score::Score;
use crate::smf::{Division, SmpteFps};
use midly::num::{u4, u7, u14, u15, u24, u28};
use midly::{
    Format, Fps, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind,
};
use std::path::Path;

fn to_delta_events<'a>(
    mut evs: Vec<(u64, u8, u64, TrackEventKind<'a>)>,
) -> Result<Vec<TrackEvent<'a>>> {
    evs.sort_by_key(|e| (e.0, e.1, e.2));
    let end = evs.last().map(|e| e.0).unwrap_or(0);
    let mut out = Vec::with_capacity(evs.len() + 1);
    let mut last = 0u64;
    for (tick, _, _, kind) in evs {
        out.push(TrackEvent {
            delta: delta(tick - last)?,
            kind,
        });
        last = tick;
    }
    out.push(TrackEvent {
        delta: delta(end - last)?,
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    Ok(out)
}

fn delta(d: u64) -> Result<u28> {
    if d > 0x0FFF_FFFF {
        return Err(SymbolicError::TooLarge {
            what: "delta time between two events (ticks)",
            value: d,
            limit: 0x0FFF_FFFF,
        });
    }
    Ok(u28::new(d as u32))
}

/// Encode a score as SMF bytes.
pub fn write_smf(score: &Score) -> Result<Vec<u8>> {
    let timing = match score.division {
        Division::Tpq(t) => Timing::Metrical(u15::new(t.min(0x7FFF))),
        Division::Smpte { fps, tpf } => Timing::Timecode(
            match fps {
                SmpteFps::Fps24 => Fps::Fps24,
                SmpteFps::Fps25 => Fps::Fps25,
                SmpteFps::Fps29 => Fps::Fps29,
                SmpteFps::Fps30 => Fps::Fps30,
            },
            tpf,
        ),
    };
    let names: Vec<Vec<u8>> = score
        .tracks
        .iter()
        .map(|t| {
            t.name
                .chars()
                .map(|c| if (c as u32) < 256 { c as u8 } else { b'?' })
                .collect()
        })
        .collect();
    let mut conductor: Vec<(u64, u8, u64, TrackEventKind)> = Vec::new();
    for (i, t) in score.tempos.iter().enumerate() {
        conductor.push((
            t.tick,
            0,
            i as u64,
            TrackEventKind::Meta(MetaMessage::Tempo(u24::new(
                t.us_per_quarter.min(0xFF_FFFF),
            ))),
        ));
    }
    for (i, t) in score.time_sigs.iter().enumerate() {
        conductor.push((
            t.tick,
            1,
            i as u64,
            TrackEventKind::Meta(MetaMessage::TimeSignature(
                t.numerator,
                t.denominator_exp,
                t.clocks_per_click,
                t.n32_per_quarter,
            )),
        ));
    }
    for (i, k) in score.key_sigs.iter().enumerate() {
        conductor.push((
            k.tick,
            2,
            i as u64,
            TrackEventKind::Meta(MetaMessage::KeySignature(k.sharps, k.minor)),
        ));
    }
    let mut tracks = vec![to_delta_events(conductor)?];
    for (t, name) in score.tracks.iter().zip(&names) {
        let ch = u4::new(t.channel & 15);
        let midi = |message| TrackEventKind::Midi {
            channel: ch,
            message,
        };
        let mut evs: Vec<(u64, u8, u64, TrackEventKind)> = Vec::new();
        if !name.is_empty() {
            evs.push((0, 0, 0, TrackEventKind::Meta(MetaMessage::TrackName(name))));
        }
        evs.push((
            0,
            1,
            0,
            midi(MidiMessage::ProgramChange {
                program: u7::new(t.program & 127),
            }),
        ));
        for n in &t.notes {
            let key = u7::new(n.pitch & 127);
            let off_class = if n.is_zero_length() { 5 } else { 2 };
            evs.push((
                n.end,
                off_class,
                n.order as u64,
                midi(MidiMessage::NoteOff {
                    key,
                    vel: u7::new(0),
                }),
            ));
            evs.push((
                n.start,
                4,
                n.order as u64,
                midi(MidiMessage::NoteOn {
                    key,
                    vel: u7::new(n.velocity.clamp(1, 127)),
                }),
            ));
        }
        for (i, c) in t.controls.iter().enumerate() {
            evs.push((
                c.tick,
                3,
                i as u64,
                midi(MidiMessage::Controller {
                    controller: u7::new(c.controller & 127),
                    value: u7::new(c.value & 127),
                }),
            ));
        }
        for (i, b) in t.bends.iter().enumerate() {
            evs.push((
                b.tick,
                3,
                (t.controls.len() + i) as u64,
                midi(MidiMessage::PitchBend {
                    bend: midly::PitchBend(u14::new((b.value.clamp(-8192, 8191) + 8192) as u16)),
                }),
            ));
        }
        tracks.push(to_delta_events(evs)?);
    }
    let smf = Smf {
        header: Header::new(Format::Parallel, timing),
        tracks,
    };
    let mut out = Vec::new();
    smf.write_std(&mut out).map_err(|e| SymbolicError::Io {
        path: "<memory>".into(),
        action: "cannot encode MIDI",
        source: e,
    })?;
    Ok(out)
}

/// Write a score to a MIDI file (atomically: a temporary file in the same folder, then rename).
pub fn write_midi_file(path: &Path, score: &Score) -> Result<()> {
    let bytes = write_smf(score)?;
    write_atomic(path, &bytes)
}

pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io = |source| SymbolicError::Io {
        path: path.to_path_buf(),
        action: "cannot write",
        source,
    };
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.tmp{}",
        path.file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default(),
        std::process::id()
    ));
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}

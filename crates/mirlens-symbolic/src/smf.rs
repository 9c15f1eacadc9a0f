//! Standard MIDI File framing: header, chunks and track events, read with exact byte offsets.
//!
//! midly's lenient build stops a track silently at the first bad event (its `strict` feature would change the
//! behaviour of every crate sharing the dependency), so the chunk and event framing is done here, where every failure
//! can name its byte offset; channel messages are decoded by [`midly::live::LiveEvent::parse`]. The rules follow mido
//! 1.3.3, which pretty_midi reads through: a chunk is read to its declared length (events after End-of-Track are
//! kept), running status is set by channel messages, kept across meta events and cancelled by SysEx.
//!
//! Allocation is bounded by the input: a chunk or event length is checked against the bytes that remain before
//! anything is reserved, and there is at most one event per byte.

use crate::error::{Result, SymbolicError};
use midly::MidiMessage;
use std::path::Path;

/// SMPTE frame rate of a timecode division.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SmpteFps {
    /// 24 frames per second.
    Fps24,
    /// 25 frames per second.
    Fps25,
    /// 29.97 (30/1.001, "drop frame") frames per second.
    Fps29,
    /// 30 frames per second.
    Fps30,
}

impl SmpteFps {
    /// Frames per second as a real number (30/1.001 for `Fps29`, like midly's `Fps::as_f32`).
    pub fn as_f64(self) -> f64 {
        match self {
            SmpteFps::Fps24 => 24.0,
            SmpteFps::Fps25 => 25.0,
            SmpteFps::Fps29 => 30.0 / 1.001,
            SmpteFps::Fps30 => 30.0,
        }
    }
    /// The nominal integer rate written in the file (24, 25, 29, 30).
    pub fn nominal(self) -> u8 {
        match self {
            SmpteFps::Fps24 => 24,
            SmpteFps::Fps25 => 25,
            SmpteFps::Fps29 => 29,
            SmpteFps::Fps30 => 30,
        }
    }
}

/// The time division of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Division {
    /// Metrical timing: ticks per quarter note (1–32767).
    Tpq(u16),
    /// Timecode: `sec = tick / (fps · tpf)`; tempo events do not change timing.
    Smpte {
        /// Frames per second.
        fps: SmpteFps,
        /// Ticks per frame.
        tpf: u8,
    },
}

/// One decoded track event (the subset a score needs; other events are kept as [`RawKind::Other`]).
#[derive(Debug, Clone, PartialEq)]
pub enum RawKind {
    /// A channel message (note on/off, CC, program, bend, pressure).
    Channel {
        /// Channel 0–15.
        channel: u8,
        /// The message.
        message: MidiMessage,
    },
    /// Set tempo (µs per quarter note).
    Tempo(u32),
    /// Time signature as stored: numerator, denominator exponent, clocks per click, 32nds per quarter.
    TimeSig(u8, u8, u8, u8),
    /// Key signature: sharps (negative = flats), minor.
    KeySig(i8, bool),
    /// Track name text.
    TrackName(String),
    /// End of track.
    EndOfTrack,
    /// Any other meta or SysEx event.
    Other,
}

/// A track event with its absolute tick and the byte offset of its delta time.
#[derive(Debug, Clone, PartialEq)]
pub struct RawEvent {
    /// Absolute tick from the start of the track.
    pub tick: u64,
    /// Byte offset in the file.
    pub offset: u64,
    /// The event.
    pub kind: RawKind,
}

/// A framed SMF: header fields and the events of each `MTrk` chunk.
#[derive(Debug, Clone)]
pub struct RawSmf {
    /// SMF format 0, 1 or 2.
    pub format: u16,
    /// Time division.
    pub division: Division,
    /// Number of tracks the header declares.
    pub declared_tracks: u16,
    /// Events of each track chunk, in file order.
    pub tracks: Vec<Vec<RawEvent>>,
}

fn malformed(path: &Path, offset: usize, reason: impl Into<String>) -> SymbolicError {
    SymbolicError::Malformed {
        path: path.to_path_buf(),
        offset: offset as u64,
        reason: reason.into(),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    end: usize,
    path: &'a Path,
}

impl Reader<'_> {
    fn byte(&mut self, what: &str) -> Result<u8> {
        if self.pos >= self.end {
            return Err(malformed(
                self.path,
                self.pos,
                format!("unexpected end of track chunk, expected {what}"),
            ));
        }
        let b = self.bytes[self.pos];
        self.pos += 1;
        Ok(b)
    }

    /// Variable-length quantity, at most 4 bytes (max 0x0FFFFFFF).
    fn vlq(&mut self, what: &str) -> Result<u32> {
        let start = self.pos;
        let mut v: u32 = 0;
        for _ in 0..4 {
            let b = self.byte(what)?;
            v = (v << 7) | (b & 0x7F) as u32;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(malformed(
            self.path,
            start,
            format!("{what}: variable-length quantity longer than 4 bytes"),
        ))
    }

    fn take(&mut self, n: u32, what: &str) -> Result<&[u8]> {
        let n = n as usize;
        if n > self.end - self.pos {
            return Err(malformed(
                self.path,
                self.pos,
                format!(
                    "{what} of {n} bytes runs past the end of its track chunk ({} bytes left)",
                    self.end - self.pos
                ),
            ));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
}

fn be16(b: &[u8]) -> u16 {
    u16::from_be_bytes([b[0], b[1]])
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

/// Frame a Standard MIDI File. `path` only labels errors.
pub fn read_smf(path: &Path, bytes: &[u8]) -> Result<RawSmf> {
    if bytes.len() < 14 || &bytes[0..4] != b"MThd" {
        return Err(malformed(
            path,
            0,
            if bytes.len() < 4 || &bytes[0..4] != b"MThd" {
                "not a Standard MIDI File (no MThd header)"
            } else {
                "header chunk truncated"
            },
        ));
    }
    let hlen = be32(&bytes[4..8]) as usize;
    if hlen < 6 {
        return Err(malformed(
            path,
            4,
            format!("header length {hlen}, expected at least 6"),
        ));
    }
    if hlen > bytes.len() - 8 {
        return Err(malformed(
            path,
            4,
            format!("header length {hlen} runs past the end of the file"),
        ));
    }
    let format = be16(&bytes[8..10]);
    if format > 2 {
        return Err(malformed(
            path,
            8,
            format!("format {format}, expected 0, 1 or 2"),
        ));
    }
    let declared_tracks = be16(&bytes[10..12]);
    let div = be16(&bytes[12..14]);
    let division = if div & 0x8000 == 0 {
        if div == 0 {
            return Err(malformed(path, 12, "division of 0 ticks per quarter note"));
        }
        Division::Tpq(div)
    } else {
        let fps = match (div >> 8) as u8 as i8 {
            -24 => SmpteFps::Fps24,
            -25 => SmpteFps::Fps25,
            -29 => SmpteFps::Fps29,
            -30 => SmpteFps::Fps30,
            other => {
                return Err(malformed(
                    path,
                    12,
                    format!(
                        "SMPTE division with {} frames per second, expected 24, 25, 29 or 30",
                        -(other as i16)
                    ),
                ));
            }
        };
        let tpf = (div & 0xFF) as u8;
        if tpf == 0 {
            return Err(malformed(path, 13, "SMPTE division with 0 ticks per frame"));
        }
        Division::Smpte { fps, tpf }
    };
    let mut pos = 8 + hlen;
    let mut tracks = Vec::new();
    while tracks.len() < declared_tracks as usize && pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let len = be32(&bytes[pos + 4..pos + 8]) as usize;
        let body = pos + 8;
        if len > bytes.len() - body {
            return Err(malformed(
                path,
                pos + 4,
                format!(
                    "chunk length {len} runs past the end of the file ({} bytes left)",
                    bytes.len() - body
                ),
            ));
        }
        if id == b"MTrk" {
            tracks.push(read_track(path, bytes, body, body + len)?);
        }
        pos = body + len;
    }
    if tracks.len() < declared_tracks as usize {
        return Err(malformed(
            path,
            pos,
            format!(
                "header declares {declared_tracks} tracks, the file holds {}",
                tracks.len()
            ),
        ));
    }
    Ok(RawSmf {
        format,
        division,
        declared_tracks,
        tracks,
    })
}

fn read_track(path: &Path, bytes: &[u8], start: usize, end: usize) -> Result<Vec<RawEvent>> {
    let mut r = Reader {
        bytes,
        pos: start,
        end,
        path,
    };
    let mut events = Vec::new();
    let mut tick: u64 = 0;
    let mut running: Option<u8> = None;
    while r.pos < r.end {
        let offset = r.pos;
        tick += r.vlq("delta time")? as u64;
        let status_at = r.pos;
        let first = r.byte("status byte")?;
        let (status, first_data) = if first < 0x80 {
            match running {
                Some(s) => (s, Some(first)),
                None => {
                    return Err(malformed(
                        path,
                        status_at,
                        format!("data byte 0x{first:02X} without a running status"),
                    ));
                }
            }
        } else {
            (first, None)
        };
        let kind = match status {
            0xFF => {
                let ty = r.byte("meta type")?;
                let len = r.vlq("meta length")?;
                let data = r.take(len, "meta event")?;
                meta_kind(path, status_at, ty, data)?
            }
            0xF0 | 0xF7 => {
                running = None;
                let len = r.vlq("SysEx length")?;
                r.take(len, "SysEx event")?;
                RawKind::Other
            }
            0x80..=0xEF => {
                running = Some(status);
                let n = if (0xC0..=0xDF).contains(&status) {
                    1
                } else {
                    2
                };
                let mut msg = [status, 0, 0];
                for (i, slot) in msg.iter_mut().skip(1).take(n).enumerate() {
                    let at = r.pos;
                    let b = match (i, first_data) {
                        (0, Some(d)) => d,
                        _ => r.byte("channel message data")?,
                    };
                    if b >= 0x80 {
                        return Err(malformed(
                            path,
                            at,
                            format!("data byte 0x{b:02X} has its high bit set"),
                        ));
                    }
                    *slot = b;
                }
                match midly::live::LiveEvent::parse(&msg[..=n]) {
                    Ok(midly::live::LiveEvent::Midi { channel, message }) => RawKind::Channel {
                        channel: channel.as_int(),
                        message,
                    },
                    _ => {
                        return Err(malformed(
                            path,
                            status_at,
                            format!("invalid channel message with status 0x{status:02X}"),
                        ));
                    }
                }
            }
            other => {
                return Err(malformed(
                    path,
                    status_at,
                    format!("status byte 0x{other:02X} is not allowed in a MIDI file track"),
                ));
            }
        };
        events.push(RawEvent {
            tick,
            offset: offset as u64,
            kind,
        });
    }
    Ok(events)
}

fn meta_kind(path: &Path, at: usize, ty: u8, data: &[u8]) -> Result<RawKind> {
    let bad = |what: &str| {
        malformed(
            path,
            at,
            format!("{what} meta event of {} bytes", data.len()),
        )
    };
    Ok(match ty {
        0x51 => {
            if data.len() != 3 {
                return Err(bad("tempo"));
            }
            let us = ((data[0] as u32) << 16) | ((data[1] as u32) << 8) | data[2] as u32;
            if us == 0 {
                return Err(malformed(path, at, "tempo of 0 µs per quarter note"));
            }
            RawKind::Tempo(us)
        }
        0x58 => {
            if data.len() != 4 {
                return Err(bad("time signature"));
            }
            RawKind::TimeSig(data[0], data[1], data[2], data[3])
        }
        0x59 => {
            if data.len() != 2 {
                return Err(bad("key signature"));
            }
            RawKind::KeySig(data[0] as i8, data[1] != 0)
        }
        0x03 => RawKind::TrackName(data.iter().map(|&b| b as char).collect()),
        0x2F => RawKind::EndOfTrack,
        _ => RawKind::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(division: [u8; 2], format: u16, tracks: &[&[u8]]) -> Vec<u8> {
        let mut v = b"MThd".to_vec();
        v.extend_from_slice(&6u32.to_be_bytes());
        v.extend_from_slice(&format.to_be_bytes());
        v.extend_from_slice(&(tracks.len() as u16).to_be_bytes());
        v.extend_from_slice(&division);
        for t in tracks {
            v.extend_from_slice(b"MTrk");
            v.extend_from_slice(&(t.len() as u32).to_be_bytes());
            v.extend_from_slice(t);
        }
        v
    }

    #[test]
    fn running_status_and_smpte_division() {
        // note-on 60, then running-status note-on 60 vel 0 after 0x60 ticks; SMPTE 25 fps x 40 ticks/frame.
        let trk = [0x00, 0x90, 60, 100, 0x60, 60, 0, 0x00, 0xFF, 0x2F, 0x00];
        let smf = read_smf(Path::new("t.mid"), &file([0xE7, 0x28], 0, &[&trk])).unwrap();
        assert_eq!(
            smf.division,
            Division::Smpte {
                fps: SmpteFps::Fps25,
                tpf: 40
            }
        );
        let ev = &smf.tracks[0];
        assert_eq!(ev.len(), 3);
        assert_eq!(ev[1].tick, 0x60);
        assert_eq!(ev[1].offset, 22 + 4);
        assert!(matches!(
            ev[1].kind,
            RawKind::Channel {
                channel: 0,
                message: MidiMessage::NoteOn { .. }
            }
        ));
    }

    #[test]
    fn errors_name_the_byte_offset() {
        // data byte with no running status at the very first event: offset 22 + 1 (after the delta).
        let e = read_smf(
            Path::new("x.mid"),
            &file([0x01, 0xE0], 1, &[&[0x00, 0x40, 0x40]]),
        )
        .unwrap_err();
        match e {
            SymbolicError::Malformed { offset, path, .. } => {
                assert_eq!(offset, 23);
                assert_eq!(path, Path::new("x.mid"));
            }
            other => panic!("{other}"),
        }
        // a meta event whose length runs past the chunk
        let e = read_smf(
            Path::new("x.mid"),
            &file([0x01, 0xE0], 1, &[&[0x00, 0xFF, 0x01, 0x7F, 0x41]]),
        )
        .unwrap_err();
        assert!(
            matches!(e, SymbolicError::Malformed { offset: 26, .. }),
            "{e}"
        );
        // a 5-byte VLQ
        let e = read_smf(
            Path::new("x.mid"),
            &file([0x01, 0xE0], 1, &[&[0xFF, 0xFF, 0xFF, 0xFF, 0x7F]]),
        )
        .unwrap_err();
        assert!(
            matches!(e, SymbolicError::Malformed { offset: 22, .. }),
            "{e}"
        );
    }
}

//! MAESTRO: `maestro-v*.csv` (`canonical_composer,canonical_title,split,year,midi_filename,audio_filename,duration`)
//! with year folders of `.wav` + `.midi` pairs. Each MIDI file is parsed (midly) to note labels.

use super::{Built, read_text, require_file};
use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, Manifest, ManifestEntry, Split, split_csv_line};
use mirlens_core::LabelValue;
use std::path::{Path, PathBuf};

/// One note of a MIDI performance (times in seconds; offset = key release, pedals not applied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MidiNote {
    /// Onset, seconds.
    pub onset: f64,
    /// Offset, seconds.
    pub offset: f64,
    /// MIDI pitch.
    pub pitch: u8,
    /// MIDI velocity.
    pub velocity: u8,
}

/// Reads the notes of a standard MIDI file, honouring the tempo map. Sorted by onset, then pitch.
pub fn midi_notes(path: &Path) -> Result<Vec<MidiNote>> {
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    let midi_err = |m: String| DatasetError::Midi {
        path: path.to_path_buf(),
        message: m,
    };
    let smf = midly::Smf::parse(&bytes).map_err(|e| midi_err(e.to_string()))?;
    let ppq = match smf.header.timing {
        midly::Timing::Metrical(t) => t.as_int() as f64,
        midly::Timing::Timecode(..) => {
            return Err(midi_err("SMPTE time code timing is not supported".into()));
        }
    };
    // merge all tracks into (tick, track order, event)
    let mut events: Vec<(u64, usize, midly::TrackEventKind)> = Vec::new();
    for track in &smf.tracks {
        let mut t = 0u64;
        for (k, ev) in track.iter().enumerate() {
            t += ev.delta.as_int() as u64;
            events.push((t, k, ev.kind));
        }
    }
    events.sort_by_key(|(t, k, _)| (*t, *k));
    let mut us_per_beat = 500_000.0;
    let (mut last_tick, mut secs) = (0u64, 0.0f64);
    let mut open: std::collections::HashMap<(u8, u8), Vec<(f64, u8)>> = Default::default();
    let mut notes = Vec::new();
    for (tick, _, kind) in events {
        secs += (tick - last_tick) as f64 * us_per_beat / 1e6 / ppq;
        last_tick = tick;
        match kind {
            midly::TrackEventKind::Meta(midly::MetaMessage::Tempo(t)) => {
                us_per_beat = t.as_int() as f64
            }
            midly::TrackEventKind::Midi { channel, message } => {
                let ch = channel.as_int();
                match message {
                    midly::MidiMessage::NoteOn { key, vel } if vel.as_int() > 0 => {
                        open.entry((ch, key.as_int()))
                            .or_default()
                            .push((secs, vel.as_int()));
                    }
                    midly::MidiMessage::NoteOn { key, .. }
                    | midly::MidiMessage::NoteOff { key, .. } => {
                        if let Some(stack) = open.get_mut(&(ch, key.as_int()))
                            && !stack.is_empty()
                        {
                            let (on, vel) = stack.remove(0);
                            notes.push(MidiNote {
                                onset: on,
                                offset: secs,
                                pitch: key.as_int(),
                                velocity: vel,
                            });
                        }
                    }
                    _ => {}
                }
            }
            _ => {}
        }
    }
    // notes never released end at the last event
    for ((_, pitch), stack) in open {
        for (on, vel) in stack {
            notes.push(MidiNote {
                onset: on,
                offset: secs,
                pitch,
                velocity: vel,
            });
        }
    }
    notes.sort_by(|a, b| a.onset.total_cmp(&b.onset).then(a.pitch.cmp(&b.pitch)));
    Ok(notes)
}

/// Label columns produced.
pub fn schema() -> LabelSchema {
    LabelSchema::new()
        .with("composer", LabelType::String)
        .with("title", LabelType::String)
        .with("year", LabelType::Int)
        .with("midi_filename", LabelType::String)
        .with("n_notes", LabelType::Int)
        .with("pitch_min", LabelType::Int)
        .with("pitch_max", LabelType::Int)
        .with("mean_velocity", LabelType::Float)
}

fn find_csv(root: &Path) -> Result<PathBuf> {
    let mut c: Vec<PathBuf> = super::list_dir(root)?
        .into_iter()
        .filter(|p| {
            let n = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            n.starts_with("maestro-v") && n.ends_with(".csv")
        })
        .collect();
    c.sort();
    c.pop().ok_or_else(|| DatasetError::Layout {
        root: root.to_path_buf(),
        layout: "maestro",
        message: "expected a maestro-v*.csv metadata file".into(),
    })
}

/// Builds the manifest (one entry per performance; `duration_secs` from the CSV).
pub fn build(root: &Path) -> Result<Built> {
    let csv = find_csv(root)?;
    let text = read_text(&csv)?;
    let mut lines = text.lines().enumerate();
    let Some((_, header)) = lines.next() else {
        return Err(DatasetError::parse(&csv, 1, "empty file"));
    };
    let cols = split_csv_line(header).map_err(|m| DatasetError::parse(&csv, 1, m))?;
    let need = [
        "canonical_composer",
        "canonical_title",
        "split",
        "year",
        "midi_filename",
        "audio_filename",
        "duration",
    ];
    let mut idx = [0usize; 7];
    for (k, n) in need.iter().enumerate() {
        idx[k] = cols.iter().position(|c| c.trim() == *n).ok_or_else(|| {
            DatasetError::parse(
                &csv,
                1,
                format!(
                    "header lacks the `{n}` column (expected {})",
                    need.join(",")
                ),
            )
        })?;
    }
    let mut entries = Vec::new();
    for (i, raw) in lines {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let cells = split_csv_line(raw).map_err(|m| DatasetError::parse(&csv, line, m))?;
        if cells.len() != cols.len() {
            return Err(DatasetError::parse(
                &csv,
                line,
                format!(
                    "expected {} cells (as in the header), found {}",
                    cols.len(),
                    cells.len()
                ),
            ));
        }
        let cell = |k: usize| cells[idx[k]].trim();
        let split: Split = cell(2)
            .parse()
            .map_err(|e: mirlens_core::CoreError| DatasetError::parse(&csv, line, e.to_string()))?;
        let year: i64 = cell(3).parse().map_err(|_| DatasetError::LabelType {
            path: csv.clone(),
            line,
            label: "year".into(),
            expected: "int",
            got: "string",
            value: cell(3).into(),
        })?;
        let duration: f64 = cell(6).parse().map_err(|_| DatasetError::LabelType {
            path: csv.clone(),
            line,
            label: "duration".into(),
            expected: "float",
            got: "string",
            value: cell(6).into(),
        })?;
        let audio = root.join(cell(5));
        let midi = root.join(cell(4));
        require_file(&csv, line, &audio)?;
        require_file(&csv, line, &midi)?;
        let notes = midi_notes(&midi)?;
        let id = Path::new(cell(5))
            .with_extension("")
            .to_string_lossy()
            .replace('\\', "/");
        let mut e = ManifestEntry::new(id, audio)
            .with_split(split)
            .with_span(0.0, Some(duration))
            .with_midi(&midi)
            .with_label("composer", LabelValue::Str(cell(0).into()))
            .with_label("title", LabelValue::Str(cell(1).into()))
            .with_label("year", LabelValue::Int(year))
            .with_label("midi_filename", LabelValue::Str(cell(4).into()))
            .with_label("n_notes", LabelValue::Int(notes.len() as i64));
        if !notes.is_empty() {
            let lo = notes.iter().map(|n| n.pitch).min().unwrap_or(0);
            let hi = notes.iter().map(|n| n.pitch).max().unwrap_or(0);
            let mv = notes.iter().map(|n| n.velocity as f64).sum::<f64>() / notes.len() as f64;
            e.labels
                .insert("pitch_min".into(), LabelValue::Int(lo as i64));
            e.labels
                .insert("pitch_max".into(), LabelValue::Int(hi as i64));
            e.labels
                .insert("mean_velocity".into(), LabelValue::Float(mv));
        }
        entries.push(e);
    }
    let manifest = Manifest {
        entries,
        label_schema: schema(),
    };
    manifest.validate(&csv)?;
    Ok(Built {
        manifest,
        skipped: Vec::new(),
    })
}

//! Frame-level score labels in the store.
//!
//! When the clips of a dataset have scores (every built-in synthetic clip; a manifest entry with a `midi` file) and
//! rows are frames (`pooling = none`), extraction writes these row-level labels next to the clip labels, computed by
//! [`mirlens_symbolic::frames::frame_labels`] on the encoder's frame grid (frame `f` = `[f / rate, (f + 1) / rate)`,
//! note_seq sustain):
//!
//! | label | kind | value |
//! |---|---|---|
//! | `frame_pitch` | multi-hot over MIDI 0–127 (classes `"0"`…`"127"`) | pitches sounding in the frame |
//! | `frame_onset` | multi-hot over MIDI 0–127 | pitches whose note starts in the frame |
//! | `frame_n_notes` | integer | number of sounding pitches |
//! | `frame_chord` | categorical, `N` and the 48 triads in Harte spelling (`C:maj`, `F#:min`) | the triad rule of `mirlens-symbolic` |
//! | `frame_key` | categorical, 24 keys (`C major` … `B minor`, sharps) | key signature in force; missing before the first |
//! | `frame_beat` | real | position in the bar in beats; missing for SMPTE-timed files |
//!
//! The `frame_` prefix keeps them apart from clip labels of the same meaning (`key`, `n_notes`).

use mirlens_core::LabelValue;
use mirlens_store::{LabelData, LabelField, LabelKind, LabelLevel, StoreError};
use mirlens_symbolic::frames::{
    FrameChord, FrameLabelOptions, FrameLabels, PC_NAMES, frame_labels,
};
use mirlens_symbolic::{MidiFile, ParseOptions, Score};
use std::collections::BTreeMap;
use std::path::Path;

/// Names of the frame-level labels, in schema order.
pub const FRAME_LABELS: [&str; 6] = [
    "frame_pitch",
    "frame_onset",
    "frame_n_notes",
    "frame_chord",
    "frame_key",
    "frame_beat",
];

/// The 24 key names of `frame_key` (`C major` … `B major`, `C minor` … `B minor`).
pub fn key_classes() -> Vec<String> {
    ["major", "minor"]
        .iter()
        .flat_map(|m| PC_NAMES.iter().map(move |n| format!("{n} {m}")))
        .collect()
}

/// The schema fields of the frame-level labels.
pub fn frame_label_fields() -> Vec<LabelField> {
    let pitches: Vec<String> = (0..128).map(|p| p.to_string()).collect();
    let row = |name: &str, kind: LabelKind| LabelField::new(name, LabelLevel::Row, kind);
    vec![
        row(
            "frame_pitch",
            LabelKind::MultiHot {
                width: 128,
                classes: pitches.clone(),
            },
        ),
        row(
            "frame_onset",
            LabelKind::MultiHot {
                width: 128,
                classes: pitches,
            },
        ),
        row("frame_n_notes", LabelKind::Integer),
        row(
            "frame_chord",
            LabelKind::Categorical {
                classes: FrameChord::all_labels(),
            },
        ),
        row(
            "frame_key",
            LabelKind::Categorical {
                classes: key_classes(),
            },
        ),
        row("frame_beat", LabelKind::Real),
    ]
}

/// Read the first score of a MIDI file (format 2: its first pattern), FIFO pairing; the error names the file.
pub fn read_score(path: &Path) -> Result<Score, String> {
    let mut f = MidiFile::read(path, &ParseOptions::default())
        .map_err(|e| format!("MIDI {}: {}", path.display(), mirlens_core::error_chain(&e)))?;
    if f.scores.is_empty() {
        return Err(format!("MIDI {}: no tracks", path.display()));
    }
    Ok(f.scores.swap_remove(0))
}

/// Labels of `frames` frames at `rate` Hz of `score`.
pub fn labels_of(score: &Score, rate: f64, frames: usize) -> Result<FrameLabels, String> {
    frame_labels(score, &FrameLabelOptions::new(rate, frames)).map_err(|e| e.to_string())
}

/// Append `frames` rows of frame labels (`None`: the clip has no score, every label missing) to `cols`, creating
/// the columns of `fields` on first use.
pub fn push_rows(
    cols: &mut BTreeMap<String, LabelData>,
    fields: &[LabelField],
    labels: Option<&FrameLabels>,
    frames: usize,
) -> Result<(), StoreError> {
    for f in fields {
        let d = cols
            .entry(f.name.clone())
            .or_insert_with(|| LabelData::empty(&f.kind));
        let Some(l) = labels else {
            for _ in 0..frames {
                d.push(f, None)?;
            }
            continue;
        };
        for t in 0..frames {
            match (f.name.as_str(), &mut *d) {
                ("frame_pitch" | "frame_onset", LabelData::MultiHot { values, .. }) => {
                    let set = if f.name == "frame_pitch" {
                        &l.pitches[t]
                    } else {
                        &l.onsets[t]
                    };
                    let start = values.len();
                    values.extend(std::iter::repeat_n(0u8, 128));
                    for &p in set {
                        values[start + p as usize] = 1;
                    }
                }
                ("frame_n_notes", _) => {
                    d.push(f, Some(&LabelValue::Int(l.pitches[t].len() as i64)))?
                }
                ("frame_chord", _) => {
                    let c = l.chords[t].map_or("N".to_string(), |c| c.harte());
                    d.push(f, Some(&LabelValue::Str(c)))?
                }
                ("frame_key", _) => {
                    let k = l.keys[t].map(|k| {
                        LabelValue::Str(format!(
                            "{} {}",
                            PC_NAMES[k.tonic() as usize],
                            if k.minor { "minor" } else { "major" }
                        ))
                    });
                    d.push(f, k.as_ref())?
                }
                ("frame_beat", _) => d.push(f, l.beats[t].map(LabelValue::Float).as_ref())?,
                _ => d.push(f, None)?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_and_classes() {
        let f = frame_label_fields();
        assert_eq!(
            f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            FRAME_LABELS
        );
        assert_eq!(key_classes().len(), 24);
        assert_eq!(key_classes()[13], "C# minor");
    }
}

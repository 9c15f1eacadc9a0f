//! A folder of aligned audio + MIDI pairs: every `.mid` / `.midi` file under `ROOT` (recursively) whose folder holds
//! an audio file with the same stem (`take1.mid` + `take1.wav`). The entry's `midi` field names the MIDI file, so
//! `mirlens extract --pool none` writes frame-level labels (sounding pitches, onsets, chord, key, beat) for it.
//!
//! Labels from the MIDI file: `n_notes` (pitched notes), `pitch_min`, `pitch_max`, `programs` (tags: GM program
//! names of the pitched tracks), `has_drums` (0/1). A MIDI file without an audio partner, or one that cannot be
//! parsed, is left out and listed in [`Built::skipped`] with the reason; an audio file without a MIDI partner is
//! ignored. Id: the path relative to `ROOT` without extension.

use super::{Built, Skipped, is_audio, list_dir};
use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, Manifest, ManifestEntry};
use mirlens_core::LabelValue;
use mirlens_symbolic::{MidiFile, ParseOptions};
use std::path::{Path, PathBuf};

fn is_midi(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "mid" | "midi"))
}

fn midi_files_under(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for p in list_dir(dir)? {
        if p.is_dir() {
            midi_files_under(&p, out)?;
        } else if is_midi(&p) {
            out.push(p);
        }
    }
    Ok(())
}

/// The label schema of this layout.
pub fn schema() -> LabelSchema {
    LabelSchema::new()
        .with("n_notes", LabelType::Int)
        .with("pitch_min", LabelType::Int)
        .with("pitch_max", LabelType::Int)
        .with("programs", LabelType::Tags)
        .with("has_drums", LabelType::Int)
}

/// Builds the manifest of the pairs under `root`.
pub fn build(root: &Path) -> Result<Built> {
    let mut midis = Vec::new();
    midi_files_under(root, &mut midis)?;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for m in midis {
        let rel = m.strip_prefix(root).unwrap_or(&m).with_extension("");
        let id = rel.to_string_lossy().replace('\\', "/");
        let stem = m.file_stem().map(|s| s.to_os_string()).unwrap_or_default();
        let dir = m.parent().unwrap_or(root);
        let audio = list_dir(dir)?
            .into_iter()
            .find(|p| is_audio(p) && p.file_stem() == Some(stem.as_os_str()));
        let Some(audio) = audio else {
            skipped.push(Skipped {
                source: m.clone(),
                line: 0,
                id,
                reason: "no audio file with the same name beside it".into(),
            });
            continue;
        };
        let score = match MidiFile::read(&m, &ParseOptions::default()) {
            Ok(mut f) if !f.scores.is_empty() => f.scores.swap_remove(0),
            Ok(_) => {
                skipped.push(Skipped {
                    source: m.clone(),
                    line: 0,
                    id,
                    reason: "no tracks".into(),
                });
                continue;
            }
            Err(e) => {
                skipped.push(Skipped {
                    source: m.clone(),
                    line: 0,
                    id,
                    reason: mirlens_core::error_chain(&e),
                });
                continue;
            }
        };
        let pitched: Vec<u8> = score
            .tracks
            .iter()
            .filter(|t| !t.is_drum)
            .flat_map(|t| t.notes.iter().map(|n| n.pitch))
            .collect();
        let mut programs: Vec<String> = score
            .tracks
            .iter()
            .filter(|t| !t.is_drum && !t.notes.is_empty())
            .map(|t| mirlens_symbolic::gm::program_name(t.program).to_string())
            .collect();
        programs.sort();
        programs.dedup();
        let mut e = ManifestEntry::new(id, audio)
            .with_midi(&m)
            .with_label("n_notes", LabelValue::Int(pitched.len() as i64))
            .with_label("programs", LabelValue::Tags(programs))
            .with_label(
                "has_drums",
                LabelValue::Int(
                    score
                        .tracks
                        .iter()
                        .any(|t| t.is_drum && !t.notes.is_empty()) as i64,
                ),
            );
        if let (Some(lo), Some(hi)) = (pitched.iter().min(), pitched.iter().max()) {
            e.labels
                .insert("pitch_min".into(), LabelValue::Int(*lo as i64));
            e.labels
                .insert("pitch_max".into(), LabelValue::Int(*hi as i64));
        }
        entries.push(e);
    }
    if entries.is_empty() {
        return Err(DatasetError::Layout {
            root: root.to_path_buf(),
            layout: "midi-folder",
            message: format!(
                "no MIDI file with an audio partner of the same name ({} MIDI file(s) left out)",
                skipped.len()
            ),
        });
    }
    let manifest = Manifest {
        entries,
        label_schema: schema(),
    };
    manifest.validate(root)?;
    Ok(Built { manifest, skipped })
}

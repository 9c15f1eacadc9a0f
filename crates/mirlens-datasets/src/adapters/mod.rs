//! Adapters that build a [`Manifest`] from the published layouts of standard MIR datasets.
//!
//! | layout | function | labels |
//! |---|---|---|
//! | NSynth | [`nsynth::build`] | pitch, pitch_class, velocity, instrument, instrument_family(+_id), instrument_source, qualities |
//! | GTZAN | [`gtzan::build`] | genre; split from the fault-filtered lists (built in) or user lists |
//! | GiantSteps key / MTG-Key | [`giantsteps::build`] | key (enharmonics normalised to sharps), key_tonic, mode, key_class |
//! | MAESTRO | [`maestro::build`] | composer, title, year, midi_filename, n_notes, pitch range, mean velocity |
//! | MTG-Jamendo | [`jamendo::build`] | tags, genre, instrument, mood, artist |
//! | folder per label | [`folder::build`] | one string label named after the folder |
//! | audio + MIDI pairs | [`midi_folder::build`] | n_notes, pitch range, programs, has_drums; `midi` set (frame-level labels) |
//! | CSV | [`csv::build`] | typed columns (declared or inferred) |
//!
//! Every adapter checks that the audio files it lists exist; a missing file or malformed metadata is an error
//! naming the metadata file and line. Entries an adapter deliberately leaves out (e.g. GiantSteps-MTG tracks without
//! a usable key) are returned in [`Built::skipped`] with the reason, never dropped silently.

pub mod csv;
pub mod folder;
pub mod giantsteps;
pub mod gtzan;
pub mod jamendo;
pub mod maestro;
pub mod midi_folder;
pub mod nsynth;

use crate::error::{DatasetError, Result};
use crate::manifest::Manifest;
use std::path::{Path, PathBuf};

/// A built manifest plus the entries deliberately left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Built {
    /// The manifest.
    pub manifest: Manifest,
    /// Entries not included, with the reason.
    pub skipped: Vec<Skipped>,
}

/// An entry an adapter left out on purpose.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    /// Metadata file that listed it.
    pub source: PathBuf,
    /// 1-based line in `source` (0 if not line-based).
    pub line: usize,
    /// Its id.
    pub id: String,
    /// Why it was left out.
    pub reason: String,
}

/// Audio file extensions recognised when scanning folders.
pub const AUDIO_EXTENSIONS: [&str; 9] = [
    "wav", "mp3", "flac", "ogg", "m4a", "aac", "aif", "aiff", "opus",
];

pub(crate) fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| DatasetError::io(path, e))
}

pub(crate) fn require_file(meta: &Path, line: usize, file: &Path) -> Result<()> {
    if file.is_file() {
        Ok(())
    } else {
        Err(DatasetError::MissingFile {
            path: meta.to_path_buf(),
            line,
            missing: file.to_path_buf(),
        })
    }
}

pub(crate) fn is_audio(p: &Path) -> bool {
    p.extension()
        .and_then(|e| e.to_str())
        .map(|e| AUDIO_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
        .unwrap_or(false)
}

/// Sorted list of the entries of a directory.
pub(crate) fn list_dir(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| DatasetError::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// All audio files under `dir`, recursively, sorted.
pub(crate) fn audio_files_under(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in list_dir(dir)? {
        if p.is_dir() {
            out.extend(audio_files_under(&p)?);
        } else if is_audio(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

//! GTZAN: `genres/<genre>/<genre>.000NN.wav` (the Kaggle copy nests it as `Data/genres_original/`).
//!
//! Splits come from list files in a folder the user supplies, one `genre/file.wav` line per clip, named
//! `train.txt` / `valid.txt` / `test.txt` or, as published with the fault-filtered, artist-disjoint split of
//! Kereliuk et al. (2015) (443 / 197 / 290 files), `train_filtered.txt` / `valid_filtered.txt` /
//! `test_filtered.txt`. Only listed files are included. Without lists, every file found is taken with no split.

use super::{Built, Skipped, audio_files_under, list_dir, read_text, require_file};
use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, Manifest, ManifestEntry, Split};
use mirlens_core::LabelValue;
use std::path::{Path, PathBuf};

/// The ten GTZAN genres.
pub const GENRES: [&str; 10] = [
    "blues",
    "classical",
    "country",
    "disco",
    "hiphop",
    "jazz",
    "metal",
    "pop",
    "reggae",
    "rock",
];

/// Which split to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GtzanSplits {
    /// The split lists in this folder (`train.txt` or `train_filtered.txt`, and likewise `valid`, `test`).
    Lists(PathBuf),
    /// Like `Lists`, without `jazz/jazz.00054.wav` (corrupt in the Kaggle copy; removed by MARBLE).
    ListsMarble(PathBuf),
    /// Every audio file found, no split.
    None,
}

/// Label columns produced.
pub fn schema() -> LabelSchema {
    LabelSchema::new().with("genre", LabelType::String)
}

/// Finds the folder holding the genre folders.
pub fn genres_dir(root: &Path) -> Result<PathBuf> {
    for c in ["genres", "genres_original", "Data/genres_original", "."] {
        let d = root.join(c);
        if d.join("blues").is_dir() || GENRES.iter().any(|g| d.join(g).is_dir()) {
            return Ok(d);
        }
    }
    Err(DatasetError::Layout {
        root: root.to_path_buf(),
        layout: "gtzan",
        message: "expected genres/<genre>/ (or Data/genres_original/<genre>/) folders".into(),
    })
}

/// Builds the manifest.
pub fn build(root: &Path, splits: &GtzanSplits) -> Result<Built> {
    let gdir = genres_dir(root)?;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    let lists: Vec<(PathBuf, String, Split)> = match splits {
        GtzanSplits::None => {
            for d in list_dir(&gdir)?.into_iter().filter(|d| d.is_dir()) {
                let genre = d
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                for f in audio_files_under(&d)? {
                    let rel = f
                        .strip_prefix(&gdir)
                        .unwrap_or(&f)
                        .to_string_lossy()
                        .replace('\\', "/");
                    entries.push(entry(&rel, f.clone(), &genre, None));
                }
            }
            Vec::new()
        }
        GtzanSplits::Lists(dir) | GtzanSplits::ListsMarble(dir) => {
            let mut v = Vec::new();
            for (name, split) in [
                ("train.txt", Split::Train),
                ("valid.txt", Split::Valid),
                ("test.txt", Split::Test),
            ] {
                let stem = name.trim_end_matches(".txt");
                let filtered = dir.join(format!("{stem}_filtered.txt"));
                let p = if filtered.is_file() {
                    filtered
                } else {
                    dir.join(name)
                };
                if p.is_file() {
                    v.push((p.clone(), read_text(&p)?, split));
                }
            }
            if v.is_empty() {
                return Err(DatasetError::Layout {
                    root: dir.clone(),
                    layout: "gtzan",
                    message: "no split lists: expected train.txt, valid.txt and/or test.txt (or the published *_filtered.txt names)".into(),
                });
            }
            v
        }
    };
    for (src, text, split) in &lists {
        for (i, raw) in text.lines().enumerate() {
            let rel = raw.trim();
            if rel.is_empty() || rel.starts_with('#') {
                continue;
            }
            let line = i + 1;
            let genre = match rel.split_once('/') {
                Some((g, f)) if !g.is_empty() && !f.is_empty() => g.to_string(),
                _ => {
                    return Err(DatasetError::parse(
                        src,
                        line,
                        format!("expected `<genre>/<file>.wav`, found {rel:?}"),
                    ));
                }
            };
            if matches!(splits, GtzanSplits::ListsMarble(_)) && rel == "jazz/jazz.00054.wav" {
                skipped.push(Skipped {
                    source: src.clone(),
                    line,
                    id: rel.to_string(),
                    reason: "corrupt in the Kaggle copy; removed as in MARBLE".into(),
                });
                continue;
            }
            let path = gdir.join(rel);
            require_file(src, line, &path)?;
            entries.push(entry(rel, path, &genre, Some(*split)));
        }
    }
    let manifest = Manifest::from_entries(entries, root)?;
    let manifest = Manifest {
        label_schema: schema(),
        ..manifest
    };
    Ok(Built { manifest, skipped })
}

fn entry(rel: &str, path: PathBuf, genre: &str, split: Option<Split>) -> ManifestEntry {
    let id = rel.trim_end_matches(".wav").to_string();
    let mut e =
        ManifestEntry::new(id, path).with_label("genre", LabelValue::Str(genre.to_string()));
    e.split = split;
    e
}

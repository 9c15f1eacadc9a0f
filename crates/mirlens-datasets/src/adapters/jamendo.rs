//! MTG-Jamendo-style TSV: `TRACK_ID  ARTIST_ID  ALBUM_ID  PATH  DURATION  TAGS…` (tab-separated, one tag per
//! column, e.g. `mood/theme---background`). Audio is `<audio_root>/<PATH>`; the low-quality release's
//! `<dir>/<id>.low.mp3` naming is accepted too. The split of a TSV is read from its file name
//! (`…-train.tsv`, `…-validation.tsv`, `…-test.tsv`), as in `data/splits/split-N/`.

use super::{Built, read_text};
use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, Manifest, ManifestEntry, Split};
use mirlens_core::LabelValue;
use std::path::{Path, PathBuf};

/// Label columns produced.
pub fn schema() -> LabelSchema {
    LabelSchema::new()
        .with("tags", LabelType::Tags)
        .with("genre", LabelType::Tags)
        .with("instrument", LabelType::Tags)
        .with("mood", LabelType::Tags)
        .with("artist", LabelType::String)
        .with("track_duration", LabelType::Float)
}

/// The split named by a TSV file name, if any.
pub fn split_from_name(tsv: &Path) -> Option<Split> {
    let stem = tsv.file_stem()?.to_str()?;
    let last = stem.rsplit('-').next()?;
    last.parse().ok()
}

/// Builds one manifest from several TSV files (their entries concatenated; a track listed twice is an error).
pub fn build(audio_root: &Path, tsvs: &[PathBuf]) -> Result<Built> {
    if tsvs.is_empty() {
        return Err(DatasetError::Layout {
            root: audio_root.to_path_buf(),
            layout: "jamendo",
            message: "no TSV metadata file given".into(),
        });
    }
    let mut entries = Vec::new();
    for tsv in tsvs {
        let split = split_from_name(tsv);
        let text = read_text(tsv)?;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            if raw.trim().is_empty() {
                continue;
            }
            let cols: Vec<&str> = raw.split('\t').map(str::trim).collect();
            if i == 0 && cols[0] == "TRACK_ID" {
                continue;
            }
            if cols.len() < 5 {
                return Err(DatasetError::parse(
                    tsv,
                    line,
                    format!(
                        "expected `TRACK_ID ARTIST_ID ALBUM_ID PATH DURATION TAGS…`, found {} columns",
                        cols.len()
                    ),
                ));
            }
            let dur: f64 = cols[4].parse().map_err(|_| DatasetError::LabelType {
                path: tsv.clone(),
                line,
                label: "DURATION".into(),
                expected: "float",
                got: "string",
                value: cols[4].into(),
            })?;
            let tags: Vec<String> = cols[5..]
                .iter()
                .filter(|t| !t.is_empty())
                .map(|t| t.to_string())
                .collect();
            let by = |prefix: &str| -> Vec<String> {
                tags.iter()
                    .filter_map(|t| t.strip_prefix(prefix))
                    .map(String::from)
                    .collect()
            };
            let mut path = audio_root.join(cols[3]);
            if !path.is_file() {
                let low = path.with_extension("low.mp3");
                if low.is_file() {
                    path = low;
                } else {
                    return Err(DatasetError::MissingFile {
                        path: tsv.clone(),
                        line,
                        missing: path,
                    });
                }
            }
            let mut e = ManifestEntry::new(cols[0], path)
                .with_label("genre", LabelValue::Tags(by("genre---")))
                .with_label("instrument", LabelValue::Tags(by("instrument---")))
                .with_label("mood", LabelValue::Tags(by("mood/theme---")))
                .with_label("tags", LabelValue::Tags(tags))
                .with_label("artist", LabelValue::Str(cols[1].into()))
                .with_label("track_duration", LabelValue::Float(dur));
            e.split = split;
            entries.push(e);
        }
    }
    let manifest = Manifest {
        entries,
        label_schema: schema(),
    };
    manifest.validate(&tsvs[0])?;
    Ok(Built {
        manifest,
        skipped: Vec::new(),
    })
}

//! GiantSteps key datasets.
//!
//! * **Test set** (`giantsteps-key-dataset`): `audio/<id>.LOFI.mp3` + `annotations/key/<id>.LOFI.key` (one line,
//!   e.g. `Bb major`) or `annotations/giantsteps/<id>.LOFI.key` (`#@format:` header, then `key 0 D major`).
//! * **Train/valid set** (`giantsteps-mtg-key-dataset`): `annotations/annotations.txt`, TSV `ID  MANUAL KEY  C`
//!   (confidence C ∈ {0, 1, 2}), audio `audio/<ID>.LOFI.mp3`. Tracks whose key is `-` (none) or ambiguous
//!   (`C minor / F# minor`, `A/E major`) are skipped with the reason.
//!
//! Keys are normalised: enharmonic spellings (`Bb` = `A#`) map to one tonic, spelled with sharps, written as
//! mir_eval's `"<tonic> <mode>"`; `key_class = tonic + 12 · (mode == minor)` gives the 24 classes.

use super::{Built, Skipped, read_text, require_file};
use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, Manifest, ManifestEntry};
use crate::synth::chords::PC_NAMES;
use mirlens_core::LabelValue;
use std::path::{Path, PathBuf};

/// Label columns produced.
pub fn schema() -> LabelSchema {
    LabelSchema::new()
        .with("key", LabelType::String)
        .with("key_tonic", LabelType::Int)
        .with("mode", LabelType::String)
        .with("key_class", LabelType::Int)
        .with("confidence", LabelType::Int)
}

/// Parses a key such as `Bb major`, `a# minor`, `Gb maj`, `F♯ min` into (tonic pitch class, is_minor).
/// Returns `None` for anything else (including `-`, ambiguous keys, `X`).
pub fn parse_key(s: &str) -> Option<(u8, bool)> {
    let s = s.trim();
    let mut parts = s.split_whitespace();
    let tonic = parts.next()?;
    let mode = parts.next()?;
    if parts.next().is_some() {
        return None;
    }
    let mut ch = tonic.chars();
    let base: i32 = match ch.next()?.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let mut pc = base;
    for c in ch {
        match c {
            '#' | '♯' => pc += 1,
            'b' | '♭' => pc -= 1,
            _ => return None,
        }
    }
    let minor = match mode.to_ascii_lowercase().as_str() {
        "major" | "maj" => false,
        "minor" | "min" => true,
        _ => return None,
    };
    Some((pc.rem_euclid(12) as u8, minor))
}

/// The normalised mir_eval key string (sharps), e.g. `A# major`.
pub fn key_name(tonic: u8, minor: bool) -> String {
    format!(
        "{} {}",
        PC_NAMES[tonic as usize % 12],
        if minor { "minor" } else { "major" }
    )
}

fn key_entry(
    id: &str,
    path: PathBuf,
    tonic: u8,
    minor: bool,
    confidence: Option<i64>,
) -> ManifestEntry {
    let mut e = ManifestEntry::new(id, path)
        .with_label("key", LabelValue::Str(key_name(tonic, minor)))
        .with_label("key_tonic", LabelValue::Int(tonic as i64))
        .with_label(
            "mode",
            LabelValue::Str(if minor { "minor" } else { "major" }.into()),
        )
        .with_label(
            "key_class",
            LabelValue::Int(tonic as i64 + 12 * minor as i64),
        );
    if let Some(c) = confidence {
        e.labels.insert("confidence".into(), LabelValue::Int(c));
    }
    e
}

/// Builds the manifest (detects test-set vs MTG-Key layout).
pub fn build(root: &Path) -> Result<Built> {
    let tsv = root.join("annotations").join("annotations.txt");
    let built = if tsv.is_file() {
        build_mtg(root, &tsv)?
    } else {
        build_test(root)?
    };
    Ok(built)
}

fn audio_for(root: &Path, id: &str) -> PathBuf {
    let stem = if id.ends_with(".LOFI") {
        id.to_string()
    } else {
        format!("{id}.LOFI")
    };
    root.join("audio").join(format!("{stem}.mp3"))
}

fn build_test(root: &Path) -> Result<Built> {
    let (dir, headered) = if root.join("annotations/key").is_dir() {
        (root.join("annotations/key"), false)
    } else if root.join("annotations/giantsteps").is_dir() {
        (root.join("annotations/giantsteps"), true)
    } else {
        return Err(DatasetError::Layout {
            root: root.to_path_buf(),
            layout: "giantsteps",
            message: "expected annotations/key/*.key, annotations/giantsteps/*.key or annotations/annotations.txt".into(),
        });
    };
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for f in super::list_dir(&dir)? {
        if f.extension().and_then(|e| e.to_str()) != Some("key") {
            continue;
        }
        let id = f
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = read_text(&f)?;
        let found = text
            .lines()
            .enumerate()
            .find(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
        let Some((li, l)) = found else {
            return Err(DatasetError::parse(&f, 1, "empty key annotation"));
        };
        let key_text = if headered {
            // `key <TAB> 0 <TAB> D major`
            let cols: Vec<&str> = l.split('\t').collect();
            if cols.len() == 3 {
                cols[2].to_string()
            } else {
                l.split_whitespace().skip(2).collect::<Vec<_>>().join(" ")
            }
        } else {
            l.trim().to_string()
        };
        match parse_key(&key_text) {
            Some((tonic, minor)) => {
                let path = audio_for(root, &id);
                require_file(&f, li + 1, &path)?;
                entries.push(key_entry(&id, path, tonic, minor, None));
            }
            None => {
                return Err(DatasetError::parse(
                    &f,
                    li + 1,
                    format!(
                        "cannot parse key {key_text:?}: expected `<tonic> major|minor`, e.g. `Bb major`"
                    ),
                ));
            }
        }
    }
    let mut schema = schema();
    schema.columns.remove("confidence");
    skipped.sort_by(|a: &Skipped, b| a.id.cmp(&b.id));
    let manifest = Manifest {
        entries,
        label_schema: schema,
    };
    manifest.validate(root)?;
    Ok(Built { manifest, skipped })
}

fn build_mtg(root: &Path, tsv: &Path) -> Result<Built> {
    let text = read_text(tsv)?;
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        if raw.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = raw.split('\t').map(str::trim).collect();
        if i == 0 && cols.first().is_some_and(|c| c.eq_ignore_ascii_case("id")) {
            continue;
        }
        if cols.len() < 3 {
            return Err(DatasetError::parse(
                tsv,
                line,
                format!(
                    "expected 3 tab-separated columns `ID  KEY  CONFIDENCE`, found {}",
                    cols.len()
                ),
            ));
        }
        let (id, key, conf) = (cols[0], cols[1], cols[2]);
        let conf: i64 = conf.parse().map_err(|_| DatasetError::LabelType {
            path: tsv.to_path_buf(),
            line,
            label: "confidence".into(),
            expected: "int",
            got: "string",
            value: conf.to_string(),
        })?;
        let Some((tonic, minor)) = parse_key(key) else {
            let reason = if key == "-" {
                "no key annotated".to_string()
            } else if key.contains('/') {
                format!("ambiguous key {key:?}")
            } else {
                return Err(DatasetError::parse(
                    tsv,
                    line,
                    format!("cannot parse key {key:?}"),
                ));
            };
            skipped.push(Skipped {
                source: tsv.to_path_buf(),
                line,
                id: id.to_string(),
                reason,
            });
            continue;
        };
        let path = audio_for(root, id);
        require_file(tsv, line, &path)?;
        entries.push(key_entry(id, path, tonic, minor, Some(conf)));
    }
    let manifest = Manifest {
        entries,
        label_schema: schema(),
    };
    manifest.validate(tsv)?;
    Ok(Built { manifest, skipped })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enharmonic_spellings_normalise() {
        assert_eq!(parse_key("Bb major"), Some((10, false)));
        assert_eq!(parse_key("A# major"), parse_key("Bb major"));
        assert_eq!(parse_key("gb minor"), Some((6, true)));
        assert_eq!(parse_key("Cb maj"), Some((11, false)));
        assert_eq!(parse_key("E# min"), Some((5, true)));
        assert_eq!(parse_key("F♯ minor"), Some((6, true)));
        assert_eq!(key_name(10, false), "A# major");
        assert_eq!(parse_key("-"), None);
        assert_eq!(parse_key("C minor / F# minor"), None);
        assert_eq!(parse_key("H major"), None);
    }
}

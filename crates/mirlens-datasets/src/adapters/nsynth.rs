//! NSynth: `nsynth-{train,valid,test}/examples.json` (object keyed by `note_str`) + `audio/<note_str>.wav`.
//!
//! `root` may be one split folder (containing `examples.json`) or a folder containing `nsynth-train`,
//! `nsynth-valid` and/or `nsynth-test`. The split is taken from the folder name.

use super::{Built, read_text, require_file};
use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, Manifest, ManifestEntry, Split};
use mirlens_core::LabelValue;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Label columns produced.
pub fn schema() -> LabelSchema {
    LabelSchema::new()
        .with("pitch", LabelType::Int)
        .with("pitch_class", LabelType::Int)
        .with("velocity", LabelType::Int)
        .with("instrument", LabelType::String)
        .with("instrument_family", LabelType::String)
        .with("instrument_family_id", LabelType::Int)
        .with("instrument_source", LabelType::String)
        .with("qualities", LabelType::Tags)
}

fn split_dirs(root: &Path) -> Result<Vec<(PathBuf, Option<Split>)>> {
    let split_of = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("nsynth-"))
            .and_then(|s| s.parse::<Split>().ok())
    };
    if root.join("examples.json").is_file() {
        return Ok(vec![(root.to_path_buf(), split_of(root))]);
    }
    let dirs: Vec<_> = ["nsynth-train", "nsynth-valid", "nsynth-test"]
        .iter()
        .map(|d| root.join(d))
        .filter(|d| d.join("examples.json").is_file())
        .map(|d| {
            let s = split_of(&d);
            (d, s)
        })
        .collect();
    if dirs.is_empty() {
        return Err(DatasetError::Layout {
            root: root.to_path_buf(),
            layout: "nsynth",
            message: "expected examples.json here or in nsynth-{train,valid,test}/".into(),
        });
    }
    Ok(dirs)
}

/// 1-based line of the first occurrence of `"key"` as an object key in `text`.
pub(crate) fn line_of_key(text: &str, key: &str) -> usize {
    let pat = format!("\"{key}\"");
    text.find(&pat)
        .map(|i| text[..i].matches('\n').count() + 1)
        .unwrap_or(0)
}

/// Builds the manifest.
pub fn build(root: &Path) -> Result<Built> {
    let mut entries = Vec::new();
    for (dir, split) in split_dirs(root)? {
        let meta = dir.join("examples.json");
        let text = read_text(&meta)?;
        let v: Value = serde_json::from_str(&text)
            .map_err(|e| DatasetError::parse(&meta, e.line(), format!("invalid JSON: {e}")))?;
        let Value::Object(map) = v else {
            return Err(DatasetError::parse(
                &meta,
                1,
                "expected a JSON object keyed by note_str",
            ));
        };
        let mut keys: Vec<&String> = map.keys().collect();
        keys.sort();
        for key in keys {
            let line = line_of_key(&text, key);
            let ex = &map[key];
            let field_err = |field: &str, expected: &'static str| {
                let got = ex.get(field);
                DatasetError::LabelType {
                    path: meta.clone(),
                    line,
                    label: field.to_string(),
                    expected,
                    got: match got {
                        None => "missing",
                        Some(Value::String(_)) => "string",
                        Some(Value::Number(_)) => "number",
                        Some(Value::Array(_)) => "array",
                        Some(_) => "other",
                    },
                    value: got.map(|g| g.to_string()).unwrap_or_default(),
                }
            };
            let int = |f: &str| {
                ex.get(f)
                    .and_then(Value::as_i64)
                    .ok_or_else(|| field_err(f, "int"))
            };
            let string = |f: &str| {
                ex.get(f)
                    .and_then(Value::as_str)
                    .ok_or_else(|| field_err(f, "string"))
            };
            let pitch = int("pitch")?;
            let velocity = int("velocity")?;
            let family = string("instrument_family_str")?;
            let family_id = int("instrument_family")?;
            let source = string("instrument_source_str")?;
            let instrument = string("instrument_str")?;
            let qualities: Vec<String> = match ex.get("qualities_str") {
                None => Vec::new(),
                Some(Value::Array(a)) => a
                    .iter()
                    .map(|q| {
                        q.as_str()
                            .map(String::from)
                            .ok_or_else(|| field_err("qualities_str", "tags"))
                    })
                    .collect::<Result<_>>()?,
                Some(_) => return Err(field_err("qualities_str", "tags")),
            };
            if !(0..=127).contains(&pitch) {
                return Err(DatasetError::parse(
                    &meta,
                    line,
                    format!("pitch {pitch} outside 0..=127"),
                ));
            }
            let path = dir.join("audio").join(format!("{key}.wav"));
            require_file(&meta, line, &path)?;
            let mut e = ManifestEntry::new(key.clone(), path)
                .with_label("pitch", LabelValue::Int(pitch))
                .with_label("pitch_class", LabelValue::Int(pitch % 12))
                .with_label("velocity", LabelValue::Int(velocity))
                .with_label("instrument", LabelValue::Str(instrument.into()))
                .with_label("instrument_family", LabelValue::Str(family.into()))
                .with_label("instrument_family_id", LabelValue::Int(family_id))
                .with_label("instrument_source", LabelValue::Str(source.into()))
                .with_label("qualities", LabelValue::Tags(qualities));
            e.split = split;
            entries.push(e);
        }
    }
    let manifest = Manifest {
        entries,
        label_schema: schema(),
    };
    manifest.validate(root)?;
    Ok(Built {
        manifest,
        skipped: Vec::new(),
    })
}

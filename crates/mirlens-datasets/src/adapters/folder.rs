//! Folder per label: `ROOT/<label>/**/<file>.<audio ext>`. Optional split level: if `ROOT` contains only
//! `train`/`valid`(`validation`)/`test` folders, each is read as `ROOT/<split>/<label>/…`.

use super::{Built, audio_files_under, list_dir};
use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, Manifest, ManifestEntry, Split};
use mirlens_core::LabelValue;
use std::path::Path;

/// Builds the manifest; the label column is called `label_name` (e.g. `label`, `genre`).
pub fn build(root: &Path, label_name: &str) -> Result<Built> {
    let dirs: Vec<_> = list_dir(root)?.into_iter().filter(|d| d.is_dir()).collect();
    let split_of = |d: &Path| {
        d.file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.parse::<Split>().ok())
    };
    let with_splits = !dirs.is_empty() && dirs.iter().all(|d| split_of(d).is_some());
    let mut entries = Vec::new();
    let levels: Vec<(std::path::PathBuf, Option<Split>)> = if with_splits {
        dirs.iter().map(|d| (d.clone(), split_of(d))).collect()
    } else {
        vec![(root.to_path_buf(), None)]
    };
    for (base, split) in levels {
        for class_dir in list_dir(&base)?.into_iter().filter(|d| d.is_dir()) {
            let label = class_dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            for f in audio_files_under(&class_dir)? {
                let rel = f.strip_prefix(root).unwrap_or(&f).with_extension("");
                let mut e = ManifestEntry::new(rel.to_string_lossy().replace('\\', "/"), f.clone())
                    .with_label(label_name, LabelValue::Str(label.clone()));
                e.split = split;
                entries.push(e);
            }
        }
    }
    if entries.is_empty() {
        return Err(DatasetError::Layout {
            root: root.to_path_buf(),
            layout: "folder",
            message: "no audio files found in <label>/ sub-folders".into(),
        });
    }
    let manifest = Manifest {
        entries,
        label_schema: LabelSchema::new().with(label_name, LabelType::String),
    };
    manifest.validate(root)?;
    Ok(Built {
        manifest,
        skipped: Vec::new(),
    })
}

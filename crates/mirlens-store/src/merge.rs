//! Joining the parts written by `--shard i/N` jobs into one store.

use crate::error::{Result, StoreError, io_err};
use crate::io;
use crate::manifest::{JOURNAL_FILE, Part, StoreManifest, abs, rows_shard_path};
use crate::schema::{LabelLevel, LabelSchema};
use crate::table::{LabelData, decode_table, grow_schema, row_label_sets, table_bytes};
use crate::writer::{append_journal, write_manifest, write_stats};
use std::path::{Path, PathBuf};

/// Merge complete part stores (`i/N` for every `i` exactly once, same header) into a new store at `out`. Files are
/// copied with their hashes checked; the result is byte-for-byte the store a single job would have written.
pub fn merge(parts: &[PathBuf], out: &Path) -> Result<StoreManifest> {
    let first = parts.first().ok_or_else(|| {
        mirlens_core::CoreError::invalid("parts", "[]", "at least one store to merge")
    })?;
    let mut manifests = Vec::new();
    for p in parts {
        let m = StoreManifest::load(p)?;
        if m.is_v1() {
            return Err(StoreError::ReadOnly {
                path: p.clone(),
                format: m.format,
            });
        }
        if !m.complete {
            return Err(StoreError::Incomplete {
                path: p.clone(),
                shards: m.shards.len(),
            });
        }
        manifests.push((p.clone(), m));
    }
    let header = manifests[0].1.header.clone();
    let layout = manifests[0].1.layout.clone();
    let count = manifests[0].1.part.count;
    let mut seen = vec![None::<PathBuf>; count];
    for (p, m) in &manifests {
        m.header
            .check_same(&header, first)
            .map_err(|e| StoreError::Merge {
                path: p.clone(),
                reason: e.to_string(),
            })?;
        let mut a = m.layout.clone();
        let mut b = layout.clone();
        if !layout.label_schema_declared {
            // inferred schemas of parts differ in the classes each part discovered; merged below
            a.label_schema = LabelSchema::new();
            b.label_schema = LabelSchema::new();
        }
        if a != b {
            let what = if m.layout.label_schema != layout.label_schema {
                "label schema (parts written without a declared schema discovered different classes)"
            } else {
                "layout (modality, row unit, model card or non-finite policy)"
            };
            return Err(StoreError::Merge {
                path: p.clone(),
                reason: format!("its {what} differs from that of {}", first.display()),
            });
        }
        if m.part.count != count {
            return Err(StoreError::Merge {
                path: p.clone(),
                reason: format!(
                    "it is part {} but {} is part of {count}",
                    m.part,
                    first.display()
                ),
            });
        }
        if let Some(prev) = &seen[m.part.index] {
            return Err(StoreError::Merge {
                path: p.clone(),
                reason: format!("part {} is also given as {}", m.part, prev.display()),
            });
        }
        seen[m.part.index] = Some(p.clone());
    }
    if let Some(i) = seen.iter().position(|s| s.is_none()) {
        return Err(StoreError::Merge {
            path: first.clone(),
            reason: format!("part {i}/{count} is missing"),
        });
    }
    let lock = crate::lock::StoreLock::acquire(out)?;
    if out.join(crate::manifest::MANIFEST_FILE).exists()
        || std::fs::read_dir(out)
            .map_err(io_err("list", out))?
            .flatten()
            .any(|e| e.file_name() != crate::lock::LOCK_FILE)
    {
        return Err(StoreError::NotEmpty {
            path: out.to_path_buf(),
        });
    }
    manifests.sort_by_key(|(_, m)| m.part.index);
    std::fs::create_dir_all(out).map_err(io_err("create directory", out))?;
    let mut merged = StoreManifest::new(header, layout, Part::WHOLE);
    merged.mirlens_version = manifests[0].1.mirlens_version.clone();
    write_manifest(out, &merged)?;
    let jp = out.join(JOURNAL_FILE);
    std::fs::File::create(&jp).map_err(io_err("create", &jp))?;
    // An inferred schema is replayed shard by shard in store order, exactly as one job would have grown it, and
    // the row tables are re-encoded with it, so that class codes and manifest match the single-job store.
    let replay = !merged.layout.label_schema_declared;
    if replay {
        merged.layout.label_schema = LabelSchema::new();
    }
    for (p, m) in &manifests {
        for s in &m.shards {
            let mut record = s.clone();
            for (rel, d) in &s.files {
                let src = abs(p, rel);
                let bytes = std::fs::read(&src).map_err(io_err("read", &src))?;
                if io::digest(&bytes) != *d {
                    return Err(StoreError::Corrupt {
                        path: src,
                        reason: format!(
                            "content differs from the hash recorded for shard {}",
                            s.index
                        ),
                    });
                }
                let bytes = if replay && *rel == rows_shard_path(s.index) {
                    let cols = decode_table(&bytes, s.index, &m.layout.label_schema, &src)?;
                    let sets = row_label_sets(&cols, &m.layout.label_schema);
                    for set in &sets {
                        for (k, v) in set {
                            grow_schema(&mut merged.layout.label_schema, k, v)?;
                        }
                    }
                    let mut cols = cols;
                    cols.row_labels.clear();
                    for f in merged.layout.label_schema.at(LabelLevel::Row) {
                        let vals: Vec<Option<&mirlens_core::LabelValue>> =
                            sets.iter().map(|r| r.get(&f.name)).collect();
                        cols.row_labels
                            .insert(f.name.clone(), LabelData::from_values(f, &vals)?);
                    }
                    let dst = abs(out, rel);
                    let b = table_bytes(&cols, &merged.layout.label_schema, &dst)?;
                    record.files.insert(rel.clone(), io::digest(&b));
                    b
                } else {
                    bytes
                };
                io::write_atomic(&abs(out, rel), &bytes)?;
            }
            append_journal(out, &record)?;
            merged.shards.push(record);
        }
    }
    merged.refresh_totals();
    merged.stats = write_stats(out, &merged)?;
    merged.complete = true;
    write_manifest(out, &merged)?;
    drop(lock);
    Ok(merged)
}

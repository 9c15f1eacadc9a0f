//! Generic CSV (or TSV): one row per clip, a path column, optional id/split/offset/duration columns, and label
//! columns whose types are declared (`name:int` in the header or in [`CsvSpec::types`]) or inferred (int if every
//! non-empty cell parses as an integer, else float if every cell parses as a number, else string).

use super::{Built, read_text, require_file};
use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, Manifest, ManifestEntry, Split, split_delimited};
use mirlens_core::LabelSet;
use std::collections::BTreeMap;
use std::path::Path;

/// How to read a generic CSV.
#[derive(Debug, Clone, PartialEq)]
pub struct CsvSpec {
    /// Column with the audio path (relative to the CSV's folder unless absolute). Default `path`.
    pub path_column: String,
    /// Column with the clip id; default: the path without extension.
    pub id_column: Option<String>,
    /// Declared label types; other label columns are inferred.
    pub types: BTreeMap<String, LabelType>,
    /// Field delimiter (`,` or `\t`).
    pub delimiter: char,
}

impl Default for CsvSpec {
    fn default() -> Self {
        CsvSpec {
            path_column: "path".into(),
            id_column: None,
            types: BTreeMap::new(),
            delimiter: ',',
        }
    }
}

/// Builds the manifest. Columns `split`, `offset_secs` and `duration_secs` are used as such when present.
pub fn build(csv: &Path, spec: &CsvSpec) -> Result<Built> {
    let text = read_text(csv)?;
    let base = csv.parent().unwrap_or(Path::new("."));
    let mut rows: Vec<(usize, Vec<String>)> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        rows.push((
            i + 1,
            split_delimited(raw, spec.delimiter).map_err(|m| DatasetError::parse(csv, i + 1, m))?,
        ));
    }
    if rows.is_empty() {
        return Err(DatasetError::parse(
            csv,
            1,
            "empty file: expected a header line",
        ));
    }
    let (_, header) = rows.remove(0);
    let mut names = Vec::new();
    let mut declared: BTreeMap<String, LabelType> = spec.types.clone();
    for h in &header {
        let h = h.trim();
        match h
            .rsplit_once(':')
            .and_then(|(n, t)| t.parse::<LabelType>().ok().map(|t| (n, t)))
        {
            Some((n, t)) => {
                declared.insert(n.to_string(), t);
                names.push(n.to_string());
            }
            None => names.push(h.to_string()),
        }
    }
    let col = |n: &str| names.iter().position(|c| c == n);
    let pcol = col(&spec.path_column).ok_or_else(|| {
        DatasetError::parse(
            csv,
            1,
            format!("header lacks the path column `{}`", spec.path_column),
        )
    })?;
    let icol = match &spec.id_column {
        Some(n) => Some(col(n).ok_or_else(|| {
            DatasetError::parse(csv, 1, format!("header lacks the id column `{n}`"))
        })?),
        None => None,
    };
    let (scol, ocol, dcol) = (col("split"), col("offset_secs"), col("duration_secs"));
    let fixed = [Some(pcol), icol, scol, ocol, dcol];
    let label_cols: Vec<usize> = (0..names.len())
        .filter(|c| !fixed.contains(&Some(*c)))
        .collect();
    for (line, cells) in &rows {
        if cells.len() != names.len() {
            return Err(DatasetError::parse(
                csv,
                *line,
                format!(
                    "expected {} cells (as in the header), found {}",
                    names.len(),
                    cells.len()
                ),
            ));
        }
    }
    // infer undeclared types
    let mut schema = LabelSchema::new();
    for &c in &label_cols {
        let n = &names[c];
        let t = declared.get(n).copied().unwrap_or_else(|| {
            let vals: Vec<&str> = rows
                .iter()
                .map(|(_, r)| r[c].trim())
                .filter(|v| !v.is_empty())
                .collect();
            if !vals.is_empty() && vals.iter().all(|v| v.parse::<i64>().is_ok()) {
                LabelType::Int
            } else if !vals.is_empty() && vals.iter().all(|v| v.parse::<f64>().is_ok()) {
                LabelType::Float
            } else {
                LabelType::String
            }
        });
        schema.insert(n.clone(), t);
    }
    let mut entries = Vec::new();
    for (line, cells) in &rows {
        let line = *line;
        let rel = cells[pcol].trim();
        let path = base.join(rel);
        require_file(csv, line, &path)?;
        let id = match icol {
            Some(c) => cells[c].trim().to_string(),
            None => Path::new(rel)
                .with_extension("")
                .to_string_lossy()
                .replace('\\', "/"),
        };
        let num = |c: Option<usize>, what: &str| -> Result<Option<f64>> {
            match c.map(|c| cells[c].trim()).filter(|v| !v.is_empty()) {
                None => Ok(None),
                Some(v) => v.parse().map(Some).map_err(|_| {
                    DatasetError::parse(
                        csv,
                        line,
                        format!("{what}: expected a number, found {v:?}"),
                    )
                }),
            }
        };
        let offset = num(ocol, "offset_secs")?.unwrap_or(0.0);
        let duration = num(dcol, "duration_secs")?;
        let split: Option<Split> = match scol.map(|c| cells[c].trim()).filter(|v| !v.is_empty()) {
            None => None,
            Some(v) => Some(v.parse().map_err(|e: mirlens_core::CoreError| {
                DatasetError::parse(csv, line, e.to_string())
            })?),
        };
        let mut labels = LabelSet::new();
        for &c in &label_cols {
            let v = cells[c].as_str();
            if v.trim().is_empty() {
                continue;
            }
            let t = schema.get(&names[c]).unwrap_or(LabelType::String);
            let parsed = t.parse_cell(v).ok_or_else(|| DatasetError::LabelType {
                path: csv.to_path_buf(),
                line,
                label: names[c].clone(),
                expected: t.as_str(),
                got: "string",
                value: v.to_string(),
            })?;
            labels.insert(names[c].clone(), parsed);
        }
        entries.push(ManifestEntry {
            id,
            path,
            offset_secs: offset,
            duration_secs: duration,
            split,
            labels,
            midi: None,
        });
    }
    let manifest = Manifest {
        entries,
        label_schema: schema,
    };
    manifest.validate(csv)?;
    Ok(Built {
        manifest,
        skipped: Vec::new(),
    })
}

//! The dataset manifest: one row per clip (id, audio path, offset, duration, split, typed labels) and a label
//! schema that fixes the type of every label column.
//!
//! Two interchangeable on-disk forms:
//!
//! * **JSONL** (`.jsonl`): a header line `{"mirlens_manifest":1,"label_schema":{"pitch":"int",...}}` followed by one
//!   JSON object per clip:
//!   `{"id":"n0","path":"audio/n0.wav","offset_secs":0.0,"duration_secs":1.0,"split":"train","labels":{"pitch":60}}`.
//!   `offset_secs`, `duration_secs`, `split` and `labels` may be omitted. Without a header line the schema is inferred
//!   from the values.
//! * **CSV** (`.csv`): header `id,path,offset_secs,duration_secs,split,<name>:<type>,...` with `<type>` one of
//!   `int`, `float`, `string`, `tags` (a label column without a type is `string`); tags are joined with `|`; an
//!   empty cell means "label absent".
//!
//! Relative paths are resolved against the manifest's own folder when it is read, and paths under that folder are
//! written relative to it, so a dataset folder with its manifest can be moved as a whole.
//!
//! [`Manifest::content_hash`] is a SHA-256 over the schema and every entry's id, offset, duration, split and labels
//! (not the path, so moving a dataset does not change it). Activation stores record it to tie activations to the
//! exact clip set and labels they were extracted from.

use crate::error::{DatasetError, Result};
use mirlens_core::{LabelSet, LabelValue};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// Version written into the JSONL header line.
pub const MANIFEST_VERSION: u32 = 1;

/// Dataset split of a clip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Split {
    /// Training data.
    Train,
    /// Validation data (also read from `validation`, `val`, `dev`).
    #[serde(alias = "validation", alias = "val", alias = "dev")]
    Valid,
    /// Test data.
    Test,
}

impl Split {
    /// All splits in canonical order.
    pub const ALL: [Split; 3] = [Split::Train, Split::Valid, Split::Test];

    /// The canonical spelling (`train`, `valid`, `test`).
    pub fn as_str(&self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Valid => "valid",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Split {
    type Err = mirlens_core::CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "train" | "training" => Ok(Split::Train),
            "valid" | "validation" | "val" | "dev" => Ok(Split::Valid),
            "test" | "testing" => Ok(Split::Test),
            _ => Err(mirlens_core::CoreError::Parse {
                what: "split",
                input: s.to_string(),
                expected: "'train', 'valid' (or 'validation'/'val'/'dev') or 'test'",
            }),
        }
    }
}

/// The type of one label column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelType {
    /// 64-bit integers ([`LabelValue::Int`]).
    Int,
    /// Real numbers ([`LabelValue::Float`]); integers are accepted and widened.
    Float,
    /// Categories ([`LabelValue::Str`]).
    String,
    /// Multi-label tag sets ([`LabelValue::Tags`]).
    Tags,
}

impl LabelType {
    /// The spelling used in schemas and CSV headers.
    pub fn as_str(&self) -> &'static str {
        match self {
            LabelType::Int => "int",
            LabelType::Float => "float",
            LabelType::String => "string",
            LabelType::Tags => "tags",
        }
    }

    /// The type of a value.
    pub fn of(value: &LabelValue) -> LabelType {
        match value {
            LabelValue::Int(_) => LabelType::Int,
            LabelValue::Float(_) => LabelType::Float,
            LabelValue::Str(_) => LabelType::String,
            LabelValue::Tags(_) => LabelType::Tags,
        }
    }

    /// Checks `value` against this type, widening an integer to a float for float columns. Returns the value as it
    /// should be stored, or `None` if the types do not match.
    pub fn coerce(&self, value: LabelValue) -> Option<LabelValue> {
        match (self, value) {
            (LabelType::Int, v @ LabelValue::Int(_)) => Some(v),
            (LabelType::Float, v @ LabelValue::Float(_)) => Some(v),
            (LabelType::Float, LabelValue::Int(i)) => Some(LabelValue::Float(i as f64)),
            (LabelType::String, v @ LabelValue::Str(_)) => Some(v),
            (LabelType::Tags, v @ LabelValue::Tags(_)) => Some(v),
            _ => None,
        }
    }

    /// Parses a CSV cell of this type. Tags are separated by `|`.
    pub fn parse_cell(&self, cell: &str) -> Option<LabelValue> {
        match self {
            LabelType::Int => cell.trim().parse().ok().map(LabelValue::Int),
            LabelType::Float => cell.trim().parse().ok().map(LabelValue::Float),
            LabelType::String => Some(LabelValue::Str(cell.to_string())),
            LabelType::Tags => Some(LabelValue::Tags(
                cell.split('|')
                    .map(str::trim)
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect(),
            )),
        }
    }
}

impl fmt::Display for LabelType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LabelType {
    type Err = mirlens_core::CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "int" | "integer" => Ok(LabelType::Int),
            "float" | "real" | "number" => Ok(LabelType::Float),
            "string" | "str" | "category" => Ok(LabelType::String),
            "tags" => Ok(LabelType::Tags),
            _ => Err(mirlens_core::CoreError::Parse {
                what: "label type",
                input: s.to_string(),
                expected: "'int', 'float', 'string' or 'tags'",
            }),
        }
    }
}

/// Label name → type. Every label of every entry must be declared here with a matching type.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LabelSchema {
    /// The columns, ordered by name.
    pub columns: BTreeMap<String, LabelType>,
}

impl LabelSchema {
    /// An empty schema.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builder: declares a column.
    pub fn with(mut self, name: impl Into<String>, ty: LabelType) -> Self {
        self.columns.insert(name.into(), ty);
        self
    }

    /// Declares (or re-declares) a column.
    pub fn insert(&mut self, name: impl Into<String>, ty: LabelType) {
        self.columns.insert(name.into(), ty);
    }

    /// The type of a column.
    pub fn get(&self, name: &str) -> Option<LabelType> {
        self.columns.get(name).copied()
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether there are no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// Infers a schema from entries: each column takes the type of its values; a column with both integers and
    /// floats becomes `float`. Returns the name and the two types of the first column whose values disagree otherwise.
    pub fn infer(
        entries: &[ManifestEntry],
    ) -> std::result::Result<Self, (usize, String, LabelType, LabelType)> {
        let mut s = LabelSchema::new();
        for (i, e) in entries.iter().enumerate() {
            for (k, v) in &e.labels {
                let t = LabelType::of(v);
                match s.columns.get_mut(k) {
                    None => {
                        s.columns.insert(k.clone(), t);
                    }
                    Some(have) if *have == t => {}
                    Some(have @ LabelType::Int) if t == LabelType::Float => {
                        *have = LabelType::Float
                    }
                    Some(LabelType::Float) if t == LabelType::Int => {}
                    Some(have) => return Err((i, k.clone(), *have, t)),
                }
            }
        }
        Ok(s)
    }
}

/// One clip of a dataset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestEntry {
    /// Unique clip id.
    pub id: String,
    /// Audio (or MIDI) file. Absolute after reading a manifest from disk.
    pub path: PathBuf,
    /// Start of the clip within the file, seconds.
    #[serde(default)]
    pub offset_secs: f64,
    /// Clip duration in seconds; `None` = to the end of the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<f64>,
    /// Dataset split, if the dataset defines one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<Split>,
    /// Typed labels.
    #[serde(default)]
    pub labels: LabelSet,
    /// A MIDI file aligned with the audio (time 0 = the clip start): the source of frame-level labels (sounding
    /// pitches, onsets, chord, key, beat). Absolute after reading a manifest from disk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub midi: Option<PathBuf>,
    /// Texts paired with the clip (captions), for music–language alignment. In CSV: one `text` cell with the
    /// captions separated by `|`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<String>,
}

impl ManifestEntry {
    /// An entry for a whole file with no split and no labels.
    pub fn new(id: impl Into<String>, path: impl Into<PathBuf>) -> Self {
        ManifestEntry {
            id: id.into(),
            path: path.into(),
            offset_secs: 0.0,
            duration_secs: None,
            split: None,
            labels: LabelSet::new(),
            midi: None,
            text: Vec::new(),
        }
    }

    /// Builder: sets a label.
    pub fn with_label(mut self, name: impl Into<String>, value: LabelValue) -> Self {
        self.labels.insert(name.into(), value);
        self
    }

    /// Builder: sets the split.
    pub fn with_split(mut self, split: Split) -> Self {
        self.split = Some(split);
        self
    }

    /// Builder: sets the aligned MIDI file.
    pub fn with_midi(mut self, midi: impl Into<PathBuf>) -> Self {
        self.midi = Some(midi.into());
        self
    }

    /// Builder: sets offset and duration.
    pub fn with_span(mut self, offset_secs: f64, duration_secs: Option<f64>) -> Self {
        self.offset_secs = offset_secs;
        self.duration_secs = duration_secs;
        self
    }
}

/// The JSONL header line.
#[derive(Debug, Serialize, Deserialize)]
struct Header {
    mirlens_manifest: u32,
    label_schema: LabelSchema,
}

/// On-disk format of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// JSON Lines with a header line.
    Jsonl,
    /// CSV with typed label columns.
    Csv,
}

impl ManifestFormat {
    /// Chooses the format from a file extension (`.csv` → CSV, anything else → JSONL).
    pub fn from_path(path: &Path) -> Self {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => ManifestFormat::Csv,
            _ => ManifestFormat::Jsonl,
        }
    }
}

/// A dataset: entries plus the label schema they obey.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    /// The clips, in dataset order.
    pub entries: Vec<ManifestEntry>,
    /// Label column types.
    pub label_schema: LabelSchema,
}

/// Fixed columns of the CSV form.
const CSV_FIXED: [&str; 5] = ["id", "path", "offset_secs", "duration_secs", "split"];
/// Columns with a fixed meaning that a CSV manifest may have (written only when some entry uses them).
const CSV_OPTIONAL: [&str; 2] = ["midi", "text"];

impl Manifest {
    /// Builds a manifest from entries, inferring the schema and checking ids are unique. `origin` names the source
    /// in errors.
    pub fn from_entries(entries: Vec<ManifestEntry>, origin: &Path) -> Result<Self> {
        let label_schema = LabelSchema::infer(&entries).map_err(|(i, label, expected, got)| {
            let value = entries[i].labels[&label].class_key();
            DatasetError::LabelType {
                path: origin.to_path_buf(),
                line: i + 2,
                label,
                expected: expected.as_str(),
                got: got.as_str(),
                value,
            }
        })?;
        let m = Manifest {
            entries,
            label_schema,
        };
        m.validate(origin)?;
        Ok(m)
    }

    /// Checks unique ids, non-negative spans, and that every label is declared with a matching type. Errors name
    /// `origin` and the 1-based entry number as the line (header lines are counted as in the written files).
    pub fn validate(&self, origin: &Path) -> Result<()> {
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            let line = i + 2;
            if e.id.is_empty() {
                return Err(DatasetError::parse(origin, line, "empty clip id"));
            }
            if let Some(first) = seen.insert(&e.id, line) {
                return Err(DatasetError::DuplicateId {
                    path: origin.to_path_buf(),
                    line,
                    id: e.id.clone(),
                    first_line: first,
                });
            }
            if !(e.offset_secs.is_finite() && e.offset_secs >= 0.0) {
                return Err(DatasetError::parse(
                    origin,
                    line,
                    format!("offset_secs must be finite and >= 0, got {}", e.offset_secs),
                ));
            }
            if let Some(d) = e.duration_secs
                && !(d.is_finite() && d > 0.0)
            {
                return Err(DatasetError::parse(
                    origin,
                    line,
                    format!("duration_secs must be finite and > 0, got {d}"),
                ));
            }
            for (k, v) in &e.labels {
                match self.label_schema.get(k) {
                    None => {
                        return Err(DatasetError::parse(
                            origin,
                            line,
                            format!("label `{k}` is not declared in the label schema"),
                        ));
                    }
                    Some(t) if t.coerce(v.clone()).is_none() => {
                        return Err(DatasetError::LabelType {
                            path: origin.to_path_buf(),
                            line,
                            label: k.clone(),
                            expected: t.as_str(),
                            got: v.type_name(),
                            value: v.class_key(),
                        });
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries of one split.
    pub fn split(&self, split: Split) -> impl Iterator<Item = &ManifestEntry> {
        self.entries.iter().filter(move |e| e.split == Some(split))
    }

    /// Number of entries per split (`None` = no split).
    pub fn split_counts(&self) -> BTreeMap<Option<Split>, usize> {
        let mut m = BTreeMap::new();
        for e in &self.entries {
            *m.entry(e.split).or_insert(0) += 1;
        }
        m
    }

    /// Looks up an entry by id.
    pub fn get(&self, id: &str) -> Option<&ManifestEntry> {
        self.entries.iter().find(|e| e.id == id)
    }

    /// Stable SHA-256 (lowercase hex) of the schema and of every entry's id, offset, duration, split and labels,
    /// in order. Paths are excluded so that moving a dataset keeps the hash.
    pub fn content_hash(&self) -> String {
        #[derive(Serialize)]
        struct Canon<'a> {
            id: &'a str,
            offset_secs: f64,
            duration_secs: Option<f64>,
            split: Option<Split>,
            labels: &'a LabelSet,
        }
        let mut h = Sha256::new();
        h.update(b"mirlens-manifest-v1\n");
        h.update(serde_json::to_vec(&self.label_schema).unwrap_or_default());
        h.update(b"\n");
        for e in &self.entries {
            let c = Canon {
                id: &e.id,
                offset_secs: e.offset_secs,
                duration_secs: e.duration_secs,
                split: e.split,
                labels: &e.labels,
            };
            h.update(serde_json::to_vec(&c).unwrap_or_default());
            h.update(b"\n");
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Entries whose file does not exist, with the line they occupy in a written manifest (header = line 1).
    pub fn missing_files(&self) -> Vec<(usize, &ManifestEntry)> {
        self.entries
            .iter()
            .enumerate()
            .filter(|(_, e)| !e.path.is_file() || e.midi.as_ref().is_some_and(|m| !m.is_file()))
            .map(|(i, e)| (i + 2, e))
            .collect()
    }

    /// Errors with [`DatasetError::MissingFile`] naming `origin` and the line of the first entry whose file is missing.
    pub fn check_files(&self, origin: &Path) -> Result<()> {
        match self.missing_files().first() {
            None => Ok(()),
            Some((line, e)) => Err(DatasetError::MissingFile {
                path: origin.to_path_buf(),
                line: *line,
                missing: if e.path.is_file() {
                    e.midi.clone().unwrap_or_else(|| e.path.clone())
                } else {
                    e.path.clone()
                },
            }),
        }
    }

    // ---------------------------------------------------------------- reading

    /// Reads a manifest file, choosing the format by extension (`.csv` or JSONL). Relative paths are resolved
    /// against the file's folder.
    pub fn read(path: &Path) -> Result<Self> {
        Ok(Self::read_with_lines(path)?.0)
    }

    /// [`Manifest::read`], also returning the 1-based line of the file each entry was read from (so that reports
    /// about entries point at the right line, with or without a header). A path that is not a regular file (a
    /// FIFO, a device) is refused before it is opened.
    pub fn read_with_lines(path: &Path) -> Result<(Self, Vec<usize>)> {
        let text = match mirlens_audio::paths::read_regular_to_string(path) {
            Ok(t) => t,
            Err(mirlens_audio::paths::PathError::Io { source, .. }) => {
                return Err(DatasetError::io(path, source));
            }
            Err(mirlens_audio::paths::PathError::NotRegular { kind, .. }) => {
                return Err(DatasetError::io(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidInput,
                        format!("not a regular file ({kind}); refusing to read it"),
                    ),
                ));
            }
            Err(mirlens_audio::paths::PathError::NotFound { .. }) => {
                return Err(DatasetError::io(
                    path,
                    std::io::Error::new(std::io::ErrorKind::NotFound, "file not found"),
                ));
            }
        };
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        match ManifestFormat::from_path(path) {
            ManifestFormat::Jsonl => Self::parse_jsonl_lines(&text, path, Some(&base)),
            ManifestFormat::Csv => Self::parse_csv_lines(&text, path, Some(&base)),
        }
    }

    /// Parses JSONL text. `origin` names the source in errors; relative paths are joined to `base` if given.
    pub fn parse_jsonl(text: &str, origin: &Path, base: Option<&Path>) -> Result<Self> {
        Ok(Self::parse_jsonl_lines(text, origin, base)?.0)
    }

    fn parse_jsonl_lines(
        text: &str,
        origin: &Path,
        base: Option<&Path>,
    ) -> Result<(Self, Vec<usize>)> {
        let mut schema: Option<LabelSchema> = None;
        let mut entries = Vec::new();
        let mut lines_of = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() {
                continue;
            }
            if entries.is_empty() && schema.is_none() && l.contains("\"mirlens_manifest\"") {
                let h: Header = serde_json::from_str(l).map_err(|e| {
                    DatasetError::parse(origin, line, format!("invalid manifest header: {e}"))
                })?;
                if h.mirlens_manifest != MANIFEST_VERSION {
                    return Err(DatasetError::parse(
                        origin,
                        line,
                        format!(
                            "manifest version {} is not supported (expected {MANIFEST_VERSION})",
                            h.mirlens_manifest
                        ),
                    ));
                }
                schema = Some(h.label_schema);
                continue;
            }
            let mut e: ManifestEntry = serde_json::from_str(l).map_err(|err| {
                DatasetError::parse(origin, line, format!("invalid manifest entry: {err}"))
            })?;
            if let Some(b) = base {
                if e.path.is_relative() {
                    e.path = b.join(&e.path);
                }
                if let Some(m) = e.midi.as_mut()
                    && m.is_relative()
                {
                    *m = b.join(&*m);
                }
            }
            entries.push(e);
            lines_of.push(line);
        }
        let schema = match schema {
            Some(s) => s,
            None => LabelSchema::infer(&entries).map_err(|(i, label, expected, got)| {
                DatasetError::LabelType {
                    path: origin.to_path_buf(),
                    line: lines_of[i],
                    value: entries[i].labels[&label].class_key(),
                    label,
                    expected: expected.as_str(),
                    got: got.as_str(),
                }
            })?,
        };
        finish(entries, schema, &lines_of, origin).map(|m| (m, lines_of))
    }

    /// Parses CSV text (see the module docs for the header). `origin` names the source in errors; relative paths are
    /// joined to `base` if given.
    pub fn parse_csv(text: &str, origin: &Path, base: Option<&Path>) -> Result<Self> {
        Ok(Self::parse_csv_lines(text, origin, base)?.0)
    }

    fn parse_csv_lines(
        text: &str,
        origin: &Path,
        base: Option<&Path>,
    ) -> Result<(Self, Vec<usize>)> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((hi, header)) = lines.next() else {
            return Err(DatasetError::parse(
                origin,
                1,
                "empty CSV manifest: expected a header line",
            ));
        };
        let cols = split_csv_line(header).map_err(|m| DatasetError::parse(origin, hi + 1, m))?;
        let mut fixed: HashMap<&str, usize> = HashMap::new();
        let mut labels: Vec<(usize, String, LabelType)> = Vec::new();
        let mut schema = LabelSchema::new();
        for (ci, c) in cols.iter().enumerate() {
            let c = c.trim();
            if let Some(f) = CSV_FIXED.iter().chain(&CSV_OPTIONAL).find(|f| **f == c) {
                fixed.insert(f, ci);
                continue;
            }
            let (name, ty) = match c.rsplit_once(':') {
                Some((n, t)) => match t.parse::<LabelType>() {
                    Ok(ty) => (n.to_string(), ty),
                    Err(_) => {
                        return Err(DatasetError::parse(
                            origin,
                            hi + 1,
                            format!(
                                "column `{c}`: unknown label type `{t}` (expected int, float, string or tags)"
                            ),
                        ));
                    }
                },
                None => (c.to_string(), LabelType::String),
            };
            if name.is_empty() {
                return Err(DatasetError::parse(
                    origin,
                    hi + 1,
                    format!("column {} has no name", ci + 1),
                ));
            }
            schema.insert(name.clone(), ty);
            labels.push((ci, name, ty));
        }
        for req in ["id", "path"] {
            if !fixed.contains_key(req) {
                return Err(DatasetError::parse(
                    origin,
                    hi + 1,
                    format!("CSV manifest header lacks the `{req}` column"),
                ));
            }
        }
        let mut entries = Vec::new();
        let mut lines_of = Vec::new();
        for (i, raw) in lines {
            let line = i + 1;
            let cells = split_csv_line(raw).map_err(|m| DatasetError::parse(origin, line, m))?;
            if cells.len() != cols.len() {
                return Err(DatasetError::parse(
                    origin,
                    line,
                    format!(
                        "expected {} cells (as in the header), found {}",
                        cols.len(),
                        cells.len()
                    ),
                ));
            }
            let cell = |name: &str| fixed.get(name).map(|&ci| cells[ci].as_str()).unwrap_or("");
            let mut path = PathBuf::from(cell("path"));
            if let Some(b) = base
                && path.is_relative()
            {
                path = b.join(path);
            }
            let offset_secs = match cell("offset_secs").trim() {
                "" => 0.0,
                s => s.parse().map_err(|_| {
                    DatasetError::parse(
                        origin,
                        line,
                        format!("offset_secs: expected a number, found {s:?}"),
                    )
                })?,
            };
            let duration_secs = match cell("duration_secs").trim() {
                "" => None,
                s => Some(s.parse().map_err(|_| {
                    DatasetError::parse(
                        origin,
                        line,
                        format!("duration_secs: expected a number, found {s:?}"),
                    )
                })?),
            };
            let midi = match cell("midi").trim() {
                "" => None,
                m => Some(match base {
                    Some(b) if Path::new(m).is_relative() => b.join(m),
                    _ => PathBuf::from(m),
                }),
            };
            let text: Vec<String> = cell("text")
                .split('|')
                .map(|t| t.trim().to_string())
                .filter(|t| !t.is_empty())
                .collect();
            let split = split_cell(cell("split"), origin, line)?;
            let ls = label_cells(&cells, &labels, origin, line)?;
            entries.push(ManifestEntry {
                id: cell("id").to_string(),
                path,
                offset_secs,
                duration_secs,
                split,
                labels: ls,
                midi,
                text,
            });
            lines_of.push(line);
        }
        finish(entries, schema, &lines_of, origin).map(|m| (m, lines_of))
    }

    // ---------------------------------------------------------------- writing

    /// Writes the manifest atomically (temp file + rename), choosing the format by extension. Paths under the
    /// output's folder are written relative to it.
    ///
    /// Relative entry paths are taken relative to the current directory (and written absolute unless they fall
    /// under the output's folder), so the written file resolves them correctly wherever it is.
    pub fn write(&self, path: &Path) -> Result<()> {
        let abs = |p: &Path| std::path::absolute(p).map_err(|e| DatasetError::io(p, e));
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let base = abs(&parent)?;
        let mut m = self.clone();
        for e in &mut m.entries {
            if e.path.is_relative() {
                e.path = abs(&e.path)?;
            }
            if let Some(m) = e.midi.as_mut()
                && m.is_relative()
            {
                *m = abs(m)?;
            }
        }
        let text = match ManifestFormat::from_path(path) {
            ManifestFormat::Jsonl => m.to_jsonl(Some(&base)),
            ManifestFormat::Csv => m.to_csv(Some(&base)),
        };
        write_atomic(path, text.as_bytes())
    }

    /// JSONL text (header line + one line per entry). Paths under `base` are made relative to it.
    pub fn to_jsonl(&self, base: Option<&Path>) -> String {
        let mut out = String::new();
        let h = Header {
            mirlens_manifest: MANIFEST_VERSION,
            label_schema: self.label_schema.clone(),
        };
        out.push_str(&serde_json::to_string(&h).unwrap_or_default());
        out.push('\n');
        for e in &self.entries {
            let mut e = e.clone();
            e.path = relativize(&e.path, base);
            e.midi = e.midi.map(|m| relativize(&m, base));
            out.push_str(&serde_json::to_string(&e).unwrap_or_default());
            out.push('\n');
        }
        out
    }

    /// CSV text with typed label columns. Paths under `base` are made relative to it.
    pub fn to_csv(&self, base: Option<&Path>) -> String {
        let mut out = String::new();
        let mut header: Vec<String> = CSV_FIXED.iter().map(|s| s.to_string()).collect();
        let with_midi = self.entries.iter().any(|e| e.midi.is_some());
        if with_midi {
            header.push("midi".into());
        }
        let with_text = self.entries.iter().any(|e| !e.text.is_empty());
        if with_text {
            header.push("text".into());
        }
        header.extend(
            self.label_schema
                .columns
                .iter()
                .map(|(n, t)| format!("{n}:{t}")),
        );
        out.push_str(
            &header
                .iter()
                .map(|c| csv_quote(c))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push('\n');
        for e in &self.entries {
            let mut row = vec![
                csv_quote(&e.id),
                csv_quote(&relativize(&e.path, base).to_string_lossy()),
                format!("{}", e.offset_secs),
                e.duration_secs.map(|d| format!("{d}")).unwrap_or_default(),
                e.split.map(|s| s.to_string()).unwrap_or_default(),
            ];
            if with_midi {
                row.push(
                    e.midi
                        .as_ref()
                        .map(|m| csv_quote(&relativize(m, base).to_string_lossy()))
                        .unwrap_or_default(),
                );
            }
            if with_text {
                row.push(csv_quote(&e.text.join("|")));
            }
            for name in self.label_schema.columns.keys() {
                row.push(match e.labels.get(name) {
                    None => String::new(),
                    Some(LabelValue::Tags(t)) => csv_quote(&t.join("|")),
                    Some(v) => csv_quote(&v.class_key()),
                });
            }
            out.push_str(&row.join(","));
            out.push('\n');
        }
        out
    }
}

/// The split named by a CSV cell (empty: none); an unknown name is an error naming the file and line.
pub(crate) fn split_cell(cell: &str, origin: &Path, line: usize) -> Result<Option<Split>> {
    match cell.trim() {
        "" => Ok(None),
        s => s
            .parse::<Split>()
            .map(Some)
            .map_err(|e| DatasetError::parse(origin, line, e.to_string())),
    }
}

/// The typed labels of a CSV record from its label columns `(cell index, name, type)`; empty cells are absent.
pub(crate) fn label_cells(
    cells: &[String],
    columns: &[(usize, String, LabelType)],
    origin: &Path,
    line: usize,
) -> Result<LabelSet> {
    let mut ls = LabelSet::new();
    for (ci, name, ty) in columns {
        let c = &cells[*ci];
        if c.is_empty() {
            continue;
        }
        let v = ty.parse_cell(c).ok_or_else(|| DatasetError::LabelType {
            path: origin.to_path_buf(),
            line,
            label: name.clone(),
            expected: ty.as_str(),
            got: "string",
            value: c.clone(),
        })?;
        ls.insert(name.clone(), v);
    }
    Ok(ls)
}

/// Check ids (non-empty, unique) and label types against `schema` (widening integers in real columns) of the items
/// of a manifest or text dataset, reporting the real line of each (`what` names the item in messages).
pub(crate) fn check_ids_and_labels<'a>(
    items: impl Iterator<Item = (&'a str, &'a mut LabelSet)>,
    what: &str,
    schema: &LabelSchema,
    lines_of: &[usize],
    origin: &Path,
) -> Result<()> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for (i, (id, labels)) in items.enumerate() {
        let line = lines_of[i];
        if id.is_empty() {
            return Err(DatasetError::parse(
                origin,
                line,
                format!("empty {what} id"),
            ));
        }
        if let Some(first) = seen.insert(id.to_string(), line) {
            return Err(DatasetError::DuplicateId {
                path: origin.to_path_buf(),
                line,
                id: id.to_string(),
                first_line: first,
            });
        }
        for (k, v) in labels.iter_mut() {
            let Some(t) = schema.get(k) else {
                return Err(DatasetError::parse(
                    origin,
                    line,
                    format!("label `{k}` is not declared in the label schema"),
                ));
            };
            match t.coerce(v.clone()) {
                Some(c) => *v = c,
                None => {
                    return Err(DatasetError::LabelType {
                        path: origin.to_path_buf(),
                        line,
                        label: k.clone(),
                        expected: t.as_str(),
                        got: v.type_name(),
                        value: v.class_key(),
                    });
                }
            }
        }
    }
    Ok(())
}

/// Checks types (widening ints in float columns) and ids, reporting real line numbers.
fn finish(
    mut entries: Vec<ManifestEntry>,
    schema: LabelSchema,
    lines_of: &[usize],
    origin: &Path,
) -> Result<Manifest> {
    check_ids_and_labels(
        entries.iter_mut().map(|e| (e.id.as_str(), &mut e.labels)),
        "clip",
        &schema,
        lines_of,
        origin,
    )?;
    let m = Manifest {
        entries,
        label_schema: schema,
    };
    // Spans (offsets/durations) are checked by `validate`; map its entry numbering back to real lines.
    m.validate(origin).map_err(|err| match err {
        DatasetError::Parse {
            path,
            line,
            message,
        } => DatasetError::Parse {
            line: lines_of
                .get(line.saturating_sub(2))
                .copied()
                .unwrap_or(line),
            path,
            message,
        },
        other => other,
    })?;
    Ok(m)
}

fn relativize(p: &Path, base: Option<&Path>) -> PathBuf {
    match base {
        Some(b) if !b.as_os_str().is_empty() => p
            .strip_prefix(b)
            .map(Path::to_path_buf)
            .unwrap_or_else(|_| p.into()),
        _ => p.to_path_buf(),
    }
}

/// Quotes a CSV field when it contains a comma, quote, or leading/trailing space.
pub(crate) fn csv_quote(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with(' ') || s.ends_with(' ') {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Splits one CSV record (RFC 4180 quoting, no embedded newlines). Returns a message on malformed quoting.
pub(crate) fn split_csv_line(line: &str) -> std::result::Result<Vec<String>, String> {
    split_delimited(line, ',')
}

/// Splits one delimited record with `"` quoting.
pub(crate) fn split_delimited(line: &str, delim: char) -> std::result::Result<Vec<String>, String> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() && !was_quoted {
            in_quotes = true;
            was_quoted = true;
        } else if c == delim {
            out.push(std::mem::take(&mut cur));
            was_quoted = false;
        } else if was_quoted {
            return Err(format!("unexpected character {c:?} after a closing quote"));
        } else {
            cur.push(c);
        }
    }
    if in_quotes {
        return Err("unterminated quoted field".into());
    }
    out.push(cur);
    Ok(out)
}

/// Writes `bytes` to `path` atomically: a temp file in the same folder, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| DatasetError::io(&dir, e))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let res = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = res {
        let _ = std::fs::remove_file(&tmp);
        return Err(DatasetError::io(path, e));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        let e1 = ManifestEntry::new("a", "/data/a.wav")
            .with_split(Split::Train)
            .with_label("pitch", LabelValue::Int(60))
            .with_label("family", LabelValue::Str("brass, warm \"x\"".into()))
            .with_label("gain", LabelValue::Float(0.25))
            .with_label(
                "tags",
                LabelValue::Tags(vec!["rock".into(), "guitar".into()]),
            );
        let e2 = ManifestEntry::new("b", "/data/sub/b.wav")
            .with_span(1.5, Some(2.0))
            .with_split(Split::Test)
            .with_label("pitch", LabelValue::Int(61));
        Manifest::from_entries(vec![e1, e2], Path::new("mem")).unwrap()
    }

    #[test]
    fn jsonl_and_csv_round_trip_with_types_and_relative_paths() {
        let m = sample();
        assert_eq!(m.label_schema.get("gain"), Some(LabelType::Float));
        let j = m.to_jsonl(Some(Path::new("/data")));
        assert!(j.lines().nth(1).unwrap().contains("\"path\":\"a.wav\""));
        let back =
            Manifest::parse_jsonl(&j, Path::new("m.jsonl"), Some(Path::new("/data"))).unwrap();
        assert_eq!(back, m);
        let c = m.to_csv(Some(Path::new("/data")));
        assert!(c.starts_with(
            "id,path,offset_secs,duration_secs,split,family:string,gain:float,pitch:int,tags:tags\n"
        ));
        let back = Manifest::parse_csv(&c, Path::new("m.csv"), Some(Path::new("/data"))).unwrap();
        assert_eq!(back, m);
        assert_eq!(back.content_hash(), m.content_hash());
    }

    #[test]
    fn hash_is_stable_and_sensitive_to_labels_not_paths() {
        let m = sample();
        let h = m.content_hash();
        assert_eq!(h.len(), 64);
        let mut moved = m.clone();
        moved.entries[0].path = "/elsewhere/a.wav".into();
        assert_eq!(moved.content_hash(), h);
        let mut relabelled = m.clone();
        relabelled.entries[1]
            .labels
            .insert("pitch".into(), LabelValue::Int(62));
        assert_ne!(relabelled.content_hash(), h);
        let mut reordered = m.clone();
        reordered.entries.reverse();
        assert_ne!(reordered.content_hash(), h);
    }

    #[test]
    fn jsonl_errors_name_file_and_line() {
        let text = "{\"mirlens_manifest\":1,\"label_schema\":{\"pitch\":\"int\"}}\n\
                    {\"id\":\"a\",\"path\":\"a.wav\",\"labels\":{\"pitch\":60}}\n\
                    {\"id\":\"b\",\"path\":\"b.wav\",\"labels\":{\"pitch\":\"C4\"}}\n";
        let e = Manifest::parse_jsonl(text, Path::new("x.jsonl"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.jsonl:3: label `pitch` should be int but is string (C4)"
        );
        let text = "{\"id\":\"a\",\"path\":\"a.wav\"}\n\n{\"id\":\"a\",\"path\":\"b.wav\"}\n";
        let e = Manifest::parse_jsonl(text, Path::new("x.jsonl"), None).unwrap_err();
        assert!(
            matches!(
                e,
                DatasetError::DuplicateId {
                    line: 3,
                    first_line: 1,
                    ..
                }
            ),
            "{e}"
        );
        let e = Manifest::parse_jsonl("{\"id\":\"a\"\n", Path::new("x.jsonl"), None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("x.jsonl:1: invalid manifest entry"),
            "{e}"
        );
        let text = "{\"id\":\"a\",\"path\":\"a.wav\",\"offset_secs\":-1}\n";
        let e = Manifest::parse_jsonl(text, Path::new("x.jsonl"), None).unwrap_err();
        assert!(e.to_string().starts_with("x.jsonl:1: offset_secs"), "{e}");
    }

    #[test]
    fn csv_errors_name_file_and_line() {
        let text = "id,path,pitch:int\na,a.wav,60\nb,b.wav,sixty\n";
        let e = Manifest::parse_csv(text, Path::new("m.csv"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.csv:3: label `pitch` should be int but is string (sixty)"
        );
        let e =
            Manifest::parse_csv("id,path\na,a.wav,extra\n", Path::new("m.csv"), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "m.csv:2: expected 2 cells (as in the header), found 3"
        );
        let e = Manifest::parse_csv("id,pitch:int\n", Path::new("m.csv"), None).unwrap_err();
        assert!(e.to_string().contains("lacks the `path` column"), "{e}");
        let e = Manifest::parse_csv("id,path,x:complex\n", Path::new("m.csv"), None).unwrap_err();
        assert!(
            e.to_string().contains("unknown label type `complex`"),
            "{e}"
        );
    }

    #[test]
    fn ints_widen_in_float_columns_and_schema_rejects_undeclared_labels() {
        let text = "{\"mirlens_manifest\":1,\"label_schema\":{\"v\":\"float\"}}\n{\"id\":\"a\",\"path\":\"a\",\"labels\":{\"v\":1}}\n";
        let m = Manifest::parse_jsonl(text, Path::new("x"), None).unwrap();
        assert_eq!(m.entries[0].labels["v"], LabelValue::Float(1.0));
        let text = "{\"mirlens_manifest\":1,\"label_schema\":{}}\n{\"id\":\"a\",\"path\":\"a\",\"labels\":{\"v\":1}}\n";
        let e = Manifest::parse_jsonl(text, Path::new("x"), None).unwrap_err();
        assert!(e.to_string().contains("not declared"), "{e}");
    }

    #[test]
    fn split_parses_common_spellings() {
        assert_eq!("validation".parse::<Split>().unwrap(), Split::Valid);
        assert_eq!("TEST".parse::<Split>().unwrap(), Split::Test);
        assert!("holdout".parse::<Split>().is_err());
        let e: ManifestEntry =
            serde_json::from_str("{\"id\":\"a\",\"path\":\"a\",\"split\":\"validation\"}").unwrap();
        assert_eq!(e.split, Some(Split::Valid));
    }

    #[test]
    fn csv_splitter_handles_quotes() {
        assert_eq!(
            split_csv_line("a,\"b,c\",\"d\"\"e\",").unwrap(),
            vec!["a", "b,c", "d\"e", ""]
        );
        assert!(split_csv_line("\"abc").is_err());
    }
}

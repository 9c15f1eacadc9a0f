//! Text datasets: documents with an id, their text, an optional split and typed document labels, for token
//! language models (`mirlens extract` with a token model).
//!
//! Three interchangeable sources, read by [`TextDataset::read`]:
//!
//! * **JSONL** (any extension but `.csv`): one JSON object per document,
//!   `{"id": "d0", "text": "…", "split": "train", "lang": "ja"}` or `{"id": "d1", "path": "docs/d1.txt", …}` —
//!   exactly one of `text` (the document itself) and `path` (a UTF-8 file, relative to the manifest's folder).
//!   Labels are the other keys, or the keys of a `labels` object (not both for one name): strings, integers,
//!   reals and arrays of strings (tags); `null` means absent. An optional first line
//!   `{"mirlens_manifest": 1, "label_schema": {"lang": "string"}}` declares the label types as audio manifests do;
//!   without it the schema is inferred from the values (integers and reals mixed in one column give reals).
//! * **CSV** (`.csv`): header `id,text,split,<name>:<type>,…` (or `path` instead of `text`), types `int`, `float`,
//!   `string` (the default), `tags` (`|`-separated), RFC 4180 quoting, one record per line (a text with line breaks
//!   belongs in JSONL or a file).
//! * **A folder**: every `*.txt` file below it (recursively, sorted by path) is one document whose id is its path
//!   relative to the folder without the extension, with `/` separators; no labels, no split.
//!
//! Every file is checked to be UTF-8: an error names the file, the line and the byte offset of the first invalid
//! byte ([`DatasetError::InvalidUtf8`]); manifest errors name the file and line. Label types are those of audio
//! manifests ([`LabelSchema`], [`LabelType`]), so a store's clip table keeps document labels exactly as it keeps
//! clip labels. [`TextDataset::content_hash`] covers ids, texts, splits, labels and the schema (not paths).

use crate::error::{DatasetError, Result};
use crate::manifest::{LabelSchema, LabelType, MANIFEST_VERSION, Split, split_csv_line};
use mirlens_core::{LabelSet, LabelValue};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// One document.
#[derive(Debug, Clone, PartialEq)]
pub struct TextDocument {
    /// Unique document id.
    pub id: String,
    /// The text.
    pub text: String,
    /// The file the text was read from (`None` for inline texts).
    pub source: Option<PathBuf>,
    /// Dataset split, if given.
    pub split: Option<Split>,
    /// Typed document labels.
    pub labels: LabelSet,
    /// Labels of the document's words (its whitespace-separated pieces, in order): name → one value per word
    /// (`None` = absent). Token extraction gives each stored token the label of the word it starts in.
    pub word_labels: BTreeMap<String, Vec<Option<LabelValue>>>,
}

impl TextDocument {
    /// An inline document without split or labels.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> TextDocument {
        TextDocument {
            id: id.into(),
            text: text.into(),
            source: None,
            split: None,
            labels: LabelSet::new(),
            word_labels: BTreeMap::new(),
        }
    }

    /// Builder: sets a label.
    pub fn with_label(mut self, name: impl Into<String>, value: LabelValue) -> TextDocument {
        self.labels.insert(name.into(), value);
        self
    }

    /// Builder: sets the labels of every word (`values.len()` must equal the number of words, as
    /// [`TextDataset::check_word_labels`] checks).
    pub fn with_word_labels(
        mut self,
        name: impl Into<String>,
        values: Vec<Option<LabelValue>>,
    ) -> TextDocument {
        self.word_labels.insert(name.into(), values);
        self
    }

    /// Number of whitespace-separated words.
    pub fn word_count(&self) -> usize {
        self.text.split_whitespace().count()
    }

    /// Character offset of the start of every word.
    pub fn word_starts(&self) -> Vec<usize> {
        let mut out = Vec::new();
        let mut prev_ws = true;
        for (i, c) in self.text.chars().enumerate() {
            let ws = c.is_whitespace();
            if prev_ws && !ws {
                out.push(i);
            }
            prev_ws = ws;
        }
        out
    }

    /// For every character of the text, the index of its word; a whitespace character belongs to the word after
    /// it (so a token whose span starts with the space before a word takes that word), trailing whitespace to
    /// none.
    pub fn word_of_chars(&self) -> Vec<Option<usize>> {
        let starts = self.word_starts();
        let mut out = Vec::with_capacity(self.text.len());
        let mut w = 0usize;
        for (i, c) in self.text.chars().enumerate() {
            while w + 1 < starts.len() && starts[w + 1] <= i {
                w += 1;
            }
            // before the first word, or in the gap after word w: the next word
            let k = if starts.first().is_none_or(|&s| i < s) {
                0
            } else if c.is_whitespace() {
                w + 1
            } else {
                w
            };
            out.push((k < starts.len()).then_some(k));
        }
        out
    }

    /// Builder: sets the split.
    pub fn with_split(mut self, split: Split) -> TextDocument {
        self.split = Some(split);
        self
    }
}

/// A set of documents with their label schema.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TextDataset {
    /// The documents, in dataset order.
    pub documents: Vec<TextDocument>,
    /// Label name → type.
    pub label_schema: LabelSchema,
    /// Word-label name → type ([`TextDocument::word_labels`]; inferred from the values).
    pub word_label_schema: LabelSchema,
}

/// Decode `bytes` as UTF-8 or report the line and byte offset of the first invalid byte.
pub fn utf8(bytes: Vec<u8>, path: &Path) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let off = e.utf8_error().valid_up_to();
        let line = 1 + e.as_bytes()[..off].iter().filter(|&&b| b == b'\n').count();
        DatasetError::InvalidUtf8 {
            path: path.to_path_buf(),
            line,
            byte_offset: off,
        }
    })
}

/// Read a regular file as UTF-8.
fn read_text_file(path: &Path) -> Result<String> {
    if !path.is_file() {
        let why = if path.exists() {
            "not a regular file; refusing to read it"
        } else {
            "file not found"
        };
        return Err(DatasetError::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, why),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| DatasetError::io(path, e))?;
    utf8(bytes, path)
}

fn label_from_json(v: &serde_json::Value) -> Option<Option<LabelValue>> {
    use serde_json::Value;
    Some(match v {
        Value::Null => None,
        Value::String(s) => Some(LabelValue::Str(s.clone())),
        Value::Number(n) => Some(match n.as_i64() {
            Some(i) => LabelValue::Int(i),
            None => LabelValue::Float(n.as_f64()?),
        }),
        Value::Array(a) => Some(LabelValue::Tags(
            a.iter()
                .map(|x| x.as_str().map(String::from))
                .collect::<Option<Vec<_>>>()?,
        )),
        Value::Bool(_) | Value::Object(_) => return None,
    })
}

impl TextDataset {
    /// Number of documents.
    pub fn len(&self) -> usize {
        self.documents.len()
    }

    /// Whether there are no documents.
    pub fn is_empty(&self) -> bool {
        self.documents.is_empty()
    }

    /// A dataset built in code: checks ids and labels against `label_schema` as a manifest would, and infers
    /// the word-label types.
    pub fn from_documents(
        documents: Vec<TextDocument>,
        label_schema: LabelSchema,
        origin: &Path,
    ) -> Result<TextDataset> {
        let lines = vec![0; documents.len()];
        for d in &documents {
            for (k, v) in &d.word_labels {
                if v.len() != d.word_count() {
                    return Err(DatasetError::parse(
                        origin,
                        0,
                        format!(
                            "word label `{k}` has {} values but document {:?} has {} words",
                            v.len(),
                            d.id,
                            d.word_count()
                        ),
                    ));
                }
            }
        }
        finish(documents, label_schema, &lines, origin)
    }

    /// Read a dataset: a folder of `.txt` files, a `.csv` manifest, or a JSONL manifest.
    pub fn read(path: &Path) -> Result<TextDataset> {
        if path.is_dir() {
            return Self::read_folder(path);
        }
        let text = read_text_file(path)?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        let is_csv = path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        if is_csv {
            Self::parse_csv(&text, path, Some(&base))
        } else {
            Self::parse_jsonl(&text, path, Some(&base))
        }
    }

    /// Every `*.txt` file below `dir` (recursively, sorted) as a document with id = relative path without extension.
    pub fn read_folder(dir: &Path) -> Result<TextDataset> {
        let mut files = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            let rd = std::fs::read_dir(&d).map_err(|e| DatasetError::io(&d, e))?;
            for entry in rd {
                let entry = entry.map_err(|e| DatasetError::io(&d, e))?;
                let p = entry.path();
                let ft = entry.file_type().map_err(|e| DatasetError::io(&p, e))?;
                if ft.is_dir() {
                    stack.push(p);
                } else if ft.is_file() && p.extension().is_some_and(|e| e == "txt") {
                    files.push(p);
                }
            }
        }
        files.sort();
        let mut documents = Vec::with_capacity(files.len());
        for p in files {
            let rel = p.strip_prefix(dir).unwrap_or(&p).with_extension("");
            let id = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            documents.push(TextDocument {
                id,
                text: read_text_file(&p)?,
                source: Some(p),
                split: None,
                labels: LabelSet::new(),
                word_labels: BTreeMap::new(),
            });
        }
        let lines: Vec<usize> = vec![0; documents.len()];
        finish(documents, LabelSchema::new(), &lines, dir)
    }

    /// Parse JSONL text (see the module docs). `origin` names the source in errors; `path` fields are resolved
    /// against `base` when given.
    pub fn parse_jsonl(text: &str, origin: &Path, base: Option<&Path>) -> Result<TextDataset> {
        let mut schema: Option<LabelSchema> = None;
        let mut documents = Vec::new();
        let mut lines_of = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let l = raw.trim();
            if l.is_empty() {
                continue;
            }
            let err = |m: String| DatasetError::parse(origin, line, m);
            let v: serde_json::Value =
                serde_json::from_str(l).map_err(|e| err(format!("invalid JSON: {e}")))?;
            let serde_json::Value::Object(mut obj) = v else {
                return Err(err("expected a JSON object".into()));
            };
            if documents.is_empty() && schema.is_none() && obj.contains_key("mirlens_manifest") {
                if obj.get("mirlens_manifest").and_then(|x| x.as_u64())
                    != Some(MANIFEST_VERSION as u64)
                {
                    return Err(err(format!(
                        "manifest version {} is not supported (expected {MANIFEST_VERSION})",
                        obj["mirlens_manifest"]
                    )));
                }
                let s = obj
                    .remove("label_schema")
                    .map(serde_json::from_value::<LabelSchema>)
                    .transpose()
                    .map_err(|e| err(format!("invalid label_schema: {e}")))?
                    .unwrap_or_default();
                schema = Some(s);
                continue;
            }
            let id = match obj.remove("id") {
                Some(serde_json::Value::String(s)) => s,
                Some(other) => return Err(err(format!("`id` must be a string, found {other}"))),
                None => return Err(err("missing `id`".into())),
            };
            let text_field = obj.remove("text");
            let path_field = obj.remove("path");
            let (text, source) = match (text_field, path_field) {
                (Some(serde_json::Value::String(t)), None) => (t, None),
                (None, Some(serde_json::Value::String(p))) => {
                    let mut p = PathBuf::from(p);
                    if let Some(b) = base
                        && p.is_relative()
                    {
                        p = b.join(p);
                    }
                    (read_text_file(&p)?, Some(p))
                }
                (Some(_), Some(_)) => {
                    return Err(err(format!(
                        "document {id:?} has both `text` and `path`: give one"
                    )));
                }
                (None, None) => {
                    return Err(err(format!(
                        "document {id:?} has neither `text` nor `path`"
                    )));
                }
                _ => return Err(err("`text` and `path` must be strings".into())),
            };
            let split = match obj.remove("split") {
                None | Some(serde_json::Value::Null) => None,
                Some(serde_json::Value::String(s)) => {
                    Some(s.parse::<Split>().map_err(|e| err(format!("split: {e}")))?)
                }
                Some(other) => return Err(err(format!("`split` must be a string, found {other}"))),
            };
            let mut word_labels = BTreeMap::new();
            if let Some(wl) = obj.remove("word_labels") {
                let serde_json::Value::Object(m) = wl else {
                    return Err(err("`word_labels` must be an object of arrays".into()));
                };
                let words = text.split_whitespace().count();
                for (k, v) in m {
                    let serde_json::Value::Array(a) = v else {
                        return Err(err(format!("word label `{k}` must be an array")));
                    };
                    if a.len() != words {
                        return Err(err(format!(
                            "word label `{k}` has {} values but document {id:?} has {words} words",
                            a.len()
                        )));
                    }
                    let vals = a
                        .iter()
                        .map(|x| {
                            label_from_json(x).ok_or_else(|| {
                                err(format!(
                                    "word label `{k}`: expected strings, numbers or null, found {x}"
                                ))
                            })
                        })
                        .collect::<Result<Vec<_>>>()?;
                    word_labels.insert(k, vals);
                }
            }
            let mut pairs: Vec<(String, serde_json::Value)> = Vec::new();
            if let Some(ls) = obj.remove("labels") {
                let serde_json::Value::Object(m) = ls else {
                    return Err(err("`labels` must be an object".into()));
                };
                pairs.extend(m);
            }
            for (k, v) in obj {
                if pairs.iter().any(|(n, _)| *n == k) {
                    return Err(err(format!(
                        "label `{k}` is given both at the top level and in `labels`"
                    )));
                }
                pairs.push((k, v));
            }
            let mut labels = LabelSet::new();
            for (k, v) in pairs {
                match label_from_json(&v) {
                    Some(Some(lv)) => {
                        labels.insert(k, lv);
                    }
                    Some(None) => {}
                    None => {
                        return Err(err(format!(
                            "label `{k}`: expected a string, a number, an array of strings or null, found {v}"
                        )));
                    }
                }
            }
            documents.push(TextDocument {
                id,
                text,
                source,
                split,
                labels,
                word_labels,
            });
            lines_of.push(line);
        }
        let schema = match schema {
            Some(s) => s,
            None => infer_schema(&documents, &lines_of, origin)?,
        };
        finish(documents, schema, &lines_of, origin)
    }

    /// Parse CSV text (see the module docs). `origin` names the source in errors; `path` cells are resolved against
    /// `base` when given.
    pub fn parse_csv(text: &str, origin: &Path, base: Option<&Path>) -> Result<TextDataset> {
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
        let hline = hi + 1;
        let cols = split_csv_line(header).map_err(|m| DatasetError::parse(origin, hline, m))?;
        let mut fixed: HashMap<&'static str, usize> = HashMap::new();
        let mut label_cols: Vec<(usize, String, LabelType)> = Vec::new();
        let mut schema = LabelSchema::new();
        for (ci, c) in cols.iter().enumerate() {
            let c = c.trim();
            if let Some(f) = ["id", "text", "path", "split"]
                .into_iter()
                .find(|f| *f == c)
            {
                fixed.insert(f, ci);
                continue;
            }
            let (name, ty) = match c.rsplit_once(':') {
                Some((n, t)) => (
                    n.to_string(),
                    t.parse::<LabelType>().map_err(|_| {
                        DatasetError::parse(
                            origin,
                            hline,
                            format!(
                                "column `{c}`: unknown label type `{t}` (expected int, float, string or tags)"
                            ),
                        )
                    })?,
                ),
                None => (c.to_string(), LabelType::String),
            };
            if name.is_empty() {
                return Err(DatasetError::parse(
                    origin,
                    hline,
                    format!("column {} has no name", ci + 1),
                ));
            }
            schema.insert(name.clone(), ty);
            label_cols.push((ci, name, ty));
        }
        if !fixed.contains_key("id") {
            return Err(DatasetError::parse(
                origin,
                hline,
                "CSV text manifest header lacks the `id` column",
            ));
        }
        match (fixed.contains_key("text"), fixed.contains_key("path")) {
            (true, true) | (false, false) => {
                return Err(DatasetError::parse(
                    origin,
                    hline,
                    "CSV text manifest header needs exactly one of the `text` and `path` columns",
                ));
            }
            _ => {}
        }
        let mut documents = Vec::new();
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
            let cell = |n: &str| fixed.get(n).map(|&ci| cells[ci].as_str());
            let (text, source) = match (cell("text"), cell("path")) {
                (Some(t), _) => (t.to_string(), None),
                (None, Some(p)) => {
                    let mut p = PathBuf::from(p);
                    if let Some(b) = base
                        && p.is_relative()
                    {
                        p = b.join(p);
                    }
                    (read_text_file(&p)?, Some(p))
                }
                (None, None) => unreachable_columns(origin, line)?,
            };
            let split = crate::manifest::split_cell(cell("split").unwrap_or(""), origin, line)?;
            let labels = crate::manifest::label_cells(&cells, &label_cols, origin, line)?;
            documents.push(TextDocument {
                id: cell("id").unwrap_or("").to_string(),
                text,
                source,
                split,
                labels,
                word_labels: BTreeMap::new(),
            });
            lines_of.push(line);
        }
        finish(documents, schema, &lines_of, origin)
    }

    /// Stable SHA-256 (lowercase hex) of the schema and of every document's id, text, split and labels, in order.
    /// Paths are excluded so that moving a dataset keeps the hash.
    pub fn content_hash(&self) -> String {
        let mut h = Sha256::new();
        h.update(b"mirlens-text-dataset-v1\n");
        h.update(serde_json::to_vec(&self.label_schema).unwrap_or_default());
        h.update(b"\n");
        for d in &self.documents {
            let mut c = serde_json::json!({
                "id": d.id,
                "text": d.text,
                "split": d.split,
                "labels": d.labels,
            });
            // only documents with word labels hash them, so datasets without any keep their hash
            if !d.word_labels.is_empty() {
                c["word_labels"] = serde_json::to_value(&d.word_labels).unwrap_or_default();
            }
            h.update(serde_json::to_vec(&c).unwrap_or_default());
            h.update(b"\n");
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Write the dataset as JSONL (header line with the schema, then one inline document per line).
    pub fn to_jsonl(&self) -> String {
        let mut out = serde_json::json!({
            "mirlens_manifest": MANIFEST_VERSION,
            "label_schema": self.label_schema,
        })
        .to_string();
        out.push('\n');
        for d in &self.documents {
            let mut o = serde_json::Map::new();
            o.insert("id".into(), d.id.clone().into());
            o.insert("text".into(), d.text.clone().into());
            if let Some(s) = d.split {
                o.insert("split".into(), s.as_str().into());
            }
            if !d.labels.is_empty() {
                o.insert(
                    "labels".into(),
                    serde_json::to_value(&d.labels).unwrap_or_default(),
                );
            }
            if !d.word_labels.is_empty() {
                o.insert(
                    "word_labels".into(),
                    serde_json::to_value(&d.word_labels).unwrap_or_default(),
                );
            }
            out.push_str(&serde_json::Value::Object(o).to_string());
            out.push('\n');
        }
        out
    }
}

fn unreachable_columns(origin: &Path, line: usize) -> Result<(String, Option<PathBuf>)> {
    Err(DatasetError::parse(
        origin,
        line,
        "neither a `text` nor a `path` cell",
    ))
}

fn infer_schema(docs: &[TextDocument], lines: &[usize], origin: &Path) -> Result<LabelSchema> {
    let mut s = LabelSchema::new();
    for (i, d) in docs.iter().enumerate() {
        for (k, v) in &d.labels {
            let t = LabelType::of(v);
            match s.columns.get_mut(k) {
                None => {
                    s.columns.insert(k.clone(), t);
                }
                Some(have) if *have == t => {}
                Some(have @ LabelType::Int) if t == LabelType::Float => *have = LabelType::Float,
                Some(LabelType::Float) if t == LabelType::Int => {}
                Some(have) => {
                    return Err(DatasetError::LabelType {
                        path: origin.to_path_buf(),
                        line: lines[i],
                        label: k.clone(),
                        expected: have.as_str(),
                        got: t.as_str(),
                        value: v.class_key(),
                    });
                }
            }
        }
    }
    Ok(s)
}

/// Check ids (non-empty, unique) and label types against the schema (widening integers in real columns).
fn finish(
    mut documents: Vec<TextDocument>,
    schema: LabelSchema,
    lines_of: &[usize],
    origin: &Path,
) -> Result<TextDataset> {
    crate::manifest::check_ids_and_labels(
        documents.iter_mut().map(|d| (d.id.as_str(), &mut d.labels)),
        "document",
        &schema,
        lines_of,
        origin,
    )?;
    let word_label_schema = word_schema(&documents, lines_of, origin)?;
    Ok(TextDataset {
        documents,
        label_schema: schema,
        word_label_schema,
    })
}

/// The types of the word labels: integer where every value is an integer, real where numbers mix, string, or
/// tags; a name whose values mix strings and numbers is an error naming the document.
fn word_schema(
    documents: &[TextDocument],
    lines_of: &[usize],
    origin: &Path,
) -> Result<LabelSchema> {
    let mut types: BTreeMap<&str, LabelType> = BTreeMap::new();
    for (di, d) in documents.iter().enumerate() {
        for (name, vals) in &d.word_labels {
            if d.labels.contains_key(name) {
                return Err(DatasetError::parse(
                    origin,
                    lines_of.get(di).copied().unwrap_or(0),
                    format!(
                        "`{name}` is both a document label and a word label of {:?}",
                        d.id
                    ),
                ));
            }
            for v in vals.iter().flatten() {
                let t = match v {
                    LabelValue::Int(_) => LabelType::Int,
                    LabelValue::Float(_) => LabelType::Float,
                    LabelValue::Str(_) => LabelType::String,
                    LabelValue::Tags(_) => LabelType::Tags,
                };
                let merged = match (types.get(name.as_str()).copied(), t) {
                    (None, t) => t,
                    (Some(a), b) if a == b => a,
                    (Some(LabelType::Int), LabelType::Float)
                    | (Some(LabelType::Float), LabelType::Int) => LabelType::Float,
                    (Some(a), b) => {
                        return Err(DatasetError::parse(
                            origin,
                            lines_of.get(di).copied().unwrap_or(0),
                            format!(
                                "word label `{name}` of {:?} mixes {a:?} and {b:?} values",
                                d.id
                            ),
                        ));
                    }
                };
                types.insert(name.as_str(), merged);
            }
        }
    }
    let mut schema = LabelSchema::new();
    for (n, t) in types {
        schema = schema.with(n, t);
    }
    Ok(schema)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> &'static Path {
        Path::new("docs.jsonl")
    }

    #[test]
    fn word_labels_round_trip_and_are_checked() {
        let t = "{\"id\":\"a\",\"text\":\"Bar_None  Pitch_60 Velocity_79\",\"key\":\"C major\",\
                 \"word_labels\":{\"note_pitch\":[null,60,60],\"token_type\":[\"Bar\",\"Pitch\",\"Velocity\"]}}\n";
        let d = TextDataset::parse_jsonl(t, p(), None).unwrap();
        let doc = &d.documents[0];
        assert_eq!(doc.word_starts(), vec![0, 10, 19]);
        let w = doc.word_of_chars();
        assert_eq!(
            (w[0], w[7], w[8], w[9], w[10], w[18], w[19]),
            (
                Some(0),
                Some(0),
                Some(1),
                Some(1),
                Some(1),
                Some(2),
                Some(2)
            )
        );
        assert_eq!(
            TextDocument::new("x", " a b ").word_of_chars(),
            vec![Some(0), Some(0), Some(1), Some(1), None]
        );
        assert_eq!(
            doc.word_labels["note_pitch"],
            vec![None, Some(LabelValue::Int(60)), Some(LabelValue::Int(60))]
        );
        assert_eq!(d.word_label_schema.get("note_pitch"), Some(LabelType::Int));
        assert_eq!(
            d.word_label_schema.get("token_type"),
            Some(LabelType::String)
        );
        let again = TextDataset::parse_jsonl(&d.to_jsonl(), p(), None).unwrap();
        assert_eq!(again.documents[0].word_labels, doc.word_labels);
        assert_eq!(again.content_hash(), d.content_hash());
        // the hash covers word labels
        let mut other = d.clone();
        other.documents[0]
            .word_labels
            .get_mut("note_pitch")
            .unwrap()[1] = Some(LabelValue::Int(61));
        assert_ne!(other.content_hash(), d.content_hash());
        // wrong length, wrong type
        let bad = t.replace("[null,60,60]", "[null,60]");
        let e = TextDataset::parse_jsonl(&bad, p(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("has 2 values but document \"a\" has 3 words"),
            "{e}"
        );
        let mixed = t.replace("[null,60,60]", "[null,60,\"x\"]");
        let e = TextDataset::parse_jsonl(&mixed, p(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("mixes"), "{e}");
        let clash = t.replace("\"key\":", "\"note_pitch\":");
        let e = TextDataset::parse_jsonl(&clash, p(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("both a document label and a word label"), "{e}");
    }

    #[test]
    fn jsonl_labels_top_level_and_nested_are_typed() {
        let t = "{\"id\":\"a\",\"text\":\"こんにちは\",\"lang\":\"ja\",\"n\":1}\n\n\
                 {\"id\":\"b\",\"text\":\"hello\",\"split\":\"test\",\"labels\":{\"lang\":\"en\",\"n\":2.5,\"tags\":[\"x\",\"y\"]}}\n";
        let d = TextDataset::parse_jsonl(t, p(), None).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d.label_schema.get("lang"), Some(LabelType::String));
        assert_eq!(d.label_schema.get("n"), Some(LabelType::Float));
        assert_eq!(d.label_schema.get("tags"), Some(LabelType::Tags));
        assert_eq!(d.documents[0].labels["n"], LabelValue::Float(1.0));
        assert_eq!(d.documents[1].split, Some(Split::Test));
        assert_eq!(d.documents[0].text, "こんにちは");
    }

    #[test]
    fn jsonl_errors_name_the_line() {
        let t = "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"b\"}\n";
        let e = TextDataset::parse_jsonl(t, p(), None)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "docs.jsonl:2: document \"b\" has neither `text` nor `path`"
        );
        let t = "{\"id\":\"a\",\"text\":\"x\"}\n{\"id\":\"a\",\"text\":\"y\"}\n";
        let e = TextDataset::parse_jsonl(t, p(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("docs.jsonl:2: duplicate clip id `a` (first seen at line 1)"),
            "{e}"
        );
        let t = "{\"id\":\"a\",\"text\":\"x\",\"lang\":\"ja\"}\n{\"id\":\"b\",\"text\":\"y\",\"lang\":3}\n";
        let e = TextDataset::parse_jsonl(t, p(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("docs.jsonl:2: label `lang` should be string but is int"),
            "{e}"
        );
        let t = "{\"id\":\"a\",\"text\":\"x\",\"lang\":\"ja\",\"labels\":{\"lang\":\"en\"}}\n";
        let e = TextDataset::parse_jsonl(t, p(), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("both at the top level and in `labels`"), "{e}");
    }

    #[test]
    fn declared_schema_is_enforced() {
        let t = "{\"mirlens_manifest\":1,\"label_schema\":{\"year\":\"int\"}}\n{\"id\":\"a\",\"text\":\"x\",\"year\":\"1990\"}\n";
        let e = TextDataset::parse_jsonl(t, p(), None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("docs.jsonl:2: label `year` should be int but is string"),
            "{e}"
        );
    }

    #[test]
    fn csv_reads_text_and_typed_labels() {
        let t =
            "id,text,split,lang,year:int\nd0,\"Hello, world\",train,en,1990\nd1,こんにちは,,ja,\n";
        let d = TextDataset::parse_csv(t, Path::new("d.csv"), None).unwrap();
        assert_eq!(d.documents[0].text, "Hello, world");
        assert_eq!(d.documents[0].labels["year"], LabelValue::Int(1990));
        assert!(!d.documents[1].labels.contains_key("year"));
        assert_eq!(d.documents[1].split, None);
        let e = TextDataset::parse_csv("id,split\n", Path::new("d.csv"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("exactly one of the `text` and `path`"), "{e}");
    }

    #[test]
    fn invalid_utf8_names_line_and_byte_offset() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("docs.jsonl");
        let mut b = b"{\"id\":\"a\",\"text\":\"ok\"}\n{\"id\":\"b\",\"text\":\"".to_vec();
        b.extend([0xe3, 0x81]); // truncated 3-byte sequence
        b.extend(b"\"}\n");
        std::fs::write(&f, &b).unwrap();
        match TextDataset::read(&f).unwrap_err() {
            DatasetError::InvalidUtf8 {
                line, byte_offset, ..
            } => {
                assert_eq!(line, 2);
                assert_eq!(byte_offset, 41);
            }
            e => panic!("{e}"),
        }
    }

    #[test]
    fn folder_and_path_documents() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sub")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "second").unwrap();
        std::fs::write(dir.path().join("sub/a.txt"), "first\nline").unwrap();
        std::fs::write(dir.path().join("skip.md"), "no").unwrap();
        let d = TextDataset::read(dir.path()).unwrap();
        let ids: Vec<&str> = d.documents.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["b", "sub/a"]);
        assert_eq!(d.documents[1].text, "first\nline");
        let m = dir.path().join("m.jsonl");
        std::fs::write(
            &m,
            "{\"id\":\"x\",\"path\":\"sub/a.txt\",\"lang\":\"en\"}\n",
        )
        .unwrap();
        let d2 = TextDataset::read(&m).unwrap();
        assert_eq!(d2.documents[0].text, "first\nline");
        // the hash covers texts, not paths
        let mut d3 = d2.clone();
        d3.documents[0].source = None;
        assert_eq!(d2.content_hash(), d3.content_hash());
        d3.documents[0].text.push('!');
        assert_ne!(d2.content_hash(), d3.content_hash());
        // round trip through JSONL
        let back = TextDataset::parse_jsonl(&d2.to_jsonl(), p(), None).unwrap();
        assert_eq!(back.content_hash(), d2.content_hash());
    }
}

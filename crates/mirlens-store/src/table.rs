//! Columnar row and clip tables of format 2 (`rows/shard-SSSSS.safetensors`).
//!
//! Every shard has one safetensors file holding its **row table** (one entry per activation row) and its **clip
//! table** (one entry per clip that produced rows):
//!
//! | tensor | dtype | shape | meaning |
//! |---|---|---|---|
//! | `row.clip` | U32 | `[n]` | dataset index of the row's clip (joins `clip.index`) |
//! | `row.position` | U32 | `[n]` | frame / token index within the clip (0 for clip rows) |
//! | `row.span_start`, `row.span_end` | F64 | `[n]` | the row's span in the manifest's `span_unit`, from the clip start |
//! | `row.label.NAME` | by kind | `[n]` or `[n, W]` | row-level (frame/token) labels |
//! | `clip.index` | U32 | `[c]` | dataset clip index, ascending |
//! | `clip.id.bytes`, `clip.id.offsets` | U8, I64 | `[…]`, `[c+1]` | clip ids, UTF-8, clip `i` = `bytes[offsets[i]..offsets[i+1]]` |
//! | `clip.split.*`, `clip.source.*` | U8, I64 | | dataset split (empty = none) and source path, same encoding |
//! | `clip.label.NAME` | by kind | `[c]` or `[c, W]` | clip-level labels |
//!
//! Label encodings are those of [`LabelKind`]; class lists live in the manifest's `label_schema`.

use crate::error::{Result, StoreError};
use crate::manifest::{BadClip, RowMeta};
use crate::schema::{LabelField, LabelKind, LabelLevel, LabelSchema, RowUnit};
use mirlens_core::{LabelSet, LabelValue};
use safetensors::Dtype;
use std::collections::BTreeMap;
use std::path::Path;

/// Code of a missing categorical label.
pub const MISSING_CODE: u32 = u32::MAX;
/// Value of a missing integer label.
pub const MISSING_INT: i64 = i64::MIN;
/// Cell value of a missing multi-hot label.
pub const MISSING_TAG: u8 = 255;

/// One clip of a shard's clip table.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClipEntry {
    /// Index of the clip in the dataset manifest.
    pub index: usize,
    /// Clip id.
    pub id: String,
    /// Dataset split, if any.
    pub split: Option<String>,
    /// Source file (audio, MIDI or text path) as the dataset lists it; empty when unknown.
    pub source: String,
    /// Clip-level labels (every clip-level field of the schema; absent = missing).
    pub labels: LabelSet,
}

/// One label column: a value per row (or per clip) in the store's encoding.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelData {
    /// Categorical codes (index into the field's classes; [`MISSING_CODE`] = missing).
    Codes(Vec<u32>),
    /// Integers ([`MISSING_INT`] = missing).
    Integer(Vec<i64>),
    /// Reals (`NaN` = missing).
    Real(Vec<f64>),
    /// Multi-hot rows `[n, width]` of 0/1 ([`MISSING_TAG`] in every cell = missing).
    MultiHot {
        /// Tags per row.
        width: usize,
        /// Row-major cells.
        values: Vec<u8>,
    },
    /// Vectors `[n, width]` (`NaN` in every cell = missing).
    Vector {
        /// Components per row.
        width: usize,
        /// Row-major values.
        values: Vec<f32>,
    },
}

impl LabelData {
    /// An empty column of the encoding of `kind`.
    pub fn empty(kind: &LabelKind) -> LabelData {
        match kind {
            LabelKind::Categorical { .. } => LabelData::Codes(Vec::new()),
            LabelKind::Integer => LabelData::Integer(Vec::new()),
            LabelKind::Real => LabelData::Real(Vec::new()),
            LabelKind::MultiHot { width, .. } => LabelData::MultiHot {
                width: *width,
                values: Vec::new(),
            },
            LabelKind::Vector { width } => LabelData::Vector {
                width: *width,
                values: Vec::new(),
            },
        }
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self {
            LabelData::Codes(v) => v.len(),
            LabelData::Integer(v) => v.len(),
            LabelData::Real(v) => v.len(),
            LabelData::MultiHot { width, values } => values.len() / (*width).max(1),
            LabelData::Vector { width, values } => values.len() / (*width).max(1),
        }
    }

    /// Whether the column has no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Encode typed values with the field's kind. A value of the wrong type or an unknown class is an error naming
    /// the label.
    pub fn from_values(field: &LabelField, values: &[Option<&LabelValue>]) -> Result<LabelData> {
        let mut d = LabelData::empty(&field.kind);
        for v in values {
            d.push(field, *v)?;
        }
        Ok(d)
    }

    /// Append one value (`None` = missing).
    pub fn push(&mut self, field: &LabelField, v: Option<&LabelValue>) -> Result<()> {
        let wrong = |v: &LabelValue| StoreError::Label {
            label: field.name.clone(),
            reason: format!(
                "{} value {:?} does not fit a {} label",
                v.type_name(),
                v.class_key(),
                field.kind.name()
            ),
        };
        match (self, &field.kind) {
            (LabelData::Codes(out), LabelKind::Categorical { classes }) => {
                let code = match v {
                    None => MISSING_CODE,
                    Some(v @ LabelValue::Tags(_)) | Some(v @ LabelValue::Float(_)) => {
                        return Err(wrong(v));
                    }
                    Some(v) => {
                        let key = v.class_key();
                        classes
                            .iter()
                            .position(|c| *c == key)
                            .ok_or_else(|| StoreError::Label {
                                label: field.name.clone(),
                                reason: format!("class {key:?} is not among {classes:?}"),
                            })? as u32
                    }
                };
                out.push(code);
            }
            (LabelData::Integer(out), LabelKind::Integer) => out.push(match v {
                None => MISSING_INT,
                Some(LabelValue::Int(i)) if *i != MISSING_INT => *i,
                Some(v) => return Err(wrong(v)),
            }),
            (LabelData::Real(out), LabelKind::Real) => out.push(match v {
                None => f64::NAN,
                Some(v @ (LabelValue::Int(_) | LabelValue::Float(_))) => {
                    v.as_f64().unwrap_or(f64::NAN)
                }
                Some(v) => return Err(wrong(v)),
            }),
            (LabelData::MultiHot { width, values }, LabelKind::MultiHot { classes, .. }) => match v
            {
                None => values.extend(std::iter::repeat_n(MISSING_TAG, *width)),
                Some(LabelValue::Tags(tags)) => {
                    let start = values.len();
                    values.extend(std::iter::repeat_n(0u8, *width));
                    for t in tags {
                        let j = classes.iter().position(|c| c == t).ok_or_else(|| {
                            StoreError::Label {
                                label: field.name.clone(),
                                reason: format!("tag {t:?} is not among {classes:?}"),
                            }
                        })?;
                        values[start + j] = 1;
                    }
                }
                Some(v) => return Err(wrong(v)),
            },
            (_, _) => {
                return match v {
                    Some(v) => Err(wrong(v)),
                    None => Err(StoreError::Label {
                        label: field.name.clone(),
                        reason: format!(
                            "a {} label cannot be given as a typed value",
                            field.kind.name()
                        ),
                    }),
                };
            }
        }
        Ok(())
    }

    /// The value of entry `i` as a typed label (`None` when missing; vectors have no typed form).
    pub fn value(&self, kind: &LabelKind, i: usize) -> Option<LabelValue> {
        match (self, kind) {
            (LabelData::Codes(v), LabelKind::Categorical { classes }) => {
                let c = *v.get(i)?;
                classes.get(c as usize).map(|s| LabelValue::Str(s.clone()))
            }
            (LabelData::Integer(v), _) => {
                let x = *v.get(i)?;
                (x != MISSING_INT).then_some(LabelValue::Int(x))
            }
            (LabelData::Real(v), _) => {
                let x = *v.get(i)?;
                (!x.is_nan()).then_some(LabelValue::Float(x))
            }
            (LabelData::MultiHot { width, values }, LabelKind::MultiHot { classes, .. }) => {
                let row = values.get(i * width..(i + 1) * width)?;
                if *width > 0 && row.iter().all(|&b| b == MISSING_TAG) {
                    return None;
                }
                Some(LabelValue::Tags(
                    row.iter()
                        .enumerate()
                        .filter(|(_, b)| **b == 1)
                        .map(|(j, _)| classes.get(j).cloned().unwrap_or_else(|| j.to_string()))
                        .collect(),
                ))
            }
            _ => None,
        }
    }

    /// Whether entry `i` is present.
    pub fn is_present(&self, i: usize) -> bool {
        match self {
            LabelData::Codes(v) => v.get(i).is_some_and(|&c| c != MISSING_CODE),
            LabelData::Integer(v) => v.get(i).is_some_and(|&x| x != MISSING_INT),
            LabelData::Real(v) => v.get(i).is_some_and(|x| !x.is_nan()),
            LabelData::MultiHot { width, values } => values
                .get(i * width..(i + 1) * width)
                .is_some_and(|r| *width == 0 || r.iter().any(|&b| b != MISSING_TAG)),
            LabelData::Vector { width, values } => values
                .get(i * width..(i + 1) * width)
                .is_some_and(|r| r.iter().any(|x| !x.is_nan())),
        }
    }

    /// Keep entries `keep` (ascending indices).
    pub(crate) fn select(&self, keep: &[usize]) -> LabelData {
        fn rows<T: Copy>(v: &[T], w: usize, keep: &[usize]) -> Vec<T> {
            keep.iter()
                .flat_map(|&i| v[i * w..(i + 1) * w].iter().copied())
                .collect()
        }
        match self {
            LabelData::Codes(v) => LabelData::Codes(rows(v, 1, keep)),
            LabelData::Integer(v) => LabelData::Integer(rows(v, 1, keep)),
            LabelData::Real(v) => LabelData::Real(rows(v, 1, keep)),
            LabelData::MultiHot { width, values } => LabelData::MultiHot {
                width: *width,
                values: rows(values, *width, keep),
            },
            LabelData::Vector { width, values } => LabelData::Vector {
                width: *width,
                values: rows(values, *width, keep),
            },
        }
    }

    /// Append another column of the same encoding (multi-hot columns narrower than this one are padded).
    pub(crate) fn extend(&mut self, other: LabelData) {
        match (self, other) {
            (LabelData::Codes(a), LabelData::Codes(b)) => a.extend(b),
            (LabelData::Integer(a), LabelData::Integer(b)) => a.extend(b),
            (LabelData::Real(a), LabelData::Real(b)) => a.extend(b),
            (LabelData::MultiHot { values, .. }, LabelData::MultiHot { values: b, .. }) => {
                values.extend(b)
            }
            (LabelData::Vector { values, .. }, LabelData::Vector { values: b, .. }) => {
                values.extend(b)
            }
            _ => {}
        }
    }

    fn tensor(&self) -> (Dtype, Vec<usize>, Vec<u8>) {
        match self {
            LabelData::Codes(v) => (Dtype::U32, vec![v.len()], le(v, |x| x.to_le_bytes())),
            LabelData::Integer(v) => (Dtype::I64, vec![v.len()], le(v, |x| x.to_le_bytes())),
            LabelData::Real(v) => (Dtype::F64, vec![v.len()], le(v, |x| x.to_le_bytes())),
            LabelData::MultiHot { width, values } => (
                Dtype::U8,
                vec![values.len() / (*width).max(1), *width],
                values.clone(),
            ),
            LabelData::Vector { width, values } => (
                Dtype::F32,
                vec![values.len() / (*width).max(1), *width],
                le(values, |x| x.to_le_bytes()),
            ),
        }
    }

    /// Decode a stored tensor with the field's kind; `n` is the expected number of entries. Multi-hot columns
    /// written before their schema grew are padded to the schema's width.
    pub(crate) fn from_raw(
        field: &LabelField,
        raw: &Raw,
        n: usize,
        path: &Path,
    ) -> Result<LabelData> {
        let bad = |m: String| StoreError::Shard {
            path: path.to_path_buf(),
            message: format!("label {:?}: {m}", field.name),
        };
        let expect = |dt: Dtype| -> Result<()> {
            if raw.dtype != dt {
                return Err(bad(format!("dtype {:?}, expected {dt:?}", raw.dtype)));
            }
            if raw.shape.first().copied() != Some(n) {
                return Err(bad(format!("shape {:?}, expected {n} entries", raw.shape)));
            }
            Ok(())
        };
        Ok(match &field.kind {
            LabelKind::Categorical { .. } => {
                expect(Dtype::U32)?;
                LabelData::Codes(u32s(&raw.bytes))
            }
            LabelKind::Integer => {
                expect(Dtype::I64)?;
                LabelData::Integer(i64s(&raw.bytes))
            }
            LabelKind::Real => {
                expect(Dtype::F64)?;
                LabelData::Real(f64s(&raw.bytes))
            }
            LabelKind::MultiHot { width, .. } => {
                expect(Dtype::U8)?;
                let w = raw.shape.get(1).copied().unwrap_or(0);
                if w > *width {
                    return Err(bad(format!("{w} tags per row, schema has {width}")));
                }
                let mut values = Vec::with_capacity(n * width);
                for r in 0..n {
                    let row = &raw.bytes[r * w..(r + 1) * w];
                    let fill = if w > 0 && row.iter().all(|&b| b == MISSING_TAG) {
                        MISSING_TAG
                    } else {
                        0
                    };
                    values.extend_from_slice(row);
                    values.extend(std::iter::repeat_n(fill, width - w));
                }
                LabelData::MultiHot {
                    width: *width,
                    values,
                }
            }
            LabelKind::Vector { width } => {
                expect(Dtype::F32)?;
                if raw.shape.get(1) != Some(width) {
                    return Err(bad(format!(
                        "shape {:?}, expected width {width}",
                        raw.shape
                    )));
                }
                LabelData::Vector {
                    width: *width,
                    values: f32s(&raw.bytes),
                }
            }
        })
    }
}

fn le<T: Copy, const N: usize>(v: &[T], f: impl Fn(T) -> [u8; N]) -> Vec<u8> {
    let mut out = Vec::with_capacity(v.len() * N);
    for &x in v {
        out.extend_from_slice(&f(x));
    }
    out
}

pub(crate) fn u32s(b: &[u8]) -> Vec<u32> {
    b.chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

pub(crate) fn i64s(b: &[u8]) -> Vec<i64> {
    b.chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

pub(crate) fn f64s(b: &[u8]) -> Vec<f64> {
    b.chunks_exact(8)
        .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
        .collect()
}

fn f32s(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

/// The rows of one shard in columns: what [`crate::StoreWriter::write_columns`] commits.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ShardColumns {
    /// Global shard index.
    pub index: usize,
    /// Clips that produced rows, ascending dataset index.
    pub clips: Vec<ClipEntry>,
    /// Dataset index of each row's clip (must be one of `clips`).
    pub row_clip: Vec<u32>,
    /// Frame / token index of each row within its clip.
    pub position: Vec<u32>,
    /// Start of each row's span (manifest `span_unit`, from the clip start).
    pub span_start: Vec<f64>,
    /// End of each row's span.
    pub span_end: Vec<f64>,
    /// Row-level label columns by name (each row-level field of the schema; a field left out is missing for every
    /// row).
    pub row_labels: BTreeMap<String, LabelData>,
    /// Activations per layer, in the order of the header's layers, each row-major `[rows, hidden]`.
    pub layers: Vec<Vec<f32>>,
    /// Clips of the shard that were skipped.
    pub bad_clips: Vec<BadClip>,
}

impl ShardColumns {
    /// Number of rows.
    pub fn num_rows(&self) -> usize {
        self.row_clip.len()
    }

    /// Check column lengths and that every row's clip is in the clip table.
    pub(crate) fn check(&self, schema: &LabelSchema) -> Result<()> {
        let n = self.num_rows();
        let shape = |what: &str, got: usize| -> Result<()> {
            if got != n {
                return Err(StoreError::Shape {
                    what: format!("{what} of shard {}", self.index),
                    expected: n,
                    got,
                });
            }
            Ok(())
        };
        shape("positions", self.position.len())?;
        shape("span starts", self.span_start.len())?;
        shape("span ends", self.span_end.len())?;
        if self.clips.windows(2).any(|w| w[0].index >= w[1].index) {
            return Err(mirlens_core::CoreError::invalid(
                "clip table",
                format!("shard {}", self.index),
                "clips in ascending dataset order without repeats",
            )
            .into());
        }
        for (name, d) in &self.row_labels {
            let f = schema.get(name).filter(|f| f.level == LabelLevel::Row);
            let Some(f) = f else {
                return Err(StoreError::Label {
                    label: name.clone(),
                    reason: "not a row-level label of the store's schema".into(),
                });
            };
            if std::mem::discriminant(d) != std::mem::discriminant(&LabelData::empty(&f.kind))
                || (f.kind.width() != 1 && d_width(d) != f.kind.width())
            {
                return Err(StoreError::Label {
                    label: name.clone(),
                    reason: format!("column does not have the encoding of a {}", f.kind.name()),
                });
            }
            shape(&format!("label {name:?}"), d.len())?;
        }
        for (r, &c) in self.row_clip.iter().enumerate() {
            if self
                .clips
                .binary_search_by_key(&(c as usize), |e| e.index)
                .is_err()
            {
                return Err(StoreError::Shape {
                    what: format!(
                        "row {r} of shard {} refers to clip {c}, which is not in its clip table",
                        self.index
                    ),
                    expected: 0,
                    got: c as usize,
                });
            }
        }
        Ok(())
    }

    /// Keep rows `keep` (ascending) in every row column and layer.
    pub(crate) fn retain_rows(&mut self, keep: &[usize], hidden: usize) {
        let pick = |v: &[f64]| keep.iter().map(|&i| v[i]).collect::<Vec<_>>();
        self.span_start = pick(&self.span_start);
        self.span_end = pick(&self.span_end);
        self.row_clip = keep.iter().map(|&i| self.row_clip[i]).collect();
        self.position = keep.iter().map(|&i| self.position[i]).collect();
        for d in self.row_labels.values_mut() {
            *d = d.select(keep);
        }
        for l in &mut self.layers {
            *l = keep
                .iter()
                .flat_map(|&i| l[i * hidden..(i + 1) * hidden].iter().copied())
                .collect();
        }
    }
}

fn d_width(d: &LabelData) -> usize {
    match d {
        LabelData::MultiHot { width, .. } | LabelData::Vector { width, .. } => *width,
        _ => 1,
    }
}

/// Grow an inferred schema so that it holds `value` of label `name` (new label → row-level field; new class or
/// tag → appended). A value whose type does not fit the field is an error.
pub(crate) fn grow_schema(schema: &mut LabelSchema, name: &str, value: &LabelValue) -> Result<()> {
    if schema.get(name).is_none() {
        schema.fields.push(LabelField::new(
            name,
            LabelLevel::Row,
            LabelKind::infer(value),
        ));
    }
    let Some(f) = schema.get_mut(name) else {
        return Ok(());
    };
    match (&mut f.kind, value) {
        (LabelKind::Categorical { classes }, LabelValue::Str(_) | LabelValue::Int(_)) => {
            let key = value.class_key();
            if !classes.contains(&key) {
                classes.push(key);
            }
        }
        (LabelKind::MultiHot { width, classes }, LabelValue::Tags(tags)) => {
            for t in tags {
                if !classes.contains(t) {
                    classes.push(t.clone());
                    *width += 1;
                }
            }
        }
        (LabelKind::Integer, LabelValue::Int(_))
        | (LabelKind::Real, LabelValue::Int(_) | LabelValue::Float(_)) => {}
        (kind, v) => {
            return Err(StoreError::Label {
                label: name.to_string(),
                reason: format!(
                    "{} value {:?} does not fit the {} label the earlier rows defined",
                    v.type_name(),
                    v.class_key(),
                    kind.name()
                ),
            });
        }
    }
    Ok(())
}

/// Convert format-1 style rows into columns. Labels of fields the schema declares at clip level go to the clip
/// table (taken from the clip's first row); every other label is a row-level column. With `grow`, unknown labels,
/// classes and tags are added to `schema`; otherwise they are errors.
pub(crate) fn columns_from_rows(
    index: usize,
    rows: &[RowMeta],
    unit: RowUnit,
    schema: &mut LabelSchema,
    grow: bool,
) -> Result<ShardColumns> {
    if !grow {
        for r in rows {
            if let Some(k) = r.labels.keys().find(|k| schema.get(k).is_none()) {
                return Err(StoreError::Label {
                    label: k.clone(),
                    reason: format!(
                        "row of clip {:?} carries it, but the store's declared label schema has no such label",
                        r.clip_id
                    ),
                });
            }
        }
    }
    if grow {
        for r in rows {
            for (k, v) in &r.labels {
                let clip_level = schema.get(k).is_some_and(|f| f.level == LabelLevel::Clip);
                if !clip_level {
                    grow_schema(schema, k, v)?;
                }
            }
        }
    }
    let mut out = ShardColumns {
        index,
        ..ShardColumns::default()
    };
    let mut clips: BTreeMap<usize, ClipEntry> = BTreeMap::new();
    for r in rows {
        clips.entry(r.clip_index).or_insert_with(|| ClipEntry {
            index: r.clip_index,
            id: r.clip_id.clone(),
            split: r.split.clone(),
            source: String::new(),
            labels: r
                .labels
                .iter()
                .filter(|(k, _)| schema.get(k).is_some_and(|f| f.level == LabelLevel::Clip))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        });
        out.row_clip.push(u32::try_from(r.clip_index).map_err(|_| {
            mirlens_core::CoreError::invalid("clip index", r.clip_index, "below 2^32")
        })?);
        out.position.push(
            u32::try_from(r.frame)
                .map_err(|_| mirlens_core::CoreError::invalid("frame", r.frame, "below 2^32"))?,
        );
        out.span_start.push(r.time);
        out.span_end.push(match unit {
            RowUnit::Frame { rate } => r.time + 1.0 / rate,
            _ => f64::NAN,
        });
    }
    out.clips = clips.into_values().collect();
    for f in schema.at(LabelLevel::Row) {
        if let Some(name) = rows
            .iter()
            .find_map(|r| r.labels.get_key_value(&f.name).map(|(k, _)| k))
        {
            let vals: Vec<Option<&LabelValue>> = rows.iter().map(|r| r.labels.get(name)).collect();
            out.row_labels
                .insert(f.name.clone(), LabelData::from_values(f, &vals)?);
        }
    }
    Ok(out)
}

/// The clip table of a store: one entry per clip that produced rows, ascending dataset index.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClipTable {
    /// Dataset clip index.
    pub index: Vec<u32>,
    /// Clip id.
    pub id: Vec<String>,
    /// Dataset split (`None` when the dataset has none).
    pub split: Vec<Option<String>>,
    /// Source file as the dataset lists it (empty when unknown).
    pub source: Vec<String>,
    /// Clip-level label columns, in schema order.
    pub labels: Vec<(String, LabelData)>,
}

impl ClipTable {
    /// Position in the table of the clip with dataset index `clip`.
    pub fn position(&self, clip: u32) -> Option<usize> {
        self.index.binary_search(&clip).ok()
    }

    /// The clip-level label column `name`.
    pub fn label(&self, name: &str) -> Option<&LabelData> {
        self.labels.iter().find(|(n, _)| n == name).map(|(_, d)| d)
    }

    pub(crate) fn extend(&mut self, other: ClipTable) {
        self.index.extend(other.index);
        self.id.extend(other.id);
        self.split.extend(other.split);
        self.source.extend(other.source);
        if self.labels.is_empty() {
            self.labels = other.labels;
        } else {
            for ((_, a), (_, b)) in self.labels.iter_mut().zip(other.labels) {
                a.extend(b);
            }
        }
    }
}

/// A tensor read from a safetensors file: dtype, shape, raw little-endian bytes.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    pub bytes: Vec<u8>,
}

/// Serialise the row and clip tables of a shard.
pub(crate) fn table_bytes(c: &ShardColumns, schema: &LabelSchema, path: &Path) -> Result<Vec<u8>> {
    let n = c.num_rows();
    let mut tensors: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = vec![
        (
            "row.clip".into(),
            Dtype::U32,
            vec![n],
            le(&c.row_clip, |x| x.to_le_bytes()),
        ),
        (
            "row.position".into(),
            Dtype::U32,
            vec![n],
            le(&c.position, |x| x.to_le_bytes()),
        ),
        (
            "row.span_start".into(),
            Dtype::F64,
            vec![n],
            le(&c.span_start, |x| x.to_le_bytes()),
        ),
        (
            "row.span_end".into(),
            Dtype::F64,
            vec![n],
            le(&c.span_end, |x| x.to_le_bytes()),
        ),
    ];
    for f in schema.at(LabelLevel::Row) {
        let d = match c.row_labels.get(&f.name) {
            Some(d) => d.clone(),
            None => LabelData::from_values(f, &vec![None; n])?,
        };
        let (dt, shape, bytes) = d.tensor();
        tensors.push((format!("row.label.{}", f.name), dt, shape, bytes));
    }
    let idx: Vec<u32> = c.clips.iter().map(|e| e.index as u32).collect();
    tensors.push((
        "clip.index".into(),
        Dtype::U32,
        vec![idx.len()],
        le(&idx, |x| x.to_le_bytes()),
    ));
    let strings = |name: &str, get: &dyn Fn(&ClipEntry) -> &str| {
        let mut bytes = Vec::new();
        let mut offsets = vec![0i64];
        for e in &c.clips {
            bytes.extend_from_slice(get(e).as_bytes());
            offsets.push(bytes.len() as i64);
        }
        [
            (
                format!("clip.{name}.bytes"),
                Dtype::U8,
                vec![bytes.len()],
                bytes,
            ),
            (
                format!("clip.{name}.offsets"),
                Dtype::I64,
                vec![offsets.len()],
                le(&offsets, |x| x.to_le_bytes()),
            ),
        ]
    };
    tensors.extend(strings("id", &|e| e.id.as_str()));
    tensors.extend(strings("split", &|e| e.split.as_deref().unwrap_or("")));
    tensors.extend(strings("source", &|e| e.source.as_str()));
    for f in schema.at(LabelLevel::Clip) {
        let vals: Vec<Option<&LabelValue>> =
            c.clips.iter().map(|e| e.labels.get(&f.name)).collect();
        let (dt, shape, bytes) = LabelData::from_values(f, &vals)?.tensor();
        tensors.push((format!("clip.label.{}", f.name), dt, shape, bytes));
    }
    for e in &c.clips {
        if let Some(k) = e
            .labels
            .keys()
            .find(|k| schema.get(k).is_none_or(|f| f.level != LabelLevel::Clip))
        {
            return Err(StoreError::Label {
                label: k.clone(),
                reason: format!(
                    "clip {:?} carries it, but the schema has no clip-level label of that name",
                    e.id
                ),
            });
        }
    }
    let meta = serde_json::json!({"shard": c.index, "rows": n, "clips": c.clips.len()}).to_string();
    let refs: Vec<(&str, Dtype, Vec<usize>, &[u8])> = tensors
        .iter()
        .map(|(a, b, s, d)| (a.as_str(), *b, s.clone(), d.as_slice()))
        .collect();
    crate::io::serialize_tensors(&refs, Some(("mirlens", meta)), path)
}

/// Decode the row and clip tables of a shard file (activations not included) with the schema it was written
/// under. Row-level labels the file has no column for are missing.
pub(crate) fn decode_table(
    bytes: &[u8],
    index: usize,
    schema: &LabelSchema,
    path: &Path,
) -> Result<ShardColumns> {
    let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| StoreError::Shard {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let mut get = |name: &str| -> Result<Raw> {
        crate::io::required(crate::io::raw_from(&st, name, path)?, name, path)
    };
    let row_clip = u32s(&get("row.clip")?.bytes);
    let n = row_clip.len();
    let position = u32s(&get("row.position")?.bytes);
    let span_start = f64s(&get("row.span_start")?.bytes);
    let span_end = f64s(&get("row.span_end")?.bytes);
    let mut row_labels = BTreeMap::new();
    for f in schema.at(LabelLevel::Row) {
        let d = match crate::io::raw_from(&st, &format!("row.label.{}", f.name), path)? {
            Some(raw) => LabelData::from_raw(f, &raw, n, path)?,
            None => LabelData::from_values(f, &vec![None; n])?,
        };
        row_labels.insert(f.name.clone(), d);
    }
    let t = clips_from(&mut get, schema, path)?;
    let clips = (0..t.index.len())
        .map(|i| ClipEntry {
            index: t.index[i] as usize,
            id: t.id[i].clone(),
            split: t.split[i].clone(),
            source: t.source[i].clone(),
            labels: t
                .labels
                .iter()
                .filter_map(|(name, d)| {
                    let f = schema.get(name)?;
                    d.value(&f.kind, i).map(|v| (name.clone(), v))
                })
                .collect(),
        })
        .collect();
    Ok(ShardColumns {
        index,
        clips,
        row_clip,
        position,
        span_start,
        span_end,
        row_labels,
        layers: Vec::new(),
        bad_clips: Vec::new(),
    })
}

/// The typed row-level labels of every row of decoded columns.
pub(crate) fn row_label_sets(c: &ShardColumns, schema: &LabelSchema) -> Vec<LabelSet> {
    let mut out = vec![LabelSet::new(); c.num_rows()];
    for f in schema.at(LabelLevel::Row) {
        if let Some(d) = c.row_labels.get(&f.name) {
            for (i, set) in out.iter_mut().enumerate() {
                if let Some(v) = d.value(&f.kind, i) {
                    set.insert(f.name.clone(), v);
                }
            }
        }
    }
    out
}

/// Decode the clip table of a shard file's tensors.
pub(crate) fn clips_from(
    get: &mut dyn FnMut(&str) -> Result<Raw>,
    schema: &LabelSchema,
    path: &Path,
) -> Result<ClipTable> {
    let bad = |m: String| StoreError::Shard {
        path: path.to_path_buf(),
        message: m,
    };
    let index = u32s(&get("clip.index")?.bytes);
    let c = index.len();
    let mut strings = |name: &str| -> Result<Vec<String>> {
        let b = get(&format!("clip.{name}.bytes"))?.bytes;
        let o = i64s(&get(&format!("clip.{name}.offsets"))?.bytes);
        if o.len() != c + 1 {
            return Err(bad(format!(
                "clip.{name}.offsets has {} entries, expected {}",
                o.len(),
                c + 1
            )));
        }
        (0..c)
            .map(|i| {
                let (a, z) = (o[i] as usize, o[i + 1] as usize);
                b.get(a..z)
                    .and_then(|s| std::str::from_utf8(s).ok())
                    .map(str::to_string)
                    .ok_or_else(|| bad(format!("clip.{name} entry {i} is not UTF-8 within bounds")))
            })
            .collect()
    };
    let id = strings("id")?;
    let split = strings("split")?
        .into_iter()
        .map(|s| (!s.is_empty()).then_some(s))
        .collect();
    let source = strings("source")?;
    let mut labels = Vec::new();
    for f in schema.at(LabelLevel::Clip) {
        let raw = get(&format!("clip.label.{}", f.name))?;
        labels.push((f.name.clone(), LabelData::from_raw(f, &raw, c, path)?));
    }
    Ok(ClipTable {
        index,
        id,
        split,
        source,
        labels,
    })
}

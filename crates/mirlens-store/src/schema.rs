//! What a format-2 store's rows are: the modality, the row unit, the unit of row spans, the model card, the label
//! schema and the policy for non-finite activations. Recorded in `manifest.json` when the store is created.

use crate::error::{Result, StoreError};
use crate::manifest::StoreHeader;
use mirlens_core::{LabelValue, Pooling};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use mirlens_core::Modality;

/// What one row of the store stands for.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "unit", rename_all = "snake_case")]
pub enum RowUnit {
    /// One row per clip (pooled activations).
    Clip,
    /// One row per encoder frame; `rate` frames per second of input.
    Frame {
        /// Frames per second.
        rate: f64,
    },
    /// One row per input token (text or symbolic-music tokens).
    Token,
}

impl RowUnit {
    /// The row unit a format-1 style header implies: frames at the frame rate without pooling, clips with it.
    pub fn from_header(h: &StoreHeader) -> RowUnit {
        if h.pooling == Pooling::None {
            RowUnit::Frame { rate: h.frame_rate }
        } else {
            RowUnit::Clip
        }
    }
}

impl std::fmt::Display for RowUnit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowUnit::Clip => f.write_str("clip"),
            RowUnit::Frame { rate } => write!(f, "frame at {rate} Hz"),
            RowUnit::Token => f.write_str("token"),
        }
    }
}

/// Unit of the row spans `span_start`/`span_end` (always relative to the start of the row's clip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SpanUnit {
    /// Seconds of audio (or of MIDI time).
    #[default]
    Seconds,
    /// Character offsets into the text (`end` exclusive).
    Chars,
    /// MIDI ticks.
    Ticks,
}

/// Descriptive information about the model, copied from its card (all optional).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ModelCard {
    /// Architecture (e.g. `hubert`, `wav2vec2`, `logmel`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    /// Where the weights come from (hub repository, folder, built-in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Licence of the weights.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub license: Option<String>,
    /// Further key/value facts (number of layers, training data, …).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub extra: BTreeMap<String, String>,
}

/// The value type of a label and its encoding in the row tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum LabelKind {
    /// One of `classes`; stored as `U32` codes (index into `classes`, `0xFFFFFFFF` = missing).
    Categorical {
        /// Class names; the code of a class is its index.
        classes: Vec<String>,
    },
    /// An integer; stored as `I64` (`i64::MIN` = missing).
    Integer,
    /// A real number; stored as `F64` (`NaN` = missing).
    Real,
    /// A set of tags out of `classes`; stored as `U8 [n, width]` of 0/1 (`255` in every cell = missing).
    MultiHot {
        /// Number of tags.
        width: usize,
        /// Tag names (empty, or `width` names).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        classes: Vec<String>,
    },
    /// A real vector; stored as `F32 [n, width]` (`NaN` in every cell = missing).
    Vector {
        /// Number of components.
        width: usize,
    },
}

impl LabelKind {
    /// Short name (`categorical`, `integer`, `real`, `multi_hot`, `vector`).
    pub fn name(&self) -> &'static str {
        match self {
            LabelKind::Categorical { .. } => "categorical",
            LabelKind::Integer => "integer",
            LabelKind::Real => "real",
            LabelKind::MultiHot { .. } => "multi_hot",
            LabelKind::Vector { .. } => "vector",
        }
    }

    /// Values per row (1, or the width of multi-hot and vector labels).
    pub fn width(&self) -> usize {
        match self {
            LabelKind::MultiHot { width, .. } | LabelKind::Vector { width } => *width,
            _ => 1,
        }
    }

    /// The kind a format-1 label value implies (strings → categorical, tags → multi-hot, …), with no classes yet.
    pub fn infer(v: &LabelValue) -> LabelKind {
        match v {
            LabelValue::Int(_) => LabelKind::Integer,
            LabelValue::Float(_) => LabelKind::Real,
            LabelValue::Str(_) => LabelKind::Categorical {
                classes: Vec::new(),
            },
            LabelValue::Tags(_) => LabelKind::MultiHot {
                width: 0,
                classes: Vec::new(),
            },
        }
    }
}

/// Whether a label belongs to a whole clip or to each row (frame, token).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LabelLevel {
    /// One value per clip, stored in the clip table (`clip.label.NAME`).
    #[default]
    Clip,
    /// One value per row, stored in the row table (`row.label.NAME`): frame- or token-level labels.
    Row,
}

/// One label column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelField {
    /// Label name.
    pub name: String,
    /// Clip- or row-level.
    pub level: LabelLevel,
    /// Type and encoding.
    #[serde(flatten)]
    pub kind: LabelKind,
}

impl LabelField {
    /// A field.
    pub fn new(name: impl Into<String>, level: LabelLevel, kind: LabelKind) -> LabelField {
        LabelField {
            name: name.into(),
            level,
            kind,
        }
    }
}

/// The label columns of a store, in declaration order.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LabelSchema {
    /// The fields.
    pub fields: Vec<LabelField>,
}

impl LabelSchema {
    /// An empty schema.
    pub fn new() -> LabelSchema {
        LabelSchema::default()
    }

    /// Builder: add a field.
    pub fn with(mut self, f: LabelField) -> LabelSchema {
        self.fields.push(f);
        self
    }

    /// The field called `name`.
    pub fn get(&self, name: &str) -> Option<&LabelField> {
        self.fields.iter().find(|f| f.name == name)
    }

    pub(crate) fn get_mut(&mut self, name: &str) -> Option<&mut LabelField> {
        self.fields.iter_mut().find(|f| f.name == name)
    }

    /// Fields of one level.
    pub fn at(&self, level: LabelLevel) -> impl Iterator<Item = &LabelField> {
        self.fields.iter().filter(move |f| f.level == level)
    }

    /// Check names unique and non-empty, classes unique, widths consistent.
    pub fn check(&self) -> Result<()> {
        let bad = |name: &str, reason: String| StoreError::Label {
            label: name.to_string(),
            reason,
        };
        let mut seen = std::collections::BTreeSet::new();
        for f in &self.fields {
            if f.name.is_empty() {
                return Err(bad("", "label names must not be empty".into()));
            }
            if !seen.insert(f.name.as_str()) {
                return Err(bad(&f.name, "declared twice".into()));
            }
            let classes = match &f.kind {
                LabelKind::Categorical { classes } => Some(classes),
                LabelKind::MultiHot { width, classes } => {
                    if !classes.is_empty() && classes.len() != *width {
                        return Err(bad(
                            &f.name,
                            format!(
                                "multi-hot of width {width} with {} class names",
                                classes.len()
                            ),
                        ));
                    }
                    Some(classes)
                }
                LabelKind::Vector { width } if *width == 0 => {
                    return Err(bad(&f.name, "vector of width 0".into()));
                }
                _ => None,
            };
            if let Some(c) = classes {
                let mut s = std::collections::BTreeSet::new();
                if let Some(d) = c.iter().find(|x| !s.insert(x.as_str())) {
                    return Err(bad(&f.name, format!("class {d:?} listed twice")));
                }
                if c.len() >= u32::MAX as usize {
                    return Err(bad(&f.name, "too many classes".into()));
                }
            }
        }
        Ok(())
    }
}

/// What to do with activations that are NaN or infinite (after rounding to the storage dtype).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NonFinitePolicy {
    /// Refuse the shard with an error naming the layer, row and clip.
    #[default]
    Error,
    /// Drop every row that holds a non-finite value in any layer; count the dropped rows in the manifest.
    Skip,
    /// Store the values as they are; count the affected rows in the manifest.
    Keep,
}

impl std::str::FromStr for NonFinitePolicy {
    type Err = mirlens_core::CoreError;
    fn from_str(s: &str) -> std::result::Result<Self, Self::Err> {
        match s.trim() {
            "error" => Ok(NonFinitePolicy::Error),
            "skip" => Ok(NonFinitePolicy::Skip),
            "keep" => Ok(NonFinitePolicy::Keep),
            _ => Err(mirlens_core::CoreError::Parse {
                what: "non-finite policy",
                input: s.to_string(),
                expected: "'error', 'skip' or 'keep'",
            }),
        }
    }
}

impl std::fmt::Display for NonFinitePolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NonFinitePolicy::Error => "error",
            NonFinitePolicy::Skip => "skip",
            NonFinitePolicy::Keep => "keep",
        })
    }
}

/// The format-2 description of a store's rows, fixed when the store is created (part of its identity, except the
/// classes an undeclared schema discovers while writing).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoreLayout {
    /// Input modality.
    #[serde(default = "audio")]
    pub modality: Modality,
    /// What a row stands for.
    #[serde(default = "clip_unit")]
    pub row_unit: RowUnit,
    /// Unit of `span_start`/`span_end`.
    #[serde(default)]
    pub span_unit: SpanUnit,
    /// Model card facts.
    #[serde(default)]
    pub model_card: ModelCard,
    /// Label columns (the store's label dictionary).
    #[serde(default)]
    pub label_schema: LabelSchema,
    /// Whether the schema was declared when the store was created (`false`: inferred from the rows written, new
    /// labels and classes are appended as they appear).
    #[serde(default)]
    pub label_schema_declared: bool,
    /// Policy for non-finite activations.
    #[serde(default)]
    pub on_nonfinite: NonFinitePolicy,
}

impl StoreLayout {
    /// The layout a header implies when nothing more is known: audio, frames at the frame rate (or clips when
    /// pooled), spans in seconds, no model card, a schema inferred from the rows, non-finite values refused.
    pub fn for_header(h: &StoreHeader) -> StoreLayout {
        StoreLayout {
            modality: Modality::Audio,
            row_unit: RowUnit::from_header(h),
            span_unit: SpanUnit::Seconds,
            model_card: ModelCard::default(),
            label_schema: LabelSchema::new(),
            label_schema_declared: false,
            on_nonfinite: NonFinitePolicy::Error,
        }
    }

    /// Builder: declare the label schema.
    pub fn with_labels(mut self, schema: LabelSchema) -> StoreLayout {
        self.label_schema = schema;
        self.label_schema_declared = true;
        self
    }

    /// Compare with the layout of an existing store (for resuming); the first differing field is an
    /// [`StoreError::Incompatible`] error.
    pub fn check_same(&self, existing: &StoreLayout, path: &std::path::Path) -> Result<()> {
        let j = |v: &dyn erased::Ser| v.json();
        let mut fields: Vec<(&'static str, String, String)> = vec![
            ("modality", j(&existing.modality), j(&self.modality)),
            ("row_unit", j(&existing.row_unit), j(&self.row_unit)),
            ("span_unit", j(&existing.span_unit), j(&self.span_unit)),
            ("model_card", j(&existing.model_card), j(&self.model_card)),
            (
                "on_nonfinite",
                j(&existing.on_nonfinite),
                j(&self.on_nonfinite),
            ),
            (
                "label_schema_declared",
                j(&existing.label_schema_declared),
                j(&self.label_schema_declared),
            ),
        ];
        if self.label_schema_declared {
            fields.push((
                "label_schema",
                j(&existing.label_schema),
                j(&self.label_schema),
            ));
        }
        for (field, a, b) in fields {
            if a != b {
                return Err(StoreError::Incompatible {
                    path: path.to_path_buf(),
                    field,
                    existing: a,
                    requested: b,
                });
            }
        }
        Ok(())
    }
}

fn audio() -> Modality {
    Modality::Audio
}

fn clip_unit() -> RowUnit {
    RowUnit::Clip
}

mod erased {
    pub trait Ser {
        fn json(&self) -> String;
    }
    impl<T: serde::Serialize> Ser for T {
        fn json(&self) -> String {
            serde_json::to_string(self).unwrap_or_default()
        }
    }
}

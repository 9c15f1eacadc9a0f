//! Typed labels attached to clips and activation rows.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One label value. Labels are typed so that a probe on `pitch` (an integer) and one on `instrument_family`
/// (a category) cannot be confused, and so that a manifest with a string where a number is expected is an error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum LabelValue {
    /// An integer label (MIDI pitch, velocity, class index).
    Int(i64),
    /// A real-valued target (valence, tempo).
    Float(f64),
    /// A categorical label (instrument family, key, genre).
    Str(String),
    /// A multi-label set (tags).
    Tags(Vec<String>),
}

impl LabelValue {
    /// A short name of the variant, used in type-mismatch errors.
    pub fn type_name(&self) -> &'static str {
        match self {
            LabelValue::Int(_) => "int",
            LabelValue::Float(_) => "float",
            LabelValue::Str(_) => "string",
            LabelValue::Tags(_) => "tags",
        }
    }

    /// A canonical string form used to group rows into classes.
    pub fn class_key(&self) -> String {
        match self {
            LabelValue::Int(i) => i.to_string(),
            LabelValue::Float(x) => format!("{x}"),
            LabelValue::Str(s) => s.clone(),
            LabelValue::Tags(t) => t.join("|"),
        }
    }

    /// Numeric view for regression targets.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            LabelValue::Int(i) => Some(*i as f64),
            LabelValue::Float(x) => Some(*x),
            _ => None,
        }
    }
}

/// Labels of one clip or row, keyed by label name (ordered for reproducible output).
pub type LabelSet = BTreeMap<String, LabelValue>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_round_trip_through_json_with_their_types() {
        let mut l = LabelSet::new();
        l.insert("pitch".into(), LabelValue::Int(60));
        l.insert("family".into(), LabelValue::Str("brass".into()));
        l.insert("valence".into(), LabelValue::Float(0.25));
        l.insert(
            "tags".into(),
            LabelValue::Tags(vec!["rock".into(), "guitar".into()]),
        );
        let s = serde_json::to_string(&l).unwrap();
        let back: LabelSet = serde_json::from_str(&s).unwrap();
        assert_eq!(back, l);
        assert_eq!(back["pitch"].type_name(), "int");
        assert_eq!(back["tags"].class_key(), "rock|guitar");
    }
}

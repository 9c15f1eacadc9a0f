//! # mirlens-core
//!
//! The shared vocabulary of mirlens. Every other crate speaks in these types:
//!
//! * [`Modality`] — what kind of signal an encoder consumes (audio, symbolic music, text);
//! * [`LayerId`] and [`LayerSelection`] — which hidden states to tap, with one indexing convention everywhere:
//!   layer 0 is the input to the first transformer block exactly as HuggingFace's `hidden_states[0]` defines it for
//!   that model variant, layers `1..=N` are the block outputs;
//! * [`Pooling`] — how frames are reduced to clip-level rows;
//! * [`LabelValue`] — typed labels attached to clips and rows;
//! * [`Tolerance`] — named tolerance tiers used by every parity test and quoted in the README.
//!
//! This crate has no IO and depends on no tensor, audio, model or CLI crate (checked in CI).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub mod kernels;
pub mod labels;
pub mod tolerance;

pub use labels::{LabelSet, LabelValue};

/// An error and its causes as one line, `error: cause: cause …` (the form of anyhow's `{:#}`).
///
/// Error types of mirlens either interpolate a cause in their message or return it from `source()`, never both, so
/// every message appears once. Use this wherever an error is turned into text outside an `anyhow` chain.
pub fn error_chain(e: &(dyn std::error::Error + '_)) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

pub use tolerance::Tolerance;

/// The kind of input an encoder consumes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Modality {
    /// Raw waveform audio.
    Audio,
    /// Symbolic music (MIDI, score tokens).
    Symbolic,
    /// Natural-language text tokens.
    Text,
}

impl fmt::Display for Modality {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Modality::Audio => "audio",
            Modality::Symbolic => "symbolic",
            Modality::Text => "text",
        })
    }
}

/// Index of a hidden state: 0 is the input to the first transformer block (HF `hidden_states[0]`), `1..=N` are the
/// outputs of blocks `1..=N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct LayerId(pub usize);

impl fmt::Display for LayerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "layer {}", self.0)
    }
}

/// Which hidden states to return from an encoder or read from a store.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LayerSelection {
    /// Every hidden state `0..=N`.
    All,
    /// Only the last block output (`N`).
    Last,
    /// An explicit, sorted, de-duplicated list.
    Some(Vec<LayerId>),
}

impl LayerSelection {
    /// Resolve the selection against a model with `num_layers` transformer blocks (so `num_layers + 1` hidden
    /// states). Returns the sorted list of layers or an error naming the first layer out of range.
    pub fn resolve(&self, num_layers: usize) -> Result<Vec<LayerId>, CoreError> {
        match self {
            LayerSelection::All => Ok((0..=num_layers).map(LayerId).collect()),
            LayerSelection::Last => Ok(vec![LayerId(num_layers)]),
            LayerSelection::Some(v) => {
                let mut out = v.clone();
                out.sort();
                out.dedup();
                if let Some(bad) = out.iter().find(|l| l.0 > num_layers) {
                    return Err(CoreError::LayerOutOfRange {
                        layer: bad.0,
                        num_layers,
                    });
                }
                if out.is_empty() {
                    return Err(CoreError::Parse {
                        what: "layer selection",
                        input: String::new(),
                        expected: "at least one layer",
                    });
                }
                Ok(out)
            }
        }
    }
}

impl FromStr for LayerSelection {
    type Err = CoreError;

    /// Parses `all`, `last`, or a comma-separated list with optional ranges: `0,6,12`, `1-4,8`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let t = s.trim();
        match t {
            "all" => return Ok(LayerSelection::All),
            "last" => return Ok(LayerSelection::Last),
            _ => {}
        }
        let err = || CoreError::Parse {
            what: "layer selection",
            input: s.to_string(),
            expected: "'all', 'last' or a list such as '0,6,12' or '1-4,8'",
        };
        let mut out = Vec::new();
        for part in t.split(',') {
            let part = part.trim();
            if let Some((a, b)) = part.split_once('-') {
                let a: usize = a.trim().parse().map_err(|_| err())?;
                let b: usize = b.trim().parse().map_err(|_| err())?;
                if a > b {
                    return Err(err());
                }
                out.extend((a..=b).map(LayerId));
            } else {
                out.push(LayerId(part.parse().map_err(|_| err())?));
            }
        }
        if out.is_empty() {
            return Err(err());
        }
        out.sort();
        out.dedup();
        Ok(LayerSelection::Some(out))
    }
}

/// How frame-level activations are reduced over time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Pooling {
    /// Keep every frame.
    #[default]
    None,
    /// Mean over the frames of a clip.
    Mean,
    /// Element-wise max over the frames of a clip.
    Max,
}

impl FromStr for Pooling {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "none" => Ok(Pooling::None),
            "mean" => Ok(Pooling::Mean),
            "max" => Ok(Pooling::Max),
            _ => Err(CoreError::Parse {
                what: "pooling",
                input: s.to_string(),
                expected: "'none', 'mean' or 'max'",
            }),
        }
    }
}

impl fmt::Display for Pooling {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Pooling::None => "none",
            Pooling::Mean => "mean",
            Pooling::Max => "max",
        })
    }
}

/// Storage/compute precision of floating-point arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum DType {
    /// IEEE 754 single precision.
    #[default]
    F32,
    /// IEEE 754 half precision.
    F16,
    /// bfloat16.
    Bf16,
}

impl FromStr for DType {
    type Err = CoreError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "float32" => Ok(DType::F32),
            "f16" | "float16" => Ok(DType::F16),
            "bf16" | "bfloat16" => Ok(DType::Bf16),
            _ => Err(CoreError::Parse {
                what: "dtype",
                input: s.to_string(),
                expected: "'f32', 'f16' or 'bf16'",
            }),
        }
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::Bf16 => "bf16",
        })
    }
}

/// Errors shared by every crate: parsing of the shared vocabulary and range checks.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoreError {
    /// A textual option could not be parsed.
    #[error("could not parse {what} from {input:?}: expected {expected}")]
    Parse {
        /// Which option was being parsed.
        what: &'static str,
        /// The input as given.
        input: String,
        /// What would have been accepted.
        expected: &'static str,
    },
    /// A layer index beyond the model's depth was requested.
    #[error("layer {layer} requested, but the model has hidden states 0..={num_layers} only")]
    LayerOutOfRange {
        /// The requested layer.
        layer: usize,
        /// The number of transformer blocks (so hidden states are `0..=num_layers`).
        num_layers: usize,
    },
    /// A parameter failed validation.
    #[error("invalid parameter `{name}` = {value}: expected {expected}")]
    InvalidParam {
        /// Parameter name as the user spells it.
        name: &'static str,
        /// The offending value, formatted.
        value: String,
        /// What would have been accepted.
        expected: String,
    },
}

impl CoreError {
    /// Convenience constructor for [`CoreError::InvalidParam`].
    pub fn invalid(
        name: &'static str,
        value: impl fmt::Display,
        expected: impl Into<String>,
    ) -> Self {
        CoreError::InvalidParam {
            name,
            value: value.to_string(),
            expected: expected.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layer_selection_parses_lists_and_ranges() {
        let s: LayerSelection = "6, 0,1-3,6".parse().unwrap();
        assert_eq!(
            s,
            LayerSelection::Some(vec![
                LayerId(0),
                LayerId(1),
                LayerId(2),
                LayerId(3),
                LayerId(6)
            ])
        );
        assert_eq!(
            "all".parse::<LayerSelection>().unwrap(),
            LayerSelection::All
        );
        assert!("3-1".parse::<LayerSelection>().is_err());
        assert!("x".parse::<LayerSelection>().is_err());
    }

    #[test]
    fn layer_selection_resolves_against_depth() {
        assert_eq!(
            LayerSelection::All.resolve(2).unwrap(),
            vec![LayerId(0), LayerId(1), LayerId(2)]
        );
        assert_eq!(LayerSelection::Last.resolve(12).unwrap(), vec![LayerId(12)]);
        let e = "0,13"
            .parse::<LayerSelection>()
            .unwrap()
            .resolve(12)
            .unwrap_err();
        assert_eq!(
            e,
            CoreError::LayerOutOfRange {
                layer: 13,
                num_layers: 12
            }
        );
        assert!(e.to_string().contains("0..=12"));
    }

    #[test]
    fn pooling_and_dtype_round_trip_through_strings() {
        for p in [Pooling::None, Pooling::Mean, Pooling::Max] {
            assert_eq!(p.to_string().parse::<Pooling>().unwrap(), p);
        }
        for d in [DType::F32, DType::F16, DType::Bf16] {
            assert_eq!(d.to_string().parse::<DType>().unwrap(), d);
        }
        assert!("median".parse::<Pooling>().is_err());
    }
}

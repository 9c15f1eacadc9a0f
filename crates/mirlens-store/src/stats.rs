//! Per-layer statistics (mean, variance, distribution of row norms), computed once when a store is finalised and
//! stored in `stats/layer-LLL.safetensors`.

use crate::error::{Result, StoreError};
use crate::io;
use mirlens_core::LayerId;
use safetensors::Dtype;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Number of bins of the row-norm histogram.
pub const NORM_BINS: usize = 64;

/// Statistics of one layer over every row of a store.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerStats {
    /// The layer.
    pub layer: LayerId,
    /// Number of rows.
    pub count: usize,
    /// Per-dimension mean, `[hidden]`.
    pub mean: Vec<f64>,
    /// Per-dimension population variance, `[hidden]`.
    pub var: Vec<f64>,
    /// Summary of the L2 norms of the rows.
    pub norms: NormSummary,
    /// Histogram bin edges of the row norms, `[NORM_BINS + 1]`, evenly spaced from the minimum to the maximum norm.
    pub norm_edges: Vec<f64>,
    /// Rows per histogram bin, `[NORM_BINS]` (the last bin includes the maximum).
    pub norm_counts: Vec<u64>,
}

/// Scalar summary of row norms. In JSON, NaN is written as `null` and infinities as `"inf"` / `"-inf"`, and read
/// back as the same values (see [`nonfinite`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct NormSummary {
    /// Mean norm.
    #[serde(with = "nonfinite")]
    pub mean: f64,
    /// Smallest norm.
    #[serde(with = "nonfinite")]
    pub min: f64,
    /// Largest norm.
    #[serde(with = "nonfinite")]
    pub max: f64,
    /// Median norm (lower median).
    #[serde(with = "nonfinite")]
    pub median: f64,
}

/// Serde for `f64` values that may be non-finite, for JSON: NaN ↔ `null`, +∞ ↔ `"inf"`, −∞ ↔ `"-inf"`, finite
/// values as numbers (`"nan"` is also read as NaN). Use with `#[serde(with = "mirlens_store::stats::nonfinite")]`.
pub mod nonfinite {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Serialise one value.
    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_nan() {
            s.serialize_none()
        } else if v.is_infinite() {
            s.serialize_str(if *v > 0.0 { "inf" } else { "-inf" })
        } else {
            s.serialize_f64(*v)
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Num(f64),
        Text(String),
        Null,
    }

    /// Deserialise one value.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Repr::deserialize(d)? {
            Repr::Num(x) => Ok(x),
            Repr::Null => Ok(f64::NAN),
            Repr::Text(t) => match t.as_str() {
                "inf" | "+inf" | "Infinity" => Ok(f64::INFINITY),
                "-inf" | "-Infinity" => Ok(f64::NEG_INFINITY),
                "nan" | "NaN" => Ok(f64::NAN),
                _ => Err(serde::de::Error::custom(format!(
                    "expected a number, null, \"inf\" or \"-inf\", got {t:?}"
                ))),
            },
        }
    }
}

/// Streaming accumulator of per-dimension mean/variance (Chan et al. pairwise merge, f64) and row norms.
#[derive(Debug, Clone)]
pub struct StatsAccumulator {
    dim: usize,
    count: usize,
    mean: Vec<f64>,
    m2: Vec<f64>,
    norms: Vec<f64>,
}

impl StatsAccumulator {
    /// An empty accumulator for rows of width `dim`.
    pub fn new(dim: usize) -> Self {
        StatsAccumulator {
            dim,
            count: 0,
            mean: vec![0.0; dim],
            m2: vec![0.0; dim],
            norms: Vec::new(),
        }
    }

    /// Add a block of rows (row-major `[n, dim]`).
    pub fn push_block(&mut self, data: &[f32]) {
        if self.dim == 0 || data.is_empty() {
            return;
        }
        let n = data.len() / self.dim;
        let mut bmean = vec![0.0f64; self.dim];
        for row in data.chunks_exact(self.dim) {
            let mut sq = 0.0f64;
            for (m, &v) in bmean.iter_mut().zip(row) {
                *m += v as f64;
                sq += (v as f64) * (v as f64);
            }
            self.norms.push(sq.sqrt());
        }
        bmean.iter_mut().for_each(|m| *m /= n as f64);
        let mut bm2 = vec![0.0f64; self.dim];
        for row in data.chunks_exact(self.dim) {
            for ((s, &v), m) in bm2.iter_mut().zip(row).zip(&bmean) {
                let d = v as f64 - m;
                *s += d * d;
            }
        }
        let (na, nb) = (self.count as f64, n as f64);
        let nt = na + nb;
        for j in 0..self.dim {
            let delta = bmean[j] - self.mean[j];
            self.mean[j] += delta * nb / nt;
            self.m2[j] += bm2[j] + delta * delta * na * nb / nt;
        }
        self.count += n;
    }

    /// Finish into [`LayerStats`].
    pub fn finish(self, layer: LayerId) -> LayerStats {
        let var: Vec<f64> = self
            .m2
            .iter()
            .map(|m| {
                if self.count > 0 {
                    m / self.count as f64
                } else {
                    0.0
                }
            })
            .collect();
        let mut sorted = self.norms.clone();
        sorted.sort_by(f64::total_cmp);
        let (min, max) = (
            sorted.first().copied().unwrap_or(0.0),
            sorted.last().copied().unwrap_or(0.0),
        );
        let norms = NormSummary {
            mean: if sorted.is_empty() {
                0.0
            } else {
                self.norms.iter().sum::<f64>() / sorted.len() as f64
            },
            min,
            max,
            median: if sorted.is_empty() {
                0.0
            } else {
                sorted[(sorted.len() - 1) / 2]
            },
        };
        let width = (max - min) / NORM_BINS as f64;
        let norm_edges: Vec<f64> = (0..=NORM_BINS).map(|i| min + width * i as f64).collect();
        let mut norm_counts = vec![0u64; NORM_BINS];
        for &x in &self.norms {
            let b = if width > 0.0 {
                (((x - min) / width) as usize).min(NORM_BINS - 1)
            } else {
                0
            };
            norm_counts[b] += 1;
        }
        LayerStats {
            layer,
            count: self.count,
            mean: self.mean,
            var,
            norms,
            norm_edges,
            norm_counts,
        }
    }
}

#[derive(Serialize, Deserialize)]
struct StatsMeta {
    layer: usize,
    count: usize,
    norms: NormSummary,
}

impl LayerStats {
    /// Serialise to safetensors bytes (tensors `mean`, `var`, `norm_edges` as F64, `norm_counts` as I64; scalar
    /// summary as JSON under the `mirlens` metadata key).
    pub(crate) fn to_bytes(&self, path: &Path) -> Result<Vec<u8>> {
        let f64b = |v: &[f64]| v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>();
        let (mean, var, edges) = (f64b(&self.mean), f64b(&self.var), f64b(&self.norm_edges));
        let counts: Vec<u8> = self
            .norm_counts
            .iter()
            .flat_map(|c| (*c as i64).to_le_bytes())
            .collect();
        let meta = StatsMeta {
            layer: self.layer.0,
            count: self.count,
            norms: self.norms,
        };
        let meta = serde_json::to_string(&meta).map_err(|e| StoreError::Json {
            path: path.to_path_buf(),
            line: None,
            message: e.to_string(),
        })?;
        io::serialize_tensors(
            &[
                ("mean", Dtype::F64, vec![self.mean.len()], &mean),
                ("var", Dtype::F64, vec![self.var.len()], &var),
                (
                    "norm_edges",
                    Dtype::F64,
                    vec![self.norm_edges.len()],
                    &edges,
                ),
                (
                    "norm_counts",
                    Dtype::I64,
                    vec![self.norm_counts.len()],
                    &counts,
                ),
            ],
            Some(("mirlens", meta)),
            path,
        )
    }

    /// Read a statistics file.
    pub fn load(path: &Path) -> Result<LayerStats> {
        let bytes = std::fs::read(path).map_err(crate::error::io_err("read", path))?;
        LayerStats::from_bytes(&bytes, path)
    }

    /// Parse the bytes of a statistics file (`path` for messages).
    pub(crate) fn from_bytes(bytes: &[u8], path: &Path) -> Result<LayerStats> {
        let bad = |m: String| StoreError::Shard {
            path: path.to_path_buf(),
            message: m,
        };
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| bad(e.to_string()))?;
        let f64s = |name: &str| -> Result<Vec<f64>> {
            let t = st
                .tensor(name)
                .map_err(|e| bad(format!("tensor {name:?}: {e}")))?;
            Ok(t.data()
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect())
        };
        let t = st
            .tensor("norm_counts")
            .map_err(|e| bad(format!("tensor \"norm_counts\": {e}")))?;
        let norm_counts = t
            .data()
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as u64)
            .collect();
        let (_, meta) =
            safetensors::SafeTensors::read_metadata(bytes).map_err(|e| bad(e.to_string()))?;
        let meta = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get("mirlens"))
            .ok_or_else(|| bad("missing `mirlens` metadata".into()))?;
        let meta: StatsMeta = serde_json::from_str(meta).map_err(|e| bad(e.to_string()))?;
        Ok(LayerStats {
            layer: LayerId(meta.layer),
            count: meta.count,
            mean: f64s("mean")?,
            var: f64s("var")?,
            norms: meta.norms,
            norm_edges: f64s("norm_edges")?,
            norm_counts,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blockwise_accumulation_matches_two_pass_formulas() {
        let dim = 3;
        let data: Vec<f32> = (0..30).map(|i| ((i * 7 % 11) as f32) * 0.5 - 2.0).collect();
        let mut acc = StatsAccumulator::new(dim);
        acc.push_block(&data[..9]);
        acc.push_block(&data[9..12]);
        acc.push_block(&data[12..]);
        let s = acc.finish(LayerId(2));
        assert_eq!(s.count, 10);
        for j in 0..dim {
            let col: Vec<f64> = data.chunks(dim).map(|r| r[j] as f64).collect();
            let m = col.iter().sum::<f64>() / 10.0;
            let v = col.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 10.0;
            assert!((s.mean[j] - m).abs() < 1e-12, "mean {j}");
            assert!((s.var[j] - v).abs() < 1e-12, "var {j}");
        }
        assert_eq!(s.norm_counts.iter().sum::<u64>(), 10);
        let norms: Vec<f64> = data
            .chunks(dim)
            .map(|r| {
                r.iter()
                    .map(|&x| (x as f64) * (x as f64))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        let max = norms.iter().cloned().fold(f64::MIN, f64::max);
        assert!((s.norms.max - max).abs() < 1e-12);
        assert!((s.norm_edges[NORM_BINS] - max).abs() < 1e-9);
    }
}

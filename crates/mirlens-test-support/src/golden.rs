//! Golden fixtures: `tests/golden/<case>/*.safetensors` written by the case's `generate.py`.
//!
//! Tensors are read as `f32` whatever their stored float type (f16/bf16/f64 are converted), integer tensors are
//! converted to `f32` too; shapes are kept.

use safetensors::{Dtype, SafeTensors};
use std::collections::BTreeMap;
use std::path::Path;

/// One tensor of a golden file, as f32 values in row-major order.
#[derive(Debug, Clone, PartialEq)]
pub struct GoldenTensor {
    /// Shape as stored.
    pub shape: Vec<usize>,
    /// Values in row-major order.
    pub data: Vec<f32>,
}

/// All tensors of a safetensors golden file plus its string metadata.
#[derive(Debug, Clone, Default)]
pub struct Golden {
    /// Tensors by name.
    pub tensors: BTreeMap<String, GoldenTensor>,
    /// The file's `__metadata__` map (generator versions, parameters).
    pub metadata: BTreeMap<String, String>,
}

impl Golden {
    /// Load a golden safetensors file. Panics with the path on any problem (test-only code).
    pub fn load(path: impl AsRef<Path>) -> Golden {
        let path = path.as_ref();
        let bytes = std::fs::read(path).unwrap_or_else(|e| {
            panic!(
                "golden {}: cannot read ({e}); run its generate.py",
                path.display()
            )
        });
        let (_, meta) = SafeTensors::read_metadata(&bytes)
            .unwrap_or_else(|e| panic!("golden {}: not a safetensors file ({e})", path.display()));
        let metadata: BTreeMap<String, String> = meta
            .metadata()
            .clone()
            .map(|m| m.into_iter().collect())
            .unwrap_or_default();
        let st = SafeTensors::deserialize(&bytes)
            .unwrap_or_else(|e| panic!("golden {}: not a safetensors file ({e})", path.display()));
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            let data = to_f32(view.dtype(), view.data()).unwrap_or_else(|| {
                panic!(
                    "golden {}: tensor {name} has unsupported dtype {:?}",
                    path.display(),
                    view.dtype()
                )
            });
            tensors.insert(
                name,
                GoldenTensor {
                    shape: view.shape().to_vec(),
                    data,
                },
            );
        }
        Golden { tensors, metadata }
    }

    /// A tensor by name; panics listing the available names if absent.
    pub fn get(&self, name: &str) -> &GoldenTensor {
        self.tensors.get(name).unwrap_or_else(|| {
            panic!(
                "golden has no tensor {name:?}; it has {:?}",
                self.tensors.keys().collect::<Vec<_>>()
            )
        })
    }
}

/// Convert raw little-endian tensor bytes to f32.
pub fn to_f32(dtype: Dtype, b: &[u8]) -> Option<Vec<f32>> {
    Some(match dtype {
        Dtype::F32 => b
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        Dtype::F64 => b
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        Dtype::F16 => b
            .chunks_exact(2)
            .map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]])))
            .collect(),
        Dtype::BF16 => b
            .chunks_exact(2)
            .map(|c| f32::from_bits((u16::from_le_bytes([c[0], c[1]]) as u32) << 16))
            .collect(),
        Dtype::I64 => b
            .chunks_exact(8)
            .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32)
            .collect(),
        Dtype::I32 => b
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
            .collect(),
        Dtype::U8 => b.iter().map(|&x| x as f32).collect(),
        Dtype::BOOL => b.iter().map(|&x| (x != 0) as u8 as f32).collect(),
        _ => return None,
    })
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match exp {
        0 if man == 0 => sign,
        0 => {
            // subnormal: normalise
            let mut e = 127 - 15 + 1;
            let mut m = man;
            while m & 0x400 == 0 {
                m <<= 1;
                e -= 1;
            }
            sign | ((e as u32) << 23) | ((m & 0x3ff) << 13)
        }
        0x1f => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 127 - 15) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_conversion_matches_known_values() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert!(f16_to_f32(0x7e00).is_nan());
    }

    #[test]
    fn round_trips_a_written_file() {
        let data: Vec<f32> = vec![1.0, -2.5, 3.25, 0.0, 7.0, 8.0];
        let bytes: Vec<u8> = data.iter().flat_map(|x| x.to_le_bytes()).collect();
        let view = safetensors::tensor::TensorView::new(Dtype::F32, vec![2, 3], &bytes).unwrap();
        let mut meta = std::collections::HashMap::new();
        meta.insert("librosa".to_string(), "0.11.0".to_string());
        let out = safetensors::serialize([("x", view)], Some(meta)).unwrap();
        let dir = std::env::temp_dir().join(format!("mirlens-golden-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("g.safetensors");
        std::fs::write(&p, out).unwrap();
        let g = Golden::load(&p);
        assert_eq!(g.get("x").shape, vec![2, 3]);
        assert_eq!(g.get("x").data, data);
        assert_eq!(g.metadata["librosa"], "0.11.0");
        std::fs::remove_dir_all(&dir).ok();
    }
}

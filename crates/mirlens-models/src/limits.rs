//! Sanity limits on configurations, checked before anything proportional to them is allocated.
//!
//! A hostile or corrupt `config.json` (say `num_hidden_layers: 100000000`) must fail with an error naming the key,
//! not grow memory until the process is killed. Two checks:
//!
//! 1. [`check_config`]: every size is within [`Limits`] (far above any real audio encoder: MERT-330M has 24 layers
//!    of width 1024) and `layer_norm_eps` is finite and positive.
//! 2. [`check_against_weights`]: the sizes agree with the checkpoint in the same folder, read from the safetensors
//!    header(s) only (at most [`MAX_HEADER_BYTES`] each): the weights must hold every transformer block the
//!    config asks for, and the feature projection must have the configured width. A sharded index must name
//!    shard files inside the model folder (no absolute paths, no `..`).

use crate::ModelError;
use crate::config::EncoderConfig;
use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Component, Path};

/// Largest safetensors header read (bytes).
pub const MAX_HEADER_BYTES: u64 = 100 << 20;

/// Upper bounds on configuration sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Transformer blocks.
    pub max_layers: usize,
    /// Width (also attention heads × head size).
    pub max_hidden: usize,
    /// Feed-forward width.
    pub max_intermediate: usize,
    /// Attention heads.
    pub max_heads: usize,
    /// Conv layers of the feature encoder.
    pub max_conv_layers: usize,
    /// Conv channels, kernel sizes and strides; positional conv kernel and groups.
    pub max_conv: usize,
    /// Sample rate (Hz).
    pub max_sample_rate: u32,
}

/// The limits [`check_config`] applies.
pub const LIMITS: Limits = Limits {
    max_layers: 1024,
    max_hidden: 65_536,
    max_intermediate: 262_144,
    max_heads: 1024,
    max_conv_layers: 64,
    max_conv: 65_536,
    max_sample_rate: 768_000,
};

fn too_big(path: &Path, key: &str, value: impl std::fmt::Display, max: usize) -> ModelError {
    ModelError::Config {
        path: path.to_path_buf(),
        message: format!(
            "{key} = {value} exceeds the sanity limit {max} (a corrupt or hostile config?)"
        ),
    }
}

/// Check the sizes of a parsed configuration against [`LIMITS`]. `path` names the config file in errors.
pub fn check_config(cfg: &EncoderConfig, path: &Path) -> Result<(), ModelError> {
    let l = LIMITS;
    for (key, v, max) in [
        ("num_hidden_layers", cfg.num_hidden_layers, l.max_layers),
        ("hidden_size", cfg.hidden_size, l.max_hidden),
        (
            "intermediate_size",
            cfg.intermediate_size,
            l.max_intermediate,
        ),
        ("num_attention_heads", cfg.num_attention_heads, l.max_heads),
        ("conv_dim (layers)", cfg.conv_dim.len(), l.max_conv_layers),
        (
            "num_conv_pos_embeddings",
            cfg.num_conv_pos_embeddings,
            l.max_conv,
        ),
        (
            "num_conv_pos_embedding_groups",
            cfg.num_conv_pos_embedding_groups,
            l.max_conv,
        ),
    ] {
        if v > max {
            return Err(too_big(path, key, v, max));
        }
    }
    for (key, list) in [
        ("conv_dim", &cfg.conv_dim),
        ("conv_kernel", &cfg.conv_kernel),
        ("conv_stride", &cfg.conv_stride),
    ] {
        if let Some(v) = list.iter().find(|&&v| v > l.max_conv) {
            return Err(too_big(path, key, v, l.max_conv));
        }
    }
    if cfg.sample_rate > l.max_sample_rate {
        return Err(too_big(
            path,
            "sample_rate",
            cfg.sample_rate,
            l.max_sample_rate as usize,
        ));
    }
    if !(cfg.layer_norm_eps.is_finite() && cfg.layer_norm_eps > 0.0) {
        return Err(ModelError::Config {
            path: path.to_path_buf(),
            message: format!(
                "layer_norm_eps = {} must be finite and positive",
                cfg.layer_norm_eps
            ),
        });
    }
    Ok(())
}

/// Tensor names and shapes from a safetensors header (the file's first 8 + N bytes only).
pub fn safetensors_header(path: &Path) -> Result<Vec<(String, Vec<usize>)>, ModelError> {
    let io = |source| ModelError::Io {
        path: path.to_path_buf(),
        source,
    };
    let bad = |message: String| ModelError::Safetensors {
        path: path.to_path_buf(),
        message,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut n = [0u8; 8];
    f.read_exact(&mut n).map_err(io)?;
    let n = u64::from_le_bytes(n);
    let len = f.metadata().map_err(io)?.len();
    if n > MAX_HEADER_BYTES || n + 8 > len {
        return Err(bad(format!(
            "safetensors header of {n} bytes is larger than the limit or the file ({len} bytes)"
        )));
    }
    let mut buf = vec![0u8; n as usize];
    f.read_exact(&mut buf).map_err(io)?;
    let v: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&buf).map_err(|e| bad(format!("header is not JSON: {e}")))?;
    Ok(v.into_iter()
        .filter(|(k, _)| k != "__metadata__")
        .map(|(k, t)| {
            let shape = t["shape"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_u64())
                        .map(|x| x as usize)
                        .collect()
                })
                .unwrap_or_default();
            (k, shape)
        })
        .collect())
}

/// Check `cfg` against the weights in `dir` (`model.safetensors`, or the shards named by
/// `model.safetensors.index.json`), reading headers only. No weights file: nothing to check (the loader reports it).
pub fn check_against_weights(cfg: &EncoderConfig, dir: &Path) -> Result<(), ModelError> {
    let single = dir.join("model.safetensors");
    let index = dir.join("model.safetensors.index.json");
    let (names, source): (Vec<(String, Vec<usize>)>, std::path::PathBuf) = if single.is_file() {
        (safetensors_header(&single)?, single)
    } else if index.is_file() {
        let meta = std::fs::metadata(&index).map_err(|source| ModelError::Io {
            path: index.clone(),
            source,
        })?;
        if meta.len() > MAX_HEADER_BYTES {
            return Err(ModelError::Config {
                path: index,
                message: "index file larger than the sanity limit".into(),
            });
        }
        let text = std::fs::read_to_string(&index).map_err(|source| ModelError::Io {
            path: index.clone(),
            source,
        })?;
        let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| ModelError::Config {
            path: index.clone(),
            message: format!("not JSON: {e}"),
        })?;
        let map = v["weight_map"].as_object().cloned().unwrap_or_default();
        for shard in map.values().filter_map(|s| s.as_str()) {
            let p = Path::new(shard);
            let inside = p.components().all(|c| matches!(c, Component::Normal(_)))
                && p.components().next().is_some();
            if !inside {
                return Err(ModelError::Config {
                    path: index.clone(),
                    message: format!(
                        "shard {shard:?} is outside the model folder (absolute or with `..`); refusing to follow it"
                    ),
                });
            }
        }
        (map.keys().map(|k| (k.clone(), Vec::new())).collect(), index)
    } else {
        return Ok(());
    };
    // Transformer blocks present: `…encoder.layers.<i>.…`.
    let mut blocks = BTreeSet::new();
    for (name, _) in &names {
        if let Some(rest) = name.split("encoder.layers.").nth(1)
            && let Some(i) = rest.split('.').next().and_then(|s| s.parse::<usize>().ok())
        {
            blocks.insert(i);
        }
    }
    let present = blocks.len();
    if !blocks.is_empty() && cfg.num_hidden_layers > present {
        return Err(ModelError::Config {
            path: source,
            message: format!(
                "config asks for num_hidden_layers = {} but the weights hold {present} transformer block(s)",
                cfg.num_hidden_layers
            ),
        });
    }
    for (name, shape) in &names {
        if name.ends_with("feature_projection.projection.weight")
            && let Some(&h) = shape.first()
            && h != cfg.hidden_size
        {
            return Err(ModelError::Config {
                path: source,
                message: format!(
                    "config says hidden_size = {} but {name} has {h} rows",
                    cfg.hidden_size
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A copy of the tiny HuBERT test model with `edit` applied to its config.
    fn model_with(edit: impl FnOnce(&mut serde_json::Value)) -> tempfile::TempDir {
        let src = mirlens_test_support::golden_dir("encoders").join("hubert_group_postln");
        let d = tempfile::tempdir().unwrap();
        for f in ["model.safetensors", "preprocessor_config.json"] {
            std::fs::copy(src.join(f), d.path().join(f)).unwrap();
        }
        let mut cfg: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(src.join("config.json")).unwrap())
                .unwrap();
        edit(&mut cfg);
        std::fs::write(d.path().join("config.json"), cfg.to_string()).unwrap();
        d
    }

    fn message(d: &tempfile::TempDir) -> String {
        match EncoderConfig::from_dir(d.path()) {
            Err(e @ ModelError::Config { .. }) => e.to_string(),
            other => panic!("expected a config error, got {other:?}"),
        }
    }

    #[test]
    fn the_test_model_passes() {
        let d = model_with(|_| {});
        let c = EncoderConfig::from_dir(d.path()).unwrap();
        assert_eq!((c.num_hidden_layers, c.hidden_size), (2, 32));
    }

    #[test]
    fn hostile_sizes_fail_before_allocation_naming_the_key() {
        for (key, value, needle) in [
            (
                "num_hidden_layers",
                serde_json::json!(100_000_000u64),
                "num_hidden_layers = 100000000 exceeds",
            ),
            (
                "intermediate_size",
                serde_json::json!(1u64 << 40),
                "intermediate_size",
            ),
            (
                "conv_kernel",
                serde_json::json!([10, 3, 1_000_000]),
                "conv_kernel = 1000000",
            ),
            ("layer_norm_eps", serde_json::json!(0.0), "layer_norm_eps"),
        ] {
            let d = model_with(|c| c[key] = value);
            let m = message(&d);
            assert!(m.contains(needle), "{key}: {m}");
        }
    }

    #[test]
    fn sizes_are_checked_against_the_weights() {
        // within the limits, but more blocks than the checkpoint holds
        let d = model_with(|c| c["num_hidden_layers"] = serde_json::json!(3));
        assert!(message(&d).contains("num_hidden_layers = 3 but the weights hold 2"));
        // a width the weights do not have (heads still divide it)
        let d = model_with(|c| c["hidden_size"] = serde_json::json!(64));
        assert!(message(&d).contains("hidden_size = 64"));
    }

    #[test]
    fn sharded_index_pointing_outside_the_folder_is_refused() {
        let d = model_with(|_| {});
        std::fs::remove_file(d.path().join("model.safetensors")).unwrap();
        for shard in ["../other/model.safetensors", "/etc/passwd"] {
            std::fs::write(
                d.path().join("model.safetensors.index.json"),
                serde_json::json!({"weight_map": {"encoder.layers.0.x": shard}}).to_string(),
            )
            .unwrap();
            assert!(message(&d).contains("outside the model folder"), "{shard}");
        }
    }

    #[test]
    fn a_huge_safetensors_header_length_is_refused() {
        let d = model_with(|_| {});
        let mut b = u64::MAX.to_le_bytes().to_vec();
        b.extend_from_slice(b"{}");
        std::fs::write(d.path().join("model.safetensors"), b).unwrap();
        match EncoderConfig::from_dir(d.path()) {
            Err(e @ ModelError::Safetensors { .. }) => {
                let m = e.to_string();
                assert!(
                    m.contains("safetensors header of 18446744073709551615 bytes"),
                    "{m}"
                );
                assert!(m.contains("model.safetensors"), "{m}");
            }
            other => panic!("expected a safetensors error, got {other:?}"),
        }
    }
}

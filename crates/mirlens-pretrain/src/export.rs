//! Turn a training run directory into a shippable model folder.
//!
//! ```text
//! RUN/checkpoints/step-NNNNNN/{config.json, preprocessor_config.json, model.safetensors, training_state.*}
//!   ↓ export(RUN, DEST, F16)
//! DEST/config.json, preprocessor_config.json, model.safetensors          the final step (HF layout)
//! DEST/checkpoints/step-NNNNNN/{config.json, preprocessor_config.json, model.safetensors}   every earlier one
//! DEST/recipe.toml, train_log.jsonl, loss_curve.svg, targets.safetensors  what produced it
//! ```
//!
//! Only encoder weights are exported (no heads, no optimiser state). With [`WeightDtype::F16`] every floating
//! tensor is rounded to IEEE half precision; `config.json` keeps `torch_dtype = "float32"`, the dtype the model is
//! meant to run in (loaders upcast the stored halves). The folder is written under `DEST.tmp` and renamed, so an
//! interrupted export never leaves a half-written model.

use crate::layout::checkpoint_name;
pub use crate::layout::{run_checkpoints, step_dirs};
use crate::{PretrainError, Result};
use candle_core::{DType, Device, Tensor};
use std::collections::HashMap;
use std::path::Path;

/// Storage dtype of exported weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WeightDtype {
    /// 32-bit floats, as trained.
    F32,
    /// IEEE half precision (half the size; the round-off is below 1e-3 relative per weight).
    F16,
}

impl std::str::FromStr for WeightDtype {
    type Err = PretrainError;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "f32" | "float32" => Ok(WeightDtype::F32),
            "f16" | "float16" => Ok(WeightDtype::F16),
            other => Err(PretrainError::Recipe {
                parameter: "export dtype".into(),
                got: other.into(),
                expected: "f32 or f16".into(),
            }),
        }
    }
}

/// What [`export`] wrote.
#[derive(Debug, Clone)]
pub struct ExportSummary {
    /// Final step (the weights at the top of the folder).
    pub final_step: usize,
    /// Earlier checkpoint steps under `checkpoints/`.
    pub checkpoint_steps: Vec<usize>,
    /// Total bytes of the exported folder.
    pub bytes: u64,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PretrainError + '_ {
    move |source| PretrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub(crate) fn copy_weights(src: &Path, dst: &Path, dtype: WeightDtype) -> Result<()> {
    let tensors = candle_core::safetensors::load(src, &Device::Cpu)?;
    let conv: HashMap<String, Tensor> = tensors
        .into_iter()
        .map(|(k, t)| {
            let t = match dtype {
                WeightDtype::F16 if t.dtype().is_float() => t.to_dtype(DType::F16)?,
                _ => t,
            };
            Ok((k, t))
        })
        .collect::<Result<_>>()?;
    candle_core::safetensors::save(&conv, dst)?;
    Ok(())
}

fn copy_model_dir(src: &Path, dst: &Path, dtype: WeightDtype) -> Result<()> {
    std::fs::create_dir_all(dst).map_err(io(dst))?;
    for f in ["config.json", "preprocessor_config.json"] {
        let (s, d) = (src.join(f), dst.join(f));
        std::fs::copy(&s, &d).map_err(io(&s))?;
    }
    copy_weights(
        &src.join("model.safetensors"),
        &dst.join("model.safetensors"),
        dtype,
    )
}

pub(crate) fn dir_bytes(d: &Path) -> u64 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                n += dir_bytes(&p);
            } else if let Ok(m) = e.metadata() {
                n += m.len();
            }
        }
    }
    n
}

/// Export the run in `run` (a `mirlens pretrain --out` folder) to `dest`, replacing `dest` if it exists. The final
/// step must be `expected_final` (the recipe's step count), so an unfinished run is never shipped by mistake.
pub fn export(
    run: &Path,
    dest: &Path,
    expected_final: usize,
    dtype: WeightDtype,
) -> Result<ExportSummary> {
    let ckpts = run_checkpoints(run)?;
    let Some((final_step, final_dir)) = ckpts.last().cloned() else {
        return Err(PretrainError::State {
            message: format!("{}: no checkpoints to export", run.display()),
        });
    };
    if final_step != expected_final {
        return Err(PretrainError::State {
            message: format!(
                "{}: latest checkpoint is {} but the recipe trains {expected_final} steps; finish the run \
                 (`--resume`) before exporting",
                run.display(),
                checkpoint_name(final_step)
            ),
        });
    }
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "model".into());
    let tmp = dest.with_file_name(format!("{name}.tmp"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    copy_model_dir(&final_dir, &tmp, dtype)?;
    let mut steps = Vec::new();
    for (step, dir) in &ckpts[..ckpts.len() - 1] {
        copy_model_dir(
            dir,
            &tmp.join("checkpoints").join(checkpoint_name(*step)),
            dtype,
        )?;
        steps.push(*step);
    }
    for f in [
        "recipe.toml",
        "train_log.jsonl",
        "loss_curve.svg",
        "targets.safetensors",
    ] {
        let s = run.join(f);
        if s.is_file() {
            std::fs::copy(&s, tmp.join(f)).map_err(io(&s))?;
        }
    }
    if dest.exists() {
        std::fs::remove_dir_all(dest).map_err(io(dest))?;
    }
    std::fs::rename(&tmp, dest).map_err(io(dest))?;
    Ok(ExportSummary {
        final_step,
        checkpoint_steps: steps,
        bytes: dir_bytes(dest),
    })
}

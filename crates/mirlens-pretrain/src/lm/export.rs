//! Turn a causal-LM training run into a shippable model folder.
//!
//! ```text
//! RUN/checkpoints/step-NNNNNN/{config.json, model.safetensors, tokenizer.json, tokenizer_config.json,
//!                              generation_config.json, training_state.*}
//!   ↓ export_lm(RUN, DEST, F16)
//! DEST/{config.json, model.safetensors, tokenizer.json, tokenizer_config.json, generation_config.json}   final step
//! DEST/checkpoints/step-NNNNNN/{the same five files}                                                    every earlier one
//! DEST/recipe.toml, train_log.jsonl, loss_curve.svg                                                      what produced it
//! ```
//!
//! Every folder is a complete model (`LlamaForCausalLM.from_pretrained`, `mirlens_models::TextModel::load`, the
//! tokenizer beside it); `DEST/checkpoints` is a checkpoint-series folder for `mirlens extract --checkpoints`. The
//! training state is not exported. With [`WeightDtype::F16`] every weight is rounded to half precision and
//! `config.json` keeps `torch_dtype = "float32"`. The folder is written as `DEST.tmp` and renamed.

use crate::export::{ExportSummary, WeightDtype, copy_weights, dir_bytes};
use crate::layout::{checkpoint_name, run_checkpoints};
use crate::lm::recipe::LmRecipe;
use crate::{PretrainError, Result};
use std::path::Path;

/// Files of a model folder besides the weights (`tokenizer_config.json` is copied when present).
const MODEL_FILES: [&str; 4] = [
    "config.json",
    "tokenizer.json",
    "generation_config.json",
    "tokenizer_config.json",
];

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PretrainError + '_ {
    move |source| PretrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn copy_model_dir(src: &Path, dst: &Path, dtype: WeightDtype) -> Result<()> {
    std::fs::create_dir_all(dst).map_err(io(dst))?;
    for f in MODEL_FILES {
        let (s, d) = (src.join(f), dst.join(f));
        if f == "tokenizer_config.json" && !s.is_file() {
            continue;
        }
        std::fs::copy(&s, &d).map_err(io(&s))?;
    }
    copy_weights(
        &src.join("model.safetensors"),
        &dst.join("model.safetensors"),
        dtype,
    )
}

/// Export the causal-LM run in `run` (a `mirlens pretrain --out` folder of an LM recipe) to `dest`, replacing
/// `dest` if it exists. The run must have reached the last step of its `recipe.toml`, so an unfinished run is never
/// shipped by mistake.
pub fn export_lm(run: &Path, dest: &Path, dtype: WeightDtype) -> Result<ExportSummary> {
    let recipe = LmRecipe::load(&run.join("recipe.toml"))?;
    let expected_final = recipe.train.steps;
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
    for f in ["recipe.toml", "train_log.jsonl", "loss_curve.svg"] {
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

//! The on-disk layout of training runs and exported model folders: checkpoint folders `checkpoints/step-NNNNNN`,
//! shared by the trainer (writing, resuming), the exporter and checkpoint curves. Folders of a run and of an exported
//! model use the same convention.

use crate::{PretrainError, Result};
use std::path::{Path, PathBuf};

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PretrainError + '_ {
    move |source| PretrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Checkpoint directory name of a step.
pub fn checkpoint_name(step: usize) -> String {
    format!("step-{step:06}")
}

/// Every `step-NNNNNN` folder in `dir/checkpoints` (temporary `.tmp` folders excluded), ascending by step.
pub fn step_dirs(dir: &Path) -> Result<Vec<(usize, PathBuf)>> {
    let root = dir.join("checkpoints");
    let rd = std::fs::read_dir(&root).map_err(io(&root))?;
    let mut out: Vec<(usize, PathBuf)> = rd
        .flatten()
        .filter(|e| e.path().is_dir())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            let step = name.strip_prefix("step-")?.parse::<usize>().ok()?;
            Some((step, e.path()))
        })
        .collect();
    out.sort();
    Ok(out)
}

/// Checkpoint steps present in `dir/checkpoints` with a loadable model (`config.json` + `model.safetensors`),
/// ascending; `dir` is a training run or an exported model folder (both keep checkpoints there).
pub fn run_checkpoints(dir: &Path) -> Result<Vec<(usize, PathBuf)>> {
    Ok(step_dirs(dir)?
        .into_iter()
        .filter(|(_, p)| p.join("model.safetensors").is_file() && p.join("config.json").is_file())
        .collect())
}

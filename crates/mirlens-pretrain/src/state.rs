//! What the audio and the token-LM trainers share about a run folder: the training state of a checkpoint
//! (parameters and Adam moments), the latest checkpoint to resume from with its recorded settings, the log and
//! the loss curve.

use crate::PretrainError;
use candle_core::{Device, Tensor, Var};
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

type Result<T> = std::result::Result<T, PretrainError>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PretrainError + '_ {
    move |source| PretrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write `training_state.safetensors` in `dir`: `param.<name>`, `adam_m.<name>`, `adam_v.<name>` per parameter.
pub(crate) fn save_state(
    dir: &Path,
    vars: &BTreeMap<String, Var>,
    m: &BTreeMap<String, Tensor>,
    v: &BTreeMap<String, Tensor>,
) -> Result<()> {
    let mut state = HashMap::new();
    for (k, var) in vars {
        state.insert(format!("param.{k}"), var.as_tensor().detach());
        state.insert(format!("adam_m.{k}"), m[k].clone());
        state.insert(format!("adam_v.{k}"), v[k].clone());
    }
    candle_core::safetensors::save(&state, dir.join("training_state.safetensors"))?;
    Ok(())
}

/// The latest checkpoint of the run folder `out` that has a training state, with its step; its
/// `training_state.json` must hold `wants` (name, value) — a different seed, step count or vocabulary changes the
/// schedule or the random streams, so resuming is refused, naming the file and `hint`.
pub(crate) fn latest_state(
    out: &Path,
    wants: &[(&str, u64)],
    hint: &str,
) -> Result<Option<(usize, PathBuf)>> {
    let best = if out.join("checkpoints").is_dir() {
        crate::layout::step_dirs(out)?
            .into_iter()
            .rfind(|(_, p)| p.join("training_state.json").is_file())
    } else {
        None
    };
    let Some((step, dir)) = best else {
        return Ok(None);
    };
    let meta_path = dir.join("training_state.json");
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&meta_path).map_err(io(&meta_path))?)
            .map_err(|e| PretrainError::State {
                message: format!("{}: {e}", meta_path.display()),
            })?;
    for (key, want) in wants {
        let got = meta.get(*key).and_then(|v| v.as_u64());
        if got != Some(*want) {
            return Err(PretrainError::State {
                message: format!("{}: {key} is {got:?}, {hint} {want}", meta_path.display()),
            });
        }
    }
    Ok(Some((step, dir)))
}

/// Restore the parameters and Adam moments of `dir`'s training state into `vars`, `m`, `v` (every parameter
/// must be there with its shape).
pub(crate) fn load_state(
    dir: &Path,
    vars: &BTreeMap<String, Var>,
    m: &mut BTreeMap<String, Tensor>,
    v: &mut BTreeMap<String, Tensor>,
    device: &Device,
) -> Result<()> {
    let path = dir.join("training_state.safetensors");
    let state = candle_core::safetensors::load(&path, device)?;
    let take = |k: &str| -> Result<Tensor> {
        state.get(k).cloned().ok_or_else(|| PretrainError::State {
            message: format!("{}: missing {k}", path.display()),
        })
    };
    for (k, var) in vars {
        let p = take(&format!("param.{k}"))?;
        if p.dims() != var.dims() {
            return Err(PretrainError::State {
                message: format!(
                    "{}: {k} has shape {:?}, the recipe needs {:?}",
                    path.display(),
                    p.dims(),
                    var.dims()
                ),
            });
        }
        var.set(&p)?;
        m.insert(k.clone(), take(&format!("adam_m.{k}"))?);
        v.insert(k.clone(), take(&format!("adam_v.{k}"))?);
    }
    Ok(())
}

/// Keep only the lines of `out/train_log.jsonl` whose step is at most `step` (after restoring that step).
pub(crate) fn truncate_log(out: &Path, step: usize) -> Result<()> {
    let log = out.join("train_log.jsonl");
    if let Ok(text) = std::fs::read_to_string(&log) {
        let kept: String = text
            .lines()
            .filter(|l| {
                serde_json::from_str::<serde_json::Value>(l)
                    .ok()
                    .and_then(|v| v.get("step").and_then(|s| s.as_u64()))
                    .is_some_and(|s| s as usize <= step)
            })
            .map(|l| format!("{l}\n"))
            .collect();
        mirlens_report::write_atomic(&log, kept.as_bytes())?;
    }
    Ok(())
}

/// Append one JSON line to `out/train_log.jsonl`.
pub(crate) fn append_log(out: &Path, v: &impl serde::Serialize) -> Result<()> {
    let path = out.join("train_log.jsonl");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io(&path))?;
    let line = serde_json::to_string(v).unwrap_or_default();
    writeln!(f, "{line}").map_err(io(&path))
}

/// Write `out/loss_curve.svg` from the log: the `loss` of every step and the `valid_loss` of every validation
/// against step.
pub(crate) fn write_curve(out: &Path, title: String, y_label: &str) -> Result<()> {
    let path = out.join("train_log.jsonl");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (mut train, mut valid) = (Vec::new(), Vec::new());
    for l in text.lines() {
        let Ok(v) = serde_json::from_str::<serde_json::Value>(l) else {
            continue;
        };
        let step = v.get("step").and_then(|s| s.as_f64()).unwrap_or(0.0);
        if let Some(x) = v.get("loss").and_then(|x| x.as_f64()) {
            train.push((step, x));
        }
        if let Some(x) = v.get("valid_loss").and_then(|x| x.as_f64()) {
            valid.push((step, x));
        }
    }
    if train.is_empty() && valid.is_empty() {
        return Ok(());
    }
    let mut series = Vec::new();
    if !train.is_empty() {
        series.push(mirlens_report::Series::new("train loss", train));
    }
    if !valid.is_empty() {
        series.push(mirlens_report::Series::new("validation loss", valid).dashed());
    }
    let chart = mirlens_report::LineChart {
        title,
        x_label: "step".into(),
        y_label: y_label.into(),
        series,
        ..Default::default()
    };
    mirlens_report::write_atomic(&out.join("loss_curve.svg"), chart.to_svg()?.as_bytes())?;
    Ok(())
}

//! `mirlens curve`: the same layer-sweep probes on every training checkpoint of a model (and on input-feature
//! baselines) → an accuracy-vs-training-step table and plots.
//!
//! A model folder written by `mirlens pretrain --export` holds its final weights at the top and earlier
//! checkpoints under `checkpoints/step-NNNNNN`; the final step is read from its `recipe.toml`. Step 0 is the
//! untrained network, so the curve starts at the random-initialisation control of the same architecture.

use anyhow::{Context, bail};
use mirlens_pretrain::train::checkpoint_name;
use mirlens_report::{ErrorDisplay, LineChart, Series};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `mirlens curve`.
#[derive(Debug, clap::Args)]
pub struct CurveArgs {
    /// Model folder with `checkpoints/step-*` (or a registry name resolving to one).
    #[arg(long, default_value = super::run::DEFAULT_MODEL)]
    pub model: String,
    /// Baselines probed the same way (comma-separated; `logmel` = the log-mel input features; empty for none).
    #[arg(long, default_value = "logmel")]
    pub baselines: String,
    /// Data, labels, seed.
    #[command(flatten)]
    pub job: super::run::JobArgs,
    /// Output directory (one store per checkpoint, curve.csv, curve.md, curve-<label>.svg). Re-running resumes.
    #[arg(long, default_value = "mirlens-curve")]
    pub out: PathBuf,
}

/// One probed model: a checkpoint (with its step) or a baseline.
#[derive(Debug, Clone)]
struct Entry {
    tag: String,
    model: String,
    step: Option<usize>,
}

fn final_step(dir: &Path) -> anyhow::Result<usize> {
    let p = dir.join("recipe.toml");
    let text = std::fs::read_to_string(&p).with_context(|| {
        format!(
            "{}: needed to know the step of the final weights (a folder written by `mirlens pretrain --export`)",
            p.display()
        )
    })?;
    let recipe = mirlens_pretrain::Recipe::from_toml(&text)
        .with_context(|| format!("parsing {}", p.display()))?;
    Ok(recipe.train.steps)
}

/// The checkpoints and baselines to probe. A baseline's tag (the folder name of its store and probes under
/// `--out`) is its name, or for a path its last component, made safe by [`mirlens_audio::paths::safe_name`] and
/// distinct from every other tag: whatever `--baselines` says, nothing is written outside `--out`.
fn entries(dir: &Path, baselines: &str) -> anyhow::Result<Vec<Entry>> {
    let ckpts = mirlens_pretrain::export::run_checkpoints(dir).with_context(|| {
        format!(
            "{}: expected checkpoints/step-NNNNNN from `mirlens pretrain --export`",
            dir.display()
        )
    })?;
    let last = final_step(dir)?;
    let mut names = mirlens_audio::paths::UniqueNames::new();
    for (step, _) in &ckpts {
        names.reserve(&checkpoint_name(*step));
    }
    names.reserve(&checkpoint_name(last));
    let mut out: Vec<Entry> = baselines
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|b| {
            let short = Path::new(b)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| b.to_string());
            Entry {
                tag: names.claim(&short),
                model: b.to_string(),
                step: None,
            }
        })
        .collect();
    for (step, p) in ckpts {
        out.push(Entry {
            tag: checkpoint_name(step),
            model: p.to_string_lossy().to_string(),
            step: Some(step),
        });
    }
    out.push(Entry {
        tag: checkpoint_name(last),
        model: dir.to_string_lossy().to_string(),
        step: Some(last),
    });
    Ok(out)
}

/// Run `mirlens curve`.
pub fn run(a: CurveArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let dir = if Path::new(&a.model).is_dir() {
        PathBuf::from(&a.model)
    } else {
        mirlens_models::Registry::builtin()?.resolve(&a.model)?.dir
    };
    let list = entries(&dir, &a.baselines)?;
    let labels = a.job.label_list();
    if labels.is_empty() {
        bail!("--labels is empty");
    }
    println!(
        "curve of {} over {} checkpoint(s) and {} baseline(s); dataset {} (seed {}); labels {}",
        dir.display(),
        list.iter().filter(|e| e.step.is_some()).count(),
        list.iter().filter(|e| e.step.is_none()).count(),
        a.job.dataset,
        a.job.seed,
        labels.join(", ")
    );
    // rows: (entry, label, layer, accuracy, lo, hi)
    let mut rows: Vec<(Entry, String, String, f64, f64, f64)> = Vec::new();
    let mut best: Vec<(Entry, String, String, f64, f64, f64)> = Vec::new();
    for (i, e) in list.iter().enumerate() {
        println!("\n[{}/{}] {} ({})", i + 1, list.len(), e.tag, e.model);
        let store = a.out.join("stores").join(&e.tag);
        super::run::extract_all_layers(
            &e.model,
            &a.job.dataset,
            a.job.seed,
            a.job.limit,
            &store,
            a.job.quiet,
        )
        .with_context(|| format!("extracting {}", e.tag))?;
        for label in &labels {
            let sweep = super::run::sweep_all_layers(
                &store,
                label,
                a.job.seed,
                &a.out
                    .join("probes")
                    .join(&e.tag)
                    .join(mirlens_audio::paths::safe_name(label)),
            )
            .with_context(|| format!("layer sweep of {label} on {}", e.tag))?;
            let mut top: Option<(String, f64, f64, f64)> = None;
            for l in sweep["layers"].as_array().into_iter().flatten() {
                let layer = l["layer"].as_str().unwrap_or("?").to_string();
                let acc = l["accuracy"].as_f64().unwrap_or(f64::NAN);
                let (lo, hi) = (
                    l["ci"][0].as_f64().unwrap_or(f64::NAN),
                    l["ci"][1].as_f64().unwrap_or(f64::NAN),
                );
                if top.as_ref().is_none_or(|t| acc > t.1) {
                    top = Some((layer.clone(), acc, lo, hi));
                }
                rows.push((e.clone(), label.clone(), layer, acc, lo, hi));
            }
            let (layer, acc, lo, hi) = top.context("layer sweep returned no layers")?;
            println!("  {label:<12} best layer {layer}: {acc:.3} (95% CI {lo:.3}–{hi:.3})");
            best.push((e.clone(), label.clone(), layer, acc, lo, hi));
        }
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    // CSV of every layer, and a markdown table of the best layers.
    let mut csv = String::from("model,step,label,layer,accuracy,ci_low,ci_high\n");
    for (e, label, layer, acc, lo, hi) in &rows {
        // names come from the inputs: quoted and neutralised like every table cell
        let field = |v: &str| mirlens_report::Cell::from(v).csv();
        csv.push_str(&format!(
            "{},{},{},{layer},{acc:.4},{lo:.4},{hi:.4}\n",
            field(&e.tag),
            e.step.map(|s| s.to_string()).unwrap_or_default(),
            field(label)
        ));
    }
    mirlens_report::write_atomic(&a.out.join("curve.csv"), csv.as_bytes())?;
    let mut md = format!(
        "| model | step | {} |\n|---|---|{}\n",
        labels.join(" | "),
        "---|".repeat(labels.len())
    );
    for e in &list {
        md.push_str(&format!(
            "| {} | {} |",
            if e.step.is_some() {
                "checkpoint"
            } else {
                e.tag.as_str()
            },
            e.step.map(|s| s.to_string()).unwrap_or_else(|| "—".into())
        ));
        for label in &labels {
            if let Some((_, _, layer, acc, lo, hi)) =
                best.iter().find(|b| b.0.tag == e.tag && &b.1 == label)
            {
                md.push_str(&format!(" {acc:.3} [{lo:.3}, {hi:.3}] (layer {layer}) |"));
            }
        }
        md.push('\n');
    }
    mirlens_report::write_atomic(&a.out.join("curve.md"), md.as_bytes())?;
    // One plot per label: accuracy against step, one line per layer, baselines dashed.
    for label in &labels {
        let ckpt_rows: Vec<_> = rows
            .iter()
            .filter(|r| &r.1 == label && r.0.step.is_some())
            .collect();
        let mut layers: Vec<String> = ckpt_rows.iter().map(|r| r.2.clone()).collect();
        layers.sort_by_key(|l| l.parse::<usize>().unwrap_or(usize::MAX));
        layers.dedup();
        let steps: Vec<usize> = list.iter().filter_map(|e| e.step).collect();
        let x_of = |s: usize| s as f64;
        let mut series = Vec::new();
        for layer in &layers {
            let pts: Vec<_> = ckpt_rows.iter().filter(|r| &r.2 == layer).collect();
            series.push(
                Series::new(
                    format!("layer {layer}"),
                    pts.iter()
                        .map(|r| (x_of(r.0.step.unwrap_or(0)), r.3))
                        .collect(),
                )
                .with_interval(pts.iter().map(|r| (r.4, r.5)).collect(), ErrorDisplay::Bars),
            );
        }
        for (e, _, layer, acc, _, _) in best.iter().filter(|b| &b.1 == label && b.0.step.is_none())
        {
            let (x0, x1) = (
                x_of(*steps.first().unwrap_or(&0)),
                x_of(*steps.last().unwrap_or(&1)),
            );
            series.push(
                Series::new(
                    format!("{} (layer {layer})", e.tag),
                    vec![(x0, *acc), (x1, *acc)],
                )
                .dashed(),
            );
        }
        let chart = LineChart {
            title: format!("{label}: probe accuracy across training"),
            x_label: "training step".into(),
            y_label: "accuracy (5-fold CV, 95% CI)".into(),
            series,
            y_range: Some((0.0, 1.0)),
            ..Default::default()
        };
        mirlens_report::write_atomic(
            &a.out.join(format!(
                "curve-{}.svg",
                mirlens_audio::paths::safe_name(label)
            )),
            chart.to_svg()?.as_bytes(),
        )?;
    }
    println!("\nbest layer per checkpoint (accuracy [95% CI]):\n{md}");
    println!(
        "done in {:.1} s; {} (every layer), {}, curve-<label>.svg under {}",
        started.elapsed().as_secs_f64(),
        a.out.join("curve.csv").display(),
        a.out.join("curve.md").display(),
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curve_baselines_stay_under_out() {
        let tmp = tempfile::tempdir().unwrap();
        let m = tmp.path().join("model");
        let ck = m.join("checkpoints").join(checkpoint_name(0));
        std::fs::create_dir_all(&ck).unwrap();
        for f in ["model.safetensors", "config.json"] {
            std::fs::write(ck.join(f), b"").unwrap();
        }
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../models/mirlens-music-small/recipe.toml");
        std::fs::copy(shipped, m.join("recipe.toml")).unwrap();
        let abs = ck.display().to_string();
        let list = entries(&m, &format!("logmel,../../escape,{abs},/,..,LOGMEL")).unwrap();
        let tags: Vec<&str> = list.iter().map(|e| e.tag.as_str()).collect();
        let last = checkpoint_name(final_step(&m).unwrap());
        assert_eq!(
            tags,
            [
                "logmel",
                "escape",
                "step-000000-2",
                "_",
                "_._",
                "LOGMEL-2",
                "step-000000",
                last.as_str()
            ]
        );
        // the models are still the paths given
        assert_eq!(list[2].model, abs);
        let out = Path::new("/some/out");
        for e in &list {
            assert_eq!(
                out.join("stores").join(&e.tag).parent(),
                Some(out.join("stores").as_path()),
                "{}",
                e.tag
            );
        }
    }
}

//! `mirlens probe sweep|synth`: one probe per layer (grouped k-fold CV) with accuracy-per-layer plots.

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use mirlens_core::{LayerSelection, Pooling};
use mirlens_probe::MlpParams;
use mirlens_probe::outputs::write_layer_sweep;
use mirlens_probe::store::{load_labeled, sweep_store};
use mirlens_probe::sweep::{SweepParams, weighted_layer_sum};
use mirlens_probe::synth::{PlantedStoreParams, write_planted_store};
use mirlens_probe::{ClassWeight, LogisticParams};
use mirlens_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mirlens probe`.
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ProbeCommand,
}

/// Subcommands of `mirlens probe`.
#[derive(Debug, clap::Subcommand)]
pub enum ProbeCommand {
    /// Layer sweep: a logistic probe per layer, k-fold CV grouped by clip; JSON + CSV + SVG.
    Sweep(SweepArgs),
    /// Write a synthetic store with planted label neurons (labels `family`, `pitch_class`).
    Synth(SynthArgs),
}

/// Arguments of `mirlens probe sweep`.
#[derive(Debug, clap::Args)]
pub struct SweepArgs {
    /// Activation store directory.
    #[arg(long)]
    pub store: PathBuf,
    /// Label to probe (a key of the rows' labels).
    #[arg(long)]
    pub label: String,
    /// Layers: `all`, `last`, or a list such as `0,6,12` / `1-4`.
    #[arg(long, default_value = "all")]
    pub layers: String,
    /// Time pooling per clip before probing: none, mean, max.
    #[arg(long, default_value = "mean")]
    pub pooling: String,
    /// Cross-validation folds (grouped by clip).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Inverse L2 strength of the logistic probe.
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also train MARBLE's learned softmax-weighted sum over layers 1..L (MLP probe, lr 1e-3).
    #[arg(long)]
    pub weighted: bool,
    /// Hidden units of the MLP probe used with --weighted.
    #[arg(long, default_value_t = 512)]
    pub hidden: usize,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

/// Arguments of `mirlens probe synth`.
#[derive(Debug, clap::Args)]
pub struct SynthArgs {
    /// Output store directory (must not exist or be empty).
    #[arg(long)]
    pub out: PathBuf,
    /// Clips.
    #[arg(long, default_value_t = 200)]
    pub clips: usize,
    /// Frames per clip.
    #[arg(long, default_value_t = 4)]
    pub frames: usize,
    /// Neurons per layer.
    #[arg(long, default_value_t = 64)]
    pub hidden: usize,
    /// Number of layers.
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Run `mirlens probe`.
pub fn run(a: ProbeArgs) -> anyhow::Result<ExitCode> {
    match a.command {
        ProbeCommand::Sweep(s) => {
            let summary = sweep(&s)?;
            println!("{}", serde_json::to_string_pretty(&summary)?);
            Ok(ExitCode::SUCCESS)
        }
        ProbeCommand::Synth(s) => {
            write_planted_store(
                &s.out,
                &PlantedStoreParams {
                    clips: s.clips,
                    frames: s.frames,
                    hidden: s.hidden,
                    layers: s.layers,
                    seed: s.seed,
                },
            )
            .with_context(|| format!("writing synthetic store {}", s.out.display()))?;
            println!(
                "wrote planted store ({} clips × {} frames, {} layers × {} neurons) to {}",
                s.clips,
                s.frames,
                s.layers,
                s.hidden,
                s.out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Run a layer sweep, write its JSON/CSV/SVG outputs into `a.out`, and return the summary (best layer, accuracy
/// per layer with confidence intervals, output paths).
pub fn sweep(a: &SweepArgs) -> anyhow::Result<serde_json::Value> {
    let store =
        Store::open(&a.store).with_context(|| format!("opening store {}", a.store.display()))?;
    let pooling: Pooling = a.pooling.parse()?;
    let sel: LayerSelection = a.layers.parse()?;
    let all = store.layers().to_vec();
    let layers: Vec<_> = match sel {
        LayerSelection::All => all.clone(),
        LayerSelection::Last => all.last().copied().into_iter().collect(),
        LayerSelection::Some(v) => {
            if let Some(bad) = v.iter().find(|l| !all.contains(l)) {
                anyhow::bail!(
                    "{bad} is not in store {} (layers {:?})",
                    a.store.display(),
                    all.iter().map(|l| l.0).collect::<Vec<_>>()
                );
            }
            v
        }
    };
    let params = SweepParams {
        probe: LogisticParams {
            c: a.c,
            class_weight: ClassWeight::Uniform,
            ..Default::default()
        },
        folds: a.folds,
        seed: a.seed,
    };
    let pb = ProgressBar::new(layers.len() as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    pb.set_style(ProgressStyle::with_template(
        "{bar:30} {pos}/{len} layers {msg}",
    )?);
    let (results, classes) = sweep_store(&store, &layers, &a.label, pooling, &params, |l, x| {
        pb.suspend(|| {
            super::neurons::warn_constant_columns(
                &x.constant_columns(),
                x.cols,
                x.rows,
                &format!("{l}"),
                "features",
            )
        });
        pb.set_message(format!("layer {}", l.0));
        pb.inc(1);
    })
    .with_context(|| {
        format!(
            "layer sweep of label {:?} in {}",
            a.label,
            a.store.display()
        )
    })?;
    let mut results = results;
    let mut layer_weights = serde_json::Value::Null;
    if a.weighted {
        let used: Vec<_> = layers.iter().copied().filter(|l| l.0 > 0).collect();
        if used.len() >= 2 {
            pb.set_message("weighted sum");
            let rows: Vec<_> = used
                .iter()
                .map(|&l| load_labeled(&store, l, &a.label, pooling))
                .collect::<Result<_, _>>()?;
            let xs: Vec<&mirlens_probe::Matrix> = rows.iter().map(|r| &r.x).collect();
            let mp = MlpParams {
                hidden: a.hidden,
                lrs: vec![1e-3],
                seed: a.seed,
                ..Default::default()
            };
            let (r, w) = weighted_layer_sum(&xs, &rows[0].y, &rows[0].groups, &mp, 0.2, a.seed)
                .context("weighted layer sum")?;
            layer_weights = serde_json::json!(
                used.iter()
                    .zip(&w)
                    .map(|(l, w)| serde_json::json!({"layer": l.0, "weight": w}))
                    .collect::<Vec<_>>()
            );
            results.push(r);
        }
    }
    pb.finish_and_clear();
    let paths = write_layer_sweep(
        &a.out,
        &format!(
            "{} — probe accuracy per layer ({} classes)",
            a.label,
            classes.len()
        ),
        &results,
    )?;
    let best = results
        .iter()
        .max_by(|x, y| x.accuracy.total_cmp(&y.accuracy))
        .context("no layers")?;
    let summary = serde_json::json!({
        "label": a.label, "classes": classes, "pooling": pooling.to_string(), "folds": a.folds,
        "best_layer": best.layer, "best_accuracy": best.accuracy,
        "layers": results.iter().map(|r| serde_json::json!({"layer": r.layer, "accuracy": r.accuracy, "ci": [r.ci_low, r.ci_high]})).collect::<Vec<_>>(),
        "weighted_layer_weights": layer_weights,
        "outputs": paths,
    });
    Ok(summary)
}

//! `mirlens probe sweep|multipitch|synth`: one probe per layer (grouped k-fold CV) with accuracy-per-layer plots;
//! frame-level multi-pitch probes scored with mir_eval's multipitch metrics.

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
    /// Frame-level multi-pitch probe per layer on a multi-hot pitch label (default `frame_pitch`): one logistic per
    /// pitch, grouped k-fold CV, mir_eval multipitch metrics (precision, recall, F, accuracy, errors, chroma).
    Multipitch(MultipitchArgs),
    /// Write a synthetic store with planted label neurons (labels `family`, `pitch_class`).
    Synth(SynthArgs),
}

/// Arguments of `mirlens probe multipitch`.
#[derive(Debug, clap::Args)]
pub struct MultipitchArgs {
    /// Activation store directory (frame rows with a multi-hot pitch label, e.g. from `mirlens extract --pool none`
    /// on a dataset with scores).
    #[arg(long)]
    pub store: PathBuf,
    /// Multi-hot row label whose classes are MIDI pitches.
    #[arg(long, default_value = "frame_pitch")]
    pub label: String,
    /// Layers: `all`, `last`, or a list such as `0,6,12` / `1-4`.
    #[arg(long, default_value = "all")]
    pub layers: String,
    /// Cross-validation folds (grouped by clip).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Inverse L2 strength of each pitch's logistic probe.
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Use every n-th frame of each clip (1 = all; frames at 50–75 Hz are strongly correlated).
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory (multipitch.json, multipitch.csv).
    #[arg(long)]
    pub out: PathBuf,
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
        ProbeCommand::Multipitch(m) => {
            let summary = multipitch(&m)?;
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

/// The layers of `store` that `spec` selects; an error names a layer the store lacks.
fn store_layers(
    store: &Store,
    spec: &str,
    path: &std::path::Path,
) -> anyhow::Result<Vec<mirlens_core::LayerId>> {
    let sel: LayerSelection = spec.parse()?;
    let all = store.layers().to_vec();
    Ok(match sel {
        LayerSelection::All => all.clone(),
        LayerSelection::Last => all.last().copied().into_iter().collect(),
        LayerSelection::Some(v) => {
            if let Some(bad) = v.iter().find(|l| !all.contains(l)) {
                anyhow::bail!(
                    "{bad} is not in store {} (layers {:?})",
                    path.display(),
                    all.iter().map(|l| l.0).collect::<Vec<_>>()
                );
            }
            v
        }
    })
}

/// Run a multi-pitch probe per layer, write `multipitch.json` and `multipitch.csv` into `a.out`, and return the
/// summary.
pub fn multipitch(a: &MultipitchArgs) -> anyhow::Result<serde_json::Value> {
    use mirlens_probe::multilabel::{MultiLabelParams, cv_multipitch};
    use mirlens_store::LabelData;
    let store =
        Store::open(&a.store).with_context(|| format!("opening store {}", a.store.display()))?;
    let layers = store_layers(&store, &a.layers, &a.store)?;
    if a.every == 0 {
        anyhow::bail!("--every must be at least 1");
    }
    let (width, values) = match store.row_label(&a.label) {
        Ok(LabelData::MultiHot { width, values }) => (*width, values.clone()),
        Ok(_) => anyhow::bail!(
            "label {:?} of {} is not a multi-hot row label (sounding pitches per frame)",
            a.label,
            a.store.display()
        ),
        Err(e) => {
            return Err(anyhow::Error::new(e).context(format!(
                "store {} has no multi-hot row label {:?}; extract frames (--pool none) of a dataset with scores \
                 (MIDI files, or the built-in synthetic sets) to get `frame_pitch`",
                a.store.display(),
                a.label
            )));
        }
    };
    if width > 128 {
        anyhow::bail!(
            "label {:?} has {width} classes; a multipitch label has one per MIDI pitch (128)",
            a.label
        );
    }
    let clips = store.row_clips()?.to_vec();
    let pos = store.positions()?.to_vec();
    let rows: Vec<usize> = (0..clips.len())
        .filter(|&r| {
            (pos[r] as usize).is_multiple_of(a.every)
                && values[r * width..(r + 1) * width].iter().all(|&b| b <= 1)
        })
        .collect();
    if rows.is_empty() {
        anyhow::bail!("no row of {} carries {:?}", a.store.display(), a.label);
    }
    let y: Vec<u8> = rows
        .iter()
        .flat_map(|&r| values[r * width..(r + 1) * width].iter().copied())
        .collect();
    let groups: Vec<usize> = rows.iter().map(|&r| clips[r] as usize).collect();
    let params = MultiLabelParams {
        c: a.c,
        ..MultiLabelParams::default()
    };
    let pb = ProgressBar::new(layers.len() as u64);
    if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        pb.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    pb.set_style(ProgressStyle::with_template(
        "{bar:30} {pos}/{len} layers {msg}",
    )?);
    let mut per_layer = Vec::new();
    let mut csv = String::from(
        "layer,f_measure,precision,recall,accuracy,total_error,substitution_error,miss_error,false_alarm_error,\
         chroma_f_measure,chroma_accuracy,fold_f_min,fold_f_max,rows\n",
    );
    for &l in &layers {
        pb.set_message(format!("layer {}", l.0));
        let x = mirlens_probe::Matrix::new(
            rows.len(),
            store.hidden_size(),
            store.read_layer_rows(l, &rows)?,
        )?;
        x.check_finite(&format!("layer {} of store {}", l.0, a.store.display()))?;
        let cv = cv_multipitch(&x, &y, width, &groups, a.folds, a.seed, &params)
            .with_context(|| format!("multipitch probe of layer {}", l.0))?;
        let (p, c) = (cv.metrics.pitch, cv.metrics.chroma);
        let fmin = cv.fold_f.iter().copied().fold(f64::INFINITY, f64::min);
        let fmax = cv.fold_f.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        pb.suspend(|| {
            eprintln!(
                "  layer {:2}: F {:.3}  P {:.3}  R {:.3}  Acc {:.3}  (folds {:.3}–{:.3}){}",
                l.0,
                p.f_measure,
                p.precision,
                p.recall,
                p.accuracy,
                fmin,
                fmax,
                if cv.converged {
                    ""
                } else {
                    "  [not converged]"
                }
            )
        });
        csv.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            l.0,
            p.f_measure,
            p.precision,
            p.recall,
            p.accuracy,
            p.total_error,
            p.substitution_error,
            p.miss_error,
            p.false_alarm_error,
            c.f_measure,
            c.accuracy,
            fmin,
            fmax,
            cv.rows
        ));
        per_layer.push(serde_json::json!({
            "layer": l.0, "pitch": p, "chroma": c, "fold_f": cv.fold_f, "rows": cv.rows,
            "converged": cv.converged,
        }));
        pb.inc(1);
    }
    pb.finish_and_clear();
    let best = per_layer
        .iter()
        .max_by(|x, y| {
            let f = |v: &serde_json::Value| v["pitch"]["f_measure"].as_f64().unwrap_or(0.0);
            f(x).total_cmp(&f(y))
        })
        .context("no layers")?;
    let n_clips = {
        let mut g = groups.clone();
        g.dedup();
        g.len()
    };
    let summary = serde_json::json!({
        "label": a.label, "store": a.store, "folds": a.folds, "c": a.c, "every": a.every, "seed": a.seed,
        "rows": rows.len(), "clips": n_clips,
        "best_layer": best["layer"], "best_f_measure": best["pitch"]["f_measure"],
        "layers": per_layer,
        "outputs": [a.out.join("multipitch.json"), a.out.join("multipitch.csv")],
    });
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    mirlens_report::write_atomic(&a.out.join("multipitch.csv"), csv.as_bytes())?;
    mirlens_report::write_atomic(
        &a.out.join("multipitch.json"),
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )?;
    Ok(summary)
}

/// Run a layer sweep, write its JSON/CSV/SVG outputs into `a.out`, and return the summary (best layer, accuracy
/// per layer with confidence intervals, output paths).
pub fn sweep(a: &SweepArgs) -> anyhow::Result<serde_json::Value> {
    let store =
        Store::open(&a.store).with_context(|| format!("opening store {}", a.store.display()))?;
    let pooling: Pooling = a.pooling.parse()?;
    let layers = store_layers(&store, &a.layers, &a.store)?;
    if let Ok(mirlens_store::LabelData::MultiHot { .. }) = store.row_label(&a.label) {
        anyhow::bail!(
            "label {:?} is a multi-hot frame label: probe it with `mirlens probe multipitch --label {}`",
            a.label,
            a.label
        );
    }
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

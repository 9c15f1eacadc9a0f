//! `mirlens run`: the main job, end to end and offline — built-in synthetic notes → encoder → activation store →
//! layer sweep and neuron finding for pitch class and instrument family → JSON/CSV/SVG results and a summary.

use super::{extract, neurons, probe};
use anyhow::Context;
use std::path::PathBuf;
use std::process::ExitCode;

/// The model used when `--model` is not given: the encoder pretrained by `mirlens pretrain` and shipped under
/// `models/mirlens-music-small` (card: `models/mirlens-music-small.toml`).
pub const DEFAULT_MODEL: &str = "mirlens-music-small";

/// Arguments of `mirlens run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Model: a registry name (`mirlens models list`), a directory with config.json + model.safetensors, or
    /// `logmel` (the input-feature baseline).
    #[arg(long, default_value = DEFAULT_MODEL)]
    pub model: String,
    /// Data, labels, seed.
    #[command(flatten)]
    pub job: JobArgs,
    /// Output directory (store, per-label results, summary.json). Re-running resumes the store.
    #[arg(long, default_value = "mirlens-run")]
    pub out: PathBuf,
}

/// What the probing jobs (`mirlens run`, `mirlens curve`) analyse.
#[derive(Debug, clap::Args)]
pub struct JobArgs {
    /// Built-in dataset to generate and analyse.
    #[arg(long, default_value = "synth-notes")]
    pub dataset: String,
    /// Labels to analyse (comma-separated).
    #[arg(long, default_value = "pitch_class,octave,family")]
    pub labels: String,
    /// Seed of the synthetic data, folds and random baselines.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Use only the first N clips.
    #[arg(long)]
    pub limit: Option<usize>,
    /// No progress bars.
    #[arg(long)]
    pub quiet: bool,
}

impl JobArgs {
    /// The labels, split on commas.
    pub fn label_list(&self) -> Vec<String> {
        self.labels
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    }
}

/// Extract every hidden state of `model` on a built-in dataset into `store`, mean-pooled per clip (resumes a
/// committed store).
pub fn extract_all_layers(
    model: &str,
    dataset: &str,
    seed: u64,
    limit: Option<usize>,
    store: &std::path::Path,
    quiet: bool,
) -> anyhow::Result<ExitCode> {
    extract::run(extract::ExtractArgs {
        model: model.to_string(),
        dataset: dataset.to_string(),
        layers: "all".into(),
        pool: "mean".into(),
        dtype: "f32".into(),
        out: store.to_path_buf(),
        shard: None,
        clips_per_shard: 64,
        batch_size: 8,
        limit,
        seed,
        on_bad_clip: extract::OnBadClip::Skip,
        threads: 0,
        quiet,
    })
}

/// The main job's layer sweep of one label: an L2 logistic probe per layer, 5-fold CV grouped by clip, 95 % CIs.
pub fn sweep_all_layers(
    store: &std::path::Path,
    label: &str,
    seed: u64,
    out: &std::path::Path,
) -> anyhow::Result<serde_json::Value> {
    probe::sweep(&probe::SweepArgs {
        store: store.to_path_buf(),
        label: label.to_string(),
        layers: "all".into(),
        pooling: "mean".into(),
        folds: 5,
        c: 1.0,
        seed,
        weighted: false,
        hidden: 512,
        out: out.to_path_buf(),
    })
}

/// Run `mirlens run`.
pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let store = a.out.join("store");
    if a.model == DEFAULT_MODEL {
        println!(
            "model: {DEFAULT_MODEL} — the built-in default: a 1.9 M-parameter HuBERT/MERT-architecture music encoder \
             (24 kHz in, 75 Hz frames, width 192, 4 layers) pretrained self-supervised by `mirlens pretrain` on \
             mirlens' synthetic music (models/mirlens-music-small). Pass --model for another one: a registry name, a \
             model folder, `logmel` for the input-feature baseline, or \
             models/mirlens-music-small/checkpoints/step-000000 for the same network untrained."
        );
    } else {
        println!("model: {}", a.model);
    }
    println!("dataset: {} (built-in, seed {})", a.job.dataset, a.job.seed);
    println!("\n[1/3] extracting activations of every layer (mean-pooled per clip)");
    extract_all_layers(
        &a.model,
        &a.job.dataset,
        a.job.seed,
        a.job.limit,
        &store,
        a.job.quiet,
    )
    .context("extraction")?;

    let labels = a.job.label_list();
    let mut per_label = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        println!(
            "\n[2/3] layer sweep for `{label}` ({}/{})",
            i + 1,
            labels.len()
        );
        let sweep = sweep_all_layers(
            &store,
            label,
            a.job.seed,
            &a.out.join(format!("probe-{label}")),
        )
        .with_context(|| format!("layer sweep of {label}"))?;
        let best: usize = sweep["best_layer"]
            .as_str()
            .and_then(|s| s.parse().ok())
            .context("layer sweep returned no numeric best layer")?;
        for l in sweep["layers"].as_array().into_iter().flatten() {
            println!(
                "  layer {:>2}: accuracy {:.3}  (95% CI {:.3}–{:.3})",
                l["layer"].as_str().unwrap_or("?"),
                l["accuracy"].as_f64().unwrap_or(f64::NAN),
                l["ci"][0].as_f64().unwrap_or(f64::NAN),
                l["ci"][1].as_f64().unwrap_or(f64::NAN)
            );
        }
        println!("\n[3/3] neuron finding for `{label}` at layer {best}");
        let report = neurons::report(&neurons::NeuronsArgs {
            store: store.clone(),
            label: label.clone(),
            layer: best,
            positive: None,
            method: None,
            pooling: "mean".into(),
            top_fraction: 0.1,
            random_draws: 10,
            l0_lambdas: String::new(),
            l0_steps: 1000,
            control_by: None,
            cross_task: neurons::CrossArg::Topk,
            test_fraction: 0.25,
            c: 1.0,
            seed: a.job.seed,
            out: a.out.join(format!("neurons-{label}")),
        })
        .with_context(|| format!("neuron report of {label}"))?;
        println!(
            "  ranking {}: top neurons {}\n  all {} neurons: accuracy {:.3}; top k0 = {} neurons: {:.3}, worth {} as many \
             random neurons; control-task selectivity {:.3}",
            report["method"].as_str().unwrap_or("?"),
            report["top_neurons"],
            report["neurons"],
            report["dense_accuracy"]["value"]
                .as_f64()
                .unwrap_or(f64::NAN),
            report["k0"],
            report["top_k0_accuracy"].as_f64().unwrap_or(f64::NAN),
            match report["equivalent_random_multiple"].as_f64() {
                Some(m) => format!("{m:.1}×"),
                None => format!(
                    "≥ {}×",
                    report["equivalent_random_multiple_at_least"]
                        .as_f64()
                        .unwrap_or(f64::NAN)
                ),
            },
            report["selectivity"]["selectivity"]
                .as_f64()
                .unwrap_or(f64::NAN)
        );
        per_label.push(serde_json::json!({"label": label, "sweep": sweep, "neurons": report}));
    }
    let summary = serde_json::json!({
        "model": a.model, "default_model": a.model == DEFAULT_MODEL,
        "dataset": a.job.dataset, "seed": a.job.seed, "store": store, "labels": per_label,
        "seconds": started.elapsed().as_secs_f64(),
    });
    let path = a.out.join("summary.json");
    std::fs::write(&path, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("writing {}", path.display()))?;
    println!(
        "\ndone in {:.1} s; results, CSV and SVG plots under {} (summary: {})",
        started.elapsed().as_secs_f64(),
        a.out.display(),
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

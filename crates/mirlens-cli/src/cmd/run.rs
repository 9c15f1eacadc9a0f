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
    extract::run(all_layers_args(model, dataset, seed, limit, store, quiet))
}

/// The extraction the probing jobs run for `job` into `store`.
fn extract_args(model: &str, job: &JobArgs, store: &std::path::Path) -> extract::ExtractArgs {
    all_layers_args(model, &job.dataset, job.seed, job.limit, store, job.quiet)
}

fn all_layers_args(
    model: &str,
    dataset: &str,
    seed: u64,
    limit: Option<usize>,
    store: &std::path::Path,
    quiet: bool,
) -> extract::ExtractArgs {
    extract::ExtractArgs {
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
        window: extract::DEFAULT_WINDOW_SECS,
        overlap: extract::DEFAULT_OVERLAP_SECS,
    }
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

/// Whether `path` holds a `summary.json` written by `mirlens run` (so that re-running may replace it).
fn is_run_summary(path: &std::path::Path) -> bool {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| {
            v.get("mirlens").and_then(|m| m.as_str()) == Some("run")
                || (v.get("default_model").is_some()
                    && v.get("labels").is_some()
                    && v.get("seconds").is_some())
        })
}

/// The labels of the built-in dataset the job would extract, checked before any extraction.
fn check_labels(job: &JobArgs, store: &std::path::Path, labels: &[String]) -> anyhow::Result<()> {
    if labels.is_empty() {
        anyhow::bail!(
            "--labels {:?} names no label; give a comma-separated list such as pitch_class,octave,family",
            job.labels
        );
    }
    let args = extract_args("logmel", job, store);
    let (_, manifest, _) = extract::load_dataset(&args)?;
    let known: Vec<&String> = manifest.label_schema.columns.keys().collect();
    let unknown: Vec<&String> = labels
        .iter()
        .filter(|l| !manifest.label_schema.columns.contains_key(*l))
        .collect();
    if !unknown.is_empty() {
        anyhow::bail!(
            "--labels: {} not in dataset {} (its labels: {})",
            unknown
                .iter()
                .map(|l| format!("{l:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            job.dataset,
            known
                .iter()
                .map(|l| l.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(())
}

/// A resumed store made from another selection of the dataset, explained in terms of the options.
fn explain_resume(e: anyhow::Error, store: &std::path::Path) -> anyhow::Error {
    let incompatible = e.chain().find_map(|c| match c.downcast_ref() {
        Some(mirlens_extract::ExtractError::Store(mirlens_store::StoreError::Incompatible {
            field,
            existing,
            requested,
            ..
        })) => Some((*field, existing.clone(), requested.clone())),
        _ => None,
    });
    match incompatible {
        Some((field, existing, requested))
            if matches!(field, "dataset" | "dataset_hash" | "dataset_clips") =>
        {
            anyhow::anyhow!(
                "{} holds activations of another selection of the data (its {field} is {existing}, this run's \
                 {requested}): --dataset, --seed or --limit differ from the run that made it. Re-run with the \
                 same options to resume, or choose a new --out",
                store.display()
            )
        }
        Some((field, existing, requested)) => anyhow::anyhow!(
            "{} was made by another configuration (its {field} is {existing}, this run's {requested}): --model \
             differs from the run that made it. Re-run with the same options to resume, or choose a new --out",
            store.display()
        ),
        None => e,
    }
}

/// Run `mirlens run`.
pub fn run(a: RunArgs) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let store = a.out.join("store");
    let summary_path = a.out.join("summary.json");
    if summary_path.exists() && !is_run_summary(&summary_path) {
        anyhow::bail!(
            "{} exists and was not written by `mirlens run`; not overwriting it (choose another --out)",
            summary_path.display()
        );
    }
    let labels = a.job.label_list();
    check_labels(&a.job, &store, &labels)?;
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
    .map_err(|e| explain_resume(e, &store))
    .context("extraction")?;

    let mut per_label = Vec::new();
    let mut failed = Vec::new();
    for (i, label) in labels.iter().enumerate() {
        match one_label(&a, &store, label, i, labels.len()) {
            Ok(v) => per_label.push(v),
            Err(e) => {
                eprintln!("error: label `{label}`: {e:#}");
                per_label.push(serde_json::json!({"label": label, "error": format!("{e:#}")}));
                failed.push(label.clone());
            }
        }
    }
    let summary = serde_json::json!({
        "mirlens": "run",
        "model": a.model, "default_model": a.model == DEFAULT_MODEL,
        "dataset": a.job.dataset, "seed": a.job.seed, "limit": a.job.limit, "store": store, "labels": per_label,
        "failed_labels": failed,
        "seconds": started.elapsed().as_secs_f64(),
    });
    mirlens_report::write_atomic(
        &summary_path,
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )
    .with_context(|| format!("writing {}", summary_path.display()))?;
    println!(
        "\ndone in {:.1} s; results, CSV and SVG plots under {} (summary: {})",
        started.elapsed().as_secs_f64(),
        a.out.display(),
        summary_path.display()
    );
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!(
            "error: {} of {} label(s) failed: {} (the others' results are in the summary)",
            failed.len(),
            labels.len(),
            failed.join(", ")
        );
        Ok(ExitCode::FAILURE)
    }
}

/// Layer sweep and neuron report of one label.
fn one_label(
    a: &RunArgs,
    store: &std::path::Path,
    label: &str,
    i: usize,
    n: usize,
) -> anyhow::Result<serde_json::Value> {
    let safe = mirlens_audio::paths::safe_name(label);
    {
        println!("\n[2/3] layer sweep for `{label}` ({}/{})", i + 1, n);
        let sweep = sweep_all_layers(
            store,
            label,
            a.job.seed,
            &a.out.join(format!("probe-{safe}")),
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
            store: store.to_path_buf(),
            label: label.to_string(),
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
            out: a.out.join(format!("neurons-{safe}")),
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
        Ok(serde_json::json!({"label": label, "sweep": sweep, "neurons": report}))
    }
}

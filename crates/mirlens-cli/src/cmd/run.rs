//! `mirlens run`: the main job, end to end and offline — built-in synthetic notes → encoder → activation store →
//! layer sweep and neuron finding per label → a TopK SAE on the best layer's frames with feature dashboards →
//! multi-pitch probes per layer on frames of the built-in sequences against their scores → the model's layers
//! against the log-mel input (debiased CKA, mutual k-NN, permutation nulls, a ridge map's
//! retrieval) → JSON/CSV/SVG results, a summary and the offline HTML report.

use super::{align, dashboards, extract, neurons, probe, report, run_lm, sae};
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
    /// Stages to run, comma-separated, from: extract (the pooled store), probe (layer sweeps and neurons), sae
    /// (frame store of the best layer, TopK SAE, feature analysis and dashboards), frames (frame stores of the
    /// built-in sequences through the model and log-mel, multi-pitch probes per layer against their scores),
    /// symbolic (the clips' scores as REMI tokens through --midi-model: pooled store, layer sweeps), text (the
    /// clips' first captions through --caption-model), align (the layers against the log-mel input, and against
    /// the symbolic and caption LMs: matrices, nulls, maps with retrieval, the sample-efficiency curve), curve
    /// (the symbolic LM's checkpoints), report (report/index.html). Later stages reuse what earlier runs
    /// finished.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "extract,probe,sae,frames,symbolic,text,align,curve,report"
    )]
    pub stages: Vec<String>,
    /// Symbolic music LM of the symbolic stage (registry name or folder with config.json, model.safetensors and
    /// a REMI `tokenizer.json`).
    #[arg(long, default_value = "mirlens-midi-small")]
    pub midi_model: String,
    /// Caption LM of the text stage (registry name or folder with a `tokenizer.json`).
    #[arg(long, default_value = "mirlens-caption-small")]
    pub caption_model: String,
    /// Held-out pieces of the symbolic corpus (synth-pieces, the job's seed) for the curve stage.
    #[arg(long, default_value_t = 48)]
    pub curve_pieces: usize,
    /// Clips of the built-in sequences (4 s each, seed of the job) used by the frames stage.
    #[arg(long, default_value_t = 32)]
    pub frame_clips: usize,
    /// SAE training tokens (frames drawn with replacement over epochs).
    #[arg(long, default_value_t = 2_000_000)]
    pub sae_tokens: u64,
}

/// The stages of `mirlens run`, in order.
pub const STAGES: [&str; 9] = [
    "extract", "probe", "sae", "frames", "symbolic", "text", "align", "curve", "report",
];

/// Parse a subcommand's own arguments (the same grammar a user types), for the stages that run one.
#[derive(Debug, clap::Parser)]
#[command(no_binary_name = true)]
struct Sub<T: clap::Args> {
    #[command(flatten)]
    args: T,
}

pub(super) fn sub<T: clap::Args>(argv: &[String]) -> anyhow::Result<T> {
    use clap::Parser;
    Ok(Sub::<T>::try_parse_from(argv)
        .with_context(|| format!("arguments {argv:?}"))?
        .args)
}

pub(super) fn argv(parts: &[&dyn std::fmt::Display]) -> Vec<String> {
    parts.iter().map(|p| p.to_string()).collect()
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

pub(super) fn all_layers_args(
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
        on_nonfinite: mirlens_store::NonFinitePolicy::Error,
        threads: 0,
        quiet,
        window: None,
        overlap: extract::DEFAULT_OVERLAP_SECS,
        text: Default::default(),
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
pub(super) fn explain_resume(e: anyhow::Error, store: &std::path::Path) -> anyhow::Error {
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
    let stages = check_stages(&a.stages)?;
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
    if extract::BUILTIN_DATASETS.contains(&a.job.dataset.as_str()) {
        println!("dataset: {} (built-in, seed {})", a.job.dataset, a.job.seed);
    } else {
        println!("dataset: {} (manifest)", a.job.dataset);
    }
    let on = |st: &str| stages.iter().any(|s| s == st);
    if on("extract") {
        println!("\n[extract] activations of every layer (mean-pooled per clip)");
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
    } else if !store.join("manifest.json").is_file() && stages.iter().any(|s| s != "report") {
        anyhow::bail!(
            "{} holds no store: run the extract stage first (--stages extract,...)",
            store.display()
        );
    }

    let mut per_label = Vec::new();
    let mut failed = Vec::new();
    if on("probe") {
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
    }
    let mut sae_result = serde_json::Value::Null;
    let mut failed_stages = Vec::new();
    if on("sae") {
        match sae_stage(&a, &labels) {
            Ok(v) => sae_result = v,
            Err(e) => {
                eprintln!("error: stage sae: {e:#}");
                sae_result = serde_json::json!({"error": format!("{e:#}")});
                failed_stages.push("sae");
            }
        }
    }
    let mut frames_result = serde_json::Value::Null;
    if on("frames") {
        match frames_stage(&a) {
            Ok(v) => frames_result = v,
            Err(e) => {
                eprintln!("error: stage frames: {e:#}");
                frames_result = serde_json::json!({"error": format!("{e:#}")});
                failed_stages.push("frames");
            }
        }
    }
    let mut lm_results = serde_json::Map::new();
    for m in [run_lm::Modality::Symbolic, run_lm::Modality::Text] {
        if on(m.name()) {
            match run_lm::modality_stage(&a, m, &labels) {
                Ok(v) => {
                    lm_results.insert(m.name().into(), v);
                }
                Err(e) => {
                    eprintln!("error: stage {}: {e:#}", m.name());
                    lm_results.insert(
                        m.name().into(),
                        serde_json::json!({"error": format!("{e:#}")}),
                    );
                    failed_stages.push(m.name());
                }
            }
        } else if let Some(v) = previous_stage(&summary_path, m.name()) {
            lm_results.insert(m.name().into(), v);
        }
    }
    let mut align_result = serde_json::Value::Null;
    if on("align") {
        match align_stage(&a, &labels, &lm_results) {
            Ok(v) => align_result = v,
            Err(e) => {
                eprintln!("error: stage align: {e:#}");
                align_result = serde_json::json!({"error": format!("{e:#}")});
                failed_stages.push("align");
            }
        }
    }
    let mut curve_result = serde_json::Value::Null;
    if on("curve") {
        match run_lm::lm_curve(&a) {
            Ok(v) => curve_result = v,
            Err(e) => {
                eprintln!("error: stage curve: {e:#}");
                curve_result = serde_json::json!({"error": format!("{e:#}")});
                failed_stages.push("curve");
            }
        }
    }
    let summary = serde_json::json!({
        "mirlens": "run",
        "model": a.model, "default_model": a.model == DEFAULT_MODEL,
        "dataset": a.job.dataset, "seed": a.job.seed, "limit": a.job.limit, "store": store, "labels": per_label,
        "failed_labels": failed, "stages": stages, "sae": sae_result, "frames": frames_result,
        "align": align_result, "symbolic": lm_results.get("symbolic"), "text": lm_results.get("text"),
        "curve": curve_result,
        "failed_stages": failed_stages,
        "seconds": started.elapsed().as_secs_f64(),
    });
    mirlens_report::write_atomic(
        &summary_path,
        serde_json::to_string_pretty(&summary)?.as_bytes(),
    )
    .with_context(|| format!("writing {}", summary_path.display()))?;
    if on("report") {
        println!("\n[report]");
        report::write(&a.out, None).context("report")?;
    }
    println!(
        "\ndone in {:.1} s; results, CSV and SVG plots under {} (summary: {})",
        started.elapsed().as_secs_f64(),
        a.out.display(),
        summary_path.display()
    );
    if !failed_stages.is_empty() {
        eprintln!(
            "error: stage(s) {} failed (the other results are in the summary)",
            failed_stages.join(", ")
        );
        return Ok(ExitCode::FAILURE);
    }
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
        println!("\n[probe] layer sweep for `{label}` ({}/{})", i + 1, n);
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
        println!("\n[probe] neuron finding for `{label}` at layer {best}");
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

fn check_stages(given: &[String]) -> anyhow::Result<Vec<String>> {
    let given: Vec<String> = given
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    if given.is_empty() {
        anyhow::bail!("--stages names no stage; choose from {}", STAGES.join(", "));
    }
    for g in &given {
        if !STAGES.contains(&g.as_str()) {
            anyhow::bail!(
                "--stages: unknown stage {g:?}; choose from {}",
                STAGES.join(", ")
            );
        }
    }
    // run in the pipeline's order whatever order they were given in
    Ok(STAGES
        .iter()
        .filter(|s| given.iter().any(|g| g == *s))
        .map(|s| s.to_string())
        .collect())
}

/// The label whose best layer the SAE and the alignment use: pitch class when analysed, else the first label.
fn anchor_label(labels: &[String]) -> anyhow::Result<&str> {
    labels
        .iter()
        .find(|l| l.as_str() == "pitch_class")
        .or_else(|| labels.first())
        .map(|s| s.as_str())
        .context("no label to choose a layer by")
}

/// The best layer of `label` from its finished layer sweep under `out`.
fn best_layer(out: &std::path::Path, label: &str) -> anyhow::Result<usize> {
    let p = out
        .join(format!("probe-{}", mirlens_audio::paths::safe_name(label)))
        .join("layer_sweep.json");
    let v: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(&p)
            .with_context(|| format!("reading {} (run the probe stage first)", p.display()))?,
    )
    .with_context(|| format!("parsing {}", p.display()))?;
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| {
            Some((
                e["layer"].as_str()?.parse::<usize>().ok()?,
                e["accuracy"].as_f64()?,
            ))
        })
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(l, _)| l)
        .with_context(|| format!("{} has no numeric layer with an accuracy", p.display()))
}

/// Settings recorded beside a stage's output; a finished output with equal settings is reused.
fn reusable(marker: &std::path::Path, settings: &serde_json::Value) -> bool {
    std::fs::read_to_string(marker)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| &v == settings)
}

fn sae_stage(a: &RunArgs, labels: &[String]) -> anyhow::Result<serde_json::Value> {
    let anchor = anchor_label(labels)?;
    let layer = best_layer(&a.out, anchor)?;
    let frames = a.out.join("store-frames");
    println!("\n[sae] frame-level activations of layer {layer} (the best layer for `{anchor}`)");
    let mut ex = extract_args(&a.model, &a.job, &frames);
    ex.layers = layer.to_string();
    ex.pool = "none".into();
    extract::run(ex)
        .map_err(|e| explain_resume(e, &frames))
        .context("frame extraction")?;
    let sae_dir = a.out.join("sae");
    let settings = serde_json::json!({
        "store": frames, "layer": layer, "arch": "topk", "k": 8, "expansion": 4, "tokens": a.sae_tokens,
        "seed": a.job.seed,
    });
    let marker = sae_dir.join("run-settings.json");
    if sae_dir.join("sae.json").is_file() && reusable(&marker, &settings) {
        println!("[sae] reusing the SAE in {}", sae_dir.display());
    } else {
        if marker.is_file() {
            // an SAE this job trained with other settings: its resumable checkpoint would be refused
            let ck = sae_dir.join("checkpoint");
            if ck.is_dir() {
                std::fs::remove_dir_all(&ck)
                    .with_context(|| format!("removing the earlier run's {}", ck.display()))?;
            }
        } else if sae_dir.exists() {
            anyhow::bail!(
                "{} exists and was not written by `mirlens run`; not replacing it (choose another --out)",
                sae_dir.display()
            );
        }
        println!("[sae] TopK SAE (k = 8, 4× expansion) on layer {layer}");
        sae::run(sub(&argv(&[
            &"train",
            &"--store",
            &frames.display(),
            &"--layer",
            &layer,
            &"--k",
            &8,
            &"--expansion",
            &4,
            &"--tokens",
            &a.sae_tokens,
            &"--seed",
            &a.job.seed,
            &"--log-every",
            &100,
            &"--out",
            &sae_dir.display(),
        ]))?)
        .context("SAE training")?;
        mirlens_report::write_atomic(&marker, settings.to_string().as_bytes())?;
    }
    let feat_dir = sae_dir.join("features");
    println!("[sae] feature analysis");
    sae::run(sub(&argv(&[
        &"features",
        &"--sae",
        &sae_dir.display(),
        &"--store",
        &frames.display(),
        &"--layer",
        &layer,
        &"--top",
        &60,
        &"--labels",
        &labels.join(","),
        &"--out",
        &feat_dir.display(),
    ]))?)
    .context("feature analysis")?;
    let rep: mirlens_sae::analysis::FeatureReport = serde_json::from_str(
        &std::fs::read_to_string(feat_dir.join("features.json"))
            .context("reading the feature analysis")?,
    )?;
    let (_, _, synth) = extract::load_dataset(&extract_args("logmel", &a.job, &frames))?;
    let audio = match &synth {
        Some(ds) => dashboards::AudioSource::Synth(ds.as_ref()),
        None => dashboards::AudioSource::Files,
    };
    let n = dashboards::write(
        &sae_dir,
        &frames,
        layer,
        &rep,
        &audio,
        &dashboards::DashboardOptions {
            per_label: 2,
            clips: 4,
            min_fires: 20,
            min_precision: 0.5,
            labels: labels.to_vec(),
        },
        &sae_dir.join("dashboards"),
    )
    .context("feature dashboards")?;
    let metrics: serde_json::Value = std::fs::read_to_string(sae_dir.join("metrics.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    let dead = rep.features.iter().filter(|f| f.fires == 0).count();
    println!(
        "[sae] FVU {:.3}, L0 {:.1}, {dead} of {} features dead on all frames; {n} dashboards",
        metrics["fvu"].as_f64().unwrap_or(f64::NAN),
        metrics["l0"].as_f64().unwrap_or(f64::NAN),
        rep.features.len()
    );
    Ok(serde_json::json!({
        "layer": layer, "anchor_label": anchor, "dir": sae_dir, "metrics": metrics,
        "dead_on_all_frames": dead, "features": rep.features.len(), "dashboards": n,
    }))
}

/// Frame stores of the built-in sequences (the job's seed, `--frame-clips` clips) through the model and through
/// log-mel, and a multi-pitch probe per layer of each against the clips' scores (every second frame).
fn frames_stage(a: &RunArgs) -> anyhow::Result<serde_json::Value> {
    let mut models = vec![a.model.clone()];
    if a.model != "logmel" {
        models.push("logmel".into());
    }
    let mut out = serde_json::Map::new();
    for model in models {
        let tag = if model == "logmel" { "logmel" } else { "model" };
        let store = a.out.join(format!("store-sequences-{tag}"));
        println!(
            "\n[frames] frame-level activations of {model} on synth-sequences ({} clips), with score labels",
            a.frame_clips
        );
        let mut ex = all_layers_args(
            &model,
            "synth-sequences",
            a.job.seed,
            Some(a.frame_clips),
            &store,
            a.job.quiet,
        );
        ex.pool = "none".into();
        extract::run(ex)
            .map_err(|e| explain_resume(e, &store))
            .with_context(|| format!("frame extraction through {model}"))?;
        let dir = a.out.join("multipitch").join(tag);
        println!("[frames] multi-pitch probe per layer of {model} (every second frame)");
        let v = probe::multipitch(&sub(&argv(&[
            &"--store",
            &store.display(),
            &"--every",
            &2,
            &"--seed",
            &a.job.seed,
            &"--out",
            &dir.display(),
        ]))?)
        .with_context(|| format!("multi-pitch probe of {model}"))?;
        println!(
            "[frames] {model}: best layer {} with multipitch F {:.3}",
            v["best_layer"],
            v["best_f_measure"].as_f64().unwrap_or(f64::NAN)
        );
        out.insert(
            tag.into(),
            serde_json::json!({"model": model, "store": store, "dir": dir,
                "best_layer": v["best_layer"], "best_f_measure": v["best_f_measure"]}),
        );
    }
    Ok(serde_json::Value::Object(out))
}

/// A stage's result from the summary of an earlier run in the same folder (for stages not re-run now).
fn previous_stage(summary: &std::path::Path, stage: &str) -> Option<serde_json::Value> {
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(summary).ok()?).ok()?;
    let s = v.get(stage)?;
    (s.is_object() && s.get("error").is_none()).then(|| s.clone())
}

fn align_stage(
    a: &RunArgs,
    labels: &[String],
    lm_results: &serde_json::Map<String, serde_json::Value>,
) -> anyhow::Result<serde_json::Value> {
    let layer = best_layer(&a.out, anchor_label(labels)?)?;
    let mut result = if a.model == "logmel" {
        println!(
            "\n[align] the model against its log-mel input: skipped (the model is the log-mel input)"
        );
        serde_json::json!({"skipped": "the model is the log-mel input", "layer": layer})
    } else {
        logmel_align(a, layer)?
    };
    let mut cross = serde_json::Map::new();
    let anchor = anchor_label(labels)?;
    for m in [run_lm::Modality::Symbolic, run_lm::Modality::Text] {
        if let Some(stage) = lm_results.get(m.name())
            && stage.get("skipped").is_none()
            && m.store(&a.out).join("manifest.json").is_file()
        {
            let v = run_lm::cross_modal(a, m, stage, anchor, layer)
                .with_context(|| format!("audio ↔ {}", m.name()))?;
            cross.insert(m.name().into(), v);
        }
    }
    result["cross_modal"] = serde_json::Value::Object(cross);
    Ok(result)
}

/// The model's layers against its own log-mel input: matrices, scores with nulls at `layer`, a ridge map.
fn logmel_align(a: &RunArgs, layer: usize) -> anyhow::Result<serde_json::Value> {
    let store = a.out.join("store");
    let logmel = a.out.join("store-logmel");
    println!("\n[align] the model's layers against its log-mel input (same clips)");
    extract_all_layers(
        "logmel",
        &a.job.dataset,
        a.job.seed,
        a.job.limit,
        &logmel,
        a.job.quiet,
    )
    .map_err(|e| explain_resume(e, &logmel))
    .context("log-mel extraction")?;
    let dir = a.out.join("align");
    align::run(sub(&argv(&[
        &"layers",
        &"--x",
        &store.display(),
        &"--y",
        &logmel.display(),
        &"--metric",
        &"cka_debiased,mutual_knn",
        &"--out",
        &dir.display(),
    ]))?)
    .context("layer matrices")?;
    let mut scores = serde_json::Map::new();
    for metric in ["cka_debiased", "mutual_knn"] {
        let out = dir.join(format!("score-{metric}-layer{layer}.json"));
        align::run(sub(&argv(&[
            &"score",
            &"--x",
            &store.display(),
            &"--x-layer",
            &layer,
            &"--y",
            &logmel.display(),
            &"--y-layer",
            &0,
            &"--metric",
            &metric,
            &"--permutations",
            &200,
            &"--bootstrap",
            &200,
            &"--seed",
            &a.job.seed,
            &"--out",
            &out.display(),
        ]))?)
        .with_context(|| format!("{metric} with its permutation null"))?;
        let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&out)?)?;
        scores.insert(metric.into(), v);
    }
    let map_out = dir.join(format!("map-ridge-layer{layer}.json"));
    align::run(sub(&argv(&[
        &"map",
        &"--x",
        &store.display(),
        &"--x-layer",
        &layer,
        &"--y",
        &logmel.display(),
        &"--y-layer",
        &0,
        &"--method",
        &"ridge",
        &"--group-by",
        &"clip",
        &"--seed",
        &a.job.seed,
        &"--out",
        &map_out.display(),
    ]))?)
    .context("ridge map")?;
    let map: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&map_out)?)?;
    Ok(serde_json::json!({"layer": layer, "dir": dir, "scores": scores, "map": map}))
}

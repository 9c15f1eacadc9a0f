//! `mirlens sae`: train, sweep, evaluate, analyse, export and import sparse autoencoders on activation stores.

use anyhow::{Context, bail};
use clap::{Args, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use mirlens_core::LayerId;
use mirlens_report::{Cell, Table};
use mirlens_sae::analysis::{FeatureParams, analyze_features};
use mirlens_sae::io::{
    SaveInfo, export_saelens, export_sparsify, import_saelens, import_sparsify, load_native,
    save_native,
};
use mirlens_sae::store_source::{StoreAccess, StoreSource, write_planted_store};
use mirlens_sae::synthetic::{PlantedParams, planted};
use mirlens_sae::train::{BDecInit, Progress, RunOptions, TrainParams, train};
use mirlens_sae::{ActivationSource, Architecture, EvalMetrics, Normalization, evaluate};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `mirlens sae`.
#[derive(Debug, Args)]
pub struct SaeArgs {
    #[command(subcommand)]
    command: SaeCommand,
}

#[derive(Debug, Subcommand)]
enum SaeCommand {
    /// Train one SAE on a layer of a store; writes sae.safetensors + sae.json, metrics.json, log_density.svg.
    Train(TrainArgs),
    /// Train an expansion × K grid; writes sweep.csv/json and fvu.svg, dead.svg, fvu_lines.svg.
    Sweep(SweepArgs),
    /// Evaluate a saved SAE on a layer of a store (FVU, L0, dead/dense fractions, …).
    Eval(EvalArgs),
    /// Per-feature analysis: top examples, histograms, density, label association, source tendency.
    Features(FeaturesArgs),
    /// Export a native SAE to SAELens or sparsify files.
    Export(ExportArgs),
    /// Import a SAELens or sparsify SAE into the native format.
    Import(ImportArgs),
    /// Checkpoint-crossing study: identical SAEs on the stores of several checkpoints, tendency and label tables.
    Crossing(CrossingArgs),
    /// Write a planted-dictionary activation store (sparse combinations of a known dictionary + noise).
    Synth(SynthArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ArchArg {
    Topk,
    Batchtopk,
    Relu,
    Jumprelu,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum NormArg {
    None,
    UnitNorm,
    StandardizeToken,
    StandardizeDim,
    ExpectedNorm,
    Center,
}

impl From<NormArg> for Normalization {
    fn from(n: NormArg) -> Self {
        match n {
            NormArg::None => Normalization::None,
            NormArg::UnitNorm => Normalization::UnitNorm,
            NormArg::StandardizeToken => Normalization::StandardizeToken,
            NormArg::StandardizeDim => Normalization::StandardizeDim,
            NormArg::ExpectedNorm => Normalization::ExpectedNorm,
            NormArg::Center => Normalization::Center,
        }
    }
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum BDecArg {
    GeometricMedian,
    Mean,
    Zero,
}

/// Where activations come from.
#[derive(Debug, Args)]
struct InputArgs {
    /// Activation store directory.
    #[arg(long)]
    store: PathBuf,
    /// Layer index in the store.
    #[arg(long, default_value_t = 0)]
    layer: usize,
    /// Row label naming each row's source (for tendency classification), e.g. `modality`.
    #[arg(long)]
    source_label: Option<String>,
    /// Read rows from the shard files on demand instead of loading the layer into memory.
    #[arg(long)]
    on_disk: bool,
}

impl InputArgs {
    fn open(&self) -> anyhow::Result<StoreSource> {
        let access = if self.on_disk {
            StoreAccess::OnDisk
        } else {
            StoreAccess::InMemory
        };
        StoreSource::open(
            &self.store,
            LayerId(self.layer),
            access,
            self.source_label.as_deref(),
        )
        .with_context(|| {
            format!(
                "opening layer {} of store {}",
                self.layer,
                self.store.display()
            )
        })
    }
}

/// Training settings shared by train, sweep and crossing.
#[derive(Debug, Args)]
struct TrainOpts {
    /// Architecture.
    #[arg(long, value_enum, default_value = "topk")]
    arch: ArchArg,
    /// Active latents per token (TopK, BatchTopK).
    #[arg(long, default_value_t = 32)]
    k: usize,
    /// Dictionary width as a multiple of the layer width (ignored when --latents is given).
    #[arg(long, default_value_t = 16)]
    expansion: usize,
    /// Dictionary width.
    #[arg(long)]
    latents: Option<usize>,
    /// Input normalisation.
    #[arg(long, value_enum, default_value = "expected-norm")]
    norm: NormArg,
    /// Training tokens.
    #[arg(long, default_value_t = 10_000_000)]
    tokens: u64,
    /// Tokens per batch.
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Adam learning rate (default 2e-4/√(n/2^14)).
    #[arg(long)]
    lr: Option<f32>,
    /// Warm-up steps (default min(1000, steps/10)).
    #[arg(long)]
    warmup: Option<u64>,
    /// Fraction of steps over which the lr decays to 0 at the end.
    #[arg(long, default_value_t = 0.2)]
    decay: f32,
    /// b_dec initialisation.
    #[arg(long, value_enum, default_value = "geometric-median")]
    b_dec_init: BDecArg,
    /// AuxK coefficient α (0 disables).
    #[arg(long, default_value_t = 1.0 / 32.0)]
    aux_coef: f32,
    /// Dead threshold in tokens (default min(10M, one epoch)).
    #[arg(long)]
    dead_tokens: Option<u64>,
    /// ReLU L1 coefficient.
    #[arg(long, default_value_t = 0.3)]
    l1: f32,
    /// JumpReLU L0 coefficient.
    #[arg(long, default_value_t = 0.01)]
    l0: f32,
    /// Held-out fraction of rows.
    #[arg(long, default_value_t = 0.1)]
    eval_fraction: f32,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
}

impl TrainOpts {
    fn params(&self, d_in: usize) -> TrainParams {
        let arch = match self.arch {
            ArchArg::Topk => Architecture::TopK { k: self.k },
            ArchArg::Batchtopk => Architecture::BatchTopK { k: self.k },
            ArchArg::Relu => Architecture::Relu,
            ArchArg::Jumprelu => Architecture::JumpRelu,
        };
        let mut p = TrainParams::new(arch, self.latents.unwrap_or(self.expansion * d_in));
        p.normalization = self.norm.into();
        p.total_tokens = self.tokens;
        p.batch_size = self.batch;
        p.lr = self.lr;
        p.warmup_steps = self.warmup;
        p.decay_fraction = self.decay;
        p.b_dec_init = match self.b_dec_init {
            BDecArg::GeometricMedian => BDecInit::GeometricMedian,
            BDecArg::Mean => BDecInit::Mean,
            BDecArg::Zero => BDecInit::Zero,
        };
        p.aux_k.coefficient = self.aux_coef;
        p.aux_k.dead_tokens = self.dead_tokens;
        p.l1_coefficient = self.l1;
        p.jumprelu.l0_coefficient = self.l0;
        p.eval_fraction = self.eval_fraction;
        p.seed = self.seed;
        p.threads = self.threads;
        p
    }
}

#[derive(Debug, Args)]
struct TrainArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    train: TrainOpts,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
    /// Write a resumable checkpoint into OUT/checkpoint every N steps (0 = only at the end); a run with the same
    /// settings resumes from it.
    #[arg(long, default_value_t = 0)]
    checkpoint_every: u64,
    /// Progress interval in steps.
    #[arg(long, default_value_t = 50)]
    log_every: u64,
}

#[derive(Debug, Args)]
struct SweepArgs {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    train: TrainOpts,
    /// Expansions n/d, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![4usize, 8, 16, 32, 64])]
    expansions: Vec<usize>,
    /// Ks, comma-separated.
    #[arg(long, value_delimiter = ',', default_values_t = vec![8usize, 16, 32, 64, 128])]
    ks: Vec<usize>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct EvalArgs {
    /// Native SAE directory.
    #[arg(long)]
    sae: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// Write the metrics as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct FeaturesArgs {
    /// Native SAE directory.
    #[arg(long)]
    sae: PathBuf,
    #[command(flatten)]
    input: InputArgs,
    /// Top examples per feature.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Tendency threshold τ.
    #[arg(long, default_value_t = 0.9)]
    threshold: f64,
    /// Label keys to associate (default: all).
    #[arg(long, value_delimiter = ',')]
    labels: Vec<String>,
    /// Output directory (features.json, features.csv, tendency.csv).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormatArg {
    Saelens,
    Sparsify,
}

#[derive(Debug, Args)]
struct ExportArgs {
    /// Native SAE directory.
    #[arg(long)]
    sae: PathBuf,
    /// Target format.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Hook name recorded in SAELens metadata.
    #[arg(long)]
    hook_name: Option<String>,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// Source directory (SAELens: cfg.json + sae_weights.safetensors; sparsify: cfg.json + sae.safetensors).
    #[arg(long)]
    from: PathBuf,
    /// Source format.
    #[arg(long, value_enum)]
    format: FormatArg,
    /// Output directory (native format).
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct CrossingArgs {
    /// Stores, one per checkpoint, in checkpoint order (comma-separated).
    #[arg(long, value_delimiter = ',', required = true)]
    stores: Vec<PathBuf>,
    /// Checkpoint names (default: store directory names).
    #[arg(long, value_delimiter = ',')]
    names: Vec<String>,
    /// Layer index.
    #[arg(long, default_value_t = 0)]
    layer: usize,
    /// Row label naming each row's source.
    #[arg(long)]
    source_label: Option<String>,
    /// Tendency threshold τ.
    #[arg(long, default_value_t = 0.9)]
    threshold: f64,
    #[command(flatten)]
    train: TrainOpts,
    /// Output directory.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Debug, Args)]
struct SynthArgs {
    /// Output store directory.
    #[arg(long)]
    out: PathBuf,
    /// Row width.
    #[arg(long, default_value_t = 64)]
    d: usize,
    /// Planted dictionary size.
    #[arg(long, default_value_t = 256)]
    n_true: usize,
    /// Active planted latents per row.
    #[arg(long, default_value_t = 4)]
    k_true: usize,
    /// Rows.
    #[arg(long, default_value_t = 20_000)]
    rows: usize,
    /// Noise standard deviation per dimension.
    #[arg(long, default_value_t = 0.02)]
    noise: f32,
    /// Rows of source A use only the first half of the dictionary, rows of B the second half.
    #[arg(long)]
    exclusive_sources: bool,
    /// Seed.
    #[arg(long, default_value_t = 0)]
    seed: u64,
}

/// Run `mirlens sae`.
pub fn run(args: SaeArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        SaeCommand::Train(a) => run_train(a),
        SaeCommand::Sweep(a) => run_sweep(a),
        SaeCommand::Eval(a) => run_eval(a),
        SaeCommand::Features(a) => run_features(a),
        SaeCommand::Export(a) => run_export(a),
        SaeCommand::Import(a) => run_import(a),
        SaeCommand::Crossing(a) => run_crossing(a),
        SaeCommand::Synth(a) => run_synth(a),
    }
}

fn bar(len: u64, template: &str) -> ProgressBar {
    let b = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(len)
    } else {
        ProgressBar::hidden()
    };
    b.set_style(
        ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    b
}

fn progress_line(p: &Progress) -> String {
    format!(
        "FVU {:.4}  L0 {:.1}  dead {:.1}%  lr {:.2e}",
        p.fvu,
        p.l0,
        100.0 * p.dead_fraction,
        p.lr
    )
}

fn write_text(path: &Path, s: &str) -> anyhow::Result<()> {
    mirlens_report::write_atomic(path, s.as_bytes())
        .with_context(|| format!("writing {}", path.display()))
}

fn write_json<T: serde::Serialize>(path: &Path, v: &T) -> anyhow::Result<()> {
    write_text(path, &serde_json::to_string_pretty(v)?)
}

fn metrics_summary(m: &EvalMetrics) -> String {
    format!(
        "tokens {}  FVU {:.4} (raw {:.4})  L0 {:.2}  dead {:.2}%  dense {:.2}%  cos {:.4}  |x̂|/|x| {:.4}  bias γ {:.4}",
        m.n_tokens,
        m.fvu,
        m.fvu_raw,
        m.l0,
        100.0 * m.dead_fraction,
        100.0 * m.dense_fraction,
        m.cosine,
        m.l2_ratio,
        m.relative_reconstruction_bias
    )
}

/// Warn about input columns that are constant over every row of `src` (one pass over the rows, in batches).
fn warn_constant_inputs(src: &dyn ActivationSource, layer: usize) -> anyhow::Result<()> {
    let (d, n) = (src.d_in(), src.num_rows());
    if n < 2 || d == 0 {
        return Ok(());
    }
    let mut first = vec![0f32; d];
    src.fill_rows(&[0], &mut first)?;
    let mut constant = vec![true; d];
    let batch = (1 << 20) / d.max(1) + 1;
    let mut buf = vec![0f32; batch * d];
    let mut r = 1;
    while r < n && constant.iter().any(|&c| c) {
        let rows: Vec<usize> = (r..n.min(r + batch)).collect();
        let out = &mut buf[..rows.len() * d];
        src.fill_rows(&rows, out)?;
        for row in out.chunks_exact(d) {
            for ((c, &v), &f) in constant.iter_mut().zip(row).zip(&first) {
                *c &= v == f;
            }
        }
        r += rows.len();
    }
    let idx: Vec<usize> = (0..d).filter(|&j| constant[j]).collect();
    super::neurons::warn_constant_columns(&idx, d, n, &format!("layer {layer}"), "features");
    Ok(())
}

fn run_train(a: TrainArgs) -> anyhow::Result<ExitCode> {
    let src = a.input.open()?;
    warn_constant_inputs(&src, a.input.layer)?;
    let params = a.train.params(src.d_in());
    let plan = params.check(src.d_in(), src.num_rows())?;
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    eprintln!(
        "training {} n={} on {} rows × {} (layer {}), {} steps, lr {:.3e}, dead threshold {} tokens",
        params.arch.name(),
        params.n_latents,
        src.num_rows(),
        src.d_in(),
        a.input.layer,
        plan.steps,
        plan.lr,
        plan.dead_tokens
    );
    let b = bar(
        plan.steps,
        "{bar:30} {pos}/{len} steps {elapsed_precise} eta {eta} {msg}",
    );
    let mut lines = Vec::new();
    let mut cb = |p: &Progress| {
        b.set_position(p.step);
        b.set_message(progress_line(p));
        lines.push(p.clone());
    };
    let out = train(
        &src,
        &params,
        RunOptions {
            checkpoint_dir: Some(a.out.join("checkpoint")),
            checkpoint_every: a.checkpoint_every,
            stop_after: None,
            log_every: a.log_every,
            on_progress: Some(&mut cb),
        },
    )?;
    b.finish_and_clear();
    let metrics = out.eval.clone();
    save_native(
        &a.out,
        &out.sae,
        SaveInfo {
            training: Some(params.clone()),
            plan: Some(out.plan.clone()),
            provenance: Some(src.provenance()),
            metrics: metrics.clone(),
            imported_from: None,
        },
    )?;
    write_json(&a.out.join("progress.json"), &out.history)?;
    if let Some(m) = &metrics {
        write_json(&a.out.join("metrics.json"), m)?;
        write_text(
            &a.out.join("log_density.svg"),
            &mirlens_sae::report::log_density_svg(m, "held-out")?,
        )?;
        println!("{}", metrics_summary(m));
    }
    eprintln!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

fn run_sweep(a: SweepArgs) -> anyhow::Result<ExitCode> {
    let src = a.input.open()?;
    let base = a.train.params(src.d_in());
    std::fs::create_dir_all(&a.out)?;
    let total = (a.expansions.len() * a.ks.len()) as u64;
    let b = bar(
        total,
        "{bar:30} {pos}/{len} SAEs {elapsed_precise} eta {eta} {msg}",
    );
    let res = mirlens_sae::study::sweep(&src, &base, &a.expansions, &a.ks, |i, _, r| {
        b.set_position(i as u64);
        b.set_message(format!(
            "n/d={} K={} FVU {:.4}",
            r.expansion, r.k, r.metrics.fvu
        ));
    })?;
    b.finish_and_clear();
    let t = res.table()?;
    write_text(&a.out.join("sweep.csv"), &t.to_csv())?;
    write_json(&a.out.join("sweep.json"), &res)?;
    write_text(&a.out.join("fvu.svg"), &res.fvu_heatmap()?)?;
    write_text(&a.out.join("dead.svg"), &res.dead_heatmap()?)?;
    write_text(&a.out.join("fvu_lines.svg"), &res.fvu_lines()?)?;
    println!("expansion  k  fvu  l0  dead_fraction");
    for r in &res.rows {
        println!(
            "{} {} {:.4} {:.2} {:.4}",
            r.expansion, r.k, r.metrics.fvu, r.metrics.l0, r.metrics.dead_fraction
        );
    }
    eprintln!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

fn run_eval(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let (sae, _) =
        load_native(&a.sae).with_context(|| format!("loading SAE {}", a.sae.display()))?;
    let src = a.input.open()?;
    let rows: Vec<usize> = (0..src.num_rows()).collect();
    let m = evaluate(&sae, &src, &rows)?;
    println!("{}", metrics_summary(&m));
    if let Some(out) = a.out {
        write_json(&out, &m)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn run_features(a: FeaturesArgs) -> anyhow::Result<ExitCode> {
    let (sae, _) =
        load_native(&a.sae).with_context(|| format!("loading SAE {}", a.sae.display()))?;
    let src = a.input.open()?;
    warn_constant_inputs(&src, a.input.layer)?;
    let p = FeatureParams {
        top_n: a.top,
        hist_bins: 20,
        label_keys: a.labels.clone(),
        tendency_threshold: a.threshold,
    };
    let rep = analyze_features(&sae, &src, None, &p)?;
    std::fs::create_dir_all(&a.out)?;
    write_json(&a.out.join("features.json"), &rep)?;
    let mut keys: Vec<String> = rep
        .features
        .iter()
        .flat_map(|f| f.labels.iter().map(|l| l.key.clone()))
        .collect();
    keys.sort();
    keys.dedup();
    let mut cols: Vec<String> = [
        "feature",
        "fires",
        "density",
        "mean_activation",
        "max_activation",
        "tendency",
        "top_clip",
        "top_time",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    for k in &keys {
        cols.extend([
            format!("{k}_class"),
            format!("{k}_precision"),
            format!("{k}_recall"),
            format!("{k}_mi_bits"),
        ]);
    }
    let mut t = Table::new(cols);
    for f in &rep.features {
        let mut row: Vec<Cell> = vec![
            f.index.into(),
            (f.fires as i64).into(),
            f.density.into(),
            f.mean_activation.into(),
            f.max_activation.into(),
            f.tendency.clone().into(),
            f.top
                .first()
                .map(|e| e.clip_id.clone())
                .unwrap_or_default()
                .into(),
            f.top.first().map_or(f64::NAN, |e| e.time).into(),
        ];
        for k in &keys {
            match f.labels.iter().find(|l| &l.key == k) {
                Some(l) => row.extend([
                    Cell::from(l.class.clone()),
                    l.precision.into(),
                    l.recall.into(),
                    l.mutual_information.into(),
                ]),
                None => row.extend([
                    Cell::from(""),
                    f64::NAN.into(),
                    f64::NAN.into(),
                    f64::NAN.into(),
                ]),
            }
        }
        t.push(row)?;
    }
    write_text(&a.out.join("features.csv"), &t.to_csv())?;
    let mut tt = Table::new(["class", "features", "fraction_of_alive"]);
    let fr = rep.tendency_fractions();
    for (c, n) in &rep.tendency_counts {
        tt.push(vec![
            c.clone().into(),
            (*n).into(),
            fr.get(c).copied().unwrap_or(f64::NAN).into(),
        ])?;
    }
    write_text(&a.out.join("tendency.csv"), &tt.to_csv())?;
    println!("tokens {}  sources {:?}", rep.n_tokens, rep.source_tokens);
    for (c, n) in &rep.tendency_counts {
        println!("{c}: {n}");
    }
    eprintln!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

fn run_export(a: ExportArgs) -> anyhow::Result<ExitCode> {
    let (sae, _) =
        load_native(&a.sae).with_context(|| format!("loading SAE {}", a.sae.display()))?;
    match a.format {
        FormatArg::Saelens => export_saelens(&a.out, &sae, a.hook_name.as_deref())?,
        FormatArg::Sparsify => export_sparsify(&a.out, &sae)?,
    }
    eprintln!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

fn run_import(a: ImportArgs) -> anyhow::Result<ExitCode> {
    let (sae, origin) = match a.format {
        FormatArg::Saelens => (import_saelens(&a.from)?, "saelens"),
        FormatArg::Sparsify => (import_sparsify(&a.from)?, "sparsify"),
    };
    save_native(
        &a.out,
        &sae,
        SaveInfo {
            imported_from: Some(origin.into()),
            ..Default::default()
        },
    )?;
    println!(
        "imported {} SAE: {} d_in={} n={}",
        origin,
        sae.arch.name(),
        sae.d_in,
        sae.n
    );
    Ok(ExitCode::SUCCESS)
}

fn run_crossing(a: CrossingArgs) -> anyhow::Result<ExitCode> {
    if !a.names.is_empty() && a.names.len() != a.stores.len() {
        bail!(
            "--names has {} entries but --stores has {}",
            a.names.len(),
            a.stores.len()
        );
    }
    let srcs: Vec<StoreSource> = a
        .stores
        .iter()
        .map(|s| {
            StoreSource::open(
                s,
                LayerId(a.layer),
                StoreAccess::InMemory,
                a.source_label.as_deref(),
            )
            .with_context(|| format!("opening layer {} of store {}", a.layer, s.display()))
        })
        .collect::<anyhow::Result<_>>()?;
    let d = srcs[0].d_in();
    if let Some(s) = srcs.iter().find(|s| s.d_in() != d) {
        bail!(
            "store {} has width {} but the first store has {d}",
            s.store().dir().display(),
            s.d_in()
        );
    }
    let names: Vec<String> = if a.names.is_empty() {
        a.stores
            .iter()
            .map(|s| {
                s.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            })
            .collect()
    } else {
        a.names.clone()
    };
    let params = a.train.params(d);
    let fp = FeatureParams {
        tendency_threshold: a.threshold,
        ..Default::default()
    };
    let list: Vec<(String, &dyn ActivationSource)> = names
        .iter()
        .cloned()
        .zip(srcs.iter().map(|s| s as &dyn ActivationSource))
        .collect();
    let b = bar(
        list.len() as u64,
        "{bar:30} {pos}/{len} checkpoints {elapsed_precise} {msg}",
    );
    let (res, reports) = mirlens_sae::study::crossing(&list, &params, &fp, |i, _, name| {
        b.set_position(i as u64);
        b.set_message(name.to_string());
    })?;
    b.finish_and_clear();
    std::fs::create_dir_all(&a.out)?;
    write_text(&a.out.join("crossing.csv"), &res.table()?.to_csv())?;
    write_json(&a.out.join("crossing.json"), &res)?;
    write_text(&a.out.join("tendency.svg"), &res.tendency_plot()?)?;
    write_text(&a.out.join("labels.svg"), &res.label_plot()?)?;
    for (name, rep) in names.iter().zip(&reports) {
        write_json(&a.out.join(format!("features-{name}.json")), rep)?;
    }
    for p in &res.points {
        println!(
            "{}: FVU {:.4} L0 {:.2} tendency {:?}",
            p.checkpoint, p.metrics.fvu, p.metrics.l0, p.tendency
        );
    }
    eprintln!("wrote {}", a.out.display());
    Ok(ExitCode::SUCCESS)
}

fn run_synth(a: SynthArgs) -> anyhow::Result<ExitCode> {
    let pl = planted(PlantedParams {
        d: a.d,
        n_true: a.n_true,
        k_true: a.k_true,
        rows: a.rows,
        noise: a.noise,
        seed: a.seed,
        source_exclusive: a.exclusive_sources,
    });
    write_planted_store(&a.out, &pl, "planted-dictionary", 20)?;
    write_text(
        &a.out.join("planted_dictionary.json"),
        &serde_json::to_string(&pl.dictionary)?,
    )?;
    println!("wrote {} rows × {} to {}", a.rows, a.d, a.out.display());
    Ok(ExitCode::SUCCESS)
}

//! `mirlens extract`: dataset → encoder → activation store (resumable, shardable, with progress).

use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mirlens_core::{DType, LayerSelection, Pooling};
use mirlens_datasets::Manifest;
use mirlens_datasets::synth::{ChordsParams, NotesParams, SynthDataset};
use mirlens_extract::{
    BadClipPolicy, ClipSource, Dataset, ExtractParams, FileSource, LOGMEL_MODEL_NAME,
    LogMelEncoder, ModelIdentity, Progress, SynthSource, extract_with, synth_manifest,
};
use mirlens_models::{CandleEncoder, Encoder, LoadOptions, Registry};
use mirlens_store::Part;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// Built-in synthetic dataset names accepted by `--dataset`.
pub const BUILTIN_DATASETS: [&str; 3] = ["synth-notes", "synth-chords", "synth-sequences"];

/// What to do with clips that cannot be decoded or encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnBadClip {
    /// Skip, count and list them in the store manifest.
    Skip,
    /// Stop with an error naming the clip.
    Fail,
}

/// Arguments of `mirlens extract`.
#[derive(Debug, clap::Args)]
pub struct ExtractArgs {
    /// Model: a registry name (`mirlens models list`), a directory with config.json + model.safetensors, or
    /// `logmel` for the log-mel spectrogram baseline (one layer, 128 mel bands at 75 frames/s; docs/baselines.md).
    /// A token language model reads a text dataset; `A,B,…` names a checkpoint series (one store each under
    /// --out; docs/text-models.md).
    #[arg(long, default_value = "", hide_default_value = true)]
    pub model: String,
    /// Dataset: a manifest file (.jsonl or .csv) or a built-in synthetic set (`synth-notes`, `synth-chords`,
    /// `synth-sequences`); frame stores (`--pool none`) of datasets with scores get frame-level labels. For a token
    /// model, a text manifest (.jsonl / .csv with `id`, `text` or `path`, labels) or a folder of .txt files.
    #[arg(long)]
    pub dataset: String,
    /// Hidden states to store: `all`, `last`, or a list such as `0,6,12` or `1-4`.
    #[arg(long, default_value = "all")]
    pub layers: String,
    /// Frame pooling: `none` (one row per frame), `mean` or `max` (one row per clip); token models: `none`, `mean`,
    /// `first` or `last` over each document's stored tokens.
    #[arg(long, default_value = "none")]
    pub pool: String,
    /// Storage dtype: f32, f16 or bf16.
    #[arg(long, default_value = "f32")]
    pub dtype: String,
    /// Output store directory (created, or resumed when it holds an unfinished store of the same run).
    #[arg(long)]
    pub out: PathBuf,
    /// Extract only part i of N (`i/N`, 0-based), e.g. from a Slurm array or Kubernetes indexed job; join the parts
    /// with `mirlens store merge`.
    #[arg(long)]
    pub shard: Option<String>,
    /// Clips per store shard (the unit of atomic commit and resumption).
    #[arg(long, default_value_t = 64)]
    pub clips_per_shard: usize,
    /// Clips per encoder batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Use only the first N clips of the dataset.
    #[arg(long)]
    pub limit: Option<usize>,
    /// Seed of a built-in synthetic dataset.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// What to do with clips that fail to decode or encode.
    #[arg(long, value_enum, default_value = "skip")]
    pub on_bad_clip: OnBadClip,
    /// NaN or infinite activations: `error` (refuse the shard, naming the layer, row and clip), `skip` (drop the
    /// rows that hold any, counted in the manifest) or `keep` (store them, counted).
    #[arg(long, default_value = "error")]
    pub on_nonfinite: mirlens_store::NonFinitePolicy,
    /// Worker threads for decoding (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Clips longer than this many seconds are encoded in overlapping windows (bounded memory; 0 = always full
    /// context; default 30). Part of the store identity when not the default. Token models: body tokens per
    /// window (default 64).
    #[arg(long)]
    pub window: Option<f64>,
    /// Overlap between windows in seconds (centre stitching; docs/encoders.md).
    #[arg(long, default_value_t = DEFAULT_OVERLAP_SECS)]
    pub overlap: f64,
    /// Options of token models and checkpoint series.
    #[command(flatten)]
    pub text: super::extract_text::TextExtractArgs,
}

/// Default window of `extract` for long clips (s): clips up to this length are encoded in full context.
pub const DEFAULT_WINDOW_SECS: f64 = 30.0;
/// Default overlap of consecutive windows (s).
pub const DEFAULT_OVERLAP_SECS: f64 = 5.0;

/// Dataset name, manifest, and the generator of a built-in set.
pub(crate) type LoadedDataset = (String, Manifest, Option<Box<dyn SynthDataset>>);

/// Load the dataset named on the command line: its manifest name, manifest, and (for built-in sets) generator.
pub(crate) fn load_dataset(args: &ExtractArgs) -> anyhow::Result<LoadedDataset> {
    load_dataset_by(&args.dataset, args.seed, args.limit)
}

/// [`load_dataset`] from the dataset name, seed of a built-in set, and clip limit.
pub(crate) fn load_dataset_by(
    dataset: &str,
    seed: u64,
    limit: Option<usize>,
) -> anyhow::Result<LoadedDataset> {
    struct A<'a> {
        dataset: &'a str,
        seed: u64,
        limit: Option<usize>,
    }
    let args = A {
        dataset,
        seed,
        limit,
    };
    let synth: Option<Box<dyn SynthDataset>> = match args.dataset {
        "synth-notes" => Some(Box::new(
            NotesParams {
                seed: args.seed,
                ..NotesParams::default()
            }
            .check()?,
        )),
        "synth-chords" => Some(Box::new(
            ChordsParams {
                seed: args.seed,
                ..ChordsParams::default()
            }
            .check()?,
        )),
        "synth-sequences" => Some(Box::new(
            mirlens_datasets::synth::SequencesParams {
                seed: args.seed,
                ..Default::default()
            }
            .check()?,
        )),
        _ => None,
    };
    let (name, mut manifest) = match &synth {
        Some(ds) => (
            args.dataset.to_string(),
            synth_manifest(ds.as_ref(), args.limit),
        ),
        None => {
            let p = PathBuf::from(args.dataset);
            if !p.is_file() {
                bail!(
                    "dataset {:?} is neither a manifest file nor a built-in set ({})",
                    args.dataset,
                    BUILTIN_DATASETS.join(", ")
                );
            }
            let m = Manifest::read(&p)
                .with_context(|| format!("reading dataset manifest {}", p.display()))?;
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            (name, m)
        }
    };
    if let Some(n) = args.limit {
        manifest.entries.truncate(n);
    }
    Ok((name, manifest, synth))
}

/// The encoder named by `--model`: the log-mel baseline for `logmel`, else a registry name or model directory.
type LoadedEncoder = (
    String,
    ModelIdentity,
    Box<dyn Encoder>,
    Option<mirlens_models::FrameGeometry>,
);

fn load_encoder(model: &str) -> anyhow::Result<LoadedEncoder> {
    if model == LOGMEL_MODEL_NAME {
        return Ok((
            LOGMEL_MODEL_NAME.to_string(),
            LogMelEncoder::identity(),
            Box::new(LogMelEncoder::new()),
            None,
        ));
    }
    let registry = Registry::builtin()?;
    let resolved = registry.resolve(model)?;
    let name = resolved
        .card
        .as_ref()
        .map(|c| c.name.clone())
        .unwrap_or_else(|| {
            resolved
                .dir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| model.to_string())
        });
    let revision = resolved.card.as_ref().map(|c| c.revision.clone());
    let identity = ModelIdentity::from_dir(&name, revision, &resolved.dir)?;
    let encoder = CandleEncoder::load(
        &resolved.dir,
        &LoadOptions {
            name: Some(name.clone()),
            ..LoadOptions::default()
        },
    )
    .with_context(|| format!("loading model {}", resolved.dir.display()))?;
    let geom = encoder.geometry();
    Ok((name, identity, Box::new(encoder), Some(geom)))
}

/// Run `mirlens extract`.
pub fn run(args: ExtractArgs) -> anyhow::Result<ExitCode> {
    if super::extract_text::wants_text(&args)? {
        return super::extract_text::run(args);
    }
    if args.model.is_empty() {
        bail!("--model is required");
    }
    let window = args.window.unwrap_or(DEFAULT_WINDOW_SECS);
    let layers: LayerSelection = args.layers.parse()?;
    let pooling: Pooling = args.pool.parse()?;
    let dtype: DType = args.dtype.parse()?;
    let part = match &args.shard {
        Some(s) => s.parse::<Part>()?,
        None => Part::WHOLE,
    };
    let (name, mut identity, encoder, geom) = load_encoder(&args.model)?;
    if !(window.is_finite() && window >= 0.0 && args.overlap.is_finite() && args.overlap >= 0.0) {
        bail!("--window and --overlap must be finite and ≥ 0");
    }
    let windowed = match geom {
        Some(g) if window > 0.0 => {
            let p = mirlens_models::ChunkParams::from_seconds(
                window,
                args.overlap,
                encoder.spec().sample_rate,
                g.hop,
            );
            if window != DEFAULT_WINDOW_SECS || args.overlap != DEFAULT_OVERLAP_SECS {
                identity.config_hash =
                    format!("{}+window{}/{}", identity.config_hash, p.window, p.overlap);
            }
            Some(
                mirlens_extract::window::Windowed::new(encoder.as_ref(), g, p, pooling)
                    .context("invalid --window/--overlap")?,
            )
        }
        _ => None,
    };
    let encoder: &dyn Encoder = match &windowed {
        Some(w) => w,
        None => encoder.as_ref(),
    };
    let (ds_name, manifest, synth) = load_dataset(&args)?;
    let file_source = FileSource::default();
    let synth_source = synth.as_deref().map(|d| SynthSource { dataset: d });
    let source: &dyn ClipSource = match &synth_source {
        Some(s) => s,
        None => &file_source,
    };
    let dataset = Dataset {
        name: ds_name.clone(),
        manifest: &manifest,
        source,
    };
    let params = ExtractParams {
        layers,
        pooling,
        dtype,
        clips_per_shard: args.clips_per_shard,
        batch_size: args.batch_size,
        part,
        bad_clips: match args.on_bad_clip {
            OnBadClip::Skip => BadClipPolicy::Skip,
            OnBadClip::Fail => BadClipPolicy::Fail,
        },
        on_nonfinite: args.on_nonfinite,
        ..ExtractParams::default()
    };
    let spec = encoder.spec().clone();
    if !args.quiet {
        eprintln!(
            "extracting {} ({} clips) through {} ({} layers, hidden {}, {} Hz) into {} [part {part}]",
            ds_name,
            manifest.len(),
            name,
            spec.num_layers + 1,
            spec.hidden_size,
            spec.sample_rate,
            args.out.display()
        );
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} clips ({per_sec}, ETA {eta}) {msg}",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let (mut clips_run, mut audio_run, mut rows_run, mut bad_run) =
        (0usize, 0.0f64, 0usize, 0usize);
    let summary = pool.install(|| {
        extract_with(
            encoder,
            windowed.as_ref(),
            &identity,
            &dataset,
            &params,
            &args.out,
            &mut |p| match p {
                Progress::Start {
                    clips_total,
                    clips_done,
                    shards_done,
                    shards_total,
                } => {
                    bar.set_length(*clips_total as u64);
                    bar.set_position(*clips_done as u64);
                    bar.reset_eta();
                    if *shards_done > 0 {
                        bar.println(format!(
                            "resuming: {shards_done}/{shards_total} shards already committed"
                        ));
                    }
                }
                Progress::Shard {
                    clips,
                    rows,
                    bad,
                    audio_secs,
                    ..
                } => {
                    clips_run += clips;
                    audio_run += audio_secs;
                    rows_run += rows;
                    bad_run += bad;
                    let secs = started.elapsed().as_secs_f64().max(1e-9);
                    bar.inc(*clips as u64);
                    bar.set_message(format!(
                        "{:.1} clips/s, {:.1} audio-s/s, {rows_run} rows, {bad_run} bad",
                        clips_run as f64 / secs,
                        audio_run / secs
                    ));
                }
                Progress::Finalizing => bar.set_message("computing statistics"),
            },
        )
    });
    bar.finish_and_clear();
    let summary = summary?;
    let secs = started.elapsed().as_secs_f64();
    let m = &summary.manifest;
    println!(
        "wrote {} rows from {} clips ({} layers × {}, {}) to {}",
        m.num_rows,
        m.num_clips,
        m.header.layers.len(),
        m.header.hidden_size,
        m.header.dtype,
        args.out.display()
    );
    println!(
        "this run: {} shard(s) written, {} resumed, {:.2} s, {:.2} clips/s, {:.2} audio-s/s",
        summary.shards_written,
        summary.shards_resumed,
        secs,
        clips_run as f64 / secs.max(1e-9),
        summary.audio_secs / secs.max(1e-9)
    );
    if !m.bad_clips.is_empty() {
        println!(
            "{} bad clip(s) skipped (listed in manifest.json):",
            m.bad_clips.len()
        );
        for b in m.bad_clips.iter().take(10) {
            println!("  {} ({}): {}", b.clip_id, b.path, b.reason);
        }
        if m.bad_clips.len() > 10 {
            println!("  … and {} more", m.bad_clips.len() - 10);
        }
    }
    if m.num_rows == 0 && !m.bad_clips.is_empty() {
        bail!(
            "every clip failed ({} bad clip(s), listed above and in {}); the store holds no activations",
            m.bad_clips.len(),
            args.out.join("manifest.json").display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

//! `mirlens extract` with a token language model: a text dataset (JSONL / CSV manifest or a folder of `.txt`
//! files) → token rows in a store (`mirlens_extract::text`), for one model or a checkpoint series
//! (`--model A,B,…`, `--checkpoints DIR`, `--revisions r1,r2,…`), one store per checkpoint under `--out`.

use super::extract::ExtractArgs;
use anyhow::{Context, bail};
use indicatif::{ProgressBar, ProgressStyle};
use mirlens_core::{DType, LayerSelection};
use mirlens_datasets::TextDataset;
use mirlens_extract::text::{
    BosPolicy, Checkpoint, DEFAULT_WINDOW, TextExtractParams, TextSource, TokenPooling,
    checkpoint_folders, extract_text, hf_revision_dir, text_model_identity,
};
use mirlens_extract::{BadClipPolicy, LOGMEL_MODEL_NAME, Progress};
use mirlens_models::text::config::{is_text_model_type, peek_model_type};
use mirlens_models::{LoadOptions, Registry, TextModel, TextTokenizer, TokenEncoder};
use mirlens_store::Part;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Options of `mirlens extract` that only token models read.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TextExtractArgs {
    /// Token models: body tokens between window starts (default: the window, i.e. no overlap).
    #[arg(long)]
    pub stride: Option<usize>,
    /// Token models: `drop` (default) runs the model on the tokenizer's special tokens (BOS, [CLS] … [SEP]) but
    /// stores only the text's tokens; `keep` stores them too.
    #[arg(long)]
    pub bos: Option<String>,
    /// Token models: at most this many windows per document (the first ones).
    #[arg(long)]
    pub max_windows_per_doc: Option<usize>,
    /// A folder of checkpoint sub-folders (config.json + model.safetensors each), extracted in the order of the
    /// step number in their names into OUT/<sub-folder>/.
    #[arg(long)]
    pub checkpoints: Option<PathBuf>,
    /// HF revisions of `--model` (a hub repo id or registry name) read from the HuggingFace cache
    /// ($HF_HUB_CACHE, $HF_HOME/hub or ~/.cache/huggingface/hub), extracted into OUT/<revision>/.
    #[arg(long, value_delimiter = ',')]
    pub revisions: Vec<String>,
}

/// Whether `args` asks for a text extraction: a checkpoint series, or a model folder whose `config.json` names a
/// token model.
pub fn wants_text(args: &ExtractArgs) -> anyhow::Result<bool> {
    let t = &args.text;
    if t.checkpoints.is_some() || !t.revisions.is_empty() || args.model.contains(',') {
        return Ok(true);
    }
    if args.model.is_empty() || args.model == LOGMEL_MODEL_NAME {
        return Ok(false);
    }
    let Ok(resolved) = Registry::builtin()?.resolve(&args.model) else {
        return Ok(false);
    };
    Ok(peek_model_type(&resolved.dir)
        .ok()
        .flatten()
        .is_some_and(|m| is_text_model_type(&m)))
}

/// (name, folder, revision) of every checkpoint named on the command line.
fn checkpoints(args: &ExtractArgs) -> anyhow::Result<Vec<(Checkpoint, Option<String>)>> {
    let t = &args.text;
    let reg = Registry::builtin()?;
    if let Some(dir) = &t.checkpoints {
        if !t.revisions.is_empty() {
            bail!("give either --checkpoints or --revisions, not both");
        }
        return Ok(checkpoint_folders(dir)?
            .into_iter()
            .map(|c| (c, None))
            .collect());
    }
    if args.model.is_empty() {
        bail!("--model is required (or --checkpoints DIR)");
    }
    if !t.revisions.is_empty() {
        let repo = reg
            .card(&args.model)
            .map(|c| c.hf_repo.clone())
            .unwrap_or_else(|| args.model.clone());
        return t
            .revisions
            .iter()
            .map(|r| {
                let dir = hf_revision_dir(reg.hf_cache(), &repo, r)?;
                Ok((
                    Checkpoint {
                        name: r.clone(),
                        dir,
                    },
                    Some(r.clone()),
                ))
            })
            .collect();
    }
    args.model
        .split(',')
        .map(|m| {
            let r = reg.resolve(m.trim())?;
            let name = r.card.as_ref().map(|c| c.name.clone()).unwrap_or_else(|| {
                r.dir
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| m.to_string())
            });
            let rev = r.card.as_ref().map(|c| c.revision.clone());
            Ok((Checkpoint { name, dir: r.dir }, rev))
        })
        .collect()
}

fn params(args: &ExtractArgs) -> anyhow::Result<TextExtractParams> {
    let window = match args.window {
        None => DEFAULT_WINDOW,
        Some(w) if w >= 1.0 && w.fract() == 0.0 && w <= u32::MAX as f64 => w as usize,
        Some(w) => bail!("--window {w}: a token model's window is a whole number of tokens (≥ 1)"),
    };
    let layers: LayerSelection = args.layers.parse()?;
    let dtype: DType = args.dtype.parse()?;
    Ok(TextExtractParams {
        layers,
        pooling: args.pool.parse::<TokenPooling>()?,
        dtype,
        window,
        stride: args.text.stride.unwrap_or(window),
        bos: args
            .text
            .bos
            .as_deref()
            .unwrap_or("drop")
            .parse::<BosPolicy>()?,
        max_windows_per_doc: args.text.max_windows_per_doc,
        docs_per_shard: args.clips_per_shard,
        batch_size: args.batch_size,
        part: match &args.shard {
            Some(s) => s.parse::<Part>()?,
            None => Part::WHOLE,
        },
        bad_docs: match args.on_bad_clip {
            super::extract::OnBadClip::Skip => BadClipPolicy::Skip,
            super::extract::OnBadClip::Fail => BadClipPolicy::Fail,
        },
        on_nonfinite: args.on_nonfinite,
        ..TextExtractParams::default()
    })
}

/// Run `mirlens extract` on a token model or a checkpoint series.
pub fn run(args: ExtractArgs) -> anyhow::Result<ExitCode> {
    let params = params(&args)?;
    let path = PathBuf::from(&args.dataset);
    let mut ds = TextDataset::read(&path)
        .with_context(|| format!("reading text dataset {}", path.display()))?;
    if let Some(n) = args.limit {
        ds.documents.truncate(n);
    }
    let ds_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| args.dataset.clone());
    let series = checkpoints(&args)?;
    let is_series =
        series.len() > 1 || args.text.checkpoints.is_some() || !args.text.revisions.is_empty();
    // each checkpoint's store is the folder `OUT/<name>`; a name from the command line (a revision such as
    // `refs/pr/1` or a hostile `../x`) becomes one safe path component, so nothing is written outside --out
    let mut names = std::collections::BTreeSet::new();
    for (c, _) in &series {
        if !names.insert(mirlens_audio::paths::safe_name(&c.name).to_lowercase()) {
            bail!("two checkpoints are both named {:?}", c.name);
        }
        let t = peek_model_type(&c.dir)?.unwrap_or_default();
        if !is_text_model_type(&t) {
            bail!(
                "{}: model_type {t:?} is not a token model; a checkpoint series is extracted from text only",
                c.dir.display()
            );
        }
    }
    // one tokenizer for the whole series, so that every store has the same rows
    let tok_files: Vec<PathBuf> = series
        .iter()
        .map(|(c, _)| c.dir.join("tokenizer.json"))
        .filter(|p| p.is_file())
        .collect();
    let Some(tok_file) = tok_files.first().cloned() else {
        bail!(
            "no tokenizer.json in {}",
            series
                .iter()
                .map(|(c, _)| c.dir.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    };
    let tok_bytes =
        std::fs::read(&tok_file).with_context(|| format!("reading {}", tok_file.display()))?;
    for p in &tok_files[1..] {
        if std::fs::read(p).with_context(|| format!("reading {}", p.display()))? != tok_bytes {
            bail!(
                "{} differs from {}: the checkpoints of a series must share one tokenizer",
                p.display(),
                tok_file.display()
            );
        }
    }
    let tokenizer = TextTokenizer::from_file(&tok_file)?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build()?;
    for (c, revision) in &series {
        let out = if is_series {
            args.out.join(mirlens_audio::paths::safe_name(&c.name))
        } else {
            args.out.clone()
        };
        pool.install(|| {
            one(
                &args,
                c,
                revision.clone(),
                &tokenizer,
                &tok_file,
                &ds,
                &ds_name,
                &params,
                &out,
            )
        })?;
    }
    if is_series {
        println!(
            "{} checkpoint store(s) under {}: {}",
            series.len(),
            args.out.display(),
            series
                .iter()
                .map(|(c, _)| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[allow(clippy::too_many_arguments)]
fn one(
    args: &ExtractArgs,
    c: &Checkpoint,
    revision: Option<String>,
    tokenizer: &TextTokenizer,
    tok_file: &Path,
    ds: &TextDataset,
    ds_name: &str,
    params: &TextExtractParams,
    out: &Path,
) -> anyhow::Result<()> {
    let model = TextModel::load(
        &c.dir,
        &LoadOptions {
            name: Some(c.name.clone()),
            ..LoadOptions::default()
        },
    )
    .with_context(|| format!("loading model {}", c.dir.display()))?;
    let identity = text_model_identity(&c.name, revision, &c.dir, tok_file)?;
    let spec = model.spec().clone();
    if !args.quiet {
        eprintln!(
            "extracting {ds_name} ({} documents) through {} ({}, {} layers, hidden {}; window {} stride {} bos {}) into {} [part {}]",
            ds.len(),
            c.name,
            spec.architecture,
            spec.num_layers + 1,
            spec.hidden_size,
            params.window,
            params.stride,
            params.bos,
            out.display(),
            params.part
        );
    }
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(0)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} documents ({per_sec}, ETA {eta}) {msg}",
        )?
        .progress_chars("=> "),
    );
    let started = Instant::now();
    let mut rows_run = 0usize;
    let src = TextSource {
        name: ds_name.to_string(),
        dataset: ds,
    };
    let summary = extract_text(
        &model,
        tokenizer,
        &identity,
        &src,
        params,
        out,
        &mut |p| match p {
            Progress::Start {
                clips_total,
                clips_done,
                shards_done,
                shards_total,
            } => {
                bar.set_length(*clips_total as u64);
                bar.set_position(*clips_done as u64);
                if *shards_done > 0 {
                    bar.println(format!(
                        "resuming: {shards_done}/{shards_total} shards already committed"
                    ));
                }
            }
            Progress::Shard { clips, rows, .. } => {
                rows_run += rows;
                bar.inc(*clips as u64);
                bar.set_message(format!(
                    "{:.0} tokens/s",
                    rows_run as f64 / started.elapsed().as_secs_f64().max(1e-9)
                ));
            }
            Progress::Finalizing => bar.set_message("computing statistics"),
        },
    );
    bar.finish_and_clear();
    let summary = summary?;
    let m = &summary.manifest;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "wrote {} rows ({}) from {} documents ({} layers × {}, {}) to {}",
        m.num_rows,
        m.layout.row_unit,
        m.num_clips,
        m.header.layers.len(),
        m.header.hidden_size,
        m.header.dtype,
        out.display()
    );
    println!(
        "this run: {} shard(s) written, {} resumed, {:.2} s",
        summary.shards_written, summary.shards_resumed, secs
    );
    if !m.bad_clips.is_empty() {
        println!(
            "{} document(s) skipped (listed in manifest.json):",
            m.bad_clips.len()
        );
        for b in m.bad_clips.iter().take(10) {
            println!("  {}: {}", b.clip_id, b.reason);
        }
    }
    if m.num_rows == 0 {
        bail!(
            "no document gave tokens; the store {} holds no activations",
            out.display()
        );
    }
    Ok(())
}

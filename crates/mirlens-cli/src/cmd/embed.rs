//! `mirlens embed`: per-layer encoder activations of audio files, written as `.npy` arrays numpy can load.
//!
//! Output layout, one folder per input file (written to a temporary folder, then renamed):
//! `OUT/<name>/layer_<i>.npy` (`[frames, hidden]` float32, or `[hidden]` with `--pool mean`) and
//! `OUT/<name>/meta.json` (model, backend, layers, sample rate, resampling, normalisation, chunking, conventions).

use anyhow::{Context, bail};
use mirlens_audio::decode::{DecodeOptions, decode_file};
use mirlens_audio::resample::{ResampleQuality, resample};
use mirlens_core::{LayerId, LayerSelection, Pooling};
use mirlens_extract::LOGMEL_MODEL_NAME;
use mirlens_extract::baseline::{LOGMEL_HOP, LogMelEncoder};
use mirlens_models::chunked::{ChunkParams, encode_chunked_with};
use mirlens_models::{
    CandleEncoder, EncodeOptions, Encoder, FinalNorm, FrameGeometry, LayerActivations, LoadOptions,
    Registry, normalize_waveform,
};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Inference backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Backend {
    /// Native candle implementation.
    Candle,
    /// ONNX Runtime (needs the `onnx` cargo feature and an exported `model.onnx`).
    Onnx,
}

/// Per-clip input normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Normalize {
    /// As the checkpoint's `preprocessor_config.json` says (`do_normalize`).
    Auto,
    /// Always normalise to zero mean, unit variance.
    On,
    /// Never normalise.
    Off,
}

/// Convention for the last layer of pre-LN models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LastLayer {
    /// Before the final encoder layer norm (transformers ≥ 5 `hidden_states[-1]`).
    Before,
    /// After it (transformers ≤ 4.57 `hidden_states[-1]`, `last_hidden_state`).
    After,
}

/// Arguments of `mirlens embed`.
#[derive(Debug, clap::Args)]
pub struct EmbedArgs {
    /// Registry name (see `mirlens models list`) or model directory (ONNX: a `.onnx` file or a folder with
    /// `model.onnx`), or `logmel` for the log-mel spectrogram baseline (candle backend only; always full context;
    /// docs/baselines.md).
    #[arg(long)]
    pub model: String,
    /// Audio files or folders (searched recursively for wav, flac, mp3, ogg, m4a, aif/aiff, caf, mka).
    #[arg(required_unless_present_any = ["text", "text_file"])]
    pub inputs: Vec<PathBuf>,
    /// Embed this text with a token language model instead of audio (see `embed_text`).
    #[arg(long)]
    pub text: Option<String>,
    /// Embed the contents of these text files (one output folder each) with a token language model.
    #[arg(long)]
    pub text_file: Vec<PathBuf>,
    /// Layers: `all`, `last`, or a list such as `0,6,12` or `1-4`.
    #[arg(long, default_value = "all")]
    pub layers: String,
    /// Pooling over frames: `none` or `mean` (`max` too).
    #[arg(long, default_value = "none")]
    pub pool: String,
    /// Backend.
    #[arg(long, value_enum, default_value_t = Backend::Candle)]
    pub backend: Backend,
    /// Output folder.
    #[arg(long)]
    pub out: PathBuf,
    /// Window length in seconds for long inputs (0 = full context, whatever the length).
    #[arg(long, default_value_t = 5.0)]
    pub window: f64,
    /// Overlap between windows in seconds (centre stitching; see docs/encoders.md).
    #[arg(long, default_value_t = 1.0)]
    pub overlap: f64,
    /// Per-clip input normalisation.
    #[arg(long, value_enum, default_value_t = Normalize::Auto)]
    pub normalize: Normalize,
    /// Last-layer convention for pre-LN models.
    #[arg(long, value_enum, default_value_t = LastLayer::Before)]
    pub last_layer: LastLayer,
}

const AUDIO_EXT: &[&str] = &[
    "wav", "flac", "mp3", "ogg", "m4a", "aif", "aiff", "caf", "mka", "mp4",
];

/// Audio inputs with their output folder names: the file stem (for a folder input, the path relative to it joined
/// with `__`), made safe by [`mirlens_audio::paths::safe_name`] (never `.`, `..`, a separator or a hidden name) and
/// de-duplicated with `-2`, `-3`, ….
fn collect_inputs(inputs: &[PathBuf]) -> anyhow::Result<Vec<(PathBuf, String)>> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("reading folder {}", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, root, out)?;
            } else if p
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| AUDIO_EXT.contains(&e.to_ascii_lowercase().as_str()))
            {
                let rel = p.strip_prefix(root).unwrap_or(&p).with_extension("");
                let name = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("__");
                out.push((p.clone(), name));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for i in inputs {
        if i.is_dir() {
            walk(i, i, &mut out)?;
        } else if i.exists() {
            // FIFOs and devices are kept so that decoding refuses them by name (without opening them).
            let stem = i
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "input".into());
            out.push((i.clone(), stem));
        } else {
            bail!("{}: no such file or folder", i.display());
        }
    }
    let mut names = mirlens_audio::paths::UniqueNames::new();
    for (_, name) in out.iter_mut() {
        *name = names.claim(name);
    }
    Ok(out)
}

/// Put the finished folder `tmp` (created by this run) at `final_dir`. A folder already there is replaced only if
/// it is an earlier `mirlens embed` output (it has a `meta.json` naming a `hidden_state_convention`): its files of
/// the same names are replaced one by one; nothing else in it is removed. Anything else is left alone and reported.
fn place_output(tmp: &Path, final_dir: &Path) -> anyhow::Result<()> {
    match std::fs::symlink_metadata(final_dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::rename(tmp, final_dir)
                .with_context(|| format!("writing {}", final_dir.display()))?;
            return Ok(());
        }
        Err(e) => {
            return Err(e).with_context(|| format!("reading {}", final_dir.display()));
        }
        Ok(m) if !m.is_dir() => bail!(
            "{} exists and is not a folder written by `mirlens embed`; not replaced (choose another --out)",
            final_dir.display()
        ),
        Ok(_) => {}
    }
    let ours = std::fs::read_to_string(final_dir.join("meta.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .is_some_and(|v| v.get("hidden_state_convention").is_some());
    if !ours {
        bail!(
            "{} exists and is not a folder written by `mirlens embed` (no embed meta.json); not replaced \
             (choose another --out)",
            final_dir.display()
        );
    }
    // meta.json last, so that a folder with a new meta.json holds the new arrays.
    let mut files: Vec<PathBuf> = std::fs::read_dir(tmp)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort_by_key(|p| p.file_name().is_some_and(|n| n == "meta.json"));
    for f in files {
        let name = f.file_name().context("file without a name")?;
        std::fs::rename(&f, final_dir.join(name))
            .with_context(|| format!("writing {}", final_dir.join(name).display()))?;
    }
    std::fs::remove_dir(tmp).with_context(|| format!("removing {}", tmp.display()))?;
    Ok(())
}

/// Create a fresh working folder for `name` under `out` (never one that already exists, so nothing of anyone
/// else's is reused or removed).
fn fresh_tmp_dir(out: &Path, name: &str) -> anyhow::Result<PathBuf> {
    for k in 0..1000u32 {
        let tmp = out.join(format!(".{name}.tmp-{}-{k}", std::process::id()));
        match std::fs::create_dir(&tmp) {
            Ok(()) => return Ok(tmp),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("creating {}", tmp.display())),
        }
    }
    bail!("cannot create a working folder under {}", out.display())
}

/// Write a little-endian float32 `.npy` file (format version 1.0), atomically.
pub fn write_npy(path: &Path, shape: &[usize], data: &[f32]) -> anyhow::Result<()> {
    Ok(mirlens_report::write_atomic(
        path,
        &super::features::npy_bytes(shape, data),
    )?)
}

struct Loaded {
    enc: Box<dyn Encoder>,
    geom: FrameGeometry,
    source: String,
    /// Whether long inputs may be cut into windows (not for the log-mel baseline, whose `top_db` floor is per clip).
    chunkable: bool,
}

fn load_model(args: &EmbedArgs) -> anyhow::Result<Loaded> {
    if args.model == LOGMEL_MODEL_NAME {
        if args.backend == Backend::Onnx {
            bail!(
                "--model logmel is a built-in feature extractor, not a network: it runs only with --backend candle"
            );
        }
        return Ok(Loaded {
            enc: Box::new(LogMelEncoder::new()),
            // unused: the baseline is never chunked
            geom: FrameGeometry::new(&[(1, LOGMEL_HOP)]),
            source: "built-in log-mel baseline".to_string(),
            chunkable: false,
        });
    }
    let reg = Registry::builtin()?;
    match args.backend {
        Backend::Candle => {
            let m = reg.resolve(&args.model)?;
            let name = m.card.as_ref().map(|c| c.name.clone());
            let enc = CandleEncoder::load(
                &m.dir,
                &LoadOptions {
                    name,
                    ..LoadOptions::default()
                },
            )
            .with_context(|| format!("loading {}", m.dir.display()))?;
            let geom = enc.geometry();
            Ok(Loaded {
                enc: Box::new(enc),
                geom,
                source: m.dir.display().to_string(),
                chunkable: true,
            })
        }
        Backend::Onnx => load_onnx(args, &reg),
    }
}

#[cfg(feature = "onnx")]
fn load_onnx(args: &EmbedArgs, reg: &Registry) -> anyhow::Result<Loaded> {
    let p = Path::new(&args.model);
    let path = if p.extension().is_some_and(|e| e == "onnx") && p.is_file() {
        p.to_path_buf()
    } else {
        let m = reg.resolve(&args.model)?;
        let f = m.dir.join("model.onnx");
        if !f.is_file() {
            bail!(
                "{}: no model.onnx; export the checkpoint to ONNX first (see docs/onnx.md) or use --backend candle",
                m.dir.display()
            );
        }
        f
    };
    let enc = mirlens_onnx::OnnxEncoder::load(&path, &mirlens_onnx::OnnxOptions::default())
        .with_context(|| format!("loading {}", path.display()))?;
    // The conv geometry is the checkpoint's: read it from the export's metadata.
    let geom = FrameGeometry::new(
        &enc.meta()
            .conv_kernel
            .iter()
            .copied()
            .zip(enc.meta().conv_stride.iter().copied())
            .collect::<Vec<_>>(),
    );
    Ok(Loaded {
        enc: Box::new(enc),
        geom,
        source: path.display().to_string(),
        chunkable: true,
    })
}

#[cfg(not(feature = "onnx"))]
fn load_onnx(_args: &EmbedArgs, _reg: &Registry) -> anyhow::Result<Loaded> {
    bail!(
        "--backend onnx is not available: this mirlens was built without the `onnx` cargo feature \
         (rebuild with `cargo build --release -p mirlens-cli --features onnx`), or use --backend candle"
    )
}

fn pool_into(acc: &mut [Vec<f64>], a: &LayerActivations, pool: Pooling) {
    let h = a.hidden;
    for (slot, (_, v)) in acc.iter_mut().zip(&a.layers) {
        for row in v.chunks_exact(h) {
            for (s, x) in slot.iter_mut().zip(row) {
                match pool {
                    Pooling::Max => *s = s.max(*x as f64),
                    _ => *s += *x as f64,
                }
            }
        }
    }
}

/// Run `mirlens embed`.
pub fn run(args: EmbedArgs) -> anyhow::Result<ExitCode> {
    if args.text.is_some() || !args.text_file.is_empty() {
        return super::embed_text::run(&args);
    }
    let selection: LayerSelection = args.layers.parse()?;
    let pool: Pooling = args.pool.parse()?;
    if !(args.window.is_finite()
        && args.window >= 0.0
        && args.overlap.is_finite()
        && args.overlap >= 0.0)
    {
        bail!("--window and --overlap must be finite and ≥ 0");
    }
    let files = collect_inputs(&args.inputs)?;
    if files.is_empty() {
        bail!("no audio files found in the inputs");
    }
    let loaded = load_model(&args)?;
    let enc = loaded.enc.as_ref();
    let spec = enc.spec().clone();
    let layers = selection.resolve(spec.num_layers)?;
    let geom = loaded.geom;
    let chunk = if args.window > 0.0 && loaded.chunkable {
        let p = ChunkParams::from_seconds(args.window, args.overlap, spec.sample_rate, geom.hop);
        p.check(&geom)
            .with_context(|| "invalid --window/--overlap")?;
        Some(p)
    } else {
        None
    };
    let normalize = match args.normalize {
        Normalize::Auto => spec.normalize_input,
        Normalize::On => true,
        Normalize::Off => false,
    };
    let opts = EncodeOptions {
        conv_features: false,
        final_norm: match args.last_layer {
            LastLayer::Before => FinalNorm::Before,
            LastLayer::After => FinalNorm::After,
        },
    };
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    eprintln!(
        "model {} ({}), {} Hz, {} layers selected, normalisation {}, {}",
        spec.name,
        loaded.source,
        spec.sample_rate,
        layers.len(),
        if normalize { "per clip" } else { "none" },
        match chunk {
            Some(p) => format!("windows of {} samples with {} overlap", p.window, p.overlap),
            None => "full context".to_string(),
        }
    );
    let bar = indicatif::ProgressBar::new(files.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {elapsed_precise} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    for (path, name) in &files {
        bar.set_message(name.clone());
        let dec = decode_file(path, &DecodeOptions::default())
            .with_context(|| format!("decoding {}", path.display()))?;
        let from = dec.waveform.sample_rate;
        let mut x = if from != spec.sample_rate {
            bar.suspend(|| {
                eprintln!(
                    "notice: {}: resampling {from} Hz -> {} Hz (the model's rate)",
                    path.display(),
                    spec.sample_rate
                )
            });
            resample(
                &dec.waveform.samples,
                from,
                spec.sample_rate,
                ResampleQuality::default(),
            )
            .with_context(|| format!("resampling {}", path.display()))?
        } else {
            dec.waveform.samples
        };
        if normalize {
            normalize_waveform(&mut x);
        }
        // Frames are produced window by window; pooled outputs never hold the whole track.
        let h = spec.hidden_size;
        let mut full: Vec<Vec<f32>> = vec![Vec::new(); layers.len()];
        let init = if pool == Pooling::Max {
            f64::NEG_INFINITY
        } else {
            0.0
        };
        let mut acc: Vec<Vec<f64>> = vec![vec![init; h]; layers.len()];
        let sel = LayerSelection::Some(layers.clone());
        let mut sink = |_: usize, a: LayerActivations| -> Result<(), mirlens_models::ModelError> {
            if pool == Pooling::None {
                for (dst, (_, v)) in full.iter_mut().zip(a.layers) {
                    dst.extend_from_slice(&v);
                }
            } else {
                pool_into(&mut acc, &a, pool);
            }
            Ok(())
        };
        let frames = match chunk {
            Some(p) => encode_chunked_with(enc, &geom, &x, &sel, &opts, &p, &mut sink),
            None => enc.encode(&x, &sel, &opts).and_then(|a| {
                let f = a.frames;
                sink(0, a).map(|_| f)
            }),
        }
        .with_context(|| format!("encoding {}", path.display()))?;

        let final_dir = args.out.join(name);
        let tmp = fresh_tmp_dir(&args.out, name)?;
        let written = (|| -> anyhow::Result<()> {
            for (k, l) in layers.iter().enumerate() {
                let file = tmp.join(format!("layer_{:02}.npy", l.0));
                match pool {
                    Pooling::None => write_npy(&file, &[frames, h], &full[k])?,
                    Pooling::Mean => {
                        let v: Vec<f32> =
                            acc[k].iter().map(|s| (s / frames as f64) as f32).collect();
                        write_npy(&file, &[h], &v)?
                    }
                    Pooling::Max => {
                        let v: Vec<f32> = acc[k].iter().map(|s| *s as f32).collect();
                        write_npy(&file, &[h], &v)?
                    }
                }
            }
            let meta = serde_json::json!({
                "input": path.display().to_string(),
                "model": spec.name,
                "model_source": loaded.source,
                "backend": format!("{:?}", args.backend).to_lowercase(),
                "layers": layers.iter().map(|l: &LayerId| l.0).collect::<Vec<_>>(),
                "frames": frames,
                "hidden_size": h,
                "frame_rate": spec.frame_rate,
                "sample_rate": spec.sample_rate,
                "source_sample_rate": from,
                "resampled": from != spec.sample_rate,
                "input_normalisation": if normalize { "per_clip" } else { "none" },
                "pooling": pool.to_string(),
                "chunking": match chunk {
                    Some(p) => serde_json::json!({"window_samples": p.window, "overlap_samples": p.overlap, "stitching": "centre of overlap"}),
                    None => serde_json::json!("full_context"),
                },
                "hidden_state_convention": "layer 0 = transformers hidden_states[0]; layer i = block i output",
                "last_layer_pre_ln": format!("{:?}", opts.final_norm).to_lowercase(),
            });
            std::fs::write(tmp.join("meta.json"), serde_json::to_string_pretty(&meta)?)?;
            place_output(&tmp, &final_dir)
        })();
        if let Err(e) = written {
            // Only the working folder this run created (and whatever is still in it) is removed.
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(e);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    eprintln!("wrote {} file(s) to {}", files.len(), args.out.display());
    Ok(ExitCode::SUCCESS)
}

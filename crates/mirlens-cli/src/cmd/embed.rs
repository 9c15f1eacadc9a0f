//! `mirlens embed`: per-layer encoder activations of audio files, written as `.npy` arrays numpy can load.
//!
//! Output layout, one folder per input file (written to a temporary folder, then renamed):
//! `OUT/<name>/layer_<i>.npy` (`[frames, hidden]` float32, or `[hidden]` with `--pool mean`) and
//! `OUT/<name>/meta.json` (model, backend, layers, sample rate, resampling, normalisation, chunking, conventions).

use super::array_out::RowWriter;
use anyhow::{Context, bail};
use mirlens_audio::frontend::db::{DbParams, power_to_db};
use mirlens_audio::frontend::mel::MelSpectrogram;
use mirlens_audio::stream::{AudioStream, StreamOptions};
use mirlens_core::{LayerId, LayerSelection, Pooling};
use mirlens_extract::LOGMEL_MODEL_NAME;
use mirlens_extract::baseline::{LOGMEL_HOP, LOGMEL_N_MELS, LogMelEncoder};
use mirlens_models::chunked::{ChunkParams, encode_window};
#[cfg(doc)]
use mirlens_models::normalize_waveform;
use mirlens_models::{
    CandleEncoder, EncodeOptions, Encoder, FinalNorm, FrameGeometry, LayerActivations, LoadOptions,
    Registry,
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

/// Samples (at the model's rate) per decoded chunk.
const STREAM_CHUNK: usize = 65_536;

/// Frames per batch handed on by the streamed log-mel baseline.
const LOGMEL_BATCH: usize = 1024;

/// How each input is embedded. Inputs are streamed: decoded and resampled chunk by chunk (a first pass counts the
/// samples and, with normalisation, a second one takes the mean and variance exactly as
/// [`normalize_waveform`] does), then encoded window by window; pooled outputs keep one running sum per layer and
/// unpooled ones are written to their `.npy` files as the frames come. Only a model run with full context
/// (`--window 0`) holds the whole input (and its activations), as the model needs it at once.
struct Job<'a> {
    enc: &'a dyn Encoder,
    geom: FrameGeometry,
    layers: Vec<LayerId>,
    pool: Pooling,
    normalize: bool,
    chunk: Option<ChunkParams>,
    opts: EncodeOptions,
    logmel: bool,
    rate: u32,
    hidden: usize,
    stream_chunk: usize,
}

/// Result of embedding one input.
struct Embedded {
    frames: usize,
    from: u32,
}

/// Where frames go: running sums (pooling) or one `.npy` per layer.
enum Sink {
    Pooled(Vec<Vec<f64>>, Pooling),
    Rows(Vec<RowWriter>),
}

impl Sink {
    fn take(&mut self, a: &LayerActivations) -> anyhow::Result<()> {
        match self {
            Sink::Pooled(acc, pool) => pool_into(acc, a, *pool),
            Sink::Rows(w) => {
                for (w, (_, v)) in w.iter_mut().zip(&a.layers) {
                    w.push(v)?;
                }
            }
        }
        Ok(())
    }
}

impl Job<'_> {
    fn file(&self, dir: &Path, l: LayerId) -> PathBuf {
        dir.join(format!("layer_{:02}.npy", l.0))
    }

    fn sink(&self, dir: &Path, frames: usize) -> anyhow::Result<Sink> {
        Ok(match self.pool {
            Pooling::None => Sink::Rows(
                self.layers
                    .iter()
                    .map(|&l| RowWriter::create(&self.file(dir, l), frames, self.hidden))
                    .collect::<anyhow::Result<_>>()?,
            ),
            pool => {
                let init = if pool == Pooling::Max {
                    f64::NEG_INFINITY
                } else {
                    0.0
                };
                Sink::Pooled(vec![vec![init; self.hidden]; self.layers.len()], pool)
            }
        })
    }

    fn close(&self, sink: Sink, dir: &Path, frames: usize) -> anyhow::Result<()> {
        match sink {
            Sink::Rows(w) => w.into_iter().try_for_each(RowWriter::commit),
            Sink::Pooled(acc, pool) => {
                for (k, &l) in self.layers.iter().enumerate() {
                    let v: Vec<f32> = match pool {
                        Pooling::Max => acc[k].iter().map(|s| *s as f32).collect(),
                        _ => acc[k].iter().map(|s| (s / frames as f64) as f32).collect(),
                    };
                    write_npy(&self.file(dir, l), &[self.hidden], &v)?;
                }
                Ok(())
            }
        }
    }

    /// Stream `path` at the model's rate, normalised with `norm = (mean, 1/std)`, chunk by chunk.
    fn each_chunk(
        &self,
        path: &Path,
        norm: Option<(f64, f64)>,
        mut f: impl FnMut(&[f32]) -> anyhow::Result<()>,
    ) -> anyhow::Result<u32> {
        let what = || format!("decoding {}", path.display());
        let stream = AudioStream::open(
            path,
            &StreamOptions {
                target_rate: Some(self.rate),
                chunk_frames: self.stream_chunk,
                ..StreamOptions::default()
            },
        )
        .with_context(what)?;
        let from = stream.native_rate();
        for c in stream {
            let mut c = c.with_context(what)?;
            if let Some((mean, inv)) = norm {
                // as `normalize_waveform`
                for v in c.iter_mut() {
                    *v = ((*v as f64 - mean) * inv) as f32;
                }
            }
            f(&c)?;
        }
        Ok(from)
    }

    /// Embed one input into `dir` (one `layer_XX.npy` per selected layer).
    fn embed_one(&self, path: &Path, dir: &Path, say: &dyn Fn(String)) -> anyhow::Result<Embedded> {
        // Pass 1: length (and mean); pass 2 with normalisation: variance.
        let (mut n, mut sum) = (0usize, -0.0f64);
        let from = self.each_chunk(path, None, |c| {
            n += c.len();
            if self.normalize {
                for &v in c {
                    sum += v as f64;
                }
            }
            Ok(())
        })?;
        if from != self.rate {
            say(format!(
                "notice: {}: resampling {from} Hz -> {} Hz (the model's rate)",
                path.display(),
                self.rate
            ));
        }
        let norm = if self.normalize {
            let mean = sum / n as f64;
            let mut var = -0.0f64;
            self.each_chunk(path, None, |c| {
                for &v in c {
                    var += (v as f64 - mean).powi(2);
                }
                Ok(())
            })?;
            Some((mean, 1.0 / (var / n as f64 + 1e-7).sqrt()))
        } else {
            None
        };
        let encoding = || format!("encoding {}", path.display());
        let sel = LayerSelection::Some(self.layers.clone());
        let frames = if self.logmel {
            self.logmel_streamed(path, dir, n, norm)?
        } else if let Some(p) = self.chunk {
            if n < self.geom.receptive_field {
                return Err(mirlens_models::ModelError::InputTooShort {
                    samples: n,
                    receptive_field: self.geom.receptive_field,
                })
                .with_context(encoding);
            }
            let plan = p.plan(n, &self.geom).with_context(encoding)?;
            let mut sink = self.sink(dir, plan.frames)?;
            let mut windows = plan.windows.iter().peekable();
            let (mut buf, mut buf_start) = (Vec::<f32>::new(), 0usize);
            self.each_chunk(path, norm, |c| {
                buf.extend_from_slice(c);
                while let Some(&&w) = windows.peek() {
                    if buf_start + buf.len() < w.1 {
                        break;
                    }
                    let a = encode_window(
                        self.enc,
                        &self.geom,
                        &buf[w.0 - buf_start..w.1 - buf_start],
                        w,
                        &sel,
                        &self.opts,
                    )
                    .with_context(encoding)?;
                    sink.take(&a)?;
                    windows.next();
                    let keep = windows.peek().map_or(buf_start + buf.len(), |w| w.0);
                    buf.drain(..keep - buf_start);
                    buf_start = keep;
                }
                Ok(())
            })?;
            if windows.next().is_some() {
                bail!(
                    "{}: the audio ended before its {n} samples were read",
                    path.display()
                );
            }
            self.close(sink, dir, plan.frames)?;
            plan.frames
        } else {
            // Full context: the model takes the whole input at once.
            let mut x = Vec::with_capacity(n);
            self.each_chunk(path, norm, |c| {
                x.extend_from_slice(c);
                Ok(())
            })?;
            let a = self
                .enc
                .encode(&x, &sel, &self.opts)
                .with_context(encoding)?;
            drop(x);
            let mut sink = self.sink(dir, a.frames)?;
            sink.take(&a)?;
            self.close(sink, dir, a.frames)?;
            a.frames
        };
        Ok(Embedded { frames, from })
    }

    /// The log-mel baseline streamed (equal to [`LogMelEncoder`] on the whole input): one pass for the maximum
    /// (its `top_db` floor is per clip), one for the floored frames.
    fn logmel_streamed(
        &self,
        path: &Path,
        dir: &Path,
        n: usize,
        norm: Option<(f64, f64)>,
    ) -> anyhow::Result<usize> {
        let mel = MelSpectrogram::new(&LogMelEncoder::params())?;
        let db = LogMelEncoder::db_params();
        let db_frame = DbParams { top_db: None, ..db };
        let frames = mel.stft().n_frames(n)?;
        let h = LOGMEL_N_MELS;
        let mut col = vec![0f32; h];
        let mut failed: Option<anyhow::Error> = None;
        // pass A: the maximum in dB
        let mut max = f32::NEG_INFINITY;
        let on_col =
            |v: &[f32], col: &mut Vec<f32>, max: &mut f32, failed: &mut Option<anyhow::Error>| {
                col.copy_from_slice(v);
                if let Err(e) = power_to_db(col, &db_frame) {
                    failed.get_or_insert(e.into());
                }
                *max = col.iter().fold(*max, |m, &x| m.max(x));
            };
        let mut ms = mel.stream();
        self.each_chunk(path, norm, |c| {
            ms.push(c, |_, v| on_col(v, &mut col, &mut max, &mut failed))?;
            Ok(())
        })?;
        ms.finish(|_, v| on_col(v, &mut col, &mut max, &mut failed))?;
        if let Some(e) = failed {
            return Err(e.context(format!("encoding {}", path.display())));
        }
        let floor = db.top_db.map_or(f32::NEG_INFINITY, |t| max - t);
        // pass B: floored frames, handed on in batches
        let mut sink = self.sink(dir, frames)?;
        let mut batch: Vec<f32> = Vec::with_capacity(LOGMEL_BATCH * h);
        let mut err: Option<anyhow::Error> = None;
        let flush = |batch: &mut Vec<f32>, sink: &mut Sink, err: &mut Option<anyhow::Error>| {
            if batch.is_empty() || err.is_some() {
                return;
            }
            let a = LayerActivations {
                frames: batch.len() / h,
                hidden: h,
                layers: self.layers.iter().map(|&l| (l, batch.clone())).collect(),
                conv_features: None,
            };
            if let Err(e) = sink.take(&a) {
                *err = Some(e);
            }
            batch.clear();
        };
        let mut on_frame =
            |v: &[f32], batch: &mut Vec<f32>, sink: &mut Sink, err: &mut Option<anyhow::Error>| {
                col.copy_from_slice(v);
                if let Err(e) = power_to_db(&mut col, &db_frame) {
                    err.get_or_insert(e.into());
                }
                batch.extend(col.iter().map(|&x| x.max(floor)));
                if batch.len() >= LOGMEL_BATCH * h {
                    flush(batch, sink, err);
                }
            };
        let mut ms = mel.stream();
        self.each_chunk(path, norm, |c| {
            ms.push(c, |_, v| on_frame(v, &mut batch, &mut sink, &mut err))?;
            Ok(())
        })?;
        ms.finish(|_, v| on_frame(v, &mut batch, &mut sink, &mut err))?;
        flush(&mut batch, &mut sink, &mut err);
        if let Some(e) = err {
            return Err(e);
        }
        self.close(sink, dir, frames)?;
        Ok(frames)
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
    let job = Job {
        enc,
        geom,
        layers: layers.clone(),
        pool,
        normalize,
        chunk,
        opts,
        logmel: args.model == LOGMEL_MODEL_NAME,
        rate: spec.sample_rate,
        hidden: spec.hidden_size,
        stream_chunk: STREAM_CHUNK,
    };
    for (path, name) in &files {
        bar.set_message(name.clone());
        let final_dir = args.out.join(name);
        let tmp = fresh_tmp_dir(&args.out, name)?;
        let written = (|| -> anyhow::Result<()> {
            let Embedded { frames, from } = job.embed_one(path, &tmp, &|msg| {
                bar.suspend(|| eprintln!("{msg}"));
            })?;
            let meta = serde_json::json!({
                "input": path.display().to_string(),
                "model": spec.name,
                "model_source": loaded.source,
                "backend": format!("{:?}", args.backend).to_lowercase(),
                "layers": layers.iter().map(|l: &LayerId| l.0).collect::<Vec<_>>(),
                "frames": frames,
                "hidden_size": spec.hidden_size,
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
                "last_layer_pre_ln": format!("{:?}", job.opts.final_norm).to_lowercase(),
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

#[cfg(test)]
mod tests {
    use super::*;
    use mirlens_audio::decode::{DecodeOptions, decode_file};
    use mirlens_audio::resample::{ResampleQuality, resample};
    use mirlens_models::chunked::encode_chunked;
    use mirlens_models::normalize_waveform;

    fn read_npy(p: &Path) -> (Vec<usize>, Vec<f32>) {
        let b = std::fs::read(p).unwrap();
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        let h = std::str::from_utf8(&b[10..10 + hl]).unwrap();
        let dims = h[h.find("'shape': (").unwrap() + 10..]
            .split(')')
            .next()
            .unwrap()
            .split(',')
            .filter_map(|d| d.trim().parse().ok())
            .collect();
        let v = b[10 + hl..]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        (dims, v)
    }

    fn signal(n: usize, sr: f32) -> Vec<f32> {
        let mut s = 99u64;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
                let t = i as f32 / sr;
                let gain = if (n / 4..n / 3).contains(&i) {
                    0.7
                } else {
                    0.1
                };
                let v = 0.05 + gain * (2.0 * std::f32::consts::PI * 261.6 * t).sin() + 0.05 * noise;
                (v * 32768.0).round() / 32768.0
            })
            .collect()
    }

    fn job<'a>(
        enc: &'a dyn Encoder,
        geom: FrameGeometry,
        pool: Pooling,
        normalize: bool,
    ) -> Job<'a> {
        let spec = enc.spec();
        Job {
            enc,
            geom,
            layers: LayerSelection::All.resolve(spec.num_layers).unwrap(),
            pool,
            normalize,
            chunk: None,
            opts: EncodeOptions::default(),
            logmel: spec.name == LOGMEL_MODEL_NAME,
            rate: spec.sample_rate,
            hidden: spec.hidden_size,
            stream_chunk: 10_007,
        }
    }

    /// Streamed embedding (many decode chunks, resampling, per-clip normalisation, windows across chunk joins)
    /// writes exactly what the whole-input path computes, pooled and unpooled.
    #[test]
    fn streamed_embedding_equals_the_whole_input_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        // log-mel baseline: a 22.05 kHz file resampled to 24 kHz, per-clip top_db floor
        let wav = dir.path().join("a.wav");
        mirlens_audio::wav::write_wav(
            &wav,
            &signal(200_003, 22_050.0),
            22_050,
            mirlens_audio::wav::WavFormat::Pcm16,
        )
        .unwrap();
        let y = decode_file(&wav, &DecodeOptions::default())
            .unwrap()
            .waveform
            .samples;
        let y24 = resample(&y, 22_050, 24_000, ResampleQuality::default()).unwrap();
        let lm = LogMelEncoder::new();
        let whole = lm
            .encode(&y24, &LayerSelection::All, &EncodeOptions::default())
            .unwrap();
        // tiny wav2vec2 at 16 kHz, normalised, 2000-sample windows with 200 overlap
        let model = CandleEncoder::load(
            root.join("tests/golden/encoders/wav2vec2_group_postln"),
            &LoadOptions::default(),
        )
        .unwrap();
        let wav16 = dir.path().join("b.wav");
        mirlens_audio::wav::write_wav(
            &wav16,
            &signal(50_011, 16_000.0),
            16_000,
            mirlens_audio::wav::WavFormat::Pcm16,
        )
        .unwrap();
        let mut x = decode_file(&wav16, &DecodeOptions::default())
            .unwrap()
            .waveform
            .samples;
        normalize_waveform(&mut x);
        let params = ChunkParams {
            window: 2000,
            overlap: 200,
        };
        let geom = model.geometry();
        let sel = LayerSelection::All;
        let whole_model =
            encode_chunked(&model, &geom, &x, &sel, &EncodeOptions::default(), &params).unwrap();
        assert!(whole_model.layers.len() >= 2);

        let mut checked = 0;
        for pool in [Pooling::None, Pooling::Mean] {
            for (enc, input, reference, normalize, chunk) in [
                (&lm as &dyn Encoder, &wav, &whole, false, None),
                (
                    &model as &dyn Encoder,
                    &wav16,
                    &whole_model,
                    true,
                    Some(params),
                ),
            ] {
                let mut j = job(enc, geom, pool, normalize);
                j.chunk = chunk;
                let out = dir.path().join(format!("out-{checked}"));
                std::fs::create_dir(&out).unwrap();
                let e = j.embed_one(input, &out, &|_| {}).unwrap();
                assert_eq!(e.frames, reference.frames);
                for (l, v) in &reference.layers {
                    let (shape, got) = read_npy(&out.join(format!("layer_{:02}.npy", l.0)));
                    let h = reference.hidden;
                    let expected: Vec<f32> = match pool {
                        Pooling::None => v.clone(),
                        _ => {
                            let mut acc = vec![0f64; h];
                            for row in v.chunks_exact(h) {
                                for (a, x) in acc.iter_mut().zip(row) {
                                    *a += *x as f64;
                                }
                            }
                            acc.iter()
                                .map(|a| (a / reference.frames as f64) as f32)
                                .collect()
                        }
                    };
                    let want_shape = if pool == Pooling::None {
                        vec![reference.frames, h]
                    } else {
                        vec![h]
                    };
                    assert_eq!(shape, want_shape);
                    assert!(
                        got.iter()
                            .zip(&expected)
                            .all(|(a, b)| a.to_bits() == b.to_bits()),
                        "{} layer {}: streamed values differ",
                        enc.spec().name,
                        l.0
                    );
                }
                // nothing but the layer files
                assert_eq!(
                    std::fs::read_dir(&out).unwrap().count(),
                    reference.layers.len()
                );
                checked += 1;
            }
        }
        assert_eq!(checked, 4);
    }
}

//! `mirlens features`: decode audio files, optionally resample, compute a front-end feature and write one array
//! per file (`.npy`, numpy-loadable, or `.safetensors`), shape `[bins, frames]` as librosa returns it.

use super::array_out::{self, FrameSpool};
use anyhow::{Context, bail};
use clap::ValueEnum;
use indicatif::{ProgressBar, ProgressStyle};
use mirlens_audio::decode::{DecodeOptions, decode_file};
use mirlens_audio::frontend::chroma::{ChromaCqtParams, ChromaStftParams, chroma_cqt, chroma_stft};
use mirlens_audio::frontend::cqt::{Cqt, CqtParams};
use mirlens_audio::frontend::db::{DbParams, power_to_db};
use mirlens_audio::frontend::mel::{
    MelNorm, MelParams, MelScale, MelSpectrogram, MelSpectrogramParams, MelStream,
};
use mirlens_audio::frontend::mfcc::{Mfcc, MfccParams};
use mirlens_audio::frontend::stft::{PadMode, Stft, StftParams, StftStream, check_power};
use mirlens_audio::frontend::tuning::Tuning;
use mirlens_audio::frontend::window::{Symmetry, WindowKind, WindowSpec};
use mirlens_audio::frontend::{Complex32, FrontendError, Spectrogram, pow_of_power};
use mirlens_audio::resample::{ResampleQuality, resample};
use mirlens_audio::stream::{AudioStream, StreamOptions};
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Which feature to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// `|STFT|^power` (power 1 = magnitude by default).
    Stft,
    /// Mel spectrogram (power 2 by default).
    Mel,
    /// `power_to_db` of the mel spectrogram.
    Logmel,
    /// MFCC.
    Mfcc,
    /// `|CQT|`.
    Cqt,
    /// Chroma (from the STFT or the CQT, see `--chroma-source`).
    Chroma,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Stft => "stft",
            Kind::Mel => "mel",
            Kind::Logmel => "logmel",
            Kind::Mfcc => "mfcc",
            Kind::Cqt => "cqt",
            Kind::Chroma => "chroma",
        }
    }
}

/// Output file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// NumPy `.npy` (little-endian float32, C order).
    Npy,
    /// safetensors with one tensor `features` and the parameters as metadata.
    Safetensors,
}

/// Analysis window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum WindowArg {
    /// Hann.
    Hann,
    /// Hamming.
    Hamming,
    /// Blackman.
    Blackman,
}

/// Centre padding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PadArg {
    /// Zeros (librosa default).
    Constant,
    /// Mirror without the edge sample (torch default).
    Reflect,
    /// Mirror with the edge sample.
    Symmetric,
    /// Repeat the edge sample.
    Edge,
    /// No centring: frames start at `t · hop`.
    None,
}

/// Mel scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MelScaleArg {
    /// Slaney (librosa default).
    Slaney,
    /// HTK (torchaudio default).
    Htk,
}

/// Mel filter normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MelNormArg {
    /// Slaney area normalisation (librosa default).
    Slaney,
    /// Peak 1 (torchaudio default).
    None,
}

/// Chroma source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ChromaSource {
    /// `chroma_stft`.
    Stft,
    /// `chroma_cqt` (36 bins per octave, 7 octaves).
    Cqt,
}

/// Arguments of `mirlens features`.
#[derive(Debug, clap::Args)]
pub struct FeaturesArgs {
    /// Feature to compute.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// Audio files or directories (searched recursively for wav, flac, mp3, ogg, m4a, aac, aif, aiff).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Output format.
    #[arg(long, value_enum, default_value = "npy")]
    pub format: Format,
    /// Resample to this rate first (Hz); default: keep each file's rate.
    #[arg(long)]
    pub sr: Option<u32>,
    /// FFT size.
    #[arg(long, default_value_t = 2048)]
    pub n_fft: usize,
    /// Hop in samples.
    #[arg(long, default_value_t = 512)]
    pub hop: usize,
    /// Window length (default n_fft; shorter windows are zero-padded centrally).
    #[arg(long)]
    pub win_length: Option<usize>,
    /// Window shape (periodic).
    #[arg(long, value_enum, default_value = "hann")]
    pub window: WindowArg,
    /// Centre padding mode, or `none` for uncentred frames.
    #[arg(long, value_enum, default_value = "constant")]
    pub pad_mode: PadArg,
    /// Exponent of the magnitude (default 1 for stft, 2 for mel/logmel/mfcc).
    #[arg(long)]
    pub power: Option<f32>,
    /// Number of mel bands.
    #[arg(long, default_value_t = 128)]
    pub n_mels: usize,
    /// Lowest mel frequency (Hz).
    #[arg(long, default_value_t = 0.0)]
    pub fmin: f64,
    /// Highest mel frequency (Hz, default sr/2).
    #[arg(long)]
    pub fmax: Option<f64>,
    /// Mel scale.
    #[arg(long, value_enum, default_value = "slaney")]
    pub mel_scale: MelScaleArg,
    /// Mel filter normalisation.
    #[arg(long, value_enum, default_value = "slaney")]
    pub mel_norm: MelNormArg,
    /// dB clipping below the global maximum (logmel, mfcc); negative disables clipping.
    #[arg(long, default_value_t = 80.0)]
    pub top_db: f32,
    /// Number of MFCCs.
    #[arg(long, default_value_t = 20)]
    pub n_mfcc: usize,
    /// MFCC liftering coefficient (0 = none).
    #[arg(long, default_value_t = 0.0)]
    pub lifter: f32,
    /// Number of CQT bins.
    #[arg(long, default_value_t = 84)]
    pub n_bins: usize,
    /// CQT bins per octave.
    #[arg(long, default_value_t = 12)]
    pub bins_per_octave: usize,
    /// Lowest CQT frequency (Hz, default C1 = 32.70 Hz).
    #[arg(long)]
    pub cqt_fmin: Option<f64>,
    /// Chroma source.
    #[arg(long, value_enum, default_value = "stft")]
    pub chroma_source: ChromaSource,
    /// Tuning in fractions of a bin, or `estimate` (chroma default) — CQT default 0.
    #[arg(long)]
    pub tuning: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub jobs: Option<usize>,
}

const AUDIO_EXTENSIONS: &[&str] = &[
    "wav", "flac", "mp3", "ogg", "oga", "m4a", "mp4", "aac", "aif", "aiff",
];

fn collect_inputs(inputs: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in inputs {
        if p.is_dir() {
            let mut stack = vec![p.clone()];
            let mut found = Vec::new();
            while let Some(d) = stack.pop() {
                let Ok(rd) = std::fs::read_dir(&d) else {
                    // an unreadable directory is reported as a failed input
                    found.push(d);
                    continue;
                };
                for e in rd.flatten() {
                    let path = e.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if path.extension().and_then(|x| x.to_str()).is_some_and(|x| {
                        AUDIO_EXTENSIONS.contains(&x.to_ascii_lowercase().as_str())
                    }) {
                        found.push(path);
                    }
                }
            }
            found.sort();
            out.extend(found);
        } else {
            // missing files are kept so they are reported as failures
            out.push(p.clone());
        }
    }
    out
}

/// Output stems: the file stem made safe by [`mirlens_audio::paths::safe_name`] (never `.`, `..`, a separator or a
/// hidden name), de-duplicated with `-2`, `-3`, … in input order.
fn output_stems(files: &[PathBuf]) -> Vec<String> {
    let mut names = mirlens_audio::paths::UniqueNames::new();
    files
        .iter()
        .map(|f| {
            let stem = f
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "audio".to_string());
            names.claim(&stem)
        })
        .collect()
}

fn parse_tuning(s: &Option<String>, default: Tuning) -> anyhow::Result<Tuning> {
    match s.as_deref() {
        None => Ok(default),
        Some("estimate") => Ok(Tuning::Estimate),
        Some(v) => {
            let t: f64 = v.parse().with_context(|| {
                format!("--tuning: expected a number in [-0.5, 0.5) or `estimate`, got {v:?}")
            })?;
            Ok(Tuning::Fixed(t))
        }
    }
}

impl FeaturesArgs {
    fn stft_params(&self) -> StftParams {
        let kind = match self.window {
            WindowArg::Hann => WindowKind::Hann,
            WindowArg::Hamming => WindowKind::Hamming,
            WindowArg::Blackman => WindowKind::Blackman,
        };
        let (center, pad_mode) = match self.pad_mode {
            PadArg::Constant => (true, PadMode::Constant),
            PadArg::Reflect => (true, PadMode::Reflect),
            PadArg::Symmetric => (true, PadMode::Symmetric),
            PadArg::Edge => (true, PadMode::Edge),
            PadArg::None => (false, PadMode::Constant),
        };
        StftParams {
            n_fft: self.n_fft,
            hop_length: Some(self.hop),
            win_length: self.win_length,
            window: WindowSpec {
                kind,
                symmetry: Symmetry::Periodic,
            },
            center,
            pad_mode,
        }
    }

    fn mel_params(&self, sr: f64) -> MelSpectrogramParams {
        MelSpectrogramParams {
            stft: self.stft_params(),
            mel: MelParams {
                sr,
                n_fft: self.n_fft,
                n_mels: self.n_mels,
                fmin: self.fmin,
                fmax: self.fmax,
                scale: match self.mel_scale {
                    MelScaleArg::Slaney => MelScale::Slaney,
                    MelScaleArg::Htk => MelScale::Htk,
                },
                norm: match self.mel_norm {
                    MelNormArg::Slaney => MelNorm::Slaney,
                    MelNormArg::None => MelNorm::None,
                },
                ..MelParams::default()
            },
            power: self.power.unwrap_or(2.0),
        }
    }

    fn db(&self) -> DbParams {
        DbParams {
            top_db: (self.top_db >= 0.0).then_some(self.top_db),
            ..DbParams::power()
        }
    }

    fn cqt_params(&self, sr: f64) -> anyhow::Result<CqtParams> {
        Ok(CqtParams {
            sr,
            hop_length: self.hop,
            fmin: self.cqt_fmin,
            n_bins: self.n_bins,
            bins_per_octave: self.bins_per_octave,
            tuning: parse_tuning(&self.tuning, Tuning::Fixed(0.0))?,
            ..CqtParams::default()
        })
    }

    /// Validate every parameter once, before touching any file, at a nominal rate.
    fn check(&self) -> anyhow::Result<()> {
        let sr = self.sr.map(f64::from).unwrap_or(22050.0);
        let r: Result<(), FrontendError> = match self.kind {
            Kind::Stft => Stft::new(&self.stft_params()).map(|_| ()),
            Kind::Mel | Kind::Logmel => MelSpectrogram::new(&self.mel_params(sr)).map(|_| ()),
            Kind::Mfcc => Mfcc::new(&self.mfcc_params(sr)).map(|_| ()),
            Kind::Cqt => self.cqt_params(sr)?.check(),
            Kind::Chroma => Stft::new(&self.stft_params()).map(|_| ()),
        };
        if self.sr == Some(0) {
            bail!("invalid parameter `--sr`: expected a sample rate > 0 Hz, got 0");
        }
        if self.sr.is_some()
            || !matches!(self.kind, Kind::Mel | Kind::Logmel | Kind::Mfcc | Kind::Cqt)
        {
            r?;
        } else if let Err(e) = r {
            // rate-dependent checks (fmax ≤ sr/2, CQT top bin) are repeated per file with its own rate
            if !matches!(
                e,
                FrontendError::InvalidParameter {
                    parameter: "fmax",
                    ..
                } | FrontendError::CqtAboveNyquist { .. }
            ) {
                return Err(e.into());
            }
        }
        parse_tuning(&self.tuning, Tuning::Estimate)?;
        Ok(())
    }

    fn mfcc_params(&self, sr: f64) -> MfccParams {
        MfccParams {
            mel: self.mel_params(sr),
            db: self.db(),
            n_mfcc: self.n_mfcc,
            lifter: self.lifter,
        }
    }

    fn compute(&self, y: &[f32], sr: f64) -> anyhow::Result<Spectrogram> {
        Ok(match self.kind {
            Kind::Stft => {
                Stft::new(&self.stft_params())?.spectrogram(y, self.power.unwrap_or(1.0))?
            }
            Kind::Mel => MelSpectrogram::new(&self.mel_params(sr))?.compute(y)?,
            Kind::Logmel => {
                let mut m = MelSpectrogram::new(&self.mel_params(sr))?.compute(y)?;
                power_to_db(&mut m.data, &self.db())?;
                m
            }
            Kind::Mfcc => Mfcc::new(&self.mfcc_params(sr))?.compute(y)?,
            Kind::Cqt => {
                let p = self.cqt_params(sr)?;
                Cqt::for_signal(&p, y)?.0.magnitude(y)?
            }
            Kind::Chroma => match self.chroma_source {
                ChromaSource::Stft => {
                    let p = ChromaStftParams {
                        sr,
                        stft: self.stft_params(),
                        tuning: parse_tuning(&self.tuning, Tuning::Estimate)?,
                        n_chroma: 12,
                    };
                    chroma_stft(&p, y)?.0
                }
                ChromaSource::Cqt => {
                    let mut p = ChromaCqtParams::librosa(sr);
                    p.cqt.hop_length = self.hop;
                    p.cqt.fmin = self.cqt_fmin;
                    p.cqt.tuning = parse_tuning(&self.tuning, Tuning::Estimate)?;
                    chroma_cqt(&p, y)?.0
                }
            },
        })
    }

    fn metadata(&self, sr: u32, source: &Path) -> BTreeMap<String, String> {
        let mut m = BTreeMap::new();
        m.insert("kind".into(), self.kind.name().into());
        m.insert("sample_rate".into(), sr.to_string());
        m.insert("source".into(), source.display().to_string());
        m.insert("n_fft".into(), self.n_fft.to_string());
        m.insert("hop_length".into(), self.hop.to_string());
        m.insert("layout".into(), "[bins, frames]".into());
        m.insert("mirlens".into(), env!("CARGO_PKG_VERSION").into());
        match self.kind {
            Kind::Mel | Kind::Logmel | Kind::Mfcc => {
                m.insert("n_mels".into(), self.n_mels.to_string());
                m.insert(
                    "mel_scale".into(),
                    format!("{:?}", self.mel_scale).to_lowercase(),
                );
                m.insert(
                    "mel_norm".into(),
                    format!("{:?}", self.mel_norm).to_lowercase(),
                );
            }
            Kind::Cqt => {
                m.insert("n_bins".into(), self.n_bins.to_string());
                m.insert("bins_per_octave".into(), self.bins_per_octave.to_string());
            }
            _ => {}
        }
        m
    }
}

/// The bytes of a `.npy` file (format 1.0) holding a C-order little-endian float32 array.
pub fn npy_bytes(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let dims = match shape {
        [n] => format!("({n},)"),
        _ => format!(
            "({})",
            shape
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {dims}, }}");
    // magic (6) + version (2) + length (2) + header + '\n' must be a multiple of 64
    let total = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - total % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + 4 * data.len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in data {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    Ok(mirlens_report::write_atomic(path, bytes)?)
}

/// Where one input's array was written and its shape, or why it failed.
type FileOutcome = anyhow::Result<(PathBuf, [usize; 2])>;

/// Samples per decoded chunk when streaming.
const STREAM_CHUNK: usize = 65_536;

fn output_path(args: &FeaturesArgs, stem: &str) -> PathBuf {
    let ext = match args.format {
        Format::Npy => "npy",
        Format::Safetensors => "safetensors",
    };
    args.out.join(format!("{stem}.{}.{ext}", args.kind.name()))
}

fn process(args: &FeaturesArgs, file: &Path, stem: &str) -> FileOutcome {
    match args.kind {
        Kind::Stft | Kind::Mel | Kind::Logmel | Kind::Mfcc => {
            process_streaming(args, file, stem, STREAM_CHUNK)
        }
        Kind::Cqt | Kind::Chroma => process_whole(args, file, stem),
    }
}

/// The frame-by-frame front ends, fed as the audio is decoded.
enum Front {
    Stft(StftStream, f32),
    Mel(MelStream),
}

/// Where streamed frames go: optionally to dB (elementwise), then to the spool; the first error is kept.
struct FrameSink {
    spool: FrameSpool,
    to_db: bool,
    db_frame: DbParams,
    max: f32,
    frame: Vec<f32>,
    failed: Option<anyhow::Error>,
}

impl FrameSink {
    fn put_bins(&mut self, power: f32, bins: &[Complex32]) {
        let mut col = std::mem::take(&mut self.frame);
        // the same arithmetic as `Stft::spectrogram`
        for (d, c) in col.iter_mut().zip(bins) {
            *d = pow_of_power(c.re * c.re + c.im * c.im, power);
        }
        self.frame = col;
        self.finish_frame();
    }

    fn put(&mut self, col: &[f32]) {
        self.frame.copy_from_slice(col);
        self.finish_frame();
    }

    fn finish_frame(&mut self) {
        if self.failed.is_some() {
            return;
        }
        if self.to_db {
            if let Err(e) = power_to_db(&mut self.frame, &self.db_frame) {
                self.failed = Some(e.into());
                return;
            }
            self.max = self.frame.iter().fold(self.max, |m, &v| m.max(v));
        }
        if let Err(e) = self.spool.push(&self.frame) {
            self.failed = Some(e);
        }
    }
}

/// STFT, mel, log-mel and MFCC in bounded memory: the file is decoded (and resampled) in chunks of `chunk`
/// samples, frames are computed as they complete and spooled to disk, then written transposed as `[bins, frames]`
/// (the `top_db` floor, which needs the maximum of the whole output, and the DCT of MFCCs are applied on the way).
/// The values equal [`FeaturesArgs::compute`] on the whole decoded signal.
fn process_streaming(args: &FeaturesArgs, file: &Path, stem: &str, chunk: usize) -> FileOutcome {
    let stream = AudioStream::open(
        file,
        &StreamOptions {
            target_rate: args.sr,
            chunk_frames: chunk,
            ..StreamOptions::default()
        },
    )?;
    let sr = stream.sample_rate();
    let at = |e: FrontendError| anyhow::Error::new(e).context(format!("{}", file.display()));
    let (mut front, bins) = match args.kind {
        Kind::Stft => {
            let power = args.power.unwrap_or(1.0);
            check_power(power).map_err(at)?;
            let st = Stft::new(&args.stft_params()).map_err(at)?;
            let bins = st.n_bins();
            (Front::Stft(st.stream(), power), bins)
        }
        _ => {
            let m = MelSpectrogram::new(&args.mel_params(sr as f64)).map_err(at)?;
            (Front::Mel(m.stream()), args.n_mels)
        }
    };
    let mfcc = match args.kind {
        Kind::Mfcc => Some(Mfcc::new(&args.mfcc_params(sr as f64)).map_err(at)?),
        _ => None,
    };
    let to_db = matches!(args.kind, Kind::Logmel | Kind::Mfcc);
    let db = args.db();
    // dB per frame with a fixed reference is elementwise; only the floor needs the whole output
    let db_frame = DbParams { top_db: None, ..db };
    let dest = output_path(args, stem);
    let mut sink = FrameSink {
        spool: FrameSpool::create(&dest, bins)?,
        to_db,
        db_frame,
        max: f32::NEG_INFINITY,
        frame: vec![0f32; bins],
        failed: None,
    };
    for c in stream {
        let c = c?;
        match &mut front {
            Front::Stft(st, power) => {
                let p = *power;
                st.push(&c, |_, b| sink.put_bins(p, b)).map_err(at)?
            }
            Front::Mel(m) => m.push(&c, |_, v| sink.put(v)).map_err(at)?,
        }
    }
    match &mut front {
        Front::Stft(st, power) => {
            let p = *power;
            st.finish(|_, b| sink.put_bins(p, b)).map_err(at)?
        }
        Front::Mel(m) => m.finish(|_, v| sink.put(v)).map_err(at)?,
    };
    let FrameSink {
        spool, max, failed, ..
    } = sink;
    if let Some(e) = failed {
        return Err(e.context(format!("{}", file.display())));
    }
    let floor = match (to_db, db.top_db) {
        (true, Some(top)) => max - top,
        _ => f32::NEG_INFINITY,
    };
    let out_bins = mfcc.as_ref().map_or(bins, |m| m.n_mfcc());
    let frames = spool.frames();
    let header = |frames: usize| match args.format {
        Format::Npy => array_out::npy_header(&[out_bins, frames]),
        Format::Safetensors => {
            array_out::safetensors_header("features", &[out_bins, frames], &args.metadata(sr, file))
        }
    };
    let mut floored = vec![0f32; bins];
    spool.finish_transposed(out_bins, header, |f, out| {
        if to_db {
            for (d, &v) in floored.iter_mut().zip(f) {
                *d = v.max(floor);
            }
        } else {
            floored.copy_from_slice(f);
        }
        match &mfcc {
            Some(m) => m.frame_from_log_mel(&floored, out),
            None => out.copy_from_slice(&floored),
        }
    })?;
    Ok((dest, [out_bins, frames]))
}

/// CQT and chroma (whose filters span many frames, and whose tuning estimate uses the whole signal): the whole
/// file is decoded and held.
fn process_whole(args: &FeaturesArgs, file: &Path, stem: &str) -> FileOutcome {
    let decoded = decode_file(file, &DecodeOptions::default())?;
    let mut y = decoded.waveform.samples;
    let mut sr = decoded.waveform.sample_rate;
    if let Some(target) = args.sr
        && target != sr
    {
        y = resample(&y, sr, target, ResampleQuality::default())
            .with_context(|| format!("{}: resampling", file.display()))?;
        sr = target;
    }
    let s = args
        .compute(&y, sr as f64)
        .with_context(|| format!("{}", file.display()))?;
    let shape = s.shape();
    let p = output_path(args, stem);
    match args.format {
        Format::Npy => write_atomic(&p, &npy_bytes(&shape, &s.data))?,
        Format::Safetensors => {
            let bytes: Vec<u8> = s.data.iter().flat_map(|v| v.to_le_bytes()).collect();
            let view = safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                shape.to_vec(),
                &bytes,
            )?;
            let meta: HashMap<String, String> = args.metadata(sr, file).into_iter().collect();
            let buf = safetensors::serialize([("features", view)], Some(meta))?;
            write_atomic(&p, &buf)?;
        }
    }
    Ok((p, shape))
}

/// Run `mirlens features`.
pub fn run(args: FeaturesArgs) -> anyhow::Result<ExitCode> {
    args.check()?;
    let files = collect_inputs(&args.inputs);
    if files.is_empty() {
        bail!(
            "no audio files found in {:?} (looked for {})",
            args.inputs,
            AUDIO_EXTENSIONS.join(", ")
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: cannot create output directory", args.out.display()))?;
    let stems = output_stems(&files);
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(files.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} files {elapsed_precise} eta {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(args.jobs.unwrap_or(0))
        .build()?;
    let started = std::time::Instant::now();
    let results: Vec<(PathBuf, FileOutcome)> = pool.install(|| {
        files
            .par_iter()
            .zip(stems.par_iter())
            .map(|(f, stem)| {
                let r = process(&args, f, stem);
                bar.inc(1);
                (f.clone(), r)
            })
            .collect()
    });
    bar.finish_and_clear();
    let mut failed = Vec::new();
    let mut ok = 0usize;
    for (f, r) in &results {
        match r {
            Ok((out, shape)) => {
                ok += 1;
                println!(
                    "{} -> {} [{} x {}]",
                    f.display(),
                    out.display(),
                    shape[0],
                    shape[1]
                );
            }
            Err(e) => {
                let msg = format!("{e:#}");
                let name = f.display().to_string();
                failed.push(if msg.starts_with(&name) {
                    msg
                } else {
                    format!("{name}: {msg}")
                });
            }
        }
    }
    println!(
        "features: {ok} of {} files written to {} ({}, {:.2} s)",
        results.len(),
        args.out.display(),
        args.kind.name(),
        started.elapsed().as_secs_f64()
    );
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{} file(s) failed:", failed.len());
        for f in &failed {
            eprintln!("  {f}");
        }
        Ok(ExitCode::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_parsable() {
        let b = npy_bytes(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        assert_eq!((10 + hl) % 64, 0);
        let h = std::str::from_utf8(&b[10..10 + hl]).unwrap();
        assert!(h.contains("'shape': (2, 3)") && h.ends_with('\n'));
        assert_eq!(b.len(), 10 + hl + 24);
        assert_eq!(
            f32::from_le_bytes(b[10 + hl + 4..10 + hl + 8].try_into().unwrap()),
            2.0
        );
    }

    fn parse(args: &[&str]) -> FeaturesArgs {
        #[derive(clap::Parser)]
        struct T {
            #[command(flatten)]
            a: FeaturesArgs,
        }
        let mut v = vec!["features"];
        v.extend_from_slice(args);
        <T as clap::Parser>::try_parse_from(v).unwrap().a
    }

    /// The data of a float32 `.npy` or of the `features` tensor of a safetensors file, with its shape.
    fn load(path: &Path) -> ([usize; 2], Vec<f32>) {
        let b = std::fs::read(path).unwrap();
        if path.extension().is_some_and(|e| e == "safetensors") {
            let st = safetensors::SafeTensors::deserialize(&b).unwrap();
            let t = st.tensor("features").unwrap();
            let v = t
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes(c.try_into().unwrap()))
                .collect();
            return ([t.shape()[0], t.shape()[1]], v);
        }
        let hl = u16::from_le_bytes([b[8], b[9]]) as usize;
        let h = std::str::from_utf8(&b[10..10 + hl]).unwrap();
        let dims: Vec<usize> = h[h.find("'shape': (").unwrap() + 10..]
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
        ([dims[0], dims[1]], v)
    }

    /// A seeded 16-bit signal: tones, clicks and noise, with a loud middle (so the dB floor matters).
    fn signal(n: usize) -> Vec<f32> {
        let mut s = 12345u64;
        (0..n)
            .map(|i| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let noise = ((s >> 40) as f32 / (1u64 << 24) as f32) - 0.5;
                let t = i as f32 / 22_050.0;
                let gain = if (n / 3..n / 2).contains(&i) {
                    0.8
                } else {
                    0.05
                };
                let v = gain * (2.0 * std::f32::consts::PI * 330.0 * t).sin()
                    + if i % 5003 == 0 { 0.3 } else { 0.0 }
                    + 0.02 * noise;
                (v * 32768.0).round() / 32768.0
            })
            .collect()
    }

    /// Streamed features (decoded in many chunks, frames spooled over several blocks, both centre paddings) equal
    /// the whole-signal computation bit for bit, resampled or not (the streaming resampler gives the same samples).
    #[test]
    fn streamed_features_equal_the_whole_signal_path() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("long.wav");
        let y = signal(300_001);
        mirlens_audio::wav::write_wav(&wav, &y, 22_050, mirlens_audio::wav::WavFormat::Pcm16)
            .unwrap();
        let out = dir.path().join("out");
        std::fs::create_dir(&out).unwrap();
        let o = out.to_str().unwrap();
        let w = wav.to_str().unwrap();
        let cases: Vec<Vec<&str>> = vec![
            vec![
                "--kind",
                "stft",
                "--n-fft",
                "512",
                "--hop",
                "64",
                "--pad-mode",
                "reflect",
            ],
            vec!["--kind", "mel", "--hop", "64"],
            vec!["--kind", "logmel", "--hop", "64", "--pad-mode", "edge"],
            vec!["--kind", "logmel", "--format", "safetensors"],
            vec!["--kind", "mfcc", "--hop", "64", "--lifter", "22"],
            vec!["--kind", "logmel", "--sr", "16000", "--hop", "160"],
            vec![
                "--kind",
                "stft",
                "--pad-mode",
                "none",
                "--n-fft",
                "1024",
                "--hop",
                "300",
            ],
        ];
        let decoded = decode_file(&wav, &DecodeOptions::default()).unwrap();
        for (k, opts) in cases.iter().enumerate() {
            let mut a = opts.clone();
            a.extend_from_slice(&[w, "--out", o]);
            let args = parse(&a);
            let stem = format!("case{k}");
            let (path, shape) = process_streaming(&args, &wav, &stem, 10_007).unwrap();
            let (got_shape, got) = load(&path);
            let (yy, sr) = match args.sr {
                Some(t) => (
                    resample(
                        &decoded.waveform.samples,
                        22_050,
                        t,
                        ResampleQuality::default(),
                    )
                    .unwrap(),
                    t,
                ),
                None => (decoded.waveform.samples.clone(), 22_050),
            };
            let whole = args.compute(&yy, sr as f64).unwrap();
            assert_eq!(shape, whole.shape(), "case {k}");
            assert_eq!(got_shape, whole.shape(), "case {k}");
            assert!(
                got.iter()
                    .zip(&whole.data)
                    .all(|(a, b)| a.to_bits() == b.to_bits()),
                "case {k}: streamed values differ from the whole-signal path"
            );
            if shape[1] > 4096 {
                // more frames than one transposition block
                assert!(k < 3 || k == 4, "case {k}");
            }
        }
        // only the outputs are left (no spool or temporary files)
        let mut names: Vec<String> = std::fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names.len(), cases.len(), "{names:?}");
        assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
    }

    #[test]
    fn duplicate_stems_get_suffixes() {
        let s = output_stems(&[
            PathBuf::from("a/x.wav"),
            PathBuf::from("b/x.flac"),
            PathBuf::from("y.mp3"),
        ]);
        assert_eq!(s, vec!["x", "x-2", "y"]);
    }
}

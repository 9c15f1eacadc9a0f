//! # mirlens-extract
//!
//! Extraction orchestration: a dataset manifest is decoded and resampled clip by clip, pushed through an
//! [`Encoder`] in batches, and written shard by shard into an activation store ([`mirlens_store`]).
//!
//! This crate sits between the model/data side (`mirlens-models`, `mirlens-datasets`, `mirlens-audio`) and the
//! store, so that `mirlens-store` itself stays analysis-only (it depends on `mirlens-core` alone) and analysis crates
//! never link audio or model code.
//!
//! * **Parallel and batched**: the clips of a shard are decoded and resampled in parallel (rayon), then encoded in
//!   batches of [`ExtractParams::batch_size`] clips.
//! * **Resumable**: shard `k` always holds clips `k*clips_per_shard ..` of the manifest and is committed atomically
//!   through the store's journal; rerunning the same command after an interruption (even `kill -9`) skips the
//!   committed shards and produces byte-identical files.
//! * **Bad clips** (missing file, corrupt audio, too short for the model) are skipped, counted and listed in the
//!   store manifest ([`BadClipPolicy::Skip`]), or stop the run ([`BadClipPolicy::Fail`]).
//! * **Sharded over machines**: [`ExtractParams::part`] `i/N` extracts a disjoint contiguous block of shards;
//!   [`merge`] joins the N part stores into exactly the store a single job would have written.
//! * **Input-feature control**: [`baseline::LogMelEncoder`] (model name `logmel`) is a one-layer encoder whose layer 0
//!   is the log-mel spectrogram, so the probing baseline is extracted exactly like a model layer.

use mirlens_audio::Waveform;
use mirlens_audio::decode::{ChannelPolicy, DecodeOptions, decode_file};
use mirlens_audio::resample::{ResampleQuality, resample};
use mirlens_core::{CoreError, DType, LayerId, LayerSelection, Pooling};
use mirlens_datasets::synth::SynthDataset;
use mirlens_datasets::{Manifest, ManifestEntry};
use mirlens_models::{EncodeOptions, Encoder, ModelError, normalize_waveform};
use mirlens_store::{
    BadClip, ClipEntry, LabelField, LabelKind, LabelLevel, LabelSchema, ModelCard, NonFinitePolicy,
    Part, ShardColumns, SpanUnit, StoreError, StoreHeader, StoreLayout, StoreManifest, StoreWriter,
};
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

pub mod baseline;
pub mod frames;
pub mod text;
pub mod window;

pub use baseline::{LOGMEL_MODEL_NAME, LogMelEncoder};
pub use mirlens_store::merge;

/// Errors of an extraction run.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// Writing or resuming the store failed (including a store written by a different model or configuration).
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The encoder could not run (setup error, not a per-clip failure).
    #[error(transparent)]
    Model(#[from] ModelError),
    /// An invalid parameter.
    #[error(transparent)]
    Param(#[from] CoreError),
    /// A clip could not be extracted and [`BadClipPolicy::Fail`] was chosen.
    #[error("clip {clip_id:?} (#{index}, {path}): {reason}")]
    BadClip {
        /// Index in the dataset manifest.
        index: usize,
        /// Clip id.
        clip_id: String,
        /// Audio path.
        path: String,
        /// Why it failed.
        reason: String,
    },
    /// The dataset has no clips.
    #[error("dataset {name:?} has no clips")]
    EmptyDataset {
        /// Dataset name.
        name: String,
    },
    /// The encoder returned arrays that disagree with its own spec.
    #[error("encoder {model:?} returned {what}: expected {expected}, got {got}")]
    EncoderOutput {
        /// Model name.
        model: String,
        /// What was checked.
        what: &'static str,
        /// Expected value.
        expected: usize,
        /// Returned value.
        got: usize,
    },
    /// A model file could not be read for hashing.
    #[error("could not read {path}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// Result alias of this crate.
pub type Result<T, E = ExtractError> = std::result::Result<T, E>;

/// What to do with a clip that cannot be extracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadClipPolicy {
    /// Skip it, count it and list it in the store manifest.
    #[default]
    Skip,
    /// Stop the run with [`ExtractError::BadClip`] (committed shards are kept).
    Fail,
}

/// Parameters of [`extract`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractParams {
    /// Hidden states to store.
    pub layers: LayerSelection,
    /// Frame pooling (`none` keeps one row per frame).
    pub pooling: Pooling,
    /// Storage dtype.
    pub dtype: DType,
    /// Clips per shard (the unit of atomic commit and of resumption). Part of the store identity.
    pub clips_per_shard: usize,
    /// Clips per encoder call.
    pub batch_size: usize,
    /// Which part of the dataset this job extracts.
    pub part: Part,
    /// Resampling quality for clips not at the model's rate.
    pub resample: ResampleQuality,
    /// Handling of clips that fail.
    pub bad_clips: BadClipPolicy,
    /// Handling of NaN or infinite activations (part of the store identity).
    pub on_nonfinite: NonFinitePolicy,
}

impl Default for ExtractParams {
    fn default() -> Self {
        ExtractParams {
            layers: LayerSelection::All,
            pooling: Pooling::None,
            dtype: DType::F32,
            clips_per_shard: 64,
            batch_size: 8,
            part: Part::WHOLE,
            resample: ResampleQuality::High,
            bad_clips: BadClipPolicy::Skip,
            on_nonfinite: NonFinitePolicy::Error,
        }
    }
}

impl ExtractParams {
    /// Validate the parameters.
    pub fn check(&self) -> Result<()> {
        if self.clips_per_shard == 0 {
            return Err(CoreError::invalid("clips_per_shard", 0, "at least 1").into());
        }
        if self.batch_size == 0 {
            return Err(CoreError::invalid("batch_size", 0, "at least 1").into());
        }
        self.part.check()?;
        Ok(())
    }
}

/// Identity of the model recorded in the store and compared when resuming.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelIdentity {
    /// Model name.
    pub name: String,
    /// Revision, when known (hub commit, card revision).
    pub revision: Option<String>,
    /// SHA-256 of the configuration.
    pub config_hash: String,
}

impl ModelIdentity {
    /// Identity of a model directory: the name given, and the SHA-256 of `config.json` followed by
    /// `preprocessor_config.json` (when present) and the weights' `model.safetensors` size, so that a different
    /// checkpoint or configuration never appends to the same store.
    pub fn from_dir(
        name: impl Into<String>,
        revision: Option<String>,
        dir: &Path,
    ) -> Result<ModelIdentity> {
        let mut h = Sha256::new();
        let cfg = dir.join("config.json");
        h.update(std::fs::read(&cfg).map_err(|source| ExtractError::Io {
            path: cfg.clone(),
            source,
        })?);
        let pre = dir.join("preprocessor_config.json");
        if let Ok(b) = std::fs::read(&pre) {
            h.update(b"\0preprocessor\0");
            h.update(b);
        }
        for w in ["model.safetensors", "model.safetensors.index.json"] {
            if let Ok(m) = std::fs::metadata(dir.join(w)) {
                h.update(format!("\0{w}:{}\0", m.len()).as_bytes());
            }
        }
        Ok(ModelIdentity {
            name: name.into(),
            revision,
            config_hash: hex(&h.finalize()),
        })
    }

    /// Identity of a model that has no directory (a built-in feature extractor such as the log-mel baseline): the
    /// name given, and the SHA-256 of a canonical description of its configuration.
    pub fn from_config_string(
        name: impl Into<String>,
        revision: Option<String>,
        config: &str,
    ) -> ModelIdentity {
        ModelIdentity {
            name: name.into(),
            revision,
            config_hash: hex(&Sha256::digest(config.as_bytes())),
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Where clip audio comes from.
pub trait ClipSource: Sync {
    /// Load clip `index` of the manifest (any sample rate, mono). The error message names the file and the cause.
    fn load(&self, index: usize, entry: &ManifestEntry) -> std::result::Result<Waveform, String>;

    /// Whether clips of `manifest` have scores (then frame-level labels are extracted, see [`frames`]). By default:
    /// whether any entry names a MIDI file.
    fn has_scores(&self, manifest: &Manifest) -> bool {
        manifest.entries.iter().any(|e| e.midi.is_some())
    }

    /// How to stream clip `index` from its file (path and crop), when the source reads files; long clips of a pooled
    /// extraction through a [`window::Windowed`] encoder are then decoded chunk by chunk ([`extract_with`]).
    fn stream(
        &self,
        _index: usize,
        _entry: &ManifestEntry,
    ) -> Option<(PathBuf, mirlens_audio::stream::StreamOptions)> {
        None
    }

    /// The score aligned with clip `index` (`None`: it has none). By default: the entry's MIDI file.
    fn score(
        &self,
        _index: usize,
        entry: &ManifestEntry,
    ) -> Option<std::result::Result<mirlens_symbolic::Score, String>> {
        entry.midi.as_deref().map(frames::read_score)
    }
}

/// Decode clips from their files (offset/duration crop, mean downmix).
#[derive(Debug, Clone, Copy, Default)]
pub struct FileSource {
    /// Channel policy.
    pub channels: ChannelPolicy,
}

impl ClipSource for FileSource {
    fn load(&self, _index: usize, e: &ManifestEntry) -> std::result::Result<Waveform, String> {
        let opts = DecodeOptions {
            channels: self.channels,
            offset_secs: e.offset_secs,
            duration_secs: e.duration_secs,
        };
        decode_file(&e.path, &opts)
            .map(|d| d.waveform)
            .map_err(|err| mirlens_core::error_chain(&err))
    }

    fn stream(
        &self,
        _index: usize,
        e: &ManifestEntry,
    ) -> Option<(PathBuf, mirlens_audio::stream::StreamOptions)> {
        Some((
            e.path.clone(),
            mirlens_audio::stream::StreamOptions {
                channels: self.channels,
                offset_secs: e.offset_secs,
                duration_secs: e.duration_secs,
                ..Default::default()
            },
        ))
    }
}

/// Generate clips of a built-in synthetic dataset on the fly (no files).
pub struct SynthSource<'a> {
    /// The generator.
    pub dataset: &'a dyn SynthDataset,
}

impl ClipSource for SynthSource<'_> {
    fn load(&self, index: usize, e: &ManifestEntry) -> std::result::Result<Waveform, String> {
        if index >= self.dataset.len() {
            return Err(format!(
                "clip {} (#{index}) is beyond the {} clips of {}",
                e.id,
                self.dataset.len(),
                self.dataset.name()
            ));
        }
        let c = self.dataset.clip(index);
        Ok(Waveform {
            samples: c.samples,
            sample_rate: c.sample_rate,
        })
    }

    fn has_scores(&self, _manifest: &Manifest) -> bool {
        true
    }

    fn score(
        &self,
        index: usize,
        _entry: &ManifestEntry,
    ) -> Option<std::result::Result<mirlens_symbolic::Score, String>> {
        (index < self.dataset.len())
            .then(|| self.dataset.score(index))
            .flatten()
            .map(Ok)
    }
}

/// The manifest of a synthetic dataset without writing its audio: ids, splits, labels and durations of every clip
/// (generated in parallel), or of its first `limit` clips; paths are `<name>/<id>.wav` relative names that [`SynthSource`] does not read.
pub fn synth_manifest(ds: &dyn SynthDataset, limit: Option<usize>) -> Manifest {
    let n = limit.map_or(ds.len(), |l| l.min(ds.len()));
    let entries = (0..n)
        .into_par_iter()
        .map(|i| {
            let c = ds.describe(i);
            ManifestEntry {
                path: PathBuf::from(format!("{}/{}.wav", ds.name(), c.id)),
                id: c.id,
                offset_secs: 0.0,
                duration_secs: Some(c.duration_secs),
                split: c.split,
                labels: c.labels,
                midi: None,
                text: c.text,
            }
        })
        .collect();
    Manifest {
        entries,
        label_schema: ds.label_schema(),
    }
}

/// The dataset to extract.
pub struct Dataset<'a> {
    /// Name recorded in the store (built-in name or manifest file name).
    pub name: String,
    /// The clips.
    pub manifest: &'a Manifest,
    /// How to load their audio.
    pub source: &'a dyn ClipSource,
}

/// Progress events of [`extract`].
#[derive(Debug, Clone, PartialEq)]
pub enum Progress {
    /// Extraction starts (or resumes).
    Start {
        /// Clips of this part.
        clips_total: usize,
        /// Clips in shards already committed by an earlier run.
        clips_done: usize,
        /// Shards of this part.
        shards_total: usize,
        /// Shards already committed.
        shards_done: usize,
    },
    /// A shard was committed.
    Shard {
        /// Global shard index.
        shard: usize,
        /// Clips of the shard (including bad ones).
        clips: usize,
        /// Rows written.
        rows: usize,
        /// Clips skipped as bad.
        bad: usize,
        /// Seconds of audio encoded.
        audio_secs: f64,
    },
    /// All shards are committed; statistics are being computed.
    Finalizing,
}

/// Outcome of [`extract`].
#[derive(Debug, Clone, PartialEq)]
pub struct ExtractSummary {
    /// The final store manifest.
    pub manifest: StoreManifest,
    /// Shards written by this run.
    pub shards_written: usize,
    /// Shards found committed and skipped.
    pub shards_resumed: usize,
    /// Seconds of audio encoded by this run.
    pub audio_secs: f64,
}

/// Build the store header of a run.
pub fn store_header(
    encoder: &dyn Encoder,
    model: &ModelIdentity,
    dataset: &Dataset<'_>,
    params: &ExtractParams,
) -> Result<StoreHeader> {
    let spec = encoder.spec();
    let layers: Vec<LayerId> = params.layers.resolve(spec.num_layers)?;
    Ok(StoreHeader {
        model: model.name.clone(),
        revision: model.revision.clone(),
        config_hash: model.config_hash.clone(),
        layers,
        hidden_size: spec.hidden_size,
        dtype: params.dtype,
        pooling: params.pooling,
        frame_rate: spec.frame_rate,
        dataset: dataset.name.clone(),
        dataset_hash: dataset.manifest.content_hash(),
        dataset_clips: dataset.manifest.len(),
        clips_per_shard: params.clips_per_shard,
    })
}

/// The store encoding of a dataset label of type `ty` whose values are `values`: integers and reals as such, strings
/// as categorical labels whose classes are every value (sorted), tags as multi-hot labels over every tag.
pub(crate) fn label_kind<'a>(
    ty: mirlens_datasets::LabelType,
    values: impl Iterator<Item = &'a mirlens_core::LabelValue>,
) -> LabelKind {
    use mirlens_datasets::LabelType;
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v.dedup();
        v
    };
    match ty {
        LabelType::Int => LabelKind::Integer,
        LabelType::Float => LabelKind::Real,
        LabelType::String => LabelKind::Categorical {
            classes: sorted(values.map(|v| v.class_key()).collect()),
        },
        LabelType::Tags => {
            let classes = sorted(
                values
                    .flat_map(|v| match v {
                        mirlens_core::LabelValue::Tags(t) => t.clone(),
                        _ => Vec::new(),
                    })
                    .collect(),
            );
            LabelKind::MultiHot {
                width: classes.len(),
                classes,
            }
        }
    }
}

/// The format-2 layout of a run's store: audio rows (frames at the encoder's rate, or clips when pooled), spans in
/// seconds, the model card facts the encoder reports, and the dataset's label schema as clip-level labels
/// (strings become categorical labels whose classes are every value in the whole dataset, sorted; tags become
/// multi-hot labels over every tag).
pub fn store_layout(
    encoder: &dyn Encoder,
    dataset: &Dataset<'_>,
    header: &StoreHeader,
    params: &ExtractParams,
) -> StoreLayout {
    let spec = encoder.spec();
    let mut schema = LabelSchema::new();
    for (name, ty) in &dataset.manifest.label_schema.columns {
        let kind = label_kind(
            *ty,
            dataset
                .manifest
                .entries
                .iter()
                .filter_map(|e| e.labels.get(name)),
        );
        schema = schema.with(LabelField::new(name.clone(), LabelLevel::Clip, kind));
    }
    if params.pooling == Pooling::None && dataset.source.has_scores(dataset.manifest) {
        for f in frames::frame_label_fields() {
            schema = schema.with(f);
        }
    }
    let mut card = ModelCard::default();
    card.extra
        .insert("num_layers".into(), spec.num_layers.to_string());
    card.extra
        .insert("sample_rate".into(), spec.sample_rate.to_string());
    StoreLayout {
        modality: mirlens_store::Modality::Audio,
        span_unit: SpanUnit::Seconds,
        model_card: card,
        on_nonfinite: params.on_nonfinite,
        ..StoreLayout::for_header(header)
    }
    .with_labels(schema)
}

/// The [`Progress::Start`] event of a writer about to fill the pending shards of its part.
pub(crate) fn start_progress(writer: &StoreWriter, header: &StoreHeader) -> Progress {
    let part_shards = writer.part_shards();
    let clips_of = |k: usize| header.shard_clips(k).len();
    Progress::Start {
        clips_total: part_shards.clone().map(clips_of).sum(),
        clips_done: part_shards
            .clone()
            .filter(|k| writer.is_committed(*k))
            .map(clips_of)
            .sum(),
        shards_total: part_shards.len(),
        shards_done: part_shards.len() - writer.pending_shards().len(),
    }
}

/// Extract activations of `dataset` through `encoder` into the store at `out`, creating it or resuming it.
/// `progress` is called on the calling thread after each committed shard.
pub fn extract(
    encoder: &dyn Encoder,
    model: &ModelIdentity,
    dataset: &Dataset<'_>,
    params: &ExtractParams,
    out: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExtractSummary> {
    extract_with(encoder, None, model, dataset, params, out, progress)
}

/// [`extract`], where `encoder` is the windowed encoder `streamer` (the same object): clips longer than one window
/// of a pooled extraction (`mean` / `max`) whose source reads files are then decoded, resampled and encoded chunk
/// by chunk ([`window::Windowed::encode_streamed`]), so memory is bounded by a window, not by the clip; the rows are
/// exactly those of the whole-clip path (tested). Shorter clips are decoded whole and batched as before.
pub fn extract_with(
    encoder: &dyn Encoder,
    streamer: Option<&window::Windowed<'_>>,
    model: &ModelIdentity,
    dataset: &Dataset<'_>,
    params: &ExtractParams,
    out: &Path,
    progress: &mut dyn FnMut(&Progress),
) -> Result<ExtractSummary> {
    params.check()?;
    if dataset.manifest.is_empty() {
        return Err(ExtractError::EmptyDataset {
            name: dataset.name.clone(),
        });
    }
    let header = store_header(encoder, model, dataset, params)?;
    let layout = store_layout(encoder, dataset, &header, params);
    let mut writer = StoreWriter::open_with(out, header.clone(), layout, params.part)?;
    let part_shards = writer.part_shards();
    let pending = writer.pending_shards();
    let clips_of = |k: usize| header.shard_clips(k).len();
    progress(&start_progress(&writer, &header));
    let mut audio_total = 0.0;
    for &k in &pending {
        let (data, audio_secs) = extract_shard(encoder, streamer, dataset, &header, params, k)?;
        let (rows, bad) = (data.num_rows(), data.bad_clips.len());
        writer.write_columns(data)?;
        audio_total += audio_secs;
        progress(&Progress::Shard {
            shard: k,
            clips: clips_of(k),
            rows,
            bad,
            audio_secs,
        });
    }
    progress(&Progress::Finalizing);
    let manifest = writer.finalize()?;
    Ok(ExtractSummary {
        manifest,
        shards_written: pending.len(),
        shards_resumed: part_shards.len() - pending.len(),
        audio_secs: audio_total,
    })
}

/// A decoded, resampled clip and its score, or why it could not be loaded.
type LoadedClip = std::result::Result<(Vec<f32>, Option<mirlens_symbolic::Score>), String>;

/// Decode, encode and pool the clips of shard `k`. Returns the shard and the seconds of audio encoded.
fn extract_shard(
    encoder: &dyn Encoder,
    streamer: Option<&window::Windowed<'_>>,
    dataset: &Dataset<'_>,
    header: &StoreHeader,
    params: &ExtractParams,
    k: usize,
) -> Result<(ShardColumns, f64)> {
    let spec = encoder.spec();
    let range = header.shard_clips(k);
    let entries = &dataset.manifest.entries[range.clone()];
    // 1. decode + resample + normalise in parallel
    let with_frames =
        params.pooling == Pooling::None && dataset.source.has_scores(dataset.manifest);
    // long clips of a pooled windowed extraction are streamed in step 2 instead of decoded whole here
    let streamed: Vec<Option<(PathBuf, mirlens_audio::stream::StreamOptions)>> = range
        .clone()
        .zip(entries)
        .map(|(i, e)| {
            let w = streamer.filter(|_| params.pooling != Pooling::None)?;
            let (path, opts) = dataset.source.stream(i, e)?;
            let secs = match e.duration_secs {
                Some(d) => d,
                None => {
                    mirlens_audio::decode::probe_file(&path).ok()?.duration_secs - e.offset_secs
                }
            };
            (secs * spec.sample_rate as f64 > w.params().window as f64).then_some((
                path,
                mirlens_audio::stream::StreamOptions {
                    target_rate: Some(spec.sample_rate),
                    quality: params.resample,
                    ..opts
                },
            ))
        })
        .collect();
    let loaded: Vec<LoadedClip> = range
        .clone()
        .into_par_iter()
        .zip(entries.par_iter())
        .zip(streamed.par_iter())
        .map(|((i, e), st)| {
            if st.is_some() {
                return Ok((Vec::new(), None));
            }
            let score = match with_frames {
                true => dataset.source.score(i, e).transpose()?,
                false => None,
            };
            let w = dataset.source.load(i, e)?;
            let mut x = if w.sample_rate == spec.sample_rate {
                w.samples
            } else {
                resample(&w.samples, w.sample_rate, spec.sample_rate, params.resample).map_err(
                    |err| {
                        format!(
                            "resampling {} Hz → {} Hz: {err}",
                            w.sample_rate, spec.sample_rate
                        )
                    },
                )?
            };
            if x.is_empty() {
                return Err("no audio samples".to_string());
            }
            if spec.normalize_input {
                normalize_waveform(&mut x);
            }
            Ok((x, score))
        })
        .collect();
    let mut scores: Vec<Option<mirlens_symbolic::Score>> = Vec::with_capacity(loaded.len());
    let inputs: Vec<std::result::Result<Vec<f32>, String>> = loaded
        .into_iter()
        .map(|r| match r {
            Ok((x, s)) => {
                scores.push(s);
                Ok(x)
            }
            Err(e) => {
                scores.push(None);
                Err(e)
            }
        })
        .collect();
    let frame_fields = if with_frames {
        frames::frame_label_fields()
    } else {
        Vec::new()
    };
    // 2. encode the good clips in batches; a failing batch is retried clip by clip to isolate the bad clip
    let selection = LayerSelection::Some(header.layers.clone());
    let opts = EncodeOptions::default();
    let mut outputs: Vec<Option<std::result::Result<mirlens_models::LayerActivations, String>>> =
        inputs
            .iter()
            .map(|r| r.as_ref().err().map(|e| Err(e.clone())))
            .collect();
    let good: Vec<usize> = (0..inputs.len())
        .filter(|&i| inputs[i].is_ok() && streamed[i].is_none())
        .collect();
    let mut streamed_len: Vec<Option<usize>> = vec![None; inputs.len()];
    if let Some(w) = streamer {
        for (j, st) in streamed.iter().enumerate() {
            let Some((path, stream_opts)) = st else {
                continue;
            };
            let open = || -> std::result::Result<window::Chunks<'_>, String> {
                let s = mirlens_audio::stream::AudioStream::open(path, stream_opts)
                    .map_err(|err| mirlens_core::error_chain(&err))?;
                Ok(Box::new(
                    s.map(|c| c.map_err(|err| mirlens_core::error_chain(&err))),
                ))
            };
            outputs[j] = Some(
                w.encode_streamed(&open, spec.normalize_input, &selection, &opts)
                    .map(|(a, n)| {
                        streamed_len[j] = Some(n);
                        a
                    }),
            );
        }
    }
    for chunk in good.chunks(params.batch_size) {
        let refs: Vec<&[f32]> = chunk
            .iter()
            .map(|&i| inputs[i].as_ref().map(|v| v.as_slice()).unwrap_or(&[]))
            .collect();
        match encoder.encode_batch(&refs, &selection, &opts) {
            Ok(acts) if acts.len() == chunk.len() => {
                for (&i, a) in chunk.iter().zip(acts) {
                    outputs[i] = Some(Ok(a));
                }
            }
            _ => {
                for (&i, x) in chunk.iter().zip(&refs) {
                    outputs[i] = Some(
                        encoder
                            .encode(x, &selection, &opts)
                            .map_err(|e| format!("encoder: {e}")),
                    );
                }
            }
        }
    }
    // 3. rows
    let d = header.hidden_size;
    let mut data = ShardColumns {
        index: k,
        layers: vec![Vec::new(); header.layers.len()],
        ..ShardColumns::default()
    };
    let mut audio_secs = 0.0;
    for (j, out) in outputs.into_iter().enumerate() {
        let (i, e) = (range.start + j, &entries[j]);
        let result = out
            .unwrap_or_else(|| Err("not encoded".to_string()))
            .and_then(|a| {
                if a.frames == 0 {
                    Err("the encoder returned no frames".to_string())
                } else {
                    Ok(a)
                }
            })
            .and_then(|a| match (with_frames, scores[j].as_ref()) {
                (true, Some(s)) => {
                    frames::labels_of(s, header.frame_rate, a.frames).map(|l| (a, Some(l)))
                }
                _ => Ok((a, None)),
            });
        let (acts, frame_labels) = match result {
            Ok(a) => a,
            Err(reason) => {
                if params.bad_clips == BadClipPolicy::Fail {
                    return Err(ExtractError::BadClip {
                        index: i,
                        clip_id: e.id.clone(),
                        path: e.path.display().to_string(),
                        reason,
                    });
                }
                data.bad_clips.push(BadClip {
                    clip_index: i,
                    clip_id: e.id.clone(),
                    path: e.path.display().to_string(),
                    reason,
                });
                continue;
            }
        };
        if acts.hidden != d {
            return Err(ExtractError::EncoderOutput {
                model: spec.name.clone(),
                what: "hidden size",
                expected: d,
                got: acts.hidden,
            });
        }
        let clip_secs = streamed_len[j]
            .or_else(|| inputs[j].as_ref().ok().map(|x| x.len()))
            .unwrap_or(0) as f64
            / spec.sample_rate as f64;
        audio_secs += clip_secs;
        data.clips.push(ClipEntry {
            index: i,
            id: e.id.clone(),
            split: e.split.map(|s| s.as_str().to_string()),
            source: e.path.display().to_string(),
            labels: e.labels.clone(),
        });
        let n_rows = if params.pooling == Pooling::None {
            acts.frames
        } else {
            1
        };
        if with_frames {
            frames::push_rows(
                &mut data.row_labels,
                &frame_fields,
                frame_labels.as_ref(),
                n_rows,
            )?;
        }
        for f in 0..n_rows {
            let (start, end) = if params.pooling == Pooling::None {
                (
                    f as f64 / header.frame_rate,
                    (f + 1) as f64 / header.frame_rate,
                )
            } else {
                (0.0, clip_secs)
            };
            data.row_clip.push(i as u32);
            data.position.push(f as u32);
            data.span_start.push(start);
            data.span_end.push(end);
        }
        for (li, l) in header.layers.iter().enumerate() {
            let v = acts.layer(*l).ok_or(ExtractError::EncoderOutput {
                model: spec.name.clone(),
                what: "number of layers",
                expected: header.layers.len(),
                got: acts.layers.len(),
            })?;
            if v.len() != acts.frames * d {
                return Err(ExtractError::EncoderOutput {
                    model: spec.name.clone(),
                    what: "layer values",
                    expected: acts.frames * d,
                    got: v.len(),
                });
            }
            pool_into(v, acts.frames, d, params.pooling, &mut data.layers[li]);
        }
    }
    Ok((data, audio_secs))
}

/// Append the pooled rows of a `[frames, d]` array to `out`.
pub fn pool_into(v: &[f32], frames: usize, d: usize, pooling: Pooling, out: &mut Vec<f32>) {
    match pooling {
        Pooling::None => out.extend_from_slice(v),
        Pooling::Mean => {
            let mut acc = vec![0.0f64; d];
            for row in v.chunks_exact(d) {
                for (a, &x) in acc.iter_mut().zip(row) {
                    *a += x as f64;
                }
            }
            out.extend(acc.iter().map(|a| (a / frames as f64) as f32));
        }
        Pooling::Max => {
            let mut acc = vec![f32::NEG_INFINITY; d];
            for row in v.chunks_exact(d) {
                for (a, &x) in acc.iter_mut().zip(row) {
                    *a = a.max(x);
                }
            }
            out.extend(acc);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_reduces_frames() {
        let v = [1.0, -2.0, 3.0, 4.0, 5.0, 0.0];
        let mut out = Vec::new();
        pool_into(&v, 3, 2, Pooling::Mean, &mut out);
        assert_eq!(out, vec![3.0, 2.0 / 3.0]);
        out.clear();
        pool_into(&v, 3, 2, Pooling::Max, &mut out);
        assert_eq!(out, vec![5.0, 4.0]);
        out.clear();
        pool_into(&v, 3, 2, Pooling::None, &mut out);
        assert_eq!(out, v.to_vec());
    }

    #[test]
    fn params_are_checked() {
        assert!(ExtractParams::default().check().is_ok());
        let p = ExtractParams {
            clips_per_shard: 0,
            ..ExtractParams::default()
        };
        assert!(
            p.check()
                .unwrap_err()
                .to_string()
                .contains("clips_per_shard")
        );
        let p = ExtractParams {
            part: Part { index: 2, count: 2 },
            ..ExtractParams::default()
        };
        assert!(p.check().is_err());
    }
}

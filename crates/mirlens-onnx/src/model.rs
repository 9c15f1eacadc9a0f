//! [`OnnxEncoder`]: an exported wav2vec2 / HuBERT / MERT graph run through ONNX Runtime behind the
//! [`mirlens_models::Encoder`] trait.

use crate::error::OnnxError;
use crate::runtime::{OnnxRuntime, RuntimeSearch};
use mirlens_core::{LayerId, LayerSelection, Modality};
use mirlens_models::{
    EncodeOptions, Encoder, EncoderSpec, FinalNorm, LayerActivations, ModelError,
};
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::Tensor;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Metadata key holding the export description (a JSON object).
pub const METADATA_KEY: &str = "mirlens.encoder";
/// Value of the `format` field this crate reads.
pub const METADATA_FORMAT: &str = "mirlens-encoder-onnx-v1";
/// Name of the waveform input.
pub const INPUT_VALUES: &str = "input_values";
/// Name of the optional attention-mask input (layer-norm conv stacks only).
pub const ATTENTION_MASK: &str = "attention_mask";
/// Name of the conv feature-encoder output (`[batch, frames, conv_dim]`).
pub const CONV_FEATURES: &str = "conv_features";
/// Name of the final output (after the final layer norm for pre-LN models).
pub const LAST_HIDDEN_STATE: &str = "last_hidden_state";

/// Name of the output holding hidden state `i`.
pub fn hidden_state_output(i: usize) -> String {
    format!("hidden_state_{i}")
}

/// Normalisation of the convolutional feature encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConvNorm {
    /// GroupNorm on conv 0 only (statistics over the whole, padded, time axis): batches must not mix lengths.
    Group,
    /// LayerNorm after every conv: padded batches with an attention mask equal single runs.
    Layer,
}

/// Placement of the transformer's layer norms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderLayout {
    /// Post-LN (`do_stable_layer_norm = false`): no final encoder norm, layer N equals `last_hidden_state`.
    PostLn,
    /// Pre-LN ("stable layer norm"): `last_hidden_state` is the final encoder norm of layer N.
    PreLn,
}

/// What the exported graph is (the `mirlens.encoder` metadata, see `tests/golden/onnx/generate.py`).
#[derive(Debug, Clone, PartialEq)]
pub struct ExportMeta {
    /// Model name.
    pub name: String,
    /// HF `model_type` of the source checkpoint.
    pub model_type: String,
    /// Input sample rate in Hz.
    pub sample_rate: u32,
    /// Output frames per second.
    pub frame_rate: f64,
    /// Number of transformer blocks N (outputs `hidden_state_0..=N`).
    pub num_layers: usize,
    /// Hidden size.
    pub hidden_size: usize,
    /// Conv channels per layer.
    pub conv_dim: Vec<usize>,
    /// Conv kernel sizes.
    pub conv_kernel: Vec<usize>,
    /// Conv strides.
    pub conv_stride: Vec<usize>,
    /// Conv stack normalisation.
    pub conv_norm: ConvNorm,
    /// Transformer layer-norm placement.
    pub layout: EncoderLayout,
    /// Whether inputs should be normalised per clip to zero mean / unit variance before the model (the caller's
    /// job, see [`mirlens_models::normalize_waveform`]).
    pub normalize_input: bool,
    /// Whether the graph takes `attention_mask`.
    pub has_attention_mask: bool,
    /// Hidden-state convention of the exporting library (e.g. `transformers-v5`).
    pub hidden_state_convention: String,
    /// ONNX opset of the export.
    pub opset: i64,
}

impl ExportMeta {
    /// Parse the `mirlens.encoder` JSON. `path` is only used in errors.
    pub fn from_json(text: &str, path: &Path) -> Result<ExportMeta, OnnxError> {
        let bad = |problem: String| OnnxError::Metadata {
            path: path.to_path_buf(),
            problem,
        };
        let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("is not JSON ({e})")))?;
        let field = |k: &str| v.get(k).ok_or_else(|| bad(format!("lacks field `{k}`")));
        let uint = |k: &str| -> Result<usize, OnnxError> {
            field(k)?
                .as_u64()
                .map(|x| x as usize)
                .ok_or_else(|| bad(format!("field `{k}` is not a non-negative integer")))
        };
        let string = |k: &str| -> Result<String, OnnxError> {
            field(k)?
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| bad(format!("field `{k}` is not a string")))
        };
        let uints = |k: &str| -> Result<Vec<usize>, OnnxError> {
            let a = field(k)?
                .as_array()
                .ok_or_else(|| bad(format!("field `{k}` is not an array")))?;
            a.iter()
                .map(|x| x.as_u64().map(|u| u as usize).filter(|&u| u > 0))
                .collect::<Option<Vec<_>>>()
                .filter(|a| !a.is_empty())
                .ok_or_else(|| {
                    bad(format!(
                        "field `{k}` is not a non-empty array of positive integers"
                    ))
                })
        };
        let format = string("format")?;
        if format != METADATA_FORMAT {
            return Err(bad(format!(
                "has format `{format}`, expected `{METADATA_FORMAT}`"
            )));
        }
        let conv_norm = match string("feat_extract_norm")?.as_str() {
            "group" => ConvNorm::Group,
            "layer" => ConvNorm::Layer,
            other => {
                return Err(bad(format!(
                    "field `feat_extract_norm` is `{other}`, expected `group` or `layer`"
                )));
            }
        };
        let inputs: Vec<String> = field("inputs")?
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect()
            })
            .ok_or_else(|| bad("field `inputs` is not an array of strings".into()))?;
        let meta = ExportMeta {
            name: string("name")?,
            model_type: string("model_type")?,
            sample_rate: u32::try_from(uint("sample_rate")?)
                .map_err(|_| bad("field `sample_rate` is too large".into()))?,
            frame_rate: field("frame_rate")?
                .as_f64()
                .ok_or_else(|| bad("field `frame_rate` is not a number".into()))?,
            num_layers: uint("num_layers")?,
            hidden_size: uint("hidden_size")?,
            conv_dim: uints("conv_dim")?,
            conv_kernel: uints("conv_kernel")?,
            conv_stride: uints("conv_stride")?,
            conv_norm,
            layout: if field("do_stable_layer_norm")?
                .as_bool()
                .ok_or_else(|| bad("field `do_stable_layer_norm` is not a boolean".into()))?
            {
                EncoderLayout::PreLn
            } else {
                EncoderLayout::PostLn
            },
            normalize_input: field("normalize_input")?
                .as_bool()
                .ok_or_else(|| bad("field `normalize_input` is not a boolean".into()))?,
            has_attention_mask: inputs.iter().any(|i| i == ATTENTION_MASK),
            hidden_state_convention: string("hidden_state_convention")?,
            opset: field("opset")?.as_i64().unwrap_or(0),
        };
        if meta.hidden_state_convention != "transformers-v5" {
            return Err(bad(format!(
                "field `hidden_state_convention` is `{}`; only `transformers-v5` (hidden_state_<N> before the final \
                 layer norm of pre-LN models) is supported",
                meta.hidden_state_convention
            )));
        }
        if meta.conv_kernel.len() != meta.conv_stride.len()
            || meta.conv_dim.len() != meta.conv_kernel.len()
        {
            return Err(bad(
                "fields `conv_dim`, `conv_kernel`, `conv_stride` differ in length".into(),
            ));
        }
        if meta.sample_rate == 0
            || meta.hidden_size == 0
            || meta.frame_rate.is_nan()
            || meta.frame_rate <= 0.0
        {
            return Err(bad(
                "has a zero `sample_rate`, `hidden_size` or `frame_rate`".into(),
            ));
        }
        Ok(meta)
    }

    /// Receptive field of the conv stack: the shortest input that yields one frame.
    pub fn min_samples(&self) -> usize {
        let mut rf = 1;
        for (k, s) in self.conv_kernel.iter().zip(&self.conv_stride).rev() {
            rf = (rf - 1) * s + k;
        }
        rf
    }

    /// Output frames for `samples` input samples (`floor((L - k) / s) + 1` per conv layer; 0 if too short).
    pub fn frames_for(&self, samples: usize) -> usize {
        let mut l = samples;
        for (k, s) in self.conv_kernel.iter().zip(&self.conv_stride) {
            if l < *k {
                return 0;
            }
            l = (l - k) / s + 1;
        }
        l
    }
}

/// Graph optimisation level of ONNX Runtime.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Optimization {
    /// No graph rewrites.
    Disable,
    /// Constant folding and redundant-node removal.
    Basic,
    /// Basic plus node fusions.
    Extended,
    /// Everything, including layout changes (the ONNX Runtime default).
    #[default]
    All,
}

/// Options of [`OnnxEncoder::load`].
#[derive(Debug, Clone, PartialEq)]
pub struct OnnxOptions {
    /// Intra-op threads; 0 lets ONNX Runtime choose (one per physical core).
    pub threads: usize,
    /// Graph optimisation level.
    pub optimization: Optimization,
    /// Where to find the runtime library.
    pub runtime: RuntimeSearch,
}

impl Default for OnnxOptions {
    fn default() -> Self {
        OnnxOptions {
            threads: 0,
            optimization: Optimization::All,
            runtime: RuntimeSearch::from_env(),
        }
    }
}

impl OnnxOptions {
    /// Validate the options.
    pub fn check(&self) -> Result<(), OnnxError> {
        if self.threads > 1024 {
            return Err(OnnxError::InvalidOption {
                name: "threads",
                value: self.threads.to_string(),
                expected: "0 (automatic) to 1024",
            });
        }
        Ok(())
    }
}

/// An exported encoder run by ONNX Runtime. Inputs are mono waveforms at [`EncoderSpec::sample_rate`], exactly as
/// the network sees them (normalise first when [`EncoderSpec::normalize_input`] says so). Layer `i` is the output
/// `hidden_state_<i>` (transformers-v5 convention of the bundled exporter); for pre-LN models layer N with
/// [`FinalNorm::After`] is `last_hidden_state` instead, matching transformers ≤ 4.57.
pub struct OnnxEncoder {
    path: PathBuf,
    meta: ExportMeta,
    spec: EncoderSpec,
    has_conv_features: bool,
    session: Mutex<Session>,
    runtime: Arc<OnnxRuntime>,
}

impl std::fmt::Debug for OnnxEncoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxEncoder")
            .field("path", &self.path)
            .field("meta", &self.meta)
            .finish_non_exhaustive()
    }
}

/// Outputs of one padded batch run: `[batch, frames, width]` arrays as the graph returned them.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchOutput {
    /// Batch size.
    pub batch: usize,
    /// Frames of the padded batch.
    pub frames: usize,
    /// `(layer, [batch, frames, hidden] values)` for the selected layers, ascending.
    pub layers: Vec<(LayerId, Vec<f32>)>,
    /// `last_hidden_state`, `[batch, frames, hidden]`.
    pub last_hidden_state: Vec<f32>,
    /// Conv features `[batch, frames, conv_dim]` and `conv_dim`, when requested and exported.
    pub conv_features: Option<(usize, Vec<f32>)>,
}

impl OnnxEncoder {
    /// Load an export: a `.onnx` file, or a folder holding `model.onnx`. The runtime library is located and loaded
    /// first (see [`RuntimeSearch`]); a missing library is [`OnnxError::RuntimeNotFound`] /
    /// [`OnnxError::RuntimeFileMissing`] with install instructions.
    pub fn load(path: impl AsRef<Path>, opts: &OnnxOptions) -> Result<OnnxEncoder, OnnxError> {
        opts.check()?;
        let mut path = path.as_ref().to_path_buf();
        if path.is_dir() {
            path = path.join("model.onnx");
        }
        if !path.is_file() {
            return Err(OnnxError::ModelNotFound { path });
        }
        let runtime = OnnxRuntime::load(&opts.runtime)?;
        let sess_err = |e: &dyn std::fmt::Display| OnnxError::Session {
            path: path.clone(),
            message: e.to_string(),
        };
        let level = match opts.optimization {
            Optimization::Disable => GraphOptimizationLevel::Disable,
            Optimization::Basic => GraphOptimizationLevel::Level1,
            Optimization::Extended => GraphOptimizationLevel::Level2,
            Optimization::All => GraphOptimizationLevel::All,
        };
        let mut builder = Session::builder(runtime.environment())
            .map_err(|e| sess_err(&e))?
            .with_optimization_level(level)
            .map_err(|e| sess_err(&e))?;
        if opts.threads > 0 {
            builder = builder
                .with_intra_threads(opts.threads)
                .map_err(|e| sess_err(&e))?
                .with_inter_threads(1)
                .map_err(|e| sess_err(&e))?;
        }
        let session = builder.commit_from_file(&path).map_err(|e| sess_err(&e))?;
        let text = session
            .metadata()
            .map_err(|e| sess_err(&e))?
            .custom(METADATA_KEY)
            .ok_or_else(|| OnnxError::Metadata {
                path: path.clone(),
                problem: "is missing".into(),
            })?;
        let meta = ExportMeta::from_json(&text, &path)?;

        let inputs: Vec<String> = session
            .inputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        let outputs: Vec<String> = session
            .outputs()
            .iter()
            .map(|o| o.name().to_string())
            .collect();
        let missing = |kind, name: &str, have: &[String]| OnnxError::MissingTensor {
            path: path.clone(),
            kind,
            name: name.to_string(),
            available: have.join(", "),
        };
        let mut need_in = vec![INPUT_VALUES];
        if meta.has_attention_mask {
            need_in.push(ATTENTION_MASK);
        }
        for n in need_in {
            if !inputs.iter().any(|i| i == n) {
                return Err(missing("input", n, &inputs));
            }
        }
        let mut need_out: Vec<String> = (0..=meta.num_layers).map(hidden_state_output).collect();
        need_out.push(LAST_HIDDEN_STATE.into());
        for n in &need_out {
            if !outputs.contains(n) {
                return Err(missing("output", n, &outputs));
            }
        }
        let has_conv_features = outputs.iter().any(|o| o == CONV_FEATURES);
        let spec = EncoderSpec {
            name: meta.name.clone(),
            modality: Modality::Audio,
            sample_rate: meta.sample_rate,
            frame_rate: meta.frame_rate,
            num_layers: meta.num_layers,
            hidden_size: meta.hidden_size,
            normalize_input: meta.normalize_input,
        };
        Ok(OnnxEncoder {
            path,
            meta,
            spec,
            has_conv_features,
            session: Mutex::new(session),
            runtime,
        })
    }

    /// The export's metadata.
    pub fn meta(&self) -> &ExportMeta {
        &self.meta
    }

    /// Path of the `.onnx` file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The runtime this encoder runs on.
    pub fn runtime(&self) -> &OnnxRuntime {
        &self.runtime
    }

    /// Whether the graph has the `conv_features` output.
    pub fn has_conv_features(&self) -> bool {
        self.has_conv_features
    }

    fn check_input(&self, index: usize, x: &[f32]) -> Result<(), OnnxError> {
        if let Some(position) = x.iter().position(|v| !v.is_finite()) {
            return Err(OnnxError::NonFiniteInput {
                index,
                position,
                value: x[position],
            });
        }
        let min_samples = self.meta.min_samples();
        if x.len() < min_samples {
            return Err(OnnxError::InputTooShort {
                index,
                samples: x.len(),
                min_samples,
            });
        }
        Ok(())
    }

    /// The output name holding layer `l` under `final_norm`.
    fn layer_output(&self, l: LayerId, final_norm: FinalNorm) -> String {
        if l.0 == self.meta.num_layers
            && self.meta.layout == EncoderLayout::PreLn
            && final_norm == FinalNorm::After
        {
            LAST_HIDDEN_STATE.to_string()
        } else {
            hidden_state_output(l.0)
        }
    }

    /// Run one padded batch exactly as the graph defines it: `input` is row-major `[batch, samples]`, `lengths`
    /// the unpadded length of each row (used for the attention mask of layer-norm models; ignored by group-norm
    /// models, whose outputs then depend on the padding exactly as in transformers). No input normalisation is
    /// applied here. `opts.final_norm` picks layer N of pre-LN models as in [`Encoder::encode`].
    pub fn run_padded(
        &self,
        input: &[f32],
        batch: usize,
        lengths: &[usize],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<BatchOutput, OnnxError> {
        self.conv_check(opts)?;
        let layers = layers.resolve(self.meta.num_layers)?;
        if batch == 0 || !input.len().is_multiple_of(batch) || lengths.len() != batch {
            return Err(OnnxError::InvalidOption {
                name: "batch",
                value: format!(
                    "{batch} rows, {} samples, {} lengths",
                    input.len(),
                    lengths.len()
                ),
                expected: "a non-empty [batch, samples] array with one length per row",
            });
        }
        let samples = input.len() / batch;
        let infer = |e: &dyn std::fmt::Display| OnnxError::Inference {
            path: self.path.clone(),
            message: e.to_string(),
        };
        let x = Tensor::from_array(([batch, samples], input.to_vec())).map_err(|e| infer(&e))?;
        let mut feeds: Vec<(
            std::borrow::Cow<'_, str>,
            ort::session::SessionInputValue<'_>,
        )> = vec![(INPUT_VALUES.into(), x.into())];
        if self.meta.has_attention_mask {
            let mut mask = vec![0i64; batch * samples];
            for (b, &l) in lengths.iter().enumerate() {
                mask[b * samples..b * samples + l.min(samples)]
                    .iter_mut()
                    .for_each(|m| *m = 1);
            }
            let m = Tensor::from_array(([batch, samples], mask)).map_err(|e| infer(&e))?;
            feeds.push((ATTENTION_MASK.into(), m.into()));
        }
        let mut session = self.session.lock().unwrap_or_else(|p| p.into_inner());
        let outputs = session.run(feeds).map_err(|e| infer(&e))?;
        let frames = self.meta.frames_for(samples);
        let fetch = |name: &str, width: usize| -> Result<Vec<f32>, OnnxError> {
            let v = outputs.get(name).ok_or_else(|| OnnxError::MissingTensor {
                path: self.path.clone(),
                kind: "output",
                name: name.to_string(),
                available: String::new(),
            })?;
            let (shape, data) = v.try_extract_tensor::<f32>().map_err(|e| infer(&e))?;
            let dims: Vec<i64> = shape.iter().copied().collect();
            if dims != [batch as i64, frames as i64, width as i64] {
                return Err(OnnxError::OutputShape {
                    output: name.to_string(),
                    expected: vec![batch, frames, width],
                    got: dims,
                });
            }
            Ok(data.to_vec())
        };
        let mut out_layers = Vec::with_capacity(layers.len());
        for l in &layers {
            out_layers.push((
                *l,
                fetch(
                    &self.layer_output(*l, opts.final_norm),
                    self.meta.hidden_size,
                )?,
            ));
        }
        let last_hidden_state = fetch(LAST_HIDDEN_STATE, self.meta.hidden_size)?;
        let conv = if opts.conv_features {
            let c = self.meta.conv_dim.last().copied().unwrap_or(0);
            Some((c, fetch(CONV_FEATURES, c)?))
        } else {
            None
        };
        Ok(BatchOutput {
            batch,
            frames,
            layers: out_layers,
            last_hidden_state,
            conv_features: conv,
        })
    }

    fn conv_check(&self, opts: &EncodeOptions) -> Result<(), OnnxError> {
        if opts.conv_features && !self.has_conv_features {
            return Err(OnnxError::MissingTensor {
                path: self.path.clone(),
                kind: "output",
                name: CONV_FEATURES.into(),
                available: "(conv features were not exported)".into(),
            });
        }
        Ok(())
    }

    /// [`Encoder::encode`] with the typed error of this crate.
    pub fn encode_typed(
        &self,
        input: &[f32],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<LayerActivations, OnnxError> {
        self.check_input(0, input)?;
        let out = self.run_padded(input, 1, &[input.len()], layers, opts)?;
        Ok(split(
            out,
            &[self.meta.frames_for(input.len())],
            self.meta.hidden_size,
        )
        .remove(0))
    }

    /// [`Encoder::encode_batch`] with the typed error of this crate. Layer-norm models run as one padded batch
    /// with an attention mask; group-norm models batch only inputs of equal length (padding would change every
    /// frame) and run the others separately. Every item equals its single [`OnnxEncoder::encode_typed`] result
    /// up to floating-point summation order.
    pub fn encode_batch_typed(
        &self,
        inputs: &[&[f32]],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<Vec<LayerActivations>, OnnxError> {
        self.conv_check(opts)?;
        layers.resolve(self.meta.num_layers)?;
        for (i, x) in inputs.iter().enumerate() {
            self.check_input(i, x)?;
        }
        let groups: Vec<Vec<usize>> = match self.meta.conv_norm {
            ConvNorm::Layer => vec![(0..inputs.len()).collect()],
            ConvNorm::Group => {
                let mut g: Vec<Vec<usize>> = Vec::new();
                for (i, x) in inputs.iter().enumerate() {
                    match g.iter_mut().find(|grp| inputs[grp[0]].len() == x.len()) {
                        Some(grp) => grp.push(i),
                        None => g.push(vec![i]),
                    }
                }
                g
            }
        };
        let mut results: Vec<Option<LayerActivations>> = vec![None; inputs.len()];
        for grp in groups.into_iter().filter(|g| !g.is_empty()) {
            let lengths: Vec<usize> = grp.iter().map(|&i| inputs[i].len()).collect();
            let samples = lengths.iter().copied().max().unwrap_or(0);
            let mut padded = vec![0f32; grp.len() * samples];
            for (b, &i) in grp.iter().enumerate() {
                padded[b * samples..b * samples + lengths[b]].copy_from_slice(inputs[i]);
            }
            let out = self.run_padded(&padded, grp.len(), &lengths, layers, opts)?;
            let frames: Vec<usize> = lengths.iter().map(|&l| self.meta.frames_for(l)).collect();
            for (i, act) in grp
                .into_iter()
                .zip(split(out, &frames, self.meta.hidden_size))
            {
                results[i] = Some(act);
            }
        }
        Ok(results.into_iter().flatten().collect())
    }
}

/// Cut a padded batch into per-item activations with `frames[b]` valid frames each.
fn split(out: BatchOutput, frames: &[usize], hidden: usize) -> Vec<LayerActivations> {
    let tf = out.frames;
    let rows = |data: &[f32], b: usize, width: usize, n: usize| {
        data[b * tf * width..(b * tf + n) * width].to_vec()
    };
    (0..out.batch)
        .map(|b| {
            let n = frames[b].min(tf);
            LayerActivations {
                frames: n,
                hidden,
                layers: out
                    .layers
                    .iter()
                    .map(|(l, d)| (*l, rows(d, b, hidden, n)))
                    .collect(),
                conv_features: out
                    .conv_features
                    .as_ref()
                    .map(|(c, d)| (*c, rows(d, b, *c, n))),
            }
        })
        .collect()
}

impl Encoder for OnnxEncoder {
    fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    fn encode(
        &self,
        input: &[f32],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<LayerActivations, ModelError> {
        Ok(self.encode_typed(input, layers, opts)?)
    }

    fn encode_batch(
        &self,
        inputs: &[&[f32]],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<Vec<LayerActivations>, ModelError> {
        Ok(self.encode_batch_typed(inputs, layers, opts)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta_json(extra: &str) -> String {
        format!(
            r#"{{"format":"mirlens-encoder-onnx-v1","name":"t","model_type":"hubert","modality":"audio","sample_rate":16000,
            "frame_rate":50.0,"num_layers":2,"hidden_size":32,"conv_dim":[16,16,16],"conv_kernel":[10,3,2],
            "conv_stride":[5,2,2],"feat_extract_norm":"group","do_stable_layer_norm":false,"normalize_input":false,
            "inputs":["input_values"],"hidden_state_convention":"transformers-v5","opset":17{extra}}}"#
        )
    }

    #[test]
    fn frame_arithmetic_matches_the_conv_stack() {
        let m = ExportMeta::from_json(&meta_json(""), Path::new("x.onnx")).unwrap();
        // k (10,3,2) s (5,2,2): rf = 10 + (3-1)*5 + (2-1)*10 = 30
        assert_eq!(m.min_samples(), 30);
        assert_eq!(m.frames_for(29), 0);
        assert_eq!(m.frames_for(30), 1);
        // 3200 -> 639 -> 319 -> 159
        assert_eq!(m.frames_for(3200), 159);
        assert_eq!(m.frames_for(397), 19);
        let base = ExportMeta {
            conv_kernel: vec![10, 3, 3, 3, 3, 2, 2],
            conv_stride: vec![5, 2, 2, 2, 2, 2, 2],
            ..m
        };
        assert_eq!(base.min_samples(), 400);
        assert_eq!(base.frames_for(160_000), (160_000 - 400) / 320 + 1);
    }

    #[test]
    fn metadata_errors_name_the_field() {
        let e = ExportMeta::from_json(
            r#"{"format":"mirlens-encoder-onnx-v1"}"#,
            Path::new("m.onnx"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("lacks field `"), "{e}");
        let e = ExportMeta::from_json(
            &meta_json("").replace("\"group\"", "\"batch\""),
            Path::new("m.onnx"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("feat_extract_norm"), "{e}");
        let e = ExportMeta::from_json(
            &meta_json("").replace("transformers-v5", "transformers-v4"),
            Path::new("m.onnx"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("hidden_state_convention"), "{e}");
        let e = ExportMeta::from_json("nope", Path::new("m.onnx")).unwrap_err();
        assert!(e.to_string().contains("not JSON"), "{e}");
    }

    #[test]
    fn split_keeps_each_items_valid_frames() {
        let out = BatchOutput {
            batch: 2,
            frames: 3,
            layers: vec![(LayerId(0), (0..12).map(|v| v as f32).collect())],
            last_hidden_state: vec![],
            conv_features: None,
        };
        let s = split(out, &[3, 1], 2);
        assert_eq!(s[0].layer(LayerId(0)).unwrap(), &[0., 1., 2., 3., 4., 5.]);
        assert_eq!(s[1].frames, 1);
        assert_eq!(s[1].layer(LayerId(0)).unwrap(), &[6., 7.]);
    }
}

//! A loaded candle model implementing [`Encoder`].

use crate::ModelError;
use crate::config::{EncoderConfig, FeatExtractNorm, FrameGeometry};
use crate::encoder::{EncodeOptions, Encoder, EncoderSpec, FinalNorm, LayerActivations};
use crate::wav2vec2::{ForwardOutput, Wav2Vec2Model};
use crate::weights::{LoadPolicy, LoadReport, WeightStore};
use candle_core::{Device, Tensor};
use mirlens_core::{LayerId, LayerSelection, Modality};
use std::path::Path;

/// How to load a model.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Strict (default) or partial loading.
    pub policy: LoadPolicy,
    /// Device for weights and compute (default CPU; CUDA with the `cuda` feature).
    pub device: Device,
    /// Name recorded in [`EncoderSpec::name`]; default: the directory name.
    pub name: Option<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            policy: LoadPolicy::Strict,
            device: Device::Cpu,
            name: None,
        }
    }
}

/// wav2vec2 / HuBERT / MERT-v1 running on candle.
#[derive(Debug)]
pub struct CandleEncoder {
    spec: EncoderSpec,
    config: EncoderConfig,
    model: Wav2Vec2Model,
    device: Device,
    report: LoadReport,
}

/// Padded-batch output of [`CandleEncoder::forward_padded`].
#[derive(Debug, Clone)]
pub struct PaddedOutput {
    /// Valid output frames of every item.
    pub frames: Vec<usize>,
    /// Frames of the padded batch.
    pub max_frames: usize,
    /// `hidden_states[i]` as row-major `[B, max_frames, H]`, `i = 0..=N`.
    pub hidden_states: Vec<Vec<f32>>,
    /// `last_hidden_state` `[B, max_frames, H]`.
    pub last_hidden_state: Vec<f32>,
}

/// Whether a padded batch passes an attention mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMask {
    /// Zero padding without mask (transformers' default for group-norm models); padding changes every frame.
    NoMask,
    /// Zero padding with an attention mask built from the input lengths.
    FromLengths,
}

fn check_input(x: &[f32], geom: &FrameGeometry) -> Result<(), ModelError> {
    if let Some(index) = x.iter().position(|v| !v.is_finite()) {
        return Err(ModelError::NonFiniteInput {
            index,
            value: x[index],
        });
    }
    if x.len() < geom.receptive_field {
        return Err(ModelError::InputTooShort {
            samples: x.len(),
            receptive_field: geom.receptive_field,
        });
    }
    Ok(())
}

impl CandleEncoder {
    /// Load a model directory holding `config.json`, `model.safetensors` (or a sharded index) and optionally
    /// `preprocessor_config.json`.
    pub fn load(dir: impl AsRef<Path>, opts: &LoadOptions) -> Result<Self, ModelError> {
        let dir = dir.as_ref();
        let config = EncoderConfig::from_dir(dir)?;
        let store = WeightStore::open(dir, config.model_type, opts.policy, &opts.device)?;
        let model = Wav2Vec2Model::load(&config, &store.root())?;
        let report = store.finish()?;
        let name = opts.name.clone().unwrap_or_else(|| {
            dir.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| dir.display().to_string())
        });
        let spec = EncoderSpec {
            name,
            modality: Modality::Audio,
            sample_rate: config.sample_rate,
            frame_rate: config.frame_rate(),
            num_layers: config.num_hidden_layers,
            hidden_size: config.hidden_size,
            normalize_input: config.do_normalize,
        };
        Ok(CandleEncoder {
            spec,
            config,
            model,
            device: opts.device.clone(),
            report,
        })
    }

    /// The parsed configuration.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }

    /// What was loaded (used / missing / unused / ignored tensors).
    pub fn load_report(&self) -> &LoadReport {
        &self.report
    }

    /// Receptive field and hop.
    pub fn geometry(&self) -> FrameGeometry {
        self.config.geometry()
    }

    fn run(
        &self,
        batch: &[&[f32]],
        mask_lengths: Option<&[usize]>,
        up_to: usize,
    ) -> Result<(ForwardOutput, usize), ModelError> {
        let n = batch.iter().map(|x| x.len()).max().unwrap_or(0);
        let mut flat = vec![0f32; batch.len() * n];
        for (b, x) in batch.iter().enumerate() {
            flat[b * n..b * n + x.len()].copy_from_slice(x);
        }
        let input = Tensor::from_vec(flat, (batch.len(), n), &self.device)?;
        let geom = self.geometry();
        let t = geom.num_frames(n);
        let mask = match mask_lengths {
            Some(lens) => {
                let mut m = vec![0f32; batch.len() * t];
                for (b, &l) in lens.iter().enumerate() {
                    let f = geom.num_frames(l).min(t);
                    m[b * t..b * t + f].fill(1.0);
                }
                Some(Tensor::from_vec(m, (batch.len(), t), &self.device)?)
            }
            None => None,
        };
        Ok((self.model.forward(&input, mask.as_ref(), up_to)?, t))
    }

    /// transformers' padded batch: inputs zero-padded on the right to the longest one, with or without an
    /// attention mask, every hidden state and `last_hidden_state` of the padded batch. Used by parity tests.
    pub fn forward_padded(
        &self,
        inputs: &[&[f32]],
        mask: BatchMask,
    ) -> Result<PaddedOutput, ModelError> {
        let geom = self.geometry();
        for x in inputs {
            check_input(x, &geom)?;
        }
        let lens: Vec<usize> = inputs.iter().map(|x| x.len()).collect();
        let (out, t) = self.run(
            inputs,
            (mask == BatchMask::FromLengths).then_some(lens.as_slice()),
            self.model.num_layers(),
        )?;
        let flat =
            |x: &Tensor| -> Result<Vec<f32>, ModelError> { Ok(x.flatten_all()?.to_vec1::<f32>()?) };
        let hidden_states = out
            .hidden_states
            .iter()
            .map(flat)
            .collect::<Result<Vec<_>, _>>()?;
        let last = match &out.final_norm {
            Some(f) => flat(f)?,
            None => hidden_states.last().cloned().unwrap_or_default(),
        };
        Ok(PaddedOutput {
            frames: lens.iter().map(|&l| geom.num_frames(l)).collect(),
            max_frames: t,
            hidden_states,
            last_hidden_state: last,
        })
    }

    /// Encode equal-treatment items of one batch and split the result per item (first `frames[b]` frames).
    fn encode_group(
        &self,
        items: &[&[f32]],
        masked: bool,
        layers: &[LayerId],
        opts: &EncodeOptions,
    ) -> Result<Vec<LayerActivations>, ModelError> {
        let geom = self.geometry();
        let up_to = layers.last().map(|l| l.0).unwrap_or(0);
        let lens: Vec<usize> = items.iter().map(|x| x.len()).collect();
        let (out, t) = self.run(items, masked.then_some(lens.as_slice()), up_to)?;
        let h = self.spec.hidden_size;
        let n_layers = self.model.num_layers();
        let mut per_layer = Vec::with_capacity(layers.len());
        for l in layers {
            let tensor = if l.0 == n_layers && opts.final_norm == FinalNorm::After {
                out.final_norm.as_ref().unwrap_or(&out.hidden_states[l.0])
            } else {
                &out.hidden_states[l.0]
            };
            per_layer.push(tensor.flatten_all()?.to_vec1::<f32>()?);
        }
        let conv = if opts.conv_features {
            let c = out.conv_features.dim(1)?;
            Some((
                c,
                out.conv_features
                    .transpose(1, 2)?
                    .flatten_all()?
                    .to_vec1::<f32>()?,
            ))
        } else {
            None
        };
        let mut res = Vec::with_capacity(items.len());
        for (b, &len) in lens.iter().enumerate() {
            let f = geom.num_frames(len);
            let take = |v: &Vec<f32>, w: usize| v[b * t * w..(b * t + f) * w].to_vec();
            res.push(LayerActivations {
                frames: f,
                hidden: h,
                layers: layers
                    .iter()
                    .zip(&per_layer)
                    .map(|(l, v)| (*l, take(v, h)))
                    .collect(),
                conv_features: conv.as_ref().map(|(c, v)| (*c, take(v, *c))),
            });
        }
        Ok(res)
    }
}

impl Encoder for CandleEncoder {
    fn spec(&self) -> &EncoderSpec {
        &self.spec
    }

    fn encode(
        &self,
        input: &[f32],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<LayerActivations, ModelError> {
        let layers = layers.resolve(self.spec.num_layers)?;
        check_input(input, &self.geometry())?;
        let mut v = self.encode_group(&[input], false, &layers, opts)?;
        Ok(v.remove(0))
    }

    /// Layer-norm conv stacks: one padded, masked batch. Group-norm conv stacks: inputs of equal length are batched
    /// together, others run separately, so every item equals [`Encoder::encode`].
    fn encode_batch(
        &self,
        inputs: &[&[f32]],
        layers: &LayerSelection,
        opts: &EncodeOptions,
    ) -> Result<Vec<LayerActivations>, ModelError> {
        let layers = layers.resolve(self.spec.num_layers)?;
        let geom = self.geometry();
        for x in inputs {
            check_input(x, &geom)?;
        }
        if inputs.is_empty() {
            return Ok(Vec::new());
        }
        if self.config.feat_extract_norm == FeatExtractNorm::Layer {
            return self.encode_group(inputs, true, &layers, opts);
        }
        let mut out: Vec<Option<LayerActivations>> = vec![None; inputs.len()];
        let mut lengths: Vec<usize> = inputs.iter().map(|x| x.len()).collect();
        lengths.sort_unstable();
        lengths.dedup();
        for len in lengths {
            let idx: Vec<usize> = (0..inputs.len())
                .filter(|&i| inputs[i].len() == len)
                .collect();
            let items: Vec<&[f32]> = idx.iter().map(|&i| inputs[i]).collect();
            for (i, a) in idx
                .into_iter()
                .zip(self.encode_group(&items, false, &layers, opts)?)
            {
                out[i] = Some(a);
            }
        }
        Ok(out.into_iter().flatten().collect())
    }
}

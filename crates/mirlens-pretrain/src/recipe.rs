//! The training recipe (TOML): model size, corpus, targets, objective, optimiser, steps and checkpoints.

use crate::PretrainError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A complete, reproducible training recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recipe {
    /// Name written into the checkpoints' `config.json` (`_name_or_path`).
    pub name: String,
    /// Master seed: initialisation, corpus sampling, batches and masks all derive from it.
    pub seed: u64,
    /// Encoder architecture.
    pub model: ModelRecipe,
    /// Training corpus.
    pub corpus: CorpusRecipe,
    /// Acoustic-teacher targets.
    pub targets: TargetsRecipe,
    /// Loss weights and masking.
    pub objective: ObjectiveRecipe,
    /// Optimiser and schedule.
    pub optim: OptimRecipe,
    /// Steps, batch size, validation and checkpoints.
    pub train: TrainRecipe,
}

/// HuBERT-architecture encoder (post-LN transformer, group-norm conv stack, GELU), 24 kHz input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelRecipe {
    /// Transformer width.
    pub hidden_size: usize,
    /// Transformer blocks.
    pub num_hidden_layers: usize,
    /// Attention heads (divides `hidden_size`).
    pub num_attention_heads: usize,
    /// FFN width.
    pub intermediate_size: usize,
    /// Conv channels per layer.
    pub conv_dim: Vec<usize>,
    /// Conv kernels.
    pub conv_kernel: Vec<usize>,
    /// Conv strides (their product is the hop; 320 at 24 kHz gives 75 Hz frames).
    pub conv_stride: Vec<usize>,
    /// Positional conv kernel.
    pub num_conv_pos_embeddings: usize,
    /// Positional conv groups (divides `hidden_size`).
    pub num_conv_pos_embedding_groups: usize,
    /// Input sample rate, Hz.
    pub sample_rate: u32,
}

/// Mixture of the built-in synthetic generators.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusRecipe {
    /// Clip length in seconds (every clip is cut or zero-padded to it).
    pub clip_secs: f64,
    /// Training clips generated into the pool.
    pub train_clips: usize,
    /// Held-out validation clips (the generators' `valid` split).
    pub valid_clips: usize,
    /// Relative weight of `synth-notes` clips.
    pub notes_weight: f64,
    /// Relative weight of `synth-chords` clips.
    pub chords_weight: f64,
    /// Relative weight of `synth-sequences` clips.
    pub sequences_weight: f64,
}

/// Targets: k-means on MFCC frames (masked prediction) and CQT frames (reconstruction).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetsRecipe {
    /// Number of k-means clusters.
    pub clusters: usize,
    /// Lloyd iterations.
    pub kmeans_iters: usize,
    /// At most this many training frames are used to fit k-means.
    pub kmeans_max_frames: usize,
    /// MFCC coefficients (of a 64-band log-mel spectrogram, n_fft 1024, hop = model hop).
    pub n_mfcc: usize,
    /// CQT bins (12 per octave from C1, hop = model hop).
    pub cqt_bins: usize,
    /// Frame features the k-means teacher clusters: `"mfcc"` (HuBERT iteration 1: standardised MFCCs) or
    /// `"mfcc+cqt"` (standardised MFCCs and standardised log-CQT side by side, each block scaled by
    /// 1/sqrt(its width) so both weigh equally in the distances; the clusters then carry pitch as well as timbre).
    #[serde(default = "default_teacher")]
    pub teacher: String,
}

fn one() -> f64 {
    1.0
}

fn default_teacher() -> String {
    "mfcc".to_string()
}

/// Loss weights and HuBERT masking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectiveRecipe {
    /// Probability that a frame starts a masked span.
    pub mask_prob: f64,
    /// Span length in frames.
    pub mask_length: usize,
    /// Weight of the masked cluster-prediction cross-entropy.
    pub cluster_weight: f64,
    /// Weight of the masked CQT-reconstruction MSE.
    pub cqt_weight: f64,
}

/// Adam with linear warm-up, linear decay and global-norm clipping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OptimRecipe {
    /// Peak learning rate.
    pub lr: f64,
    /// Linear warm-up steps.
    pub warmup_steps: usize,
    /// Adam β1.
    pub beta1: f64,
    /// Adam β2.
    pub beta2: f64,
    /// Adam ε.
    pub eps: f64,
    /// Decoupled weight decay (0 = plain Adam).
    pub weight_decay: f64,
    /// Global gradient-norm clip.
    pub grad_clip: f64,
    /// Learning rate at the last step as a fraction of `lr` (linear decay after warm-up).
    pub final_lr_fraction: f64,
    /// Scale of the gradient reaching the conv feature encoder (wav2vec2/HuBERT `feature_grad_mult`; 0.1 in
    /// HuBERT base): the raw-waveform conv stack otherwise takes the largest, least stable updates.
    #[serde(default = "one")]
    pub feature_grad_mult: f64,
}

/// Steps, batches and checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainRecipe {
    /// Optimiser steps.
    pub steps: usize,
    /// Clips per batch.
    pub batch_size: usize,
    /// Validation loss every this many steps (also at every checkpoint).
    pub valid_every: usize,
    /// Steps at which checkpoints are written (the final step is always added).
    pub checkpoints: Vec<usize>,
}

fn invalid(parameter: &str, got: impl std::fmt::Display, expected: &str) -> PretrainError {
    PretrainError::Recipe {
        parameter: parameter.to_string(),
        got: got.to_string(),
        expected: expected.to_string(),
    }
}

/// TOML text as a recipe type (parse errors without a path).
pub(crate) fn parse_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, PretrainError> {
    toml::from_str(text).map_err(|e| PretrainError::Parse {
        path: None,
        message: e.to_string(),
    })
}

/// Read a recipe file with `from_toml`, naming the file in parse errors.
pub(crate) fn load_file<T>(
    path: &Path,
    from_toml: impl FnOnce(&str) -> Result<T, PretrainError>,
) -> Result<T, PretrainError> {
    let text = std::fs::read_to_string(path).map_err(|source| PretrainError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    from_toml(&text).map_err(|e| match e {
        PretrainError::Parse { message, .. } => PretrainError::Parse {
            path: Some(path.to_path_buf()),
            message,
        },
        other => other,
    })
}

impl Recipe {
    /// Parse TOML text.
    pub fn from_toml(text: &str) -> Result<Self, PretrainError> {
        let r: Recipe = parse_toml(text)?;
        r.check()?;
        Ok(r)
    }

    /// Read and validate a recipe file.
    pub fn load(path: &Path) -> Result<Self, PretrainError> {
        load_file(path, Self::from_toml)
    }

    /// The recipe as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// Hop of the conv stack in samples.
    pub fn hop(&self) -> usize {
        self.model.conv_stride.iter().product()
    }

    /// Samples per clip.
    pub fn clip_samples(&self) -> usize {
        (self.corpus.clip_secs * self.model.sample_rate as f64).round() as usize
    }

    /// Checkpoint steps: the recipe's list (≤ steps), plus the final step, sorted and unique.
    pub fn checkpoint_steps(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .train
            .checkpoints
            .iter()
            .copied()
            .filter(|&s| s <= self.train.steps)
            .chain(std::iter::once(self.train.steps))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Validate every field.
    pub fn check(&self) -> Result<(), PretrainError> {
        let m = &self.model;
        let n = m.conv_dim.len();
        if n == 0 || m.conv_kernel.len() != n || m.conv_stride.len() != n {
            return Err(invalid(
                "model.conv_dim/conv_kernel/conv_stride",
                format!("{}/{}/{}", n, m.conv_kernel.len(), m.conv_stride.len()),
                "three non-empty lists of equal length",
            ));
        }
        if m.conv_dim
            .iter()
            .chain(&m.conv_kernel)
            .chain(&m.conv_stride)
            .any(|&v| v == 0)
        {
            return Err(invalid("model.conv_*", "0", "positive entries"));
        }
        if m.hidden_size == 0
            || m.num_attention_heads == 0
            || !m.hidden_size.is_multiple_of(m.num_attention_heads)
        {
            return Err(invalid(
                "model.num_attention_heads",
                m.num_attention_heads,
                "a positive divisor of hidden_size",
            ));
        }
        if m.num_conv_pos_embedding_groups == 0
            || !m
                .hidden_size
                .is_multiple_of(m.num_conv_pos_embedding_groups)
        {
            return Err(invalid(
                "model.num_conv_pos_embedding_groups",
                m.num_conv_pos_embedding_groups,
                "a positive divisor of hidden_size",
            ));
        }
        if m.num_hidden_layers == 0 || m.intermediate_size == 0 || m.num_conv_pos_embeddings < 2 {
            return Err(invalid(
                "model.num_hidden_layers/intermediate_size/num_conv_pos_embeddings",
                format!(
                    "{}/{}/{}",
                    m.num_hidden_layers, m.intermediate_size, m.num_conv_pos_embeddings
                ),
                "≥ 1 / ≥ 1 / ≥ 2",
            ));
        }
        if !(8000..=192_000).contains(&m.sample_rate) {
            return Err(invalid("model.sample_rate", m.sample_rate, "8000..=192000"));
        }
        let c = &self.corpus;
        let weights = [c.notes_weight, c.chords_weight, c.sequences_weight];
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0))
            || weights.iter().sum::<f64>() <= 0.0
        {
            return Err(invalid(
                "corpus.*_weight",
                format!("{weights:?}"),
                "non-negative, not all zero",
            ));
        }
        if !(c.clip_secs.is_finite() && c.clip_secs > 0.0 && c.clip_secs <= 30.0) {
            return Err(invalid(
                "corpus.clip_secs",
                c.clip_secs,
                "0 < clip_secs ≤ 30",
            ));
        }
        if c.train_clips == 0 || c.valid_clips == 0 {
            return Err(invalid(
                "corpus.train_clips/valid_clips",
                format!("{}/{}", c.train_clips, c.valid_clips),
                "both ≥ 1",
            ));
        }
        let frames = mirlens_models::FrameGeometry::new(
            &m.conv_kernel
                .iter()
                .copied()
                .zip(m.conv_stride.iter().copied())
                .collect::<Vec<_>>(),
        )
        .num_frames(self.clip_samples());
        if frames < 2 * self.objective.mask_length.max(1) {
            return Err(invalid(
                "corpus.clip_secs",
                c.clip_secs,
                "clips of at least two mask spans of model frames",
            ));
        }
        let t = &self.targets;
        if t.clusters < 2 || t.kmeans_iters == 0 || t.kmeans_max_frames < t.clusters {
            return Err(invalid(
                "targets.clusters/kmeans_iters/kmeans_max_frames",
                format!("{}/{}/{}", t.clusters, t.kmeans_iters, t.kmeans_max_frames),
                "clusters ≥ 2, iters ≥ 1, max_frames ≥ clusters",
            ));
        }
        if t.n_mfcc == 0 || t.n_mfcc > 64 {
            return Err(invalid("targets.n_mfcc", t.n_mfcc, "1..=64"));
        }
        if t.cqt_bins == 0 || t.cqt_bins > 84 {
            return Err(invalid("targets.cqt_bins", t.cqt_bins, "1..=84"));
        }
        if t.teacher != "mfcc" && t.teacher != "mfcc+cqt" {
            return Err(invalid(
                "targets.teacher",
                &t.teacher,
                "\"mfcc\" or \"mfcc+cqt\"",
            ));
        }
        let o = &self.objective;
        if !(o.mask_prob > 0.0 && o.mask_prob < 1.0) || o.mask_length == 0 {
            return Err(invalid(
                "objective.mask_prob/mask_length",
                format!("{}/{}", o.mask_prob, o.mask_length),
                "0 < mask_prob < 1, mask_length ≥ 1",
            ));
        }
        if !(o.cluster_weight >= 0.0
            && o.cqt_weight >= 0.0
            && o.cluster_weight + o.cqt_weight > 0.0)
        {
            return Err(invalid(
                "objective.cluster_weight/cqt_weight",
                format!("{}/{}", o.cluster_weight, o.cqt_weight),
                "non-negative, not both zero",
            ));
        }
        let p = &self.optim;
        if !(p.lr > 0.0 && p.lr.is_finite()) {
            return Err(invalid("optim.lr", p.lr, "> 0"));
        }
        if !(0.0..1.0).contains(&p.beta1) || !(0.0..1.0).contains(&p.beta2) || p.eps <= 0.0 {
            return Err(invalid(
                "optim.beta1/beta2/eps",
                format!("{}/{}/{}", p.beta1, p.beta2, p.eps),
                "betas in [0, 1), eps > 0",
            ));
        }
        if !(p.feature_grad_mult > 0.0 && p.feature_grad_mult <= 1.0) {
            return Err(invalid(
                "optim.feature_grad_mult",
                p.feature_grad_mult,
                "0 < feature_grad_mult ≤ 1",
            ));
        }
        if p.grad_clip <= 0.0 || p.weight_decay < 0.0 || !(0.0..=1.0).contains(&p.final_lr_fraction)
        {
            return Err(invalid(
                "optim.grad_clip/weight_decay/final_lr_fraction",
                format!("{}/{}/{}", p.grad_clip, p.weight_decay, p.final_lr_fraction),
                "grad_clip > 0, weight_decay ≥ 0, final_lr_fraction in [0, 1]",
            ));
        }
        let tr = &self.train;
        if tr.steps == 0 || tr.batch_size == 0 || tr.valid_every == 0 {
            return Err(invalid(
                "train.steps/batch_size/valid_every",
                format!("{}/{}/{}", tr.steps, tr.batch_size, tr.valid_every),
                "all ≥ 1",
            ));
        }
        Ok(())
    }

    /// Learning rate at `step` (0-based): linear warm-up to `lr`, then linear decay to `lr · final_lr_fraction`.
    pub fn lr_at(&self, step: usize) -> f64 {
        let p = &self.optim;
        let total = self.train.steps.max(1);
        if p.warmup_steps > 0 && step < p.warmup_steps {
            return p.lr * (step + 1) as f64 / p.warmup_steps as f64;
        }
        let span = total.saturating_sub(p.warmup_steps).max(1) as f64;
        let frac = ((step.saturating_sub(p.warmup_steps)) as f64 / span).min(1.0);
        p.lr * (1.0 - frac * (1.0 - p.final_lr_fraction))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_recipe_parses_and_has_75_hz_frames() {
        let text = include_str!("../../../models/recipes/mirlens-music-small.toml");
        let r = Recipe::from_toml(text).unwrap();
        assert_eq!(r.hop(), 320);
        assert_eq!(r.model.sample_rate as usize / r.hop(), 75);
        assert_eq!(r.checkpoint_steps().first(), Some(&0));
        assert_eq!(r.checkpoint_steps().last(), Some(&r.train.steps));
        // Warm-up reaches the peak, decay ends at the final fraction.
        assert!((r.lr_at(r.optim.warmup_steps - 1) - r.optim.lr).abs() < 1e-12);
        let end = r.lr_at(r.train.steps);
        assert!((end - r.optim.lr * r.optim.final_lr_fraction).abs() < 1e-12);
    }

    #[test]
    fn bad_heads_are_refused_by_name() {
        let text = include_str!("../../../models/recipes/mirlens-music-small.toml");
        let mut r = Recipe::from_toml(text).unwrap();
        r.model.num_attention_heads = 7;
        match r.check() {
            Err(PretrainError::Recipe { parameter, .. }) => {
                assert_eq!(parameter, "model.num_attention_heads")
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn bad_teacher_and_feature_grad_mult_are_refused_by_name() {
        let text = include_str!("../../../models/recipes/mirlens-music-small.toml");
        let base = Recipe::from_toml(text).unwrap();
        assert_eq!(base.targets.teacher, "mfcc+cqt");
        assert_eq!(base.optim.feature_grad_mult, 0.1);
        let mut r = base.clone();
        r.targets.teacher = "chroma".into();
        let mut q = base.clone();
        q.optim.feature_grad_mult = 0.0;
        for (r, want) in [(r, "targets.teacher"), (q, "optim.feature_grad_mult")] {
            match r.check() {
                Err(PretrainError::Recipe { parameter, .. }) => assert_eq!(parameter, want),
                other => panic!("unexpected {other:?}"),
            }
        }
        // Recipes written before these fields existed keep HuBERT's MFCC teacher and an unscaled gradient.
        let old = text
            .lines()
            .filter(|l| !l.starts_with("teacher") && !l.starts_with("feature_grad_mult"))
            .collect::<Vec<_>>()
            .join("\n");
        let o = Recipe::from_toml(&old).unwrap();
        assert_eq!(
            (o.targets.teacher.as_str(), o.optim.feature_grad_mult),
            ("mfcc", 1.0)
        );
    }
}

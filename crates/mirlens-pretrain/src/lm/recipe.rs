//! The causal-LM recipe (TOML): Llama configuration, corpus table, optimiser, steps and checkpoints.
//!
//! ```toml
//! kind = "causal-lm"
//! name = "mirlens-midi-small"
//! seed = 20261203
//! [model]
//! hidden_size = 128
//! num_hidden_layers = 4
//! num_attention_heads = 4
//! num_key_value_heads = 4
//! intermediate_size = 512
//! max_position_embeddings = 512
//! rope_theta = 10000.0
//! rms_norm_eps = 1e-5
//! tie_word_embeddings = true
//! initializer_range = 0.02
//! [corpus]
//! kind = "text-files"
//! train = "train.txt"
//! valid = "valid.txt"
//! tokenizer = "tokenizer.json"
//! bos = "BOS_None"
//! eos = "EOS_None"
//! pad = "PAD_None"
//! [optim]
//! lr = 3e-3
//! warmup_steps = 100
//! beta1 = 0.9
//! beta2 = 0.95
//! eps = 1e-8
//! weight_decay = 0.1
//! grad_clip = 1.0
//! final_lr_fraction = 0.1
//! [train]
//! steps = 2000
//! batch_size = 16
//! seq_len = 256
//! valid_every = 200
//! valid_windows = 64
//! checkpoints = [0, 500, 1000]
//! ```
//!
//! The vocabulary size and the special-token ids are not part of the recipe: they come from the corpus
//! ([`crate::lm::LmCorpus`]).

use crate::PretrainError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The value of the top-level `kind` key that marks a causal-LM recipe.
pub const CAUSAL_LM_KIND: &str = "causal-lm";

/// A complete, reproducible causal-LM training recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmRecipe {
    /// Always `"causal-lm"` (distinguishes LM recipes from the audio-encoder recipe, which has no `kind`).
    pub kind: String,
    /// Name written into the checkpoints' `config.json` (`_name_or_path`).
    pub name: String,
    /// Master seed: initialisation, batches and everything else random derive from it.
    pub seed: u64,
    /// Llama architecture.
    pub model: LmModelRecipe,
    /// Corpus description: `kind = "..."` plus whatever that kind needs (see [`crate::lm::build_corpus`]).
    pub corpus: toml::Table,
    /// Optimiser and schedule.
    pub optim: LmOptimRecipe,
    /// Steps, batches, validation and checkpoints.
    pub train: LmTrainRecipe,
}

/// Llama decoder configuration (transformers' `LlamaConfig` field names; no biases, SiLU-gated MLP).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmModelRecipe {
    /// Width d.
    pub hidden_size: usize,
    /// Decoder layers.
    pub num_hidden_layers: usize,
    /// Query heads (divides `hidden_size`; `head_dim = hidden_size / num_attention_heads`, even).
    pub num_attention_heads: usize,
    /// Key/value heads (divides `num_attention_heads`; fewer than the query heads = grouped-query attention).
    pub num_key_value_heads: usize,
    /// MLP width.
    pub intermediate_size: usize,
    /// Context length the model is built for (`train.seq_len + 1` must not exceed it).
    pub max_position_embeddings: usize,
    /// RoPE base θ.
    pub rope_theta: f64,
    /// RMSNorm epsilon.
    pub rms_norm_eps: f64,
    /// Whether the output head shares the token embedding (no `lm_head.weight` then).
    pub tie_word_embeddings: bool,
    /// Standard deviation of the normal initialisation of every matrix.
    pub initializer_range: f64,
}

impl LmModelRecipe {
    /// Per-head width.
    pub fn head_dim(&self) -> usize {
        self.hidden_size / self.num_attention_heads.max(1)
    }
}

/// AdamW with linear warm-up, linear decay and global-norm clipping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmOptimRecipe {
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
    /// Decoupled weight decay of the projection matrices (attention, MLP, untied `lm_head`); the token embedding
    /// and the RMSNorm weights are never decayed.
    pub weight_decay: f64,
    /// Global gradient-norm clip.
    pub grad_clip: f64,
    /// Learning rate at the last step as a fraction of `lr` (linear decay after warm-up).
    pub final_lr_fraction: f64,
}

/// Steps, batches, validation and checkpoints.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LmTrainRecipe {
    /// Optimiser steps.
    pub steps: usize,
    /// Crops per batch.
    pub batch_size: usize,
    /// Predicted tokens per crop (each crop holds `seq_len + 1` tokens).
    pub seq_len: usize,
    /// Validation every this many steps (also at every checkpoint and at the end).
    pub valid_every: usize,
    /// Validation loss is the mean over the first this many non-overlapping `seq_len + 1` windows of the
    /// validation stream (fewer when the stream is shorter).
    pub valid_windows: usize,
    /// Steps at which checkpoints are written (step 0 and the final step are always added).
    pub checkpoints: Vec<usize>,
}

fn invalid(parameter: &str, got: impl std::fmt::Display, expected: &str) -> PretrainError {
    PretrainError::Recipe {
        parameter: parameter.to_string(),
        got: got.to_string(),
        expected: expected.to_string(),
    }
}

/// The top-level `kind` of a recipe text, if it has one (`Some("causal-lm")` for an LM recipe, `None` for the
/// audio-encoder recipe). Fails only when the text is not TOML.
pub fn recipe_kind(text: &str) -> Result<Option<String>, PretrainError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| PretrainError::Parse {
        path: None,
        message: e.to_string(),
    })?;
    Ok(table
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string))
}

impl LmRecipe {
    /// Parse and validate TOML text.
    pub fn from_toml(text: &str) -> Result<Self, PretrainError> {
        let r: LmRecipe = crate::recipe::parse_toml(text)?;
        r.check()?;
        Ok(r)
    }

    /// Read and validate a recipe file.
    pub fn load(path: &Path) -> Result<Self, PretrainError> {
        crate::recipe::load_file(path, Self::from_toml)
    }

    /// The recipe as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The corpus kind (`corpus.kind`).
    pub fn corpus_kind(&self) -> Option<&str> {
        self.corpus.get("kind").and_then(|k| k.as_str())
    }

    /// Checkpoint steps: 0, the recipe's list (≤ steps) and the final step, sorted and unique.
    pub fn checkpoint_steps(&self) -> Vec<usize> {
        let mut v: Vec<usize> = std::iter::once(0)
            .chain(
                self.train
                    .checkpoints
                    .iter()
                    .copied()
                    .filter(|&s| s <= self.train.steps),
            )
            .chain(std::iter::once(self.train.steps))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
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

    /// Validate every field.
    pub fn check(&self) -> Result<(), PretrainError> {
        if self.kind != CAUSAL_LM_KIND {
            return Err(invalid("kind", &self.kind, "\"causal-lm\""));
        }
        let m = &self.model;
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
        if !m.head_dim().is_multiple_of(2) {
            return Err(invalid(
                "model.num_attention_heads",
                m.num_attention_heads,
                "a divisor of hidden_size leaving an even head_dim (RoPE rotates halves)",
            ));
        }
        if m.num_key_value_heads == 0
            || !m.num_attention_heads.is_multiple_of(m.num_key_value_heads)
        {
            return Err(invalid(
                "model.num_key_value_heads",
                m.num_key_value_heads,
                "a positive divisor of num_attention_heads",
            ));
        }
        if m.num_hidden_layers == 0 || m.intermediate_size == 0 {
            return Err(invalid(
                "model.num_hidden_layers/intermediate_size",
                format!("{}/{}", m.num_hidden_layers, m.intermediate_size),
                "both ≥ 1",
            ));
        }
        if !(m.rope_theta.is_finite() && m.rope_theta > 0.0) {
            return Err(invalid("model.rope_theta", m.rope_theta, "> 0"));
        }
        if !(m.rms_norm_eps.is_finite() && m.rms_norm_eps > 0.0) {
            return Err(invalid("model.rms_norm_eps", m.rms_norm_eps, "> 0"));
        }
        if !(m.initializer_range.is_finite() && m.initializer_range > 0.0) {
            return Err(invalid(
                "model.initializer_range",
                m.initializer_range,
                "> 0",
            ));
        }
        match self.corpus.get("kind") {
            Some(toml::Value::String(_)) => {}
            Some(other) => return Err(invalid("corpus.kind", other, "a string")),
            None => {
                return Err(invalid(
                    "corpus.kind",
                    "nothing",
                    "a corpus kind, e.g. \"text-files\"",
                ));
            }
        }
        let p = &self.optim;
        if !(p.lr > 0.0 && p.lr.is_finite()) {
            return Err(invalid("optim.lr", p.lr, "> 0"));
        }
        let eps_ok = p.eps.is_finite() && p.eps > 0.0;
        if !(0.0..1.0).contains(&p.beta1) || !(0.0..1.0).contains(&p.beta2) || !eps_ok {
            return Err(invalid(
                "optim.beta1/beta2/eps",
                format!("{}/{}/{}", p.beta1, p.beta2, p.eps),
                "betas in [0, 1), eps > 0",
            ));
        }
        let clip_ok = p.grad_clip.is_finite() && p.grad_clip > 0.0;
        let decay_ok = p.weight_decay.is_finite() && p.weight_decay >= 0.0;
        if !clip_ok || !decay_ok || !(0.0..=1.0).contains(&p.final_lr_fraction) {
            return Err(invalid(
                "optim.grad_clip/weight_decay/final_lr_fraction",
                format!("{}/{}/{}", p.grad_clip, p.weight_decay, p.final_lr_fraction),
                "grad_clip > 0, weight_decay ≥ 0, final_lr_fraction in [0, 1]",
            ));
        }
        let t = &self.train;
        if t.steps == 0 || t.batch_size == 0 || t.valid_every == 0 || t.valid_windows == 0 {
            return Err(invalid(
                "train.steps/batch_size/valid_every/valid_windows",
                format!(
                    "{}/{}/{}/{}",
                    t.steps, t.batch_size, t.valid_every, t.valid_windows
                ),
                "all ≥ 1",
            ));
        }
        if t.seq_len < 2 || t.seq_len + 1 > m.max_position_embeddings {
            return Err(invalid(
                "train.seq_len",
                t.seq_len,
                &format!(
                    "2 ≤ seq_len and seq_len + 1 ≤ model.max_position_embeddings ({})",
                    m.max_position_embeddings
                ),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
kind = "causal-lm"
name = "mirlens-midi-small"
seed = 20261203
[model]
hidden_size = 128
num_hidden_layers = 4
num_attention_heads = 4
num_key_value_heads = 4
intermediate_size = 512
max_position_embeddings = 512
rope_theta = 10000.0
rms_norm_eps = 1e-5
tie_word_embeddings = true
initializer_range = 0.02
[corpus]
kind = "text-files"
train = "train.txt"
valid = "valid.txt"
tokenizer = "tokenizer.json"
bos = "BOS_None"
eos = "EOS_None"
pad = "PAD_None"
[optim]
lr = 3e-3
warmup_steps = 100
beta1 = 0.9
beta2 = 0.95
eps = 1e-8
weight_decay = 0.1
grad_clip = 1.0
final_lr_fraction = 0.1
[train]
steps = 2000
batch_size = 16
seq_len = 256
valid_every = 200
valid_windows = 64
checkpoints = [500, 1000, 5000]
"#;

    #[test]
    fn example_parses_round_trips_and_schedules() {
        let r = LmRecipe::from_toml(EXAMPLE).unwrap();
        assert_eq!(recipe_kind(EXAMPLE).unwrap().as_deref(), Some("causal-lm"));
        assert_eq!(r.corpus_kind(), Some("text-files"));
        assert_eq!(r.model.head_dim(), 32);
        assert_eq!(LmRecipe::from_toml(&r.to_toml()).unwrap(), r);
        // 0 and the final step are always checkpointed; steps beyond the run are dropped.
        assert_eq!(r.checkpoint_steps(), [0, 500, 1000, 2000]);
        assert!((r.lr_at(99) - 3e-3).abs() < 1e-15);
        assert!((r.lr_at(2000) - 3e-4).abs() < 1e-15);
        assert!(r.lr_at(0) < r.lr_at(50));
    }

    #[test]
    fn invalid_fields_are_refused_by_name() {
        let base = LmRecipe::from_toml(EXAMPLE).unwrap();
        type Edit = Box<dyn Fn(&mut LmRecipe)>;
        let cases: Vec<(Edit, &str)> = vec![
            (Box::new(|r| r.kind = "audio".into()), "kind"),
            (
                Box::new(|r| r.model.num_attention_heads = 3),
                "model.num_attention_heads",
            ),
            (
                Box::new(|r| r.model.num_key_value_heads = 3),
                "model.num_key_value_heads",
            ),
            (Box::new(|r| r.train.seq_len = 512), "train.seq_len"),
            (
                Box::new(|r| {
                    r.corpus.remove("kind");
                }),
                "corpus.kind",
            ),
            (Box::new(|r| r.optim.lr = 0.0), "optim.lr"),
        ];
        for (edit, want) in cases {
            let mut r = base.clone();
            edit(&mut r);
            match r.check() {
                Err(PretrainError::Recipe { parameter, .. }) => assert_eq!(parameter, want),
                other => panic!("{want}: unexpected {other:?}"),
            }
        }
        // Unknown keys are refused, and the audio recipe has no kind.
        let typo = EXAMPLE.replace("rope_theta", "rope_thta");
        assert!(matches!(
            LmRecipe::from_toml(&typo),
            Err(PretrainError::Parse { .. })
        ));
        let audio = include_str!("../../../../models/recipes/mirlens-music-small.toml");
        assert_eq!(recipe_kind(audio).unwrap(), None);
    }
}

//! Pretraining of small Llama-architecture decoder language models from token sequences.
//!
//! - [`recipe`]: the TOML recipe (`kind = "causal-lm"`; Llama configuration, corpus table, optimiser, steps,
//!   checkpoints);
//! - [`corpus`]: the token corpus ([`LmCorpus`]: tokenizer, special ids, `BOS … EOS` sequences) and
//!   [`build_corpus`], which dispatches on `corpus.kind`;
//! - [`model`]: the trainable decoder under HF key names, its seeded initialisation and differentiable forward (the
//!   math of `mirlens_models::text::llama`);
//! - [`train`]: the trainer ([`LmTrainer`]): random crops, AdamW, validation loss and perplexity, checkpoints in HF
//!   Llama layout with training state for exact resume, JSONL log, SVG curve;
//! - [`export`]: a finished run → a model folder ([`export_lm`]).
//!
//! The checkpoints load in `mirlens_models::TextModel` and in transformers' `LlamaForCausalLM`.

pub mod corpus;
pub mod export;
pub mod model;
pub mod recipe;
pub mod synth;
pub mod train;

pub use corpus::{LmCorpus, build_corpus};
pub use export::export_lm;
pub use model::LmParams;
pub use recipe::{CAUSAL_LM_KIND, LmRecipe, recipe_kind};
pub use train::{LmStepReport, LmTrainer, LmValidReport};

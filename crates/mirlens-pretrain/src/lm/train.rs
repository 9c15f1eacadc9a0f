//! The causal-LM trainer: random crops of the token stream, AdamW with warm-up, decay and clipping, validation,
//! checkpoints in HF Llama layout and bit-identical resume.
//!
//! - **Batches.** The training stream is the concatenation of every training sequence (`BOS … EOS BOS … EOS …`).
//!   Step `s` draws `batch_size` crops of `seq_len + 1` tokens at uniform start positions from a generator seeded by
//!   `derive_seed(seed, "STEP", s)`; a crop's first `seq_len` tokens are the input, its last `seq_len` the targets.
//!   The RNG state of a run is therefore its step number, and a resumed run continues bit-identically.
//! - **Optimiser.** AdamW: bias-corrected moments, ε added after the square root, decoupled weight decay
//!   `w ← w·(1 − lr·wd)` on the projection matrices and an untied head only (not the token embedding — with tied
//!   weights it is also the output layer — nor the RMSNorm weights); linear warm-up, then linear decay to
//!   `final_lr_fraction · lr`; global-norm clipping of the gradient before the moments.
//! - **Validation** every `valid_every` steps, at every checkpoint and at the end: the mean next-token
//!   cross-entropy over the first `valid_windows` non-overlapping `seq_len + 1` windows of the validation stream
//!   (each window predicts `seq_len` tokens), and its perplexity `exp(loss)`.
//!
//! Output directory:
//! - `recipe.toml` (effective recipe), `tokenizer.json` (the corpus tokenizer);
//! - `train_log.jsonl`: per step `{step, lr, loss, grad_norm, secs, tokens_per_sec}`, per validation
//!   `{step, valid_loss, valid_ppl}`; `loss_curve.svg`;
//! - `checkpoints/step-NNNNNN/`: `config.json` (`LlamaForCausalLM`), `model.safetensors` (HF keys, no `lm_head`
//!   when tied), `tokenizer.json`, `tokenizer_config.json`, `generation_config.json`, plus
//!   `training_state.safetensors` (parameters, Adam moments) and `training_state.json` (step, seed, total steps).
//!   Each folder is written as `step-NNNNNN.tmp` and renamed.

use crate::PretrainError;
use crate::layout::checkpoint_name;
use crate::lm::corpus::LmCorpus;
use crate::lm::model::{self, LmParams, LmTables};
use crate::lm::recipe::LmRecipe;
use crate::train::TrainOptions;
use candle_core::{DType, Device, Tensor};
use mirlens_datasets::synth::dsp::{Rng, derive_seed};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

type Result<T> = std::result::Result<T, PretrainError>;

/// What one step reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LmStepReport {
    /// Steps done after this one.
    pub step: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Mean next-token cross-entropy of the batch (nats).
    pub loss: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Wall seconds of this step.
    pub secs: f64,
    /// Predicted tokens per wall second.
    pub tokens_per_sec: f64,
}

/// Validation figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LmValidReport {
    /// Steps done.
    pub step: usize,
    /// Mean next-token cross-entropy over the validation windows (nats).
    pub valid_loss: f64,
    /// `exp(valid_loss)`.
    pub valid_ppl: f64,
}

/// A causal-LM training run.
pub struct LmTrainer {
    recipe: LmRecipe,
    corpus: LmCorpus,
    out: PathBuf,
    device: Device,
    params: LmParams,
    m: BTreeMap<String, Tensor>,
    v: BTreeMap<String, Tensor>,
    step: usize,
    fixed_batch: bool,
    tables: LmTables,
    stream: Vec<u32>,
    windows: Vec<Vec<u32>>,
    tokenizer_config: serde_json::Value,
    /// Restored from a checkpoint (its step-0 validation and checkpoint are not redone).
    resumed: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> PretrainError + '_ {
    move |source| PretrainError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(io(&tmp))?;
    std::fs::rename(&tmp, path).map_err(io(path))
}

fn json(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default()
}

impl LmTrainer {
    /// Prepare a run in `out`: check the corpus against the recipe, initialise (or, with `opts.resume`, restore)
    /// the model, write `recipe.toml` and `tokenizer.json`. Without `opts.resume`, an earlier `train_log.jsonl` in
    /// `out` is removed (a fresh run starts a new log).
    pub fn new(
        recipe: LmRecipe,
        corpus: LmCorpus,
        out: &Path,
        opts: &TrainOptions,
    ) -> Result<Self> {
        recipe.check()?;
        corpus.check()?;
        std::fs::create_dir_all(out).map_err(io(out))?;
        let device = Device::Cpu;
        let win = recipe.train.seq_len + 1;
        let stream: Vec<u32> = corpus.train.iter().flatten().copied().collect();
        if stream.len() < win {
            return Err(PretrainError::Corpus {
                message: format!(
                    "the training stream has {} tokens, fewer than one crop of seq_len + 1 = {win}",
                    stream.len()
                ),
            });
        }
        let valid: Vec<u32> = corpus.valid.iter().flatten().copied().collect();
        let windows: Vec<Vec<u32>> = valid
            .chunks_exact(win)
            .take(recipe.train.valid_windows)
            .map(<[u32]>::to_vec)
            .collect();
        if windows.is_empty() {
            return Err(PretrainError::Corpus {
                message: format!(
                    "the validation stream has {} tokens, fewer than one window of seq_len + 1 = {win}",
                    valid.len()
                ),
            });
        }
        let params = LmParams::init(&recipe.model, corpus.vocab_size, recipe.seed, &device)?;
        let zeros = |p: &LmParams| -> Result<BTreeMap<String, Tensor>> {
            p.vars
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.as_tensor().zeros_like()?)))
                .collect()
        };
        let (m, v) = (zeros(&params)?, zeros(&params)?);
        let tables = LmTables::new(&recipe.model, recipe.train.seq_len, DType::F32, &device)?;
        let tok_path = out.join("tokenizer.json");
        write_atomic(&tok_path, &corpus.tokenizer_json)?;
        let tok = mirlens_models::TextTokenizer::from_file(&tok_path)?;
        let name = |id: u32| tok.id_to_token(id).map(serde_json::Value::String);
        let tokenizer_config = serde_json::json!({
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": name(corpus.bos_id),
            "eos_token": name(corpus.eos_id),
            "pad_token": name(corpus.pad_id),
            "model_max_length": recipe.model.max_position_embeddings,
        });
        let mut tr = LmTrainer {
            recipe,
            corpus,
            out: out.to_path_buf(),
            device,
            params,
            m,
            v,
            step: 0,
            fixed_batch: opts.fixed_batch,
            tables,
            stream,
            windows,
            tokenizer_config,
            resumed: false,
        };
        if opts.resume {
            tr.restore_latest()?;
        } else {
            // A fresh run starts a new log (its checkpoints replace those of an earlier run in `out`).
            let log = out.join("train_log.jsonl");
            if log.is_file() {
                std::fs::remove_file(&log).map_err(io(&log))?;
            }
        }
        write_atomic(&out.join("recipe.toml"), tr.recipe.to_toml().as_bytes())?;
        Ok(tr)
    }

    /// Steps done.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The recipe.
    pub fn recipe(&self) -> &LmRecipe {
        &self.recipe
    }

    /// The corpus.
    pub fn corpus(&self) -> &LmCorpus {
        &self.corpus
    }

    /// The parameters.
    pub fn params(&self) -> &LmParams {
        &self.params
    }

    /// The validation windows (`seq_len + 1` tokens each).
    pub fn valid_windows(&self) -> &[Vec<u32>] {
        &self.windows
    }

    /// Output directory.
    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    /// `config.json` of the checkpoints.
    pub fn hf_config(&self) -> serde_json::Value {
        let c = &self.corpus;
        model::hf_config(
            &self.recipe.name,
            &self.recipe.model,
            c.vocab_size,
            c.bos_id,
            c.eos_id,
            c.pad_id,
        )
    }

    /// Input and target tensors `[B, T]` of the crops of step `step` (the random batch every step draws).
    pub fn batch(&self, step: usize) -> Result<(Tensor, Tensor)> {
        let s = if self.fixed_batch { 0 } else { step };
        let mut rng = Rng::new(derive_seed(self.recipe.seed, 0x5354_4550, s as u64));
        let (bs, t) = (self.recipe.train.batch_size, self.recipe.train.seq_len);
        let starts = self.stream.len() - (t + 1) + 1;
        let mut x = Vec::with_capacity(bs * t);
        let mut y = Vec::with_capacity(bs * t);
        for _ in 0..bs {
            let o = rng.below(starts);
            x.extend_from_slice(&self.stream[o..o + t]);
            y.extend_from_slice(&self.stream[o + 1..o + t + 1]);
        }
        Ok((
            Tensor::from_vec(x, (bs, t), &self.device)?,
            Tensor::from_vec(y, (bs, t), &self.device)?,
        ))
    }

    /// Run one optimiser step.
    pub fn train_step(&mut self) -> Result<LmStepReport> {
        let start = Instant::now();
        let s = self.step;
        let (x, y) = self.batch(s)?;
        let p = self.params.tensors();
        let loss_t = model::next_token_loss(&self.recipe.model, &p, &self.tables, &x, &y)?;
        let loss = loss_t.to_scalar::<f32>()? as f64;
        if !loss.is_finite() {
            return Err(PretrainError::NonFinite { step: s, loss });
        }
        let grads = loss_t.backward()?;
        let mut sq = 0f64;
        let mut gs = BTreeMap::new();
        for (k, var) in &self.params.vars {
            // Detached: gradients carry the backward graph, which must not be chained into the Adam moments.
            let g = match grads.get(var.as_tensor()) {
                Some(g) => g.detach(),
                None => var.as_tensor().zeros_like()?,
            };
            sq += g.sqr()?.sum_all()?.to_scalar::<f32>()? as f64;
            gs.insert(k.clone(), g);
        }
        let gnorm = sq.sqrt();
        let clip = (self.recipe.optim.grad_clip / (gnorm + 1e-6)).min(1.0);
        let lr = self.recipe.lr_at(s);
        let o = &self.recipe.optim;
        let t = (s + 1) as i32;
        let bc1 = 1.0 - o.beta1.powi(t);
        let bc2 = 1.0 - o.beta2.powi(t);
        for (k, var) in &self.params.vars {
            let g = (&gs[k] * clip)?;
            let m = ((&self.m[k] * o.beta1)? + (&g * (1.0 - o.beta1))?)?;
            let v = ((&self.v[k] * o.beta2)? + (g.sqr()? * (1.0 - o.beta2))?)?;
            let upd = ((&m / bc1)? / ((&v / bc2)?.sqrt()? + o.eps)?)?;
            let mut w = var.as_tensor().detach();
            if o.weight_decay > 0.0 && LmParams::decays(k) {
                w = (&w * (1.0 - lr * o.weight_decay))?;
            }
            var.set(&(w - (upd * lr)?)?.detach())?;
            self.m.insert(k.clone(), m.detach());
            self.v.insert(k.clone(), v.detach());
        }
        self.step += 1;
        let secs = start.elapsed().as_secs_f64();
        let tokens = self.recipe.train.batch_size * self.recipe.train.seq_len;
        Ok(LmStepReport {
            step: self.step,
            lr,
            loss,
            grad_norm: gnorm,
            secs,
            tokens_per_sec: tokens as f64 / secs.max(1e-9),
        })
    }

    /// Validation loss and perplexity of the current parameters over the validation windows.
    pub fn validate(&self) -> Result<LmValidReport> {
        let t = self.recipe.train.seq_len;
        let p = self.params.model_tensors();
        let (mut sum, mut n) = (0f64, 0usize);
        for chunk in self.windows.chunks(self.recipe.train.batch_size) {
            let b = chunk.len();
            let x: Vec<u32> = chunk.iter().flat_map(|w| w[..t].iter().copied()).collect();
            let y: Vec<u32> = chunk.iter().flat_map(|w| w[1..].iter().copied()).collect();
            let x = Tensor::from_vec(x, (b, t), &self.device)?;
            let y = Tensor::from_vec(y, (b, t), &self.device)?;
            let l = model::next_token_loss(&self.recipe.model, &p, &self.tables, &x, &y)?;
            sum += l.to_scalar::<f32>()? as f64 * b as f64;
            n += b;
        }
        let valid_loss = sum / n.max(1) as f64;
        Ok(LmValidReport {
            step: self.step,
            valid_loss,
            valid_ppl: valid_loss.exp(),
        })
    }

    /// Write the model files of the current parameters (config, weights, tokenizer, generation config) into `dir`.
    fn write_model_files(&self, dir: &Path) -> Result<()> {
        let c = &self.corpus;
        std::fs::write(dir.join("config.json"), json(&self.hf_config())).map_err(io(dir))?;
        std::fs::write(
            dir.join("generation_config.json"),
            json(&model::generation_config(c.bos_id, c.eos_id, c.pad_id)),
        )
        .map_err(io(dir))?;
        std::fs::write(dir.join("tokenizer.json"), &c.tokenizer_json).map_err(io(dir))?;
        std::fs::write(
            dir.join("tokenizer_config.json"),
            json(&self.tokenizer_config),
        )
        .map_err(io(dir))?;
        let tensors: HashMap<String, Tensor> = self.params.model_tensors().into_iter().collect();
        candle_core::safetensors::save(&tensors, dir.join("model.safetensors"))?;
        Ok(())
    }

    /// Write the checkpoint of the current step (HF layout + training state), atomically (temp dir + rename).
    pub fn save_checkpoint(&self) -> Result<PathBuf> {
        let root = self.out.join("checkpoints");
        std::fs::create_dir_all(&root).map_err(io(&root))?;
        let dir = root.join(checkpoint_name(self.step));
        let tmp = root.join(format!("{}.tmp", checkpoint_name(self.step)));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        }
        std::fs::create_dir_all(&tmp).map_err(io(&tmp))?;
        self.write_model_files(&tmp)?;
        crate::state::save_state(&tmp, &self.params.vars, &self.m, &self.v)?;
        let meta = serde_json::json!({
            "step": self.step,
            "seed": self.recipe.seed,
            "rng": format!("step-derived: derive_seed({}, STEP, step)", self.recipe.seed),
            "recipe": self.recipe.name,
            "total_steps": self.recipe.train.steps,
            "vocab_size": self.corpus.vocab_size,
        });
        std::fs::write(tmp.join("training_state.json"), json(&meta)).map_err(io(&tmp))?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
        Ok(dir)
    }

    /// Restore the latest checkpoint that has a training state; returns its step (0 and nothing restored if none).
    /// Log lines after that step are dropped.
    pub fn restore_latest(&mut self) -> Result<usize> {
        let wants = [
            ("seed", self.recipe.seed),
            ("total_steps", self.recipe.train.steps as u64),
            ("vocab_size", self.corpus.vocab_size as u64),
        ];
        let hint = "resume with the same recipe, corpus and --steps; this run has";
        let Some((step, dir)) = crate::state::latest_state(&self.out, &wants, hint)? else {
            return Ok(0);
        };
        crate::state::load_state(
            &dir,
            &self.params.vars,
            &mut self.m,
            &mut self.v,
            &self.device,
        )?;
        self.step = step;
        self.resumed = true;
        crate::state::truncate_log(&self.out, step)?;
        Ok(step)
    }

    fn log(&self, v: &impl serde::Serialize) -> Result<()> {
        crate::state::append_log(&self.out, v)
    }

    /// Train to the end of the schedule (or `opts.stop_after`), validating every `valid_every` steps, at every
    /// checkpoint and at the end, and writing checkpoints at the recipe's steps; `on_step` sees every step report.
    /// Returns the last validation.
    pub fn run(
        &mut self,
        opts: &TrainOptions,
        on_step: &mut dyn FnMut(&LmStepReport),
    ) -> Result<LmValidReport> {
        let end = opts
            .stop_after
            .unwrap_or(self.recipe.train.steps)
            .min(self.recipe.train.steps);
        let ckpts = self.recipe.checkpoint_steps();
        let mut last_valid = None;
        if self.step == 0 && !self.resumed {
            let v = self.validate()?;
            self.log(&v)?;
            self.save_checkpoint()?;
            last_valid = Some(v);
        }
        while self.step < end {
            let r = self.train_step()?;
            self.log(&r)?;
            on_step(&r);
            let at_ckpt = ckpts.contains(&self.step);
            if at_ckpt
                || self.step == end
                || self.step.is_multiple_of(self.recipe.train.valid_every)
            {
                let v = self.validate()?;
                self.log(&v)?;
                last_valid = Some(v);
            }
            if at_ckpt {
                self.save_checkpoint()?;
                self.write_curve()?;
            }
        }
        self.write_curve()?;
        match last_valid {
            Some(v) => Ok(v),
            None => self.validate(),
        }
    }

    /// Write `loss_curve.svg` from the log (training and validation loss against step).
    pub fn write_curve(&self) -> Result<()> {
        crate::state::write_curve(
            &self.out,
            format!("{}: next-token loss", self.recipe.name),
            "cross-entropy (nats/token)",
        )
    }
}

//! The trainer: batches, HuBERT span masking, Adam with warm-up and clipping, validation, checkpoints and resume.
//!
//! Every random choice of step `s` (batch clips, masks) is drawn from a generator seeded by `(seed, s)`, so the
//! RNG state of a run is its step number and a resumed run continues bit-identically.
//!
//! Output directory layout:
//! - `checkpoints/step-NNNNNN/{config.json, preprocessor_config.json, model.safetensors}` (HF HuBERT layout) plus
//!   `training_state.safetensors` (all parameters incl. heads, Adam moments) and `training_state.json` (step);
//! - `targets.safetensors` (k-means centroids, MFCC and CQT standardisation);
//! - `train_log.jsonl` (one JSON object per step and per validation) and `loss_curve.svg`;
//! - `recipe.toml` (the effective recipe).

use crate::PretrainError;
use crate::corpus::{Corpus, column_stats, standardize};
use crate::kmeans::KMeans;
pub use crate::layout::checkpoint_name;
use crate::model::{self, Params};
use crate::recipe::Recipe;
use candle_core::{Device, Tensor};
use mirlens_datasets::synth::dsp::{Rng, derive_seed};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

type Result<T> = std::result::Result<T, PretrainError>;

/// Options of one training invocation.
#[derive(Debug, Clone, Default)]
pub struct TrainOptions {
    /// Continue from the latest checkpoint with training state in the output directory.
    pub resume: bool,
    /// Stop after this step even though the schedule runs longer (the schedule is unchanged; used to simulate an
    /// interruption). `None` = run to the recipe's last step.
    pub stop_after: Option<usize>,
    /// Every step reuses the clips and masks of step 0 (an overfitting check of the whole pipeline).
    pub fixed_batch: bool,
}

/// What one step reports.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct StepReport {
    /// Steps done after this one.
    pub step: usize,
    /// Learning rate used.
    pub lr: f64,
    /// Weighted loss.
    pub loss: f64,
    /// Cluster cross-entropy.
    pub ce: f64,
    /// CQT MSE.
    pub mse: f64,
    /// Cluster accuracy at masked frames.
    pub acc: f64,
    /// Global gradient norm before clipping.
    pub grad_norm: f64,
    /// Wall seconds of this step.
    pub secs: f64,
    /// Seconds of audio processed per wall second.
    pub audio_per_sec: f64,
}

/// Validation figures.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ValidReport {
    /// Steps done.
    pub step: usize,
    /// Weighted loss.
    pub valid_loss: f64,
    /// Cluster cross-entropy.
    pub valid_ce: f64,
    /// CQT MSE.
    pub valid_mse: f64,
    /// Cluster accuracy.
    pub valid_acc: f64,
}

/// A training run.
pub struct Trainer {
    recipe: Recipe,
    out: PathBuf,
    device: Device,
    corpus: Corpus,
    /// Cluster labels per clip `[frames]`, train then valid.
    train_labels: Vec<Vec<u32>>,
    valid_labels: Vec<Vec<u32>>,
    kmeans: KMeans,
    mfcc_stats: (Vec<f32>, Vec<f32>),
    params: Params,
    m: BTreeMap<String, Tensor>,
    v: BTreeMap<String, Tensor>,
    step: usize,
    fixed_batch: bool,
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

/// HF `config.json` of the recipe's encoder (`model_type = "hubert"`, `HubertModel`).
pub fn hf_config(recipe: &Recipe) -> serde_json::Value {
    let m = &recipe.model;
    serde_json::json!({
        "_name_or_path": recipe.name,
        "architectures": ["HubertModel"],
        "model_type": "hubert",
        "hidden_size": m.hidden_size,
        "num_hidden_layers": m.num_hidden_layers,
        "num_attention_heads": m.num_attention_heads,
        "intermediate_size": m.intermediate_size,
        "hidden_act": "gelu",
        "feat_extract_activation": "gelu",
        "feat_extract_norm": "group",
        "conv_dim": m.conv_dim,
        "conv_kernel": m.conv_kernel,
        "conv_stride": m.conv_stride,
        "num_feat_extract_layers": m.conv_dim.len(),
        "conv_bias": false,
        "num_conv_pos_embeddings": m.num_conv_pos_embeddings,
        "num_conv_pos_embedding_groups": m.num_conv_pos_embedding_groups,
        "do_stable_layer_norm": false,
        "feat_proj_layer_norm": true,
        "layer_norm_eps": 1e-5,
        "torch_dtype": "float32",
    })
}

/// HF `preprocessor_config.json` (24 kHz, per-clip normalisation as in training).
pub fn hf_preprocessor(recipe: &Recipe) -> serde_json::Value {
    serde_json::json!({
        "feature_extractor_type": "Wav2Vec2FeatureExtractor",
        "feature_size": 1,
        "sampling_rate": recipe.model.sample_rate,
        "padding_value": 0.0,
        "padding_side": "right",
        "do_normalize": true,
        "return_attention_mask": false,
    })
}

/// HuBERT span masking of `t` frames: each start position in `0..=t − L` opens a span of `L` frames with
/// probability `p`; at least one span is always masked.
pub fn span_mask(t: usize, p: f64, len: usize, rng: &mut Rng) -> Vec<bool> {
    let mut mask = vec![false; t];
    let last = t.saturating_sub(len);
    let mut any = false;
    for s in 0..=last {
        if rng.uniform() < p {
            any = true;
            for m in &mut mask[s..(s + len).min(t)] {
                *m = true;
            }
        }
    }
    if !any {
        let s = rng.below(last + 1);
        for m in &mut mask[s..(s + len).min(t)] {
            *m = true;
        }
    }
    mask
}

impl Trainer {
    /// Build the corpus, fit the k-means targets and initialise (or, with `opts.resume`, restore) the model.
    pub fn new(recipe: Recipe, out: &Path, opts: &TrainOptions) -> Result<Self> {
        recipe.check()?;
        std::fs::create_dir_all(out).map_err(io(out))?;
        let device = Device::Cpu;
        let corpus = Corpus::build(&recipe)?;
        let dm = recipe.targets.n_mfcc;
        let (mean, std) = column_stats(corpus.train.iter().map(|c| c.mfcc.as_slice()), dm);
        let with_cqt = recipe.targets.teacher == "mfcc+cqt";
        let dc = if with_cqt { recipe.targets.cqt_bins } else { 0 };
        let d = dm + dc;
        let std_feats = |c: &crate::corpus::Clip| {
            let mut f = c.mfcc.clone();
            standardize(&mut f, &mean, &std);
            if !with_cqt {
                return f;
            }
            // Equal weight per block: each standardised block is scaled by 1/sqrt(width).
            let (sm, sc) = (1.0 / (dm as f32).sqrt(), 1.0 / (dc as f32).sqrt());
            let mut out = Vec::with_capacity(f.len() / dm * d);
            for (m, q) in f.chunks_exact(dm).zip(c.cqt.chunks_exact(dc)) {
                out.extend(m.iter().map(|v| v * sm));
                out.extend(q.iter().map(|v| v * sc));
            }
            out
        };
        // k-means fit on an evenly strided sample of training frames.
        let all: Vec<f32> = corpus.train.iter().flat_map(std_feats).collect();
        let n = all.len() / d;
        let stride = n.div_ceil(recipe.targets.kmeans_max_frames).max(1);
        let sample: Vec<f32> = all
            .chunks_exact(d)
            .step_by(stride)
            .flatten()
            .copied()
            .collect();
        let kmeans = KMeans::fit(
            &sample,
            d,
            recipe.targets.clusters,
            recipe.targets.kmeans_iters,
            recipe.seed,
        );
        let train_labels = corpus
            .train
            .iter()
            .map(|c| kmeans.predict(&std_feats(c)))
            .collect();
        let valid_labels = corpus
            .valid
            .iter()
            .map(|c| kmeans.predict(&std_feats(c)))
            .collect();
        let params = Params::init(&recipe, &device)?;
        let zeros = |p: &Params| -> Result<BTreeMap<String, Tensor>> {
            p.vars
                .iter()
                .map(|(k, v)| Ok((k.clone(), v.as_tensor().zeros_like()?)))
                .collect()
        };
        let m = zeros(&params)?;
        let v = zeros(&params)?;
        let mut tr = Trainer {
            recipe,
            out: out.to_path_buf(),
            device,
            corpus,
            train_labels,
            valid_labels,
            kmeans,
            mfcc_stats: (mean, std),
            params,
            m,
            v,
            step: 0,
            fixed_batch: opts.fixed_batch,
        };
        if opts.resume {
            tr.restore_latest()?;
        }
        tr.write_targets()?;
        write_atomic(&out.join("recipe.toml"), tr.recipe.to_toml().as_bytes())?;
        Ok(tr)
    }

    /// Steps done.
    pub fn step(&self) -> usize {
        self.step
    }

    /// The recipe.
    pub fn recipe(&self) -> &Recipe {
        &self.recipe
    }

    /// The parameters.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The corpus.
    pub fn corpus(&self) -> &Corpus {
        &self.corpus
    }

    /// The k-means targets model.
    pub fn kmeans(&self) -> &KMeans {
        &self.kmeans
    }

    /// Output directory.
    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    fn write_targets(&self) -> Result<()> {
        let k = &self.kmeans;
        let t = |v: &[f32]| Tensor::from_vec(v.to_vec(), v.len(), &self.device);
        let mut map = HashMap::new();
        map.insert(
            "kmeans.centroids".to_string(),
            Tensor::from_vec(k.centroids.clone(), (k.k, k.d), &self.device)?,
        );
        map.insert("mfcc.mean".to_string(), t(&self.mfcc_stats.0)?);
        map.insert("mfcc.std".to_string(), t(&self.mfcc_stats.1)?);
        map.insert("cqt.mean".to_string(), t(&self.corpus.cqt_stats.0)?);
        map.insert("cqt.std".to_string(), t(&self.corpus.cqt_stats.1)?);
        let path = self.out.join("targets.safetensors");
        let tmp = path.with_extension("tmp");
        candle_core::safetensors::save(&map, &tmp)?;
        std::fs::rename(&tmp, &path).map_err(io(&path))
    }

    /// Batch tensors of clips `ids` of a pool with masks: `(input, mask [B,T], idx [M], labels [M], cqt [M,bins])`.
    fn batch(
        &self,
        valid: bool,
        ids: &[usize],
        rng: &mut Rng,
    ) -> Result<(Tensor, Tensor, Tensor, Tensor, Tensor)> {
        let (pool, labels) = if valid {
            (&self.corpus.valid, &self.valid_labels)
        } else {
            (&self.corpus.train, &self.train_labels)
        };
        let t = self.corpus.frames;
        let nb = self.recipe.targets.cqt_bins;
        let n = self.recipe.clip_samples();
        let mut x = Vec::with_capacity(ids.len() * n);
        let mut mk = Vec::with_capacity(ids.len() * t);
        let mut idx = Vec::new();
        let mut lab = Vec::new();
        let mut cq = Vec::new();
        for (b, &i) in ids.iter().enumerate() {
            x.extend_from_slice(&pool[i].samples);
            let m = span_mask(
                t,
                self.recipe.objective.mask_prob,
                self.recipe.objective.mask_length,
                rng,
            );
            for (f, &on) in m.iter().enumerate() {
                mk.push(if on { 1f32 } else { 0.0 });
                if on {
                    idx.push((b * t + f) as u32);
                    lab.push(labels[i][f]);
                    cq.extend_from_slice(&pool[i].cqt[f * nb..(f + 1) * nb]);
                }
            }
        }
        let bsz = ids.len();
        let mcount = idx.len();
        Ok((
            Tensor::from_vec(x, (bsz, n), &self.device)?,
            Tensor::from_vec(mk, (bsz, t), &self.device)?,
            Tensor::from_vec(idx, mcount, &self.device)?,
            Tensor::from_vec(lab, mcount, &self.device)?,
            Tensor::from_vec(cq, (mcount, nb), &self.device)?,
        ))
    }

    /// Run one optimiser step.
    pub fn train_step(&mut self) -> Result<StepReport> {
        let start = Instant::now();
        let s = self.step;
        let mut rng = Rng::new(derive_seed(
            self.recipe.seed,
            0x5354_4550,
            if self.fixed_batch { 0 } else { s as u64 },
        ));
        let bs = self.recipe.train.batch_size;
        let ids: Vec<usize> = (0..bs)
            .map(|_| rng.below(self.corpus.train.len()))
            .collect();
        let (x, mk, idx, lab, cq) = self.batch(false, &ids, &mut rng)?;
        let fwd = model::forward(&self.recipe, &self.params, &x, Some(&mk))?;
        let l = model::losses(&self.recipe, &self.params, &fwd.last, &idx, &lab, &cq)?;
        let loss = l.total.to_scalar::<f32>()? as f64;
        if !loss.is_finite() {
            return Err(PretrainError::NonFinite { step: s, loss });
        }
        let grads = l.total.backward()?;
        // Global gradient norm and clipping factor.
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
            // Decoupled weight decay on weight matrices and conv kernels only (not biases, norms, the mask
            // embedding or the weight-norm magnitude).
            if o.weight_decay > 0.0 && w.rank() >= 2 && !k.ends_with("original0") {
                w = (&w * (1.0 - lr * o.weight_decay))?;
            }
            let w = (w - (upd * lr)?)?.detach();
            var.set(&w)?;
            self.m.insert(k.clone(), m.detach());
            self.v.insert(k.clone(), v.detach());
        }
        self.step += 1;
        let secs = start.elapsed().as_secs_f64();
        Ok(StepReport {
            step: self.step,
            lr,
            loss,
            ce: l.ce.to_scalar::<f32>()? as f64,
            mse: l.mse.to_scalar::<f32>()? as f64,
            acc: l.accuracy,
            grad_norm: gnorm,
            secs,
            audio_per_sec: bs as f64 * self.recipe.corpus.clip_secs / secs.max(1e-9),
        })
    }

    /// Validation loss on the held-out pool with fixed masks (seeded per clip, independent of the step).
    pub fn validate(&self) -> Result<ValidReport> {
        let bs = self.recipe.train.batch_size;
        let n = self.corpus.valid.len();
        let mut acc = (0f64, 0f64, 0f64, 0f64, 0f64);
        for start in (0..n).step_by(bs) {
            let ids: Vec<usize> = (start..(start + bs).min(n)).collect();
            let mut rng = Rng::new(derive_seed(self.recipe.seed, 0x5641_4C44, start as u64));
            let (x, mk, idx, lab, cq) = self.batch(true, &ids, &mut rng)?;
            let fwd = model::forward(&self.recipe, &self.params, &x, Some(&mk))?;
            let l = model::losses(&self.recipe, &self.params, &fwd.last, &idx, &lab, &cq)?;
            let w = idx.dim(0)? as f64;
            acc.0 += l.total.to_scalar::<f32>()? as f64 * w;
            acc.1 += l.ce.to_scalar::<f32>()? as f64 * w;
            acc.2 += l.mse.to_scalar::<f32>()? as f64 * w;
            acc.3 += l.accuracy * w;
            acc.4 += w;
        }
        let w = acc.4.max(1.0);
        Ok(ValidReport {
            step: self.step,
            valid_loss: acc.0 / w,
            valid_ce: acc.1 / w,
            valid_mse: acc.2 / w,
            valid_acc: acc.3 / w,
        })
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
        let json = |v: &serde_json::Value| serde_json::to_string_pretty(v).unwrap_or_default();
        std::fs::write(tmp.join("config.json"), json(&hf_config(&self.recipe)))
            .map_err(io(&tmp))?;
        std::fs::write(
            tmp.join("preprocessor_config.json"),
            json(&hf_preprocessor(&self.recipe)),
        )
        .map_err(io(&tmp))?;
        let enc: HashMap<String, Tensor> = self.params.encoder_tensors().into_iter().collect();
        candle_core::safetensors::save(&enc, tmp.join("model.safetensors"))?;
        crate::state::save_state(&tmp, &self.params.vars, &self.m, &self.v)?;
        let meta = serde_json::json!({
            "step": self.step,
            "seed": self.recipe.seed,
            "rng": format!("step-derived: derive_seed({}, STEP, {})", self.recipe.seed, self.step),
            "recipe": self.recipe.name,
            "total_steps": self.recipe.train.steps,
        });
        std::fs::write(tmp.join("training_state.json"), json(&meta)).map_err(io(&tmp))?;
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        }
        std::fs::rename(&tmp, &dir).map_err(io(&dir))?;
        Ok(dir)
    }

    /// Restore the latest checkpoint that has a training state; returns its step (0 and nothing restored if none).
    pub fn restore_latest(&mut self) -> Result<usize> {
        // The schedule and the random streams depend on the seed and the total steps: refuse a mismatch.
        let wants = [
            ("seed", self.recipe.seed),
            ("total_steps", self.recipe.train.steps as u64),
        ];
        let hint = "resume with the same recipe and --steps; the recipe (with --steps) has";
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
        // Drop log lines written after the restored step.
        crate::state::truncate_log(&self.out, step)?;
        Ok(step)
    }

    fn log(&self, v: &impl serde::Serialize) -> Result<()> {
        crate::state::append_log(&self.out, v)
    }

    /// Train to the end of the schedule (or `opts.stop_after`), validating every `valid_every` steps and writing
    /// checkpoints at the recipe's steps; `on_step` sees every step report. Returns the last validation.
    pub fn run(
        &mut self,
        opts: &TrainOptions,
        on_step: &mut dyn FnMut(&StepReport),
    ) -> Result<ValidReport> {
        let end = opts
            .stop_after
            .unwrap_or(self.recipe.train.steps)
            .min(self.recipe.train.steps);
        let ckpts = self.recipe.checkpoint_steps();
        let mut last_valid = None;
        if self.step == 0 && ckpts.contains(&0) {
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
            if at_ckpt || self.step.is_multiple_of(self.recipe.train.valid_every) {
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

    /// Write `loss_curve.svg` from the log (training loss and validation loss against step).
    pub fn write_curve(&self) -> Result<()> {
        crate::state::write_curve(
            &self.out,
            format!("{}: masked-prediction loss", self.recipe.name),
            "cluster CE + CQT MSE",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spans start with probability p at each position, so an interior frame is masked with probability
    /// 1 − (1 − p)^L (0.566 for p = 0.08, L = 10); every mask run is at least L long.
    #[test]
    fn span_mask_matches_hubert_statistics() {
        let mut rng = Rng::new(3);
        let (t, p, l) = (2000, 0.08, 10);
        let mut masked = 0usize;
        let mut total = 0usize;
        for _ in 0..50 {
            let m = span_mask(t, p, l, &mut rng);
            masked += m[l..t - l].iter().filter(|&&b| b).count();
            total += t - 2 * l;
            let mut run = 0;
            for (i, &b) in m.iter().enumerate() {
                if b {
                    run += 1;
                }
                if (!b || i + 1 == t) && run > 0 {
                    assert!(run >= l, "run of {run} < {l}");
                    run = 0;
                }
            }
        }
        let frac = masked as f64 / total as f64;
        let want = 1.0 - (1.0 - p).powi(l as i32);
        assert!(
            (frac - want).abs() < 0.01,
            "masked fraction {frac} vs {want}"
        );
        // At least one span even when p is tiny.
        let m = span_mask(30, 1e-9, 10, &mut Rng::new(1));
        assert_eq!(m.iter().filter(|&&b| b).count(), 10);
    }
}

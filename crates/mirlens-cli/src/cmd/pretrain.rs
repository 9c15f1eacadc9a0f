//! `mirlens pretrain`: self-supervised pretraining of a small HuBERT/MERT-architecture music encoder from a recipe,
//! or, for a recipe with `kind = "causal-lm"`, next-token pretraining of a small Llama-architecture language model.

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mirlens_pretrain::{LmRecipe, LmTrainer, Recipe, TrainOptions, Trainer};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mirlens pretrain`.
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// Recipe file (TOML), e.g. models/recipes/mirlens-music-small.toml; a recipe with `kind = "causal-lm"` trains
    /// a Llama-architecture token language model instead of the audio encoder.
    #[arg(long)]
    pub recipe: PathBuf,
    /// Output directory (checkpoints/, train_log.jsonl, loss_curve.svg, recipe.toml; targets.safetensors for the
    /// audio encoder, tokenizer.json for a language model).
    #[arg(long)]
    pub out: PathBuf,
    /// Override the recipe's number of steps (changes the learning-rate schedule; checkpoints beyond it are
    /// dropped and the last step is always checkpointed).
    #[arg(long)]
    pub steps: Option<usize>,
    /// Continue from the latest checkpoint with training state in --out.
    #[arg(long)]
    pub resume: bool,
    /// After training, export the run as a model folder: final weights at the top (HF layout), earlier
    /// checkpoints under checkpoints/, plus recipe, log, loss curve and k-means targets. With --resume on a
    /// finished run nothing is trained and only the export is done.
    #[arg(long, value_name = "DIR")]
    pub export: Option<PathBuf>,
    /// Storage dtype of exported weights: f16 (half the size) or f32.
    #[arg(long, default_value = "f16", value_name = "f16|f32")]
    pub export_dtype: String,
}

/// Run `mirlens pretrain`.
pub fn run(a: PretrainArgs) -> Result<ExitCode> {
    let export_dtype: mirlens_pretrain::WeightDtype = a.export_dtype.parse()?;
    let text = std::fs::read_to_string(&a.recipe)
        .with_context(|| format!("reading recipe {}", a.recipe.display()))?;
    let kind = mirlens_pretrain::lm::recipe_kind(&text)
        .with_context(|| format!("parsing recipe {}", a.recipe.display()))?;
    if kind.as_deref() == Some(mirlens_pretrain::lm::CAUSAL_LM_KIND) {
        return run_lm(a, export_dtype);
    }
    let mut recipe = Recipe::load(&a.recipe)?;
    if let Some(s) = a.steps {
        recipe.train.steps = s;
        recipe.check()?;
    }
    let opts = TrainOptions {
        resume: a.resume,
        ..Default::default()
    };
    let steps = recipe.train.steps;
    eprintln!(
        "mirlens pretrain: recipe {} ({}), {} steps, batch {} × {} s; building corpus and k-means targets…",
        recipe.name,
        a.recipe.display(),
        steps,
        recipe.train.batch_size,
        recipe.corpus.clip_secs
    );
    let t0 = std::time::Instant::now();
    let mut tr = Trainer::new(recipe, &a.out, &opts)
        .with_context(|| format!("preparing training in {}", a.out.display()))?;
    let start = tr.step();
    println!(
        "encoder parameters: {}; frames per clip: {}; train/valid clips: {}/{}; setup {:.1} s{}",
        tr.params().encoder_param_count(),
        tr.corpus().frames,
        tr.corpus().train.len(),
        tr.corpus().valid.len(),
        t0.elapsed().as_secs_f64(),
        if a.resume {
            format!("; resumed at step {start}")
        } else {
            String::new()
        }
    );
    let bar = progress_bar(steps, start);
    let t1 = std::time::Instant::now();
    let mut audio = 0.0;
    let v = tr.run(&opts, &mut |r| {
        audio += r.audio_per_sec * r.secs;
        bar.set_position(r.step as u64);
        bar.set_message(format!(
            "loss {:.4} (ce {:.3}, cqt {:.3}) lr {:.2e} {:.1} s audio/s",
            r.loss, r.ce, r.mse, r.lr, r.audio_per_sec
        ));
    })?;
    bar.finish_and_clear();
    let wall = t1.elapsed().as_secs_f64();
    let done = tr.step() - start;
    println!(
        "trained steps {start}..{}: {:.1} s ({:.3} s/step, {:.1} s of audio per second)",
        tr.step(),
        wall,
        wall / done.max(1) as f64,
        audio / wall.max(1e-9)
    );
    println!(
        "validation at step {}: loss {:.4} (cluster CE {:.4}, CQT MSE {:.4}, cluster accuracy {:.3})",
        v.step, v.valid_loss, v.valid_ce, v.valid_mse, v.valid_acc
    );
    println!("checkpoints: {}", a.out.join("checkpoints").display());
    println!("log: {}", a.out.join("train_log.jsonl").display());
    println!("loss curve: {}", a.out.join("loss_curve.svg").display());
    if let Some(dest) = &a.export {
        let s = mirlens_pretrain::export(&a.out, dest, steps, export_dtype)
            .with_context(|| format!("exporting {} to {}", a.out.display(), dest.display()))?;
        println!(
            "exported step {} and checkpoints {:?} ({}) to {}: {:.1} MB",
            s.final_step,
            s.checkpoint_steps,
            a.export_dtype,
            dest.display(),
            s.bytes as f64 / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// A step progress bar on stderr (hidden when stderr is not a terminal).
fn progress_bar(steps: usize, start: usize) -> ProgressBar {
    let bar = if std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        ProgressBar::new(steps as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{bar:30} {pos}/{len} steps [{elapsed_precise}<{eta_precise}] {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar.set_position(start as u64);
    bar
}

/// The causal-LM path: build the token corpus, train, validate, optionally export.
fn run_lm(a: PretrainArgs, export_dtype: mirlens_pretrain::WeightDtype) -> Result<ExitCode> {
    let mut recipe = LmRecipe::load(&a.recipe)?;
    if let Some(s) = a.steps {
        recipe.train.steps = s;
        recipe.check()?;
    }
    let opts = TrainOptions {
        resume: a.resume,
        ..Default::default()
    };
    let steps = recipe.train.steps;
    eprintln!(
        "mirlens pretrain: causal-LM recipe {} ({}), {} steps, batch {} × {} tokens; building the token corpus…",
        recipe.name,
        a.recipe.display(),
        steps,
        recipe.train.batch_size,
        recipe.train.seq_len
    );
    let t0 = std::time::Instant::now();
    let recipe_dir = a
        .recipe
        .parent()
        .map(|p| p.to_path_buf())
        .unwrap_or_default();
    let corpus = mirlens_pretrain::build_corpus(&recipe, &recipe_dir)
        .with_context(|| format!("building the corpus of {}", a.recipe.display()))?;
    let mut tr = LmTrainer::new(recipe, corpus, &a.out, &opts)
        .with_context(|| format!("preparing training in {}", a.out.display()))?;
    let start = tr.step();
    let c = tr.corpus();
    println!(
        "parameters: {}; vocabulary: {}; corpus tokens train/valid: {}/{} ({}/{} sequences); validation windows: \
         {}; setup {:.1} s{}",
        tr.params().param_count(),
        c.vocab_size,
        c.train_tokens(),
        c.valid_tokens(),
        c.train.len(),
        c.valid.len(),
        tr.valid_windows().len(),
        t0.elapsed().as_secs_f64(),
        if a.resume {
            format!("; resumed at step {start}")
        } else {
            String::new()
        }
    );
    let bar = progress_bar(steps, start);
    let t1 = std::time::Instant::now();
    let mut tokens = 0.0;
    let v = tr.run(&opts, &mut |r| {
        tokens += r.tokens_per_sec * r.secs;
        bar.set_position(r.step as u64);
        bar.set_message(format!(
            "loss {:.4} lr {:.2e} |g| {:.2} {:.0} tok/s",
            r.loss, r.lr, r.grad_norm, r.tokens_per_sec
        ));
    })?;
    bar.finish_and_clear();
    let wall = t1.elapsed().as_secs_f64();
    let done = tr.step() - start;
    println!(
        "trained steps {start}..{}: {:.1} s ({:.3} s/step, {:.0} tokens/s)",
        tr.step(),
        wall,
        wall / done.max(1) as f64,
        tokens / wall.max(1e-9)
    );
    println!(
        "validation at step {}: loss {:.4} nats/token, perplexity {:.3}",
        v.step, v.valid_loss, v.valid_ppl
    );
    println!("checkpoints: {}", a.out.join("checkpoints").display());
    println!("log: {}", a.out.join("train_log.jsonl").display());
    println!("loss curve: {}", a.out.join("loss_curve.svg").display());
    if let Some(dest) = &a.export {
        let s = mirlens_pretrain::export_lm(&a.out, dest, export_dtype)
            .with_context(|| format!("exporting {} to {}", a.out.display(), dest.display()))?;
        println!(
            "exported step {} and checkpoints {:?} ({}) to {}: {:.1} MB",
            s.final_step,
            s.checkpoint_steps,
            a.export_dtype,
            dest.display(),
            s.bytes as f64 / 1e6
        );
    }
    Ok(ExitCode::SUCCESS)
}

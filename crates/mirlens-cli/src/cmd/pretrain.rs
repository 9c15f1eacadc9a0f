//! `mirlens pretrain`: self-supervised pretraining of a small HuBERT/MERT-architecture music encoder from a recipe.

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use mirlens_pretrain::{Recipe, TrainOptions, Trainer};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mirlens pretrain`.
#[derive(Debug, Args)]
pub struct PretrainArgs {
    /// Recipe file (TOML), e.g. models/recipes/mirlens-music-small.toml.
    #[arg(long)]
    pub recipe: PathBuf,
    /// Output directory (checkpoints/, train_log.jsonl, loss_curve.svg, targets.safetensors, recipe.toml).
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

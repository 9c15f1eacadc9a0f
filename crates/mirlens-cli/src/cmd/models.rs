//! `mirlens models list|show NAME`.

use anyhow::Context;
use mirlens_models::Registry;
use mirlens_models::text::config::{TextConfig, is_text_model_type, peek_model_type};
use std::path::Path;
use std::process::ExitCode;

/// Arguments of `mirlens models`.
#[derive(Debug, clap::Args)]
pub struct ModelsArgs {
    #[command(subcommand)]
    command: ModelsCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ModelsCommand {
    /// List the registry's model cards and whether each resolves locally.
    List,
    /// Show one card, where it resolves, and its checkpoint's configuration when available.
    Show {
        /// Registry name, HF repo id or model directory.
        name: String,
    },
}

/// Run `mirlens models`.
pub fn run(args: ModelsArgs) -> anyhow::Result<ExitCode> {
    let reg = Registry::builtin()?;
    match args.command {
        ModelsCommand::List => {
            println!(
                "{:<27} {:<40} {:<10} {:<8} {:>6} {:>6} {:>7} {:>6}  AVAILABLE",
                "NAME", "HF REPO", "ARCH", "MODALITY", "RATE", "FPS", "LAYERS", "HIDDEN"
            );
            for c in reg.cards() {
                let avail = match reg.resolve(&c.name) {
                    Ok(m) => m.dir.display().to_string(),
                    Err(_) => "no (not in local paths or HF cache)".to_string(),
                };
                let modality = if is_text_model_type(&c.architecture) {
                    "text"
                } else {
                    "audio"
                };
                println!(
                    "{:<27} {:<40} {:<10} {:<8} {:>6} {:>6} {:>7} {:>6}  {}",
                    c.name,
                    c.hf_repo,
                    c.architecture,
                    modality,
                    c.sample_rate,
                    c.frame_rate,
                    c.layers,
                    c.hidden_size,
                    avail
                );
            }
            println!("HF cache: {}", reg.hf_cache().display());
        }
        ModelsCommand::Show { name } => {
            if let Some(c) = reg.card(&name) {
                println!("name:                {}", c.name);
                println!("hf repo:             {} @ {}", c.hf_repo, c.revision);
                println!("architecture:        {}", c.architecture);
                println!("sample rate:         {} Hz", c.sample_rate);
                println!("frame rate:          {} Hz", c.frame_rate);
                println!(
                    "layers:              {} (hidden states 0..={})",
                    c.layers, c.layers
                );
                println!("hidden size:         {}", c.hidden_size);
                println!("licence:             {}", c.licence);
                println!("input normalisation: {}", c.input_normalisation);
                if let Some(t) = &c.training {
                    println!("trained by:          {}", t.command);
                    println!("recipe:              {}", t.recipe);
                    println!(
                        "architecture:        {} ({} parameters)",
                        t.architecture, t.parameters
                    );
                    println!("corpus:              {}", t.corpus);
                    println!("objective:           {}", t.objective);
                    println!(
                        "steps:               {} (checkpoints {:?})",
                        t.steps, t.checkpoints
                    );
                    println!("wall time:           {}", t.wall_time);
                    println!("validation:          {}", t.validation);
                    println!("weights dtype:       {}", t.weights_dtype);
                }
                if !c.notes.is_empty() {
                    println!("notes:               {}", c.notes);
                }
            }
            match reg.resolve(&name) {
                Ok(m) => {
                    println!("resolves to:         {} ({:?})", m.dir.display(), m.source);
                    if peek_model_type(&m.dir)?.is_some_and(|t| is_text_model_type(&t)) {
                        show_text(&m.dir)?;
                        return Ok(ExitCode::SUCCESS);
                    }
                    let cfg =
                        mirlens_models::EncoderConfig::from_dir(&m.dir).with_context(|| {
                            format!("reading the configuration in {}", m.dir.display())
                        })?;
                    let g = cfg.geometry();
                    println!(
                        "checkpoint config:   {:?}, {} blocks x {}, {} heads, FFN {}, conv norm {:?}, {}, receptive field {} samples, hop {}, do_normalize {}",
                        cfg.model_type,
                        cfg.num_hidden_layers,
                        cfg.hidden_size,
                        cfg.num_attention_heads,
                        cfg.intermediate_size,
                        cfg.feat_extract_norm,
                        if cfg.do_stable_layer_norm {
                            "pre-LN"
                        } else {
                            "post-LN"
                        },
                        g.receptive_field,
                        g.hop,
                        cfg.do_normalize
                    );
                    println!("modality:            audio");
                    let n = cfg.num_hidden_layers;
                    println!(
                        "tap points:          0: input of block 1 (feature projection + positional conv{}); \
                         1..={n}: output of block i{}",
                        if cfg.do_stable_layer_norm {
                            ""
                        } else {
                            ", encoder LayerNorm"
                        },
                        if cfg.do_stable_layer_norm {
                            format!(
                                "; {n}: before the final encoder LayerNorm (--last-layer after: after it)"
                            )
                        } else {
                            String::new()
                        },
                    );
                    if !cfg.unrecognised_keys.is_empty() {
                        println!("unrecognised keys:   {}", cfg.unrecognised_keys.join(", "));
                    }
                }
                Err(e) => {
                    if reg.card(&name).is_none() {
                        return Err(e.into());
                    }
                    println!(
                        "resolves to:         not available locally: {}",
                        mirlens_core::error_chain(&e)
                    );
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The configuration and tap points of a token model folder.
fn show_text(dir: &Path) -> anyhow::Result<()> {
    let cfg = TextConfig::from_dir(dir)
        .with_context(|| format!("reading the configuration in {}", dir.display()))?;
    let a = &cfg.arch;
    println!("modality:            text");
    println!(
        "checkpoint config:   {}, {} blocks x {}, vocabulary {}, {}, max tokens {}",
        a.model_type(),
        a.num_layers(),
        a.hidden_size(),
        a.vocab_size(),
        if a.is_causal() {
            "causal decoder (logits, LM loss)"
        } else {
            "bidirectional encoder"
        },
        a.max_tokens()
            .map(|m| m.to_string())
            .unwrap_or_else(|| "unbounded (rotary)".into())
    );
    println!(
        "special ids:         bos {:?}, eos {:?}, pad {:?}; tokenizer.json {}",
        cfg.special.bos,
        cfg.special.eos,
        cfg.special.pad,
        if dir.join("tokenizer.json").is_file() {
            "present"
        } else {
            "absent"
        }
    );
    println!("tap points (transformers output_hidden_states):");
    for (i, d) in a.tap_points() {
        println!("  {i:<22} {d}");
    }
    Ok(())
}

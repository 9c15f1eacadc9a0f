//! # mirlens
//!
//! The `mirlens` command-line tool: audio → features → encoder activations → store → sparse autoencoders, probes and
//! neuron finding → reports. This crate is thin glue over the library crates; it is the only place that uses
//! `anyhow`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

mod cmd;

/// Look inside music models: features, per-layer activations, sparse autoencoders, probes and neurons.
#[derive(Debug, Parser)]
#[command(name = "mirlens", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print sample rate, channels, duration and codec of audio files.
    Info(cmd::info::InfoArgs),
    /// Compute front-end features (STFT, mel, log-mel, MFCC, CQT, chroma) and write .npy or safetensors.
    Features(cmd::features::FeaturesArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Info(a) => cmd::info::run(a),
        Command::Features(a) => cmd::features::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

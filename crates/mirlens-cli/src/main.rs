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
    /// The main job, offline: built-in synthetic notes → the pretrained default encoder → store → layer sweep and
    /// neuron finding for pitch class, octave and instrument family, with JSON/CSV/SVG results.
    Run(cmd::run::RunArgs),
    /// Write the offline HTML report of a run directory (layer curves, neurons, SAE feature dashboards with
    /// playable clips, cross-modal heatmaps, links to every result file).
    Report(cmd::report::ReportArgs),
    /// Print sample rate, channels, duration and codec of audio files.
    Info(cmd::info::InfoArgs),
    /// Synthetic datasets, manifests from published dataset layouts, manifest summaries.
    Datasets(cmd::datasets::DatasetsArgs),
    /// MIDI files: info, piano rolls and frame labels, REMI / MIDI-Like tokens, rendering to audio.
    Midi(cmd::midi::MidiArgs),
    /// Cross-modal similarity and maps between paired representations (.npy or stores): score, layers, map.
    Align(cmd::align::AlignArgs),
    /// Compute front-end features (STFT, mel, log-mel, MFCC, CQT, chroma) and write .npy or safetensors.
    Features(cmd::features::FeaturesArgs),
    /// Extract per-layer activations of a dataset into an activation store (resumable, shardable).
    Extract(cmd::extract::ExtractArgs),
    /// Inspect, summarise or merge activation stores.
    Store(cmd::store::StoreArgs),
    /// List and inspect the model registry.
    Models(cmd::models::ModelsArgs),
    /// Per-layer encoder activations of audio files (.npy per layer).
    Embed(cmd::embed::EmbedArgs),
    /// Sparse autoencoders: train, sweep, eval, features, export, import, crossing, synth.
    Sae(cmd::sae::SaeArgs),
    /// Probes per layer (layer sweep with grouped CV) and synthetic planted-neuron stores.
    Probe(cmd::probe::ProbeArgs),
    /// Neuron finding: ranking, sparse probes, random-complement baseline, controls, cross-task matrix.
    Neurons(cmd::neurons::NeuronsArgs),
    /// Downstream evaluation: a probe on one layer, scored with a task metric.
    Eval(cmd::eval::EvalArgs),
    /// Score annotation files with mir_eval-compatible metrics (key, beat, onset, notes, chord, melody).
    Score(cmd::score::ScoreArgs),
    /// Self-supervised pretraining of a small HuBERT/MERT-architecture music encoder from a recipe.
    Pretrain(cmd::pretrain::PretrainArgs),
    /// Layer-sweep probes on every training checkpoint of a model and on baselines: accuracy against step.
    Curve(cmd::curve::CurveArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(a),
        Command::Report(a) => cmd::report::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Datasets(a) => cmd::datasets::run(a),
        Command::Features(a) => cmd::features::run(a),
        Command::Midi(a) => cmd::midi::run(a),
        Command::Align(a) => cmd::align::run(a),
        Command::Extract(a) => cmd::extract::run(a),
        Command::Store(a) => cmd::store::run(a),
        Command::Models(a) => cmd::models::run(a),
        Command::Embed(a) => cmd::embed::run(a),
        Command::Sae(a) => cmd::sae::run(a),
        Command::Probe(a) => cmd::probe::run(a),
        Command::Neurons(a) => cmd::neurons::run(a),
        Command::Eval(a) => cmd::eval::run(a),
        Command::Score(a) => cmd::score::run(a),
        Command::Pretrain(a) => cmd::pretrain::run(a),
        Command::Curve(a) => cmd::curve::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

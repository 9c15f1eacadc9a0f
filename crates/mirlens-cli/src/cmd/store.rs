//! `mirlens store info|stats|merge`: inspect and join activation stores.

use anyhow::Context;
use mirlens_core::LayerId;
use mirlens_store::{Store, StoreManifest, committed_shards, merge};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Arguments of `mirlens store`.
#[derive(Debug, clap::Args)]
pub struct StoreArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: StoreCommand,
}

/// Subcommands of `mirlens store`.
#[derive(Debug, clap::Subcommand)]
pub enum StoreCommand {
    /// Print model, layers, sizes, rows, clips, bad clips and completion state of a store.
    Info {
        /// Store directory.
        store: PathBuf,
        /// Print manifest.json as is.
        #[arg(long)]
        json: bool,
    },
    /// Print the stored per-layer statistics (row norms, mean and variance summaries).
    Stats {
        /// Store directory.
        store: PathBuf,
        /// Only these layers (e.g. `0,6`); default all.
        #[arg(long)]
        layers: Option<String>,
    },
    /// Join the part stores of a `--shard i/N` extraction into one store.
    Merge {
        /// Output store directory (must not exist or be empty).
        #[arg(long)]
        out: PathBuf,
        /// The part stores, all N of them, in any order.
        #[arg(required = true)]
        parts: Vec<PathBuf>,
    },
}

/// Run `mirlens store`.
pub fn run(args: StoreArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        StoreCommand::Info { store, json } => info(&store, json),
        StoreCommand::Stats { store, layers } => stats(&store, layers.as_deref()),
        StoreCommand::Merge { out, parts } => {
            let m = merge(&parts, &out).with_context(|| {
                format!("merging {} part(s) into {}", parts.len(), out.display())
            })?;
            println!(
                "merged {} part(s): {} shards, {} rows, {} clips, {} bad clips into {}",
                parts.len(),
                m.shards.len(),
                m.num_rows,
                m.num_clips,
                m.bad_clips.len(),
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn dir_size(p: &Path) -> u64 {
    let Ok(rd) = std::fs::read_dir(p) else {
        return 0;
    };
    rd.flatten()
        .map(|e| {
            let p = e.path();
            if p.is_dir() {
                dir_size(&p)
            } else {
                e.metadata().map(|m| m.len()).unwrap_or(0)
            }
        })
        .sum()
}

fn info(dir: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let mut m = StoreManifest::load(dir)?;
    if json {
        print!(
            "{}",
            std::fs::read_to_string(dir.join(mirlens_store::MANIFEST_FILE))?
        );
        return Ok(ExitCode::SUCCESS);
    }
    if !m.complete {
        m.shards = committed_shards(dir)?;
        m.num_rows = m.shards.iter().map(|s| s.rows).sum();
        m.num_clips = m.shards.iter().map(|s| s.clips).sum();
        m.bad_clips = m.shards.iter().flat_map(|s| s.bad_clips.clone()).collect();
    }
    let h = &m.header;
    let layers: Vec<String> = h.layers.iter().map(|l| l.0.to_string()).collect();
    let total = m.part.shards(h.total_shards()).len();
    println!("store       {}", dir.display());
    println!("format      {} (mirlens {})", m.format, m.mirlens_version);
    println!(
        "state       {}",
        if m.complete {
            "complete".to_string()
        } else {
            format!("incomplete: {}/{total} shards committed", m.shards.len())
        }
    );
    println!(
        "model       {} (revision {}, config {})",
        h.model,
        h.revision.as_deref().unwrap_or("-"),
        &h.config_hash[..h.config_hash.len().min(12)]
    );
    println!(
        "layers      [{}] × hidden {}",
        layers.join(","),
        h.hidden_size
    );
    println!(
        "storage     {}, pooling {}, {} frames/s",
        h.dtype, h.pooling, h.frame_rate
    );
    let lay = &m.layout;
    println!(
        "unit        {} ({}), spans in {}",
        lay.row_unit,
        lay.modality,
        serde_json::to_value(lay.span_unit)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    );
    let labels: Vec<String> = lay
        .label_schema
        .fields
        .iter()
        .map(|f| {
            let level = match f.level {
                mirlens_store::LabelLevel::Clip => "clip",
                mirlens_store::LabelLevel::Row => "row",
            };
            format!("{} ({level} {})", f.name, f.kind.name())
        })
        .collect();
    println!(
        "labels      {}",
        if labels.is_empty() {
            "-".to_string()
        } else {
            labels.join(", ")
        }
    );
    println!(
        "non-finite  policy {}, {} row(s)",
        lay.on_nonfinite, m.nonfinite_rows
    );
    println!(
        "dataset     {} ({} clips, hash {})",
        h.dataset,
        h.dataset_clips,
        &h.dataset_hash[..h.dataset_hash.len().min(12)]
    );
    println!(
        "part        {} ({} of {} shards, {} clips per shard)",
        m.part,
        total,
        h.total_shards(),
        h.clips_per_shard
    );
    println!("rows        {} from {} clips", m.num_rows, m.num_clips);
    println!("bad clips   {}", m.bad_clips.len());
    for b in m.bad_clips.iter().take(10) {
        println!("  {} ({}): {}", b.clip_id, b.path, b.reason);
    }
    println!(
        "size        {:.2} MiB",
        dir_size(dir) as f64 / (1024.0 * 1024.0)
    );
    Ok(ExitCode::SUCCESS)
}

fn stats(dir: &Path, layers: Option<&str>) -> anyhow::Result<ExitCode> {
    let store = Store::open(dir)?;
    let chosen: Vec<LayerId> = match layers {
        Some(s) => s
            .parse::<mirlens_core::LayerSelection>()?
            .resolve(usize::MAX - 1)?,
        None => store.layers().to_vec(),
    };
    println!(
        "{:>5} {:>9} {:>11} {:>11} {:>11} {:>11} {:>11} {:>11}",
        "layer", "rows", "norm mean", "norm min", "norm median", "norm max", "mean |μ|", "mean σ²"
    );
    for l in chosen {
        let s = store.stats(l)?;
        let d = s.mean.len().max(1) as f64;
        let mu = s.mean.iter().map(|x| x.abs()).sum::<f64>() / d;
        let var = s.var.iter().sum::<f64>() / d;
        println!(
            "{:>5} {:>9} {:>11.4} {:>11.4} {:>11.4} {:>11.4} {:>11.4} {:>11.4}",
            l.0, s.count, s.norms.mean, s.norms.min, s.norms.median, s.norms.max, mu, var
        );
    }
    Ok(ExitCode::SUCCESS)
}

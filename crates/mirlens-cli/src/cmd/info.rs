//! `mirlens info FILE…`: sample rate, channels, duration, frames, codec and container of audio files.
//!
//! Every file is examined even when some fail; failures are listed at the end and the exit status is non-zero if any
//! file failed.

use anyhow::Result;
use mirlens_audio::decode::{AudioInfo, ProbeMode, probe_file_with};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `mirlens info`.
#[derive(Debug, clap::Args)]
pub struct InfoArgs {
    /// Audio files (WAV, AIFF, FLAC, MP3, OGG/Vorbis, M4A/AAC).
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Trust the frame count in the container header instead of decoding the whole file to count (faster; does not
    /// detect truncated or corrupt data).
    #[arg(long)]
    pub header_only: bool,
    /// Print one JSON object per file (JSON Lines) instead of a table.
    #[arg(long)]
    pub json: bool,
}

fn json_line(path: &std::path::Path, i: &AudioInfo) -> serde_json::Value {
    serde_json::json!({
        "path": path.display().to_string(),
        "sample_rate": i.sample_rate,
        "channels": i.channels,
        "frames": i.frames,
        "duration_secs": i.duration_secs,
        "codec": i.codec,
        "container": i.container,
        "bits_per_sample": i.bits_per_sample,
        "frames_counted": i.frames_counted,
    })
}

/// Run `mirlens info`.
pub fn run(args: InfoArgs) -> Result<ExitCode> {
    let mode = if args.header_only {
        ProbeMode::HeaderOrCount
    } else {
        ProbeMode::Count
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let mut failures: Vec<(PathBuf, String)> = Vec::new();
    if !args.json {
        writeln!(
            out,
            "{:<40} {:>8} {:>3} {:>12} {:>12} {:<10} {:<8}",
            "file", "rate", "ch", "duration_s", "frames", "codec", "container"
        )?;
    }
    for path in &args.files {
        match probe_file_with(path, mode) {
            Ok(i) => {
                if args.json {
                    writeln!(out, "{}", json_line(path, &i))?;
                } else {
                    writeln!(
                        out,
                        "{:<40} {:>8} {:>3} {:>12.6} {:>12} {:<10} {:<8}",
                        path.display(),
                        i.sample_rate,
                        i.channels,
                        i.duration_secs,
                        i.frames,
                        i.codec,
                        i.container
                    )?;
                }
            }
            Err(e) => {
                if args.json {
                    let v = serde_json::json!({"path": path.display().to_string(), "error": mirlens_core::error_chain(&e)});
                    writeln!(out, "{v}")?;
                }
                failures.push((path.clone(), mirlens_core::error_chain(&e)));
            }
        }
    }
    out.flush()?;
    let ok = args.files.len() - failures.len();
    if failures.is_empty() {
        eprintln!("{ok} file(s) read");
        Ok(ExitCode::SUCCESS)
    } else {
        eprintln!("{ok} file(s) read, {} failed:", failures.len());
        for (_, msg) in &failures {
            eprintln!("  {msg}");
        }
        Ok(ExitCode::FAILURE)
    }
}

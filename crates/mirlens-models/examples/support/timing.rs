//! The command loop shared by the timing servers of the peer benchmarks (`time_encoder`, `time_text_model`).
//!
//! Commands (one per line on stdin): `run` → one forward pass with every hidden state, prints `time <seconds>`;
//! `dump` → writes every hidden state of the last run to `out` (`hidden_states.<i>` `[T, H]`), prints `dumped`;
//! `mem` → prints `peak_rss_kib <VmHWM>`; `quit`.

use mirlens_models::LayerActivations;
use std::io::{BufRead, Write};
use std::time::Instant;

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn dump(a: &LayerActivations, out: &std::path::Path) -> Result<(), Box<dyn std::error::Error>> {
    let bufs: Vec<(String, Vec<u8>)> = a
        .layers
        .iter()
        .map(|(l, v)| {
            (
                format!("hidden_states.{}", l.0),
                v.iter().flat_map(|f| f.to_le_bytes()).collect(),
            )
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView)> = bufs
        .iter()
        .map(|(n, b)| {
            safetensors::tensor::TensorView::new(
                safetensors::Dtype::F32,
                vec![a.frames, a.hidden],
                b,
            )
            .map(|t| (n.clone(), t))
        })
        .collect::<Result<_, _>>()?;
    safetensors::serialize_to_file(views, None, out)?;
    Ok(())
}

/// Print `ready …` (`greeting`), then answer commands until `quit` or end of input.
pub fn serve(
    greeting: &str,
    out: &std::path::Path,
    mut forward: impl FnMut() -> Result<LayerActivations, Box<dyn std::error::Error>>,
) -> Result<(), Box<dyn std::error::Error>> {
    let mut last = None;
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout();
    writeln!(stdout, "ready {greeting}")?;
    stdout.flush()?;
    for line in stdin.lock().lines() {
        match line?.trim() {
            "run" => {
                let t = Instant::now();
                let a = forward()?;
                writeln!(stdout, "time {}", t.elapsed().as_secs_f64())?;
                last = Some(a);
            }
            "dump" => {
                dump(last.as_ref().ok_or("no run yet")?, out)?;
                writeln!(stdout, "dumped")?;
            }
            "mem" => writeln!(stdout, "peak_rss_kib {}", peak_rss_kib())?,
            "quit" => break,
            other => writeln!(stdout, "error unknown command {other:?}")?,
        }
        stdout.flush()?;
    }
    Ok(())
}

//! Timing server for `scripts/bench/peer_text_models.py`: loads a token model directory and a sequence of ids, then
//! answers commands on stdin so the peer and mirlens can be timed interleaved in one run.
//!
//! `cargo run --release -p mirlens-models --example time_text_model -- MODEL_DIR IDS.safetensors OUT.safetensors`
//!
//! Commands (one per line): `run` → forward with every hidden state, prints `time <seconds>`; `dump` → writes every
//! hidden state of the last run to OUT (`hidden_states.<i>` `[T, H]`), prints `dumped`; `mem` → prints
//! `peak_rss_kib <VmHWM>`; `quit`.

use mirlens_core::LayerSelection;
use mirlens_models::{LoadOptions, TextModel, TokenEncodeOptions, TokenEncoder};
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: time_text_model MODEL_DIR IDS.safetensors OUT.safetensors".into());
    }
    let model = TextModel::load(&args[1], &LoadOptions::default())?;
    let bytes = std::fs::read(&args[2])?;
    let st = safetensors::SafeTensors::deserialize(&bytes)?;
    let v = st.tensor("input_ids")?;
    let ids: Vec<u32> = v
        .data()
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as u32)
        .collect();
    let mut last = None;
    let stdin = std::io::stdin();
    let mut out = std::io::stdout();
    writeln!(
        out,
        "ready threads {} tokens {}",
        candle_core::utils::get_num_threads(),
        ids.len()
    )?;
    out.flush()?;
    for line in stdin.lock().lines() {
        match line?.trim() {
            "run" => {
                let t = Instant::now();
                let a = model.encode_tokens(
                    &ids,
                    &LayerSelection::All,
                    &TokenEncodeOptions::default(),
                )?;
                writeln!(out, "time {}", t.elapsed().as_secs_f64())?;
                last = Some(a);
            }
            "dump" => {
                let a = last.as_ref().ok_or("no run yet")?;
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
                safetensors::serialize_to_file(views, None, std::path::Path::new(&args[3]))?;
                writeln!(out, "dumped")?;
            }
            "mem" => writeln!(out, "peak_rss_kib {}", peak_rss_kib())?,
            "quit" => break,
            other => writeln!(out, "error unknown command {other:?}")?,
        }
        out.flush()?;
    }
    Ok(())
}

//! Timing server for `scripts/bench/peer_encoders.py`: loads a model directory and an input, then answers commands
//! on stdin so the peer and mirlens can be timed interleaved in one run.
//!
//! `cargo run --release -p mirlens-models --example time_encoder -- MODEL_DIR INPUT.safetensors OUT.safetensors`
//!
//! Commands (one per line): `run` → forward with every hidden state, prints `time <seconds>`; `dump` → writes every
//! hidden state of the last run to OUT (`hidden_states.<i>` `[T, H]`), prints `dumped`; `mem` → prints
//! `peak_rss_kib <VmHWM>`; `quit`.

use mirlens_core::LayerSelection;
use mirlens_models::{CandleEncoder, EncodeOptions, Encoder, LoadOptions};

#[path = "support/timing.rs"]
mod timing;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        return Err("usage: time_encoder MODEL_DIR INPUT.safetensors OUT.safetensors".into());
    }
    let enc = CandleEncoder::load(&args[1], &LoadOptions::default())?;
    let bytes = std::fs::read(&args[2])?;
    let st = safetensors::SafeTensors::deserialize(&bytes)?;
    let v = st.tensor("input_values")?;
    let x: Vec<f32> = v
        .data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    timing::serve(
        &format!("threads {}", candle_core::utils::get_num_threads()),
        std::path::Path::new(&args[3]),
        || Ok(enc.encode(&x, &LayerSelection::All, &EncodeOptions::default())?),
    )
}

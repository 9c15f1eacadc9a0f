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

#[path = "support/timing.rs"]
mod timing;

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
    timing::serve(
        &format!(
            "threads {} tokens {}",
            candle_core::utils::get_num_threads(),
            ids.len()
        ),
        std::path::Path::new(&args[3]),
        || Ok(model.encode_tokens(&ids, &LayerSelection::All, &TokenEncodeOptions::default())?),
    )
}

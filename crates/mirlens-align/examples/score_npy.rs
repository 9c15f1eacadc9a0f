//! Score two `.npy` views with one measure, its permutation p-value and bootstrap CI, and print the result JSON:
//! `cargo run --release -p mirlens-align --example score_npy -- X.npy Y.npy METRIC [PERMUTATIONS] [SEED]`.

use mirlens_align::{MeasureParams, Metric, NullParams, npy, score};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: score_npy X.npy Y.npy METRIC [PERMUTATIONS] [SEED]".into());
    }
    let x = npy::read(&args[1])?;
    let y = npy::read(&args[2])?;
    let metric = Metric::parse(&args[3]).ok_or_else(|| format!("unknown metric {:?}", args[3]))?;
    let permutations = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(1000);
    let seed = args.get(5).map(|s| s.parse()).transpose()?.unwrap_or(0);
    let np = NullParams {
        permutations,
        bootstrap: permutations,
        seed,
        ..Default::default()
    };
    let s = score(
        metric,
        x.as_ref(),
        y.as_ref(),
        &MeasureParams::default(),
        &np,
    )?;
    println!("{}", serde_json::to_string_pretty(&s)?);
    Ok(())
}

//! Writes the mirlens side of the SAELens golden (`tests/golden/sae/generate.py` runs it):
//! trains small TopK and JumpReLU SAEs on planted data and saves each natively (`<out>/ours_<arch>/native`) and as a
//! SAELens export (`<out>/ours_<arch>/saelens`).
//!
//! `cargo run -p mirlens-sae --example golden_sae -- tests/golden/sae`

use mirlens_sae::io::{SaveInfo, export_saelens, save_native};
use mirlens_sae::synthetic::{PlantedParams, planted};
use mirlens_sae::train::{TrainParams, train_simple};
use mirlens_sae::{Architecture, Normalization};
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).ok_or("usage: golden_sae OUT_DIR")?);
    let pl = planted(PlantedParams {
        d: 32,
        n_true: 48,
        k_true: 3,
        rows: 4000,
        noise: 0.02,
        seed: 5,
        source_exclusive: false,
    });
    let rows: Vec<Vec<f32>> = (0..64).map(|r| pl.x.row(r * 50).to_vec()).collect();
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("inputs.json"), serde_json::to_string(&rows)?)?;
    for (name, arch, norm) in [
        (
            "topk",
            Architecture::TopK { k: 8 },
            Normalization::StandardizeDim,
        ),
        (
            "jumprelu",
            Architecture::JumpRelu,
            Normalization::ExpectedNorm,
        ),
    ] {
        let mut p = TrainParams::new(arch, 96);
        p.batch_size = 256;
        p.total_tokens = 100_000;
        p.lr = Some(3e-3);
        p.normalization = norm;
        p.seed = 3;
        p.threads = 1;
        let o = train_simple(&pl.x, &p)?;
        let dir = out.join(format!("ours_{name}"));
        save_native(
            &dir.join("native"),
            &o.sae,
            SaveInfo {
                training: Some(p),
                ..Default::default()
            },
        )?;
        export_saelens(&dir.join("saelens"), &o.sae, Some("planted.layer0"))?;
        println!("wrote {}", dir.display());
    }
    Ok(())
}

//! `mirlens sae`: synth → train → eval → features → export/import → sweep → crossing, on a planted store.

use std::path::Path;
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(p: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

const SMALL: [&str; 12] = [
    "--k",
    "3",
    "--latents",
    "64",
    "--tokens",
    "200000",
    "--batch",
    "256",
    "--lr",
    "3e-3",
    "--threads",
    "2",
];

#[test]
fn sae_train_eval_features_export_import() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("store");
    ok(mirlens()
        .args([
            "sae", "synth", "--d", "32", "--n-true", "48", "--k-true", "3", "--rows", "6000",
            "--seed", "7",
        ])
        .arg("--out")
        .arg(&store));
    let sae = t.path().join("sae");
    let stdout = ok(mirlens()
        .args(["sae", "train", "--source-label", "source"])
        .arg("--store")
        .arg(&store)
        .args(SMALL)
        .arg("--out")
        .arg(&sae));
    assert!(stdout.contains("FVU"), "{stdout}");
    let m = json(&sae.join("metrics.json"));
    let fvu = m["fvu"].as_f64().unwrap();
    assert!(fvu < 0.1, "held-out FVU {fvu}");
    assert!((m["l0"].as_f64().unwrap() - 3.0).abs() < 0.01);
    let manifest = json(&sae.join("sae.json"));
    assert_eq!(manifest["architecture"]["kind"], "topk");
    assert_eq!(manifest["normalization"]["kind"], "expected_norm");
    assert_eq!(manifest["normalization"]["folded"], true);
    assert_eq!(manifest["provenance"]["layer"], 0);
    assert!(
        std::fs::read_to_string(sae.join("log_density.svg"))
            .unwrap()
            .starts_with("<svg")
    );
    // planted dictionary recovered
    let dict: Vec<f32> =
        serde_json::from_slice(&std::fs::read(store.join("planted_dictionary.json")).unwrap())
            .unwrap();
    let (s, _) = mirlens_sae::io::load_native(&sae).unwrap();
    assert!(mirlens_sae::synthetic::mean_max_cosine(&dict, &s.w_dec, 32) > 0.9);

    let eval_json = t.path().join("eval.json");
    ok(mirlens()
        .args(["sae", "eval"])
        .arg("--sae")
        .arg(&sae)
        .arg("--store")
        .arg(&store)
        .arg("--out")
        .arg(&eval_json));
    let e = json(&eval_json);
    assert_eq!(e["n_tokens"], 6000);
    assert!(e["fvu"].as_f64().unwrap() < 0.1);

    let feats = t.path().join("features");
    ok(mirlens()
        .args(["sae", "features", "--source-label", "source"])
        .arg("--sae")
        .arg(&sae)
        .arg("--store")
        .arg(&store)
        .arg("--out")
        .arg(&feats));
    let f = json(&feats.join("features.json"));
    assert_eq!(f["features"].as_array().unwrap().len(), 64);
    assert_eq!(
        f["source_tokens"]["A"].as_u64().unwrap() + f["source_tokens"]["B"].as_u64().unwrap(),
        6000
    );
    assert!(
        std::fs::read_to_string(feats.join("features.csv"))
            .unwrap()
            .contains("latent_precision")
    );

    // SAELens round trip through the CLI gives the same evaluation
    let lens = t.path().join("lens");
    ok(mirlens()
        .args(["sae", "export", "--format", "saelens"])
        .arg("--sae")
        .arg(&sae)
        .arg("--out")
        .arg(&lens));
    assert_eq!(json(&lens.join("cfg.json"))["architecture"], "topk");
    let back = t.path().join("back");
    ok(mirlens()
        .args(["sae", "import", "--format", "saelens"])
        .arg("--from")
        .arg(&lens)
        .arg("--out")
        .arg(&back));
    let eval2 = t.path().join("eval2.json");
    ok(mirlens()
        .args(["sae", "eval"])
        .arg("--sae")
        .arg(&back)
        .arg("--store")
        .arg(&store)
        .arg("--out")
        .arg(&eval2));
    let e2 = json(&eval2);
    assert!((e2["fvu"].as_f64().unwrap() - e["fvu"].as_f64().unwrap()).abs() < 1e-5);
    assert_eq!(e2["l0"], e["l0"]);
}

#[test]
fn sae_sweep_and_crossing_write_tables_and_plots() {
    let t = tempfile::tempdir().unwrap();
    let store = t.path().join("store");
    ok(mirlens()
        .args([
            "sae",
            "synth",
            "--d",
            "32",
            "--n-true",
            "48",
            "--k-true",
            "3",
            "--rows",
            "4000",
            "--exclusive-sources",
        ])
        .arg("--out")
        .arg(&store));
    let out = t.path().join("sweep");
    ok(mirlens()
        .args([
            "sae",
            "sweep",
            "--expansions",
            "1,2",
            "--ks",
            "1,3",
            "--tokens",
            "60000",
            "--batch",
            "256",
            "--lr",
            "3e-3",
            "--threads",
            "2",
        ])
        .arg("--store")
        .arg(&store)
        .arg("--out")
        .arg(&out));
    let csv = std::fs::read_to_string(out.join("sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5, "{csv}");
    let s = json(&out.join("sweep.json"));
    let fvu: Vec<f64> = s["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["metrics"]["fvu"].as_f64().unwrap())
        .collect();
    assert!(fvu[0] > fvu[3], "{fvu:?}");
    for f in ["fvu.svg", "dead.svg", "fvu_lines.svg"] {
        assert!(
            std::fs::read_to_string(out.join(f))
                .unwrap()
                .starts_with("<svg")
        );
    }
    let cross = t.path().join("cross");
    ok(mirlens()
        .args([
            "sae",
            "crossing",
            "--source-label",
            "source",
            "--names",
            "a,b",
        ])
        .arg("--stores")
        .arg(format!("{},{}", store.display(), store.display()))
        .args(SMALL)
        .arg("--out")
        .arg(&cross));
    let c = json(&cross.join("crossing.json"));
    assert_eq!(c["points"].as_array().unwrap().len(), 2);
    // identical stores and settings → identical results
    assert_eq!(c["points"][0]["tendency"], c["points"][1]["tendency"]);
    let specific = c["points"][0]["tendency"]["A"].as_f64().unwrap_or(0.0)
        + c["points"][0]["tendency"]["B"].as_f64().unwrap_or(0.0);
    assert!(specific > 0.5, "source-specific fraction {specific}");
    assert!(
        std::fs::read_to_string(cross.join("tendency.svg"))
            .unwrap()
            .starts_with("<svg")
    );
}

//! `mirlens probe`, `neurons`, `eval`, `score` on a synthetic store with planted label neurons.

use std::path::Path;
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn run_json(args: &[&str]) -> serde_json::Value {
    let out = mirlens().args(args).output().unwrap();
    assert!(
        out.status.success(),
        "mirlens {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

fn synth(dir: &Path) -> String {
    let store = dir.join("store");
    let s = store.to_str().unwrap().to_string();
    let out = mirlens()
        .args(["probe", "synth", "--out", &s, "--clips", "160"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    s
}

#[test]
fn layer_sweep_finds_the_layers_that_carry_the_label() {
    let tmp = tempfile::tempdir().unwrap();
    let store = synth(tmp.path());
    let out = tmp.path().join("sweep");
    let j = run_json(&[
        "probe",
        "sweep",
        "--store",
        &store,
        "--label",
        "family",
        "--out",
        out.to_str().unwrap(),
    ]);
    let layers = j["layers"].as_array().unwrap();
    assert_eq!(layers.len(), 4);
    let acc: Vec<f64> = layers
        .iter()
        .map(|l| l["accuracy"].as_f64().unwrap())
        .collect();
    // Layer 0 carries no signal; layer 2 carries the most.
    assert!((acc[0] - 0.5).abs() < 0.15, "layer 0 accuracy {}", acc[0]);
    assert!(acc[2] > 0.95, "layer 2 accuracy {}", acc[2]);
    assert_eq!(j["best_layer"], "2");
    let csv = std::fs::read_to_string(out.join("layer_sweep.csv")).unwrap();
    assert_eq!(csv.lines().count(), 5);
    assert!(csv.starts_with("layer,accuracy,std,ci_low,ci_high,folds\n0,"));
    let svg = std::fs::read_to_string(out.join("layer_sweep.svg")).unwrap();
    assert_eq!(svg.matches(r#"class="point""#).count(), 4);
    assert_eq!(svg.matches(r#"class="errorbar""#).count(), 4);
    let back: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("layer_sweep.json")).unwrap())
            .unwrap();
    assert_eq!(back.as_array().unwrap().len(), 4);
}

#[test]
fn neurons_reports_ranking_baselines_spearman_controls_and_cross_task() {
    let tmp = tempfile::tempdir().unwrap();
    let store = synth(tmp.path());
    let out = tmp.path().join("neurons");
    // Multiclass label: ANOVA F ranking and the cross-task matrix over one-vs-rest tasks.
    let j = run_json(&[
        "neurons",
        "--store",
        &store,
        "--label",
        "pitch_class",
        "--layer",
        "3",
        "--top-fraction",
        "0.1",
        "--random-draws",
        "4",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(j["method"], "anova_f");
    let top: Vec<u64> = j["top_neurons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let planted = [2, 9, 21, 33, 40, 60];
    let hits = top[..6]
        .iter()
        .filter(|n| planted.contains(&(**n as usize)))
        .count();
    assert!(hits >= 6, "top neurons {top:?}");
    assert_eq!(j["k0"], 6);
    assert!(
        j["selectivity"]["selectivity"].as_f64().unwrap() > 0.3,
        "{}",
        j["selectivity"]
    );
    assert_eq!(j["cross_task"]["tasks"].as_array().unwrap().len(), 4);
    let heat = std::fs::read_to_string(out.join("cross_task.svg")).unwrap();
    assert_eq!(heat.matches(r#"class="cell""#).count(), 16);
    let delta = std::fs::read_to_string(out.join("cross_task_delta.csv")).unwrap();
    assert_eq!(
        delta.lines().count(),
        5,
        "sparse − dense matrix: header + 4 rows"
    );
    // Binary label: Welch t ranking and the L0 λ sweep with its Spearman agreement.
    let j = run_json(&[
        "neurons",
        "--store",
        &store,
        "--label",
        "family",
        "--layer",
        "2",
        "--top-fraction",
        "0.0625",
        "--random-draws",
        "4",
        "--l0-lambdas",
        "0.2,1.0",
        "--l0-steps",
        "400",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(j["method"], "welch_t");
    let top: Vec<u64> = j["top_neurons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    let mut top4 = top[..4].to_vec();
    top4.sort_unstable();
    assert_eq!(top4, vec![5, 12, 30, 47]);
    let l0 = j["l0"].as_array().unwrap();
    assert_eq!(l0.len(), 2);
    assert!(
        l0[0]["neurons_used"].as_u64().unwrap() < l0[1]["neurons_used"].as_u64().unwrap(),
        "{l0:?}"
    );
    assert!(l0[0]["spearman"].as_f64().unwrap() > 0.2, "{l0:?}");
    for f in [
        "neurons.json",
        "ranking.csv",
        "k_sweep.csv",
        "k_sweep.svg",
        "random_complement.csv",
        "l0_sweep.csv",
        "l0_spearman.svg",
        "cross_task.csv",
        "cross_task.svg",
    ] {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let ks = std::fs::read_to_string(out.join("k_sweep.svg")).unwrap();
    assert!(ks.contains("random from complement") && ks.contains(r#"class="band""#));
    let ranking = std::fs::read_to_string(out.join("ranking.csv")).unwrap();
    assert!(ranking.starts_with("rank,neuron,score\n1,"));
}

#[test]
fn eval_scores_a_downstream_task() {
    let tmp = tempfile::tempdir().unwrap();
    let store = synth(tmp.path());
    let acc = run_json(&[
        "eval", "--store", &store, "--label", "family", "--layer", "2",
    ]);
    assert!(acc["value"].as_f64().unwrap() > 0.9, "{acc}");
    let auc = run_json(&[
        "eval",
        "--store",
        &store,
        "--label",
        "pitch_class",
        "--layer",
        "3",
        "--metric",
        "roc-auc",
        "--pooling",
        "none",
        "--aggregate-by-clip",
    ]);
    assert!(auc["value"].as_f64().unwrap() > 0.9, "{auc}");
    let mlp = run_json(&[
        "eval", "--store", &store, "--label", "family", "--layer", "2", "--probe", "mlp",
    ]);
    assert_eq!(mlp["task"]["probe"], "mlp");
    assert!(mlp["value"].as_f64().unwrap() > 0.8, "{mlp}");
    let r2 = run_json(&[
        "eval",
        "--store",
        &store,
        "--label",
        "pitch_class",
        "--layer",
        "0",
        "--metric",
        "r2",
    ]);
    assert!(
        r2["value"].as_f64().unwrap() < 0.1,
        "layer 0 carries no signal: {r2}"
    );
}

#[test]
fn score_reads_annotation_files() {
    let tmp = tempfile::tempdir().unwrap();
    let w = |name: &str, text: &str| {
        let p = tmp.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    let (r, e) = (w("rk.txt", "C major\n"), w("ek.txt", "G major\n"));
    assert_eq!(
        run_json(&["score", "key", "--ref", &r, "--est", &e])["weighted_score"],
        0.5
    );
    let (r, e) = (
        w("ro.txt", "0.1\n0.5\n1.0\n1.5\n"),
        w("eo.txt", "0.14\n0.56\n1.0\n1.05\n2.0\n"),
    );
    let o = run_json(&["score", "onset", "--ref", &r, "--est", &e]);
    assert!(
        (o["precision"].as_f64().unwrap() - 0.4).abs() < 1e-12
            && (o["recall"].as_f64().unwrap() - 0.5).abs() < 1e-12
    );
    let (r, e) = (
        w("rc.lab", "0 2 C:maj\n2 4 A:min\n4 6 F:maj7\n6 8 N\n"),
        w("ec.lab", "0 1 C:maj\n1 3 C:maj\n3 5 F:maj\n5 9 N\n"),
    );
    let c = run_json(&["score", "chord", "--ref", &r, "--est", &e]);
    assert_eq!(c["majmin"], 0.625);
    assert_eq!(c["sevenths"], 0.5);
    let (r, e) = (
        w("rn.txt", "0.0 1.0 440\n1.0 2.0 494\n"),
        w("en.txt", "0.01 1.5 440\n1.0 2.0 494\n"),
    );
    let n = run_json(&["score", "notes", "--ref", &r, "--est", &e]);
    assert_eq!(n["no_offset"]["f_measure"], 1.0);
    assert_eq!(n["with_offset"]["f_measure"], 0.5);
    let bad = w("bad.txt", "0.1\nabc\n");
    let out = mirlens()
        .args(["score", "beat", "--ref", &bad, "--est", &bad])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bad.txt:2"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

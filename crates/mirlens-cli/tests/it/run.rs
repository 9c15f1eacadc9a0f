//! `mirlens run`: the main job end to end on a small slice of the built-in data.

use std::process::Command;

fn run(out: &std::path::Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
        .args([
            "run",
            "--quiet",
            "--limit",
            "96",
            "--stages",
            "extract,probe",
            "--out",
        ])
        .arg(out)
        .output()
        .unwrap()
}

#[test]
fn main_job_names_its_model_and_writes_consistent_results() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = run(&out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("model: mirlens-music-small")
            && stdout.contains("pretrained self-supervised"),
        "{stdout}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["default_model"], true);
    assert_eq!(summary["model"], "mirlens-music-small");
    let labels = summary["labels"].as_array().unwrap();
    let names: Vec<&str> = labels
        .iter()
        .map(|l| l["label"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["pitch_class", "octave", "family"]);
    for l in labels {
        let sweep = &l["sweep"];
        let layers = sweep["layers"].as_array().unwrap();
        // the default model: hidden states 0..=4
        assert_eq!(layers.len(), 5, "{sweep}");
        let accs: Vec<f64> = layers
            .iter()
            .map(|x| x["accuracy"].as_f64().unwrap())
            .collect();
        assert!(accs.iter().all(|a| (0.0..=1.0).contains(a)), "{accs:?}");
        let best = accs.iter().cloned().fold(f64::MIN, f64::max);
        assert_eq!(sweep["best_accuracy"].as_f64().unwrap(), best);
        // the neuron report ran at the best layer, over the 192 neurons of that layer
        let best_layer: usize = sweep["best_layer"].as_str().unwrap().parse().unwrap();
        assert_eq!(accs[best_layer], best);
        assert_eq!(l["neurons"]["layer"].as_u64().unwrap() as usize, best_layer);
        assert_eq!(l["neurons"]["neurons"], 192);
        let label = l["label"].as_str().unwrap();
        for f in ["layer_sweep.svg", "layer_sweep.csv"] {
            assert!(
                out.join(format!("probe-{label}")).join(f).is_file(),
                "{label}/{f}"
            );
        }
        for f in ["k_sweep.svg", "ranking.csv", "cross_task.svg"] {
            assert!(
                out.join(format!("neurons-{label}")).join(f).is_file(),
                "{label}/{f}"
            );
        }
    }
    let store = mirlens_store::Store::open(out.join("store")).unwrap();
    assert_eq!(store.manifest().num_clips, 96);

    // a second run resumes the committed store instead of extracting again
    let o = run(&out);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success());
    assert!(stdout.contains("0 shard(s) written"), "{stdout}");
}

/// With `--model logmel` the log-mel self-comparison is skipped but the cross-modal stages run: the input
/// spectrogram against the symbolic and caption LMs over the built-in notes, with values (measured 2026-12-03:
/// debiased CKA with the symbolic LM's layer 4 0.257 [0.229, 0.297], p = 0.005; with the caption LM 0.145; the
/// sample-efficiency curve's mapped route 0.827 at N = 100, the direct probe 0.840).
#[test]
fn logmel_job_maps_the_input_onto_the_symbolic_and_caption_lms() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let o = Command::new(env!("CARGO_BIN_EXE_mirlens"))
        .args([
            "run",
            "--quiet",
            "--model",
            "logmel",
            "--stages",
            "extract,probe,symbolic,text,align",
            "--out",
        ])
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        o.status.success(),
        "{}\n{stdout}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        stdout.contains("skipped (the model is the log-mel input)"),
        "{stdout}"
    );
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let cross = &summary["align"]["cross_modal"];
    let cka = |m: &str| {
        let s = &cross[m]["scores"]["cka_debiased"];
        (s["value"].as_f64().unwrap(), s["p_value"].as_f64().unwrap())
    };
    let (sym, p) = cka("symbolic");
    assert!(
        (0.2..=0.32).contains(&sym) && p < 0.01,
        "symbolic CKA {sym}, p {p}"
    );
    let (txt, p) = cka("text");
    assert!(
        (0.1..=0.2).contains(&txt) && p < 0.01,
        "caption CKA {txt}, p {p}"
    );
    let rows = cross["symbolic"]["efficiency"]["rows"].as_array().unwrap();
    let at100 = rows.iter().find(|r| r["n"] == 100).unwrap();
    assert!(at100["mapped_mean"].as_f64().unwrap() > 0.75, "{at100}");
    assert!(
        out.join("align-symbolic")
            .join("cka_debiased.csv")
            .is_file()
    );
    assert!(!out.join("store-logmel").exists());
}

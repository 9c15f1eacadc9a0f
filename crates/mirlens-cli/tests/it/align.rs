//! `mirlens align score | layers | map` on the parity fixtures of `tests/golden/align` written as `.npy`.

use mirlens_align::npy;
use mirlens_test_support::golden_dir;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn mirlens() -> Command {
    Command::new(env!("CARGO_BIN_EXE_mirlens"))
}

fn cases() -> Value {
    let p = golden_dir("align").join("cases.json");
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn rows(v: &Value) -> (Vec<f64>, usize, usize) {
    let r: Vec<Vec<f64>> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap())
                .collect()
        })
        .collect();
    let (n, d) = (r.len(), r[0].len());
    (r.concat(), n, d)
}

fn write_f64(path: &Path, v: &Value) {
    let (data, n, d) = rows(v);
    std::fs::write(path, npy::encode_f64(&data, n, d)).unwrap();
}

/// `<f4` .npy written by hand (the reader accepts both widths).
fn write_f32(path: &Path, v: &Value) {
    let (data, n, d) = rows(v);
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({n}, {d}), }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for x in data {
        out.extend_from_slice(&(x as f32).to_le_bytes());
    }
    std::fs::write(path, out).unwrap();
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn fixture(dir: &Path) -> (PathBuf, PathBuf, Value) {
    let all = cases();
    let c = all["cases"]["main"].clone();
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    write_f64(&x, &c["x"]);
    write_f64(&y, &c["y"]);
    (x, y, c)
}

#[test]
fn score_writes_value_p_value_ci_and_n() {
    let t = tempfile::tempdir().unwrap();
    let (x, y, c) = fixture(t.path());
    for (metric, want) in [
        ("cka", c["platonic"]["cka_raw"].as_f64().unwrap()),
        (
            "cka_debiased",
            c["platonic"]["unbiased_cka_raw"].as_f64().unwrap(),
        ),
        ("mutual_knn", c["platonic"]["mutual_knn"].as_f64().unwrap()),
        ("cknna", c["platonic"]["cknna"].as_f64().unwrap()),
        ("rsa", c["rsa"]["rsa_euclidean"].as_f64().unwrap()),
        ("pwcca", c["pwcca_fixed"].as_f64().unwrap()),
        (
            "angular",
            c["netrep"]["angular_alpha_1.0"].as_f64().unwrap(),
        ),
    ] {
        let out = t.path().join(format!("{metric}.json"));
        let stdout = run_ok(
            mirlens()
                .args([
                    "align",
                    "score",
                    "--metric",
                    metric,
                    "--permutations",
                    "200",
                    "--bootstrap",
                    "100",
                ])
                .arg("--x")
                .arg(&x)
                .arg("--y")
                .arg(&y)
                .arg("--out")
                .arg(&out),
        );
        assert!(stdout.starts_with(metric), "{stdout}");
        let r = json(&out);
        assert_eq!(r["metric"], metric);
        assert_eq!(r["n"], 80);
        let v = r["value"].as_f64().unwrap();
        assert!((v - want).abs() < 1e-7, "{metric}: {v} vs {want}");
        // A planted shared latent: every permutation is less similar.
        assert_eq!(r["p_value"].as_f64().unwrap(), 1.0 / 201.0, "{metric}");
        let ci = r["ci"].as_array().unwrap();
        let (lo, hi) = (ci[0].as_f64().unwrap(), ci[1].as_f64().unwrap());
        assert!(
            lo < hi && lo < v + 0.2 && hi > v - 0.2,
            "{metric}: {lo} {hi} around {v}"
        );
    }
}

#[test]
fn score_reads_float32_and_is_seeded() {
    let t = tempfile::tempdir().unwrap();
    let all = cases();
    let c = &all["cases"]["rotated"];
    let (x, y) = (t.path().join("x32.npy"), t.path().join("y32.npy"));
    write_f32(&x, &c["x"]);
    write_f32(&y, &c["y"]);
    let go = |out: &str, seed: &str| {
        run_ok(
            mirlens()
                .args([
                    "align",
                    "score",
                    "--metric",
                    "procrustes",
                    "--permutations",
                    "50",
                    "--bootstrap",
                    "50",
                    "--seed",
                    seed,
                ])
                .arg("--x")
                .arg(&x)
                .arg("--y")
                .arg(&y)
                .arg("--out")
                .arg(t.path().join(out)),
        );
        json(&t.path().join(out))
    };
    let (a, b, other) = (go("a.json", "3"), go("b.json", "3"), go("c.json", "4"));
    let want = c["procrustes"]["procrustes_normalised"].as_f64().unwrap();
    assert!(
        (a["value"].as_f64().unwrap() - want).abs() < 1e-5,
        "{} vs {want}",
        a["value"]
    );
    assert_eq!(a["ci"], b["ci"]);
    assert_ne!(a["ci"], other["ci"]);
    assert_eq!(a["higher_is_similar"], false);
}

#[test]
fn score_refuses_unpaired_rows() {
    let t = tempfile::tempdir().unwrap();
    let (x, _, c) = fixture(t.path());
    let short = t.path().join("short.npy");
    write_f64(&short, &c["x"].as_array().unwrap()[..10].to_vec().into());
    let out = mirlens()
        .args(["align", "score", "--metric", "cka"])
        .arg("--x")
        .arg(&x)
        .arg("--y")
        .arg(&short)
        .arg("--out")
        .arg(t.path().join("r.json"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("X has 80 rows, Y has 10"), "{err}");
    assert!(!t.path().join("r.json").exists());
}

#[test]
fn layers_and_map_on_npy() {
    let t = tempfile::tempdir().unwrap();
    let all = cases();
    let (dx, dy) = (t.path().join("xl"), t.path().join("yl"));
    std::fs::create_dir_all(&dx).unwrap();
    std::fs::create_dir_all(&dy).unwrap();
    let c = &all["cases"]["main"];
    write_f64(&dx.join("layer-0.npy"), &c["x"]);
    write_f64(&dx.join("layer-1.npy"), &c["y"]);
    write_f64(&dy.join("layer-0.npy"), &c["y"]);
    let out = t.path().join("layers");
    run_ok(
        mirlens()
            .args(["align", "layers", "--metric", "cka_debiased,mutual_knn"])
            .arg("--x")
            .arg(&dx)
            .arg("--y")
            .arg(&dy)
            .arg("--out")
            .arg(&out),
    );
    let m = json(&out.join("mutual_knn.json"));
    let v: Vec<f64> = m["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!((v[0] - c["platonic"]["mutual_knn"].as_f64().unwrap()).abs() < 1e-7);
    assert_eq!(v[1], 1.0, "a layer with itself");
    assert_eq!(m["best_pair"], serde_json::json!(["layer-1", "layer-0"]));
    let csv = std::fs::read_to_string(out.join("cka_debiased.csv")).unwrap();
    assert!(csv.starts_with("x_layer,layer-0\nlayer-0,"), "{csv}");
    assert!(
        std::fs::read_to_string(out.join("cka_debiased.svg"))
            .unwrap()
            .contains("<svg")
    );

    let (x, y, _) = fixture(t.path());
    let res = t.path().join("map.json");
    run_ok(
        mirlens()
            .args(["align", "map", "--method", "ridge"])
            .arg("--x")
            .arg(&x)
            .arg("--y")
            .arg(&y)
            .arg("--out")
            .arg(&res)
            .arg("--weights")
            .arg(t.path().join("w.npy")),
    );
    let r = json(&res);
    assert_eq!(r["n_test"], 16);
    assert_eq!(r["n_train"], 64);
    assert_eq!(r["r2_per_dim"].as_array().unwrap().len(), 12);
    let vw = r["r2_variance_weighted"].as_f64().unwrap();
    assert!(vw > 0.2 && vw < 1.0, "{vw}");
    for dir in ["x_to_y", "y_to_x"] {
        let m = &r["retrieval"][dir];
        assert_eq!(m["queries"], 16);
        let (r1, r10) = (
            m["r_at_1"].as_f64().unwrap(),
            m["r_at_10"].as_f64().unwrap(),
        );
        assert!(r1 <= r10 && r10 > 0.6, "{dir}: {m}");
        assert!((m["map"].as_f64().unwrap() - m["mrr"].as_f64().unwrap()).abs() < 1e-12);
    }
    let w = npy::read(t.path().join("w.npy")).unwrap();
    assert_eq!((w.nrows(), w.ncols()), (16, 12));
}

#[test]
fn map_trains_contrastive_heads() {
    let t = tempfile::tempdir().unwrap();
    let (x, y, _) = fixture(t.path());
    let run = |method: &str, name: &str| {
        let res = t.path().join(format!("{name}.json"));
        run_ok(
            mirlens()
                .args(["align", "map", "--method", method, "--rank", "4"])
                .args(["--epochs", "60", "--lr", "0.02", "--seed", "3"])
                .arg("--x")
                .arg(&x)
                .arg("--y")
                .arg(&y)
                .arg("--out")
                .arg(&res)
                .arg("--weights")
                .arg(t.path().join(format!("{name}.npy"))),
        );
        json(&res)
    };
    for method in ["infonce", "siglip"] {
        let r = run(method, method);
        assert_eq!(r["method"], method);
        assert_eq!(r["rank"], 4);
        assert_eq!(
            (r["n_train"].clone(), r["n_test"].clone()),
            (64.into(), 16.into())
        );
        assert!(r["r2_mean"].is_null());
        let c = &r["contrastive"];
        assert_eq!(c["epochs"], 60);
        assert!(c["final_loss"].as_f64().unwrap() < c["initial_loss"].as_f64().unwrap());
        assert_eq!(c["bias"].is_null(), method == "infonce");
        // The main case is a 6-dim latent seen through both views: retrieval well above chance (R@10 = 10/16).
        for dir in ["x_to_y", "y_to_x"] {
            let m = &r["retrieval"][dir];
            assert_eq!(m["queries"], 16);
            assert!(
                m["r_at_1"].as_f64().unwrap() > 1.0 / 16.0 * 3.0,
                "{method} {dir}: {m}"
            );
        }
        let w = npy::read(t.path().join(format!("{method}.npy"))).unwrap();
        assert_eq!((w.nrows(), w.ncols()), (16, 4));
        // Same seed, same result.
        assert_eq!(run(method, "again"), r);
    }
}

/// `<i8` labels: class 1 where Y's first column is above its median (a label carried by Y).
fn median_labels(dir: &Path, y: &Value) -> (PathBuf, Vec<i64>) {
    let (data, n, d) = rows(y);
    let col: Vec<f64> = (0..n).map(|i| data[i * d]).collect();
    let mut sorted = col.clone();
    sorted.sort_by(f64::total_cmp);
    let med = sorted[n / 2];
    let labels: Vec<i64> = col.iter().map(|&v| i64::from(v >= med)).collect();
    let mut header = format!("{{'descr': '<i8', 'fortran_order': False, 'shape': ({n},), }}");
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in &labels {
        out.extend_from_slice(&v.to_le_bytes());
    }
    let p = dir.join("labels.npy");
    std::fs::write(&p, out).unwrap();
    (p, labels)
}

#[test]
fn efficiency_and_transfer_on_npy_with_labels() {
    let t = tempfile::tempdir().unwrap();
    let (x, y, c) = fixture(t.path());
    let (labels, _) = median_labels(t.path(), &c["y"]);
    let out = t.path().join("eff");
    let stdout = run_ok(
        mirlens()
            .args([
                "align",
                "efficiency",
                "--sizes",
                "10,30,100",
                "--seeds",
                "3",
            ])
            .arg("--x")
            .arg(&x)
            .arg("--y")
            .arg(&y)
            .arg("--labels")
            .arg(&labels)
            .arg("--out")
            .arg(&out),
    );
    assert!(stdout.contains("N =     64"), "{stdout}");
    let r = json(&out.join("efficiency.json"));
    assert_eq!(
        (r["n_pool"].clone(), r["n_test"].clone()),
        (64.into(), 16.into())
    );
    assert_eq!(r["classes"], 2);
    let ns: Vec<u64> = r["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["n"].as_u64().unwrap())
        .collect();
    assert_eq!(ns, vec![10, 30, 64], "sizes capped at the pool");
    // The label is a threshold of one Y column: Y's own probe finds it.
    assert!(r["y_probe_accuracy"].as_f64().unwrap() >= 0.8, "{r}");
    for row in r["rows"].as_array().unwrap() {
        assert_eq!(row["mapped"].as_array().unwrap().len(), 3);
    }
    let csv = std::fs::read_to_string(out.join("efficiency.csv")).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(
        std::fs::read_to_string(out.join("efficiency.svg"))
            .unwrap()
            .contains("<svg")
    );

    let res = t.path().join("transfer.json");
    run_ok(
        mirlens()
            .args(["align", "transfer"])
            .arg("--x")
            .arg(&x)
            .arg("--y")
            .arg(&y)
            .arg("--labels")
            .arg(&labels)
            .arg("--out")
            .arg(&res),
    );
    let r = json(&res);
    assert_eq!(r["class_names"], serde_json::json!(["0", "1"]));
    assert_eq!(
        (r["n_train"].clone(), r["n_test"].clone()),
        (64.into(), 16.into())
    );
    let gap = r["y_probe_on_mapped_x"].as_f64().unwrap() - r["x_probe_on_x"].as_f64().unwrap();
    assert!((gap - r["transfer_gap"].as_f64().unwrap()).abs() < 1e-12);

    // .npy inputs without --labels are refused with a message naming the option.
    let out = mirlens()
        .args(["align", "transfer"])
        .arg("--x")
        .arg(&x)
        .arg("--y")
        .arg(&y)
        .arg("--out")
        .arg(&res)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--labels"));
}

#[test]
fn features_matches_a_view_with_its_reordered_copy() {
    let t = tempfile::tempdir().unwrap();
    let (x, _, c) = fixture(t.path());
    // B = A's columns in reverse order: every feature has its counterpart at correlation 1.
    let (data, n, d) = rows(&c["x"]);
    let rev: Vec<f64> = (0..n)
        .flat_map(|i| (0..d).rev().map(move |j| (i, j)))
        .map(|(i, j)| data[i * d + j])
        .collect();
    let y = t.path().join("b.npy");
    std::fs::write(&y, npy::encode_f64(&rev, n, d)).unwrap();
    let out = t.path().join("feat");
    run_ok(
        mirlens()
            .args(["align", "features", "--shuffles", "5"])
            .arg("--x")
            .arg(&x)
            .arg("--y")
            .arg(&y)
            .arg("--out")
            .arg(&out),
    );
    let m = json(&out.join("features.json"));
    assert_eq!(m["shared"], 16);
    assert_eq!(m["shared_fraction_a"], 1.0);
    for p in m["pairs"].as_array().unwrap() {
        assert_eq!(p["a"].as_u64().unwrap() + p["b"].as_u64().unwrap(), 15);
        assert!((p["correlation"].as_f64().unwrap() - 1.0).abs() < 1e-12);
    }
    let csv = std::fs::read_to_string(out.join("features.csv")).unwrap();
    assert!(csv.starts_with("feature_a,feature_b,correlation,shared\n"));
    assert_eq!(csv.lines().count(), 17);
}

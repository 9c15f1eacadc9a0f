//! Every metric against mir_eval 0.8.2 / scikit-learn 1.9.1 values written by `tests/golden/metrics/generate.py`.

use mirlens_probe::metrics::chord::{CHORD_METRICS, chord_scores};
use mirlens_probe::metrics::mir::{self, Note, NoteMatching};
use mirlens_probe::metrics::{self as m};
use serde_json::Value;

/// Metrics are exact up to floating-point summation order.
const EXACT: f64 = 1e-9;

fn cases() -> Value {
    let p = mirlens_test_support::golden_dir("metrics").join("cases.json");
    serde_json::from_str(
        &std::fs::read_to_string(&p)
            .unwrap_or_else(|e| panic!("{}: {e}; run generate.py", p.display())),
    )
    .unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}
fn pairs(v: &Value) -> Vec<(f64, f64)> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|r| (r[0].as_f64().unwrap(), r[1].as_f64().unwrap()))
        .collect()
}
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}
#[track_caller]
fn close(what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= EXACT,
        "{what}: got {got}, mir_eval/sklearn {want}"
    );
}

#[test]
fn key_weighted_score_matches_mir_eval() {
    let c = cases();
    for (i, k) in c["key"].as_array().unwrap().iter().enumerate() {
        let s = mir::key_weighted_score(k["ref"].as_str().unwrap(), k["est"].as_str().unwrap())
            .unwrap();
        close(
            &format!("key case {i} {k}"),
            s,
            k["score"].as_f64().unwrap(),
        );
    }
}

#[test]
fn beat_f_measure_matches_mir_eval_with_and_without_trim() {
    let c = cases();
    for (i, b) in c["beat"].as_array().unwrap().iter().enumerate() {
        let (r, e) = (f64s(&b["ref"]), f64s(&b["est"]));
        close(
            &format!("beat {i} untrimmed"),
            mir::beat_f_measure(&r, &e, 0.07),
            b["f_measure"].as_f64().unwrap(),
        );
        close(
            &format!("beat {i} trimmed"),
            mir::beat_f_measure_trimmed(&r, &e),
            b["f_measure_trimmed"].as_f64().unwrap(),
        );
    }
    // The reference example: 0.513 untrimmed, 0.367 after the 5 s trim.
    let b0 = &c["beat"][0];
    assert!(
        (b0["f_measure"].as_f64().unwrap() - 0.513).abs() < 1e-3
            && (b0["f_measure_trimmed"].as_f64().unwrap() - 0.367).abs() < 1e-3
    );
}

#[test]
fn onset_f_measure_matches_mir_eval() {
    for (i, o) in cases()["onset"].as_array().unwrap().iter().enumerate() {
        let s = mir::onset_f_measure(&f64s(&o["ref"]), &f64s(&o["est"]), 0.05);
        close(
            &format!("onset {i} F"),
            s.f_measure,
            o["f"].as_f64().unwrap(),
        );
        close(
            &format!("onset {i} P"),
            s.precision,
            o["p"].as_f64().unwrap(),
        );
        close(&format!("onset {i} R"), s.recall, o["r"].as_f64().unwrap());
    }
}

#[test]
fn note_transcription_matches_mir_eval_with_and_without_offsets() {
    for (i, n) in cases()["notes"].as_array().unwrap().iter().enumerate() {
        let notes = |iv: &Value, p: &Value| -> Vec<Note> {
            pairs(iv)
                .into_iter()
                .zip(f64s(p))
                .map(|((a, b), h)| Note {
                    onset: a,
                    offset: b,
                    pitch_hz: h,
                })
                .collect()
        };
        let (r, e) = (
            notes(&n["ref_intervals"], &n["ref_pitches"]),
            notes(&n["est_intervals"], &n["est_pitches"]),
        );
        for (key, opts) in [
            ("with_offset", NoteMatching::default()),
            (
                "no_offset",
                NoteMatching {
                    offset_ratio: None,
                    ..Default::default()
                },
            ),
        ] {
            let s = mir::transcription_prf(&r, &e, &opts);
            let want = f64s(&n[key]);
            close(&format!("notes {i} {key} P"), s.precision, want[0]);
            close(&format!("notes {i} {key} R"), s.recall, want[1]);
            close(&format!("notes {i} {key} F"), s.f_measure, want[2]);
            close(
                &format!("notes {i} {key} overlap"),
                s.average_overlap_ratio,
                want[3],
            );
        }
    }
}

#[test]
fn chord_scores_match_mir_eval() {
    for (i, c) in cases()["chord"].as_array().unwrap().iter().enumerate() {
        let s = chord_scores(
            &pairs(&c["ref_intervals"]),
            &strings(&c["ref_labels"]),
            &pairs(&c["est_intervals"]),
            &strings(&c["est_labels"]),
        )
        .unwrap();
        for name in CHORD_METRICS {
            close(
                &format!("chord case {i} {name} ({c})"),
                s[name],
                c["scores"][name].as_f64().unwrap(),
            );
        }
    }
}

#[test]
fn melody_scores_match_mir_eval() {
    for (i, c) in cases()["melody"].as_array().unwrap().iter().enumerate() {
        let s = mir::melody_scores(
            &f64s(&c["ref_time"]),
            &f64s(&c["ref_freq"]),
            &f64s(&c["est_time"]),
            &f64s(&c["est_freq"]),
        )
        .unwrap();
        let w = &c["scores"];
        close(
            &format!("melody {i} VR"),
            s.voicing_recall,
            w["Voicing Recall"].as_f64().unwrap(),
        );
        close(
            &format!("melody {i} VFA"),
            s.voicing_false_alarm,
            w["Voicing False Alarm"].as_f64().unwrap(),
        );
        close(
            &format!("melody {i} RPA"),
            s.raw_pitch_accuracy,
            w["Raw Pitch Accuracy"].as_f64().unwrap(),
        );
        close(
            &format!("melody {i} RCA"),
            s.raw_chroma_accuracy,
            w["Raw Chroma Accuracy"].as_f64().unwrap(),
        );
        close(
            &format!("melody {i} OA"),
            s.overall_accuracy,
            w["Overall Accuracy"].as_f64().unwrap(),
        );
    }
}

#[test]
fn classification_ranking_and_regression_match_sklearn() {
    let c = cases();
    let usizes = |v: &Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect()
    };
    for (i, k) in c["classification"].as_array().unwrap().iter().enumerate() {
        let (t, p) = (usizes(&k["y_true"]), usizes(&k["y_pred"]));
        close(
            &format!("accuracy {i}"),
            m::accuracy(&t, &p),
            k["accuracy"].as_f64().unwrap(),
        );
        close(
            &format!("macro-F1 {i}"),
            m::macro_f1(&t, &p),
            k["macro_f1"].as_f64().unwrap(),
        );
    }
    for (i, k) in c["ranking"].as_array().unwrap().iter().enumerate() {
        let rows = k["y_true"].as_array().unwrap();
        let labels = rows[0].as_array().unwrap().len();
        let yt: Vec<bool> = rows
            .iter()
            .flat_map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_u64().unwrap() == 1)
                    .collect::<Vec<_>>()
            })
            .collect();
        let sc: Vec<f64> = k["scores"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(f64s)
            .collect();
        close(
            &format!("ROC-AUC {i}"),
            m::macro_over_labels(&yt, &sc, labels, m::roc_auc).unwrap(),
            k["roc_auc_macro"].as_f64().unwrap(),
        );
        close(
            &format!("PR-AUC {i}"),
            m::macro_over_labels(&yt, &sc, labels, m::average_precision).unwrap(),
            k["pr_auc_macro"].as_f64().unwrap(),
        );
    }
    for (i, k) in c["regression"].as_array().unwrap().iter().enumerate() {
        let rows = k["y_true"].as_array().unwrap();
        let t = rows[0].as_array().unwrap().len();
        let yt: Vec<f64> = rows.iter().flat_map(f64s).collect();
        let yp: Vec<f64> = k["y_pred"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(f64s)
            .collect();
        close(
            &format!("R² {i}"),
            m::r2_score(&yt, &yp, t).unwrap(),
            k["r2"].as_f64().unwrap(),
        );
    }
}

#[test]
fn empty_inputs_follow_mir_eval() {
    assert_eq!(mir::beat_f_measure(&[], &[], 0.07), 0.0);
    assert_eq!(mir::onset_f_measure(&[], &[1.0], 0.05).f_measure, 0.0);
    assert_eq!(
        mir::transcription_prf(&[], &[], &NoteMatching::default()).f_measure,
        0.0
    );
    assert_eq!(m::accuracy(&[], &[]), 0.0);
}

#[test]
fn multipitch_matches_mir_eval() {
    use mirlens_probe::metrics::multipitch::{MultipitchScores, multipitch};
    let c = cases();
    let frames = |v: &Value| -> Vec<Vec<u8>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|f| {
                f.as_array()
                    .unwrap()
                    .iter()
                    .map(|p| p.as_u64().unwrap() as u8)
                    .collect()
            })
            .collect()
    };
    let cases = c["multipitch"].as_array().unwrap();
    assert_eq!(cases.len(), 12);
    let mut worst = 0.0f64;
    for (i, case) in cases.iter().enumerate() {
        let got = multipitch(&frames(&case["ref"]), &frames(&case["est"]));
        let check = |prefix: &str, s: &MultipitchScores| {
            let mut w = 0.0f64;
            for (name, v) in [
                ("precision", s.precision),
                ("recall", s.recall),
                ("accuracy", s.accuracy),
                ("substitution_error", s.substitution_error),
                ("miss_error", s.miss_error),
                ("false_alarm_error", s.false_alarm_error),
                ("total_error", s.total_error),
            ] {
                let want = case[format!("{prefix}{name}")].as_f64().unwrap();
                close(&format!("case {i} {prefix}{name}"), v, want);
                w = w.max((v - want).abs());
            }
            let (p, r) = (s.precision, s.recall);
            let f = if p + r > 0.0 {
                2.0 * p * r / (p + r)
            } else {
                0.0
            };
            close(&format!("case {i} {prefix}f"), s.f_measure, f);
            w
        };
        worst = worst.max(check("", &got.pitch));
        worst = worst.max(check("chroma_", &got.chroma));
    }
    eprintln!("multipitch vs mir_eval: max |Δ| {worst:.1e}");
}

//! mir_eval's own regression data (its `tests/data` reference/estimate files and expected outputs, tag 0.8.2,
//! copied by `tests/golden/mir_eval_regression/generate.py`) read with the `mir_eval.io`-compatible readers and
//! scored: every stored output is reproduced. Plus mir_eval's refusals and a bounded property test over hostile
//! annotation files.

use mirlens_probe::ProbeError;
use mirlens_probe::metrics::annotations as io;
use mirlens_probe::metrics::chord::chord_scores;
use mirlens_probe::metrics::mir::{self, NoteMatching};
use serde_json::Value;
use std::path::PathBuf;

/// Largest deviation allowed from mir_eval's stored outputs (achieved: see the assertion messages; the worst
/// case is about 1e-12, summation order).
const TOL: f64 = 1e-9;

fn dir(kind: &str) -> PathBuf {
    mirlens_test_support::golden_dir("mir_eval_regression").join(kind)
}

/// `(reference text, estimate text, expected outputs)` of every case of `kind`.
fn cases(kind: &str, ext: &str) -> Vec<(String, String, String, Value)> {
    let d = dir(kind);
    let mut out = Vec::new();
    for n in 0..100 {
        let o = d.join(format!("output{n:02}.json"));
        if !o.is_file() {
            continue;
        }
        let r = d.join(format!("ref{n:02}.{ext}"));
        let e = d.join(format!("est{n:02}.{ext}"));
        out.push((
            format!("{kind}/{n:02}"),
            std::fs::read_to_string(&r).unwrap(),
            std::fs::read_to_string(&e).unwrap(),
            serde_json::from_str(&std::fs::read_to_string(&o).unwrap()).unwrap(),
        ));
    }
    assert!(out.len() >= 5, "{kind}: {} cases", out.len());
    out
}

fn check(case: &str, key: &str, got: f64, want: &Value, worst: &mut f64) {
    let w = want[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{case}: no {key}"));
    let err = (got - w).abs();
    *worst = worst.max(err);
    assert!(err <= TOL, "{case} {key}: got {got}, mir_eval {w}");
}

#[test]
fn key_regression_data() {
    let mut worst = 0.0;
    for (c, r, e, want) in cases("key", "txt") {
        let (rk, ek) = (
            io::load_key(&r, "ref").unwrap(),
            io::load_key(&e, "est").unwrap(),
        );
        let s = mir::key_weighted_score(&rk, &ek).unwrap();
        check(&c, "Weighted Score", s, &want, &mut worst);
    }
    assert!(worst <= TOL);
}

#[test]
fn beat_and_onset_regression_data() {
    let mut worst = 0.0;
    for (c, r, e, want) in cases("beat", "txt") {
        let (rb, eb) = (
            io::load_events(&r, "ref").unwrap(),
            io::load_events(&e, "est").unwrap(),
        );
        check(
            &c,
            "F-measure",
            mir::beat_f_measure_trimmed(&rb, &eb),
            &want,
            &mut worst,
        );
    }
    for (c, r, e, want) in cases("onset", "txt") {
        let (ro, eo) = (
            io::load_events(&r, "ref").unwrap(),
            io::load_events(&e, "est").unwrap(),
        );
        let s = mir::onset_f_measure(&ro, &eo, 0.05);
        check(&c, "F-measure", s.f_measure, &want, &mut worst);
        check(&c, "Precision", s.precision, &want, &mut worst);
        check(&c, "Recall", s.recall, &want, &mut worst);
    }
}

#[test]
fn transcription_regression_data() {
    let mut worst = 0.0;
    for (c, r, e, want) in cases("transcription", "txt") {
        let (rn, en) = (
            io::load_notes(&r, "ref").unwrap(),
            io::load_notes(&e, "est").unwrap(),
        );
        let w = mir::transcription_prf(&rn, &en, &NoteMatching::default());
        let wo = mir::transcription_prf(
            &rn,
            &en,
            &NoteMatching {
                offset_ratio: None,
                ..Default::default()
            },
        );
        check(&c, "Precision", w.precision, &want, &mut worst);
        check(&c, "Recall", w.recall, &want, &mut worst);
        check(&c, "F-measure", w.f_measure, &want, &mut worst);
        check(
            &c,
            "Average_Overlap_Ratio",
            w.average_overlap_ratio,
            &want,
            &mut worst,
        );
        check(&c, "Precision_no_offset", wo.precision, &want, &mut worst);
        check(&c, "Recall_no_offset", wo.recall, &want, &mut worst);
        check(&c, "F-measure_no_offset", wo.f_measure, &want, &mut worst);
        check(
            &c,
            "Average_Overlap_Ratio_no_offset",
            wo.average_overlap_ratio,
            &want,
            &mut worst,
        );
    }
}

#[test]
fn chord_regression_data() {
    let mut worst = 0.0;
    let mut compared = 0;
    for (c, r, e, want) in cases("chord", "lab") {
        let (ri, rl) = io::load_labeled_intervals(&r, "ref").unwrap();
        let (ei, el) = io::load_labeled_intervals(&e, "est").unwrap();
        let got = chord_scores(&ri, &rl, &ei, &el).unwrap();
        for (k, v) in &got {
            if want.get(k).is_some() {
                check(&c, k, *v, &want, &mut worst);
                compared += 1;
            }
        }
    }
    assert!(compared >= 50, "only {compared} chord scores compared");
}

#[test]
fn melody_regression_data() {
    let mut worst = 0.0;
    for (c, r, e, want) in cases("melody", "txt") {
        let (rt, rf) = io::load_time_series(&r, "ref").unwrap();
        let (et, ef) = io::load_time_series(&e, "est").unwrap();
        let s = mir::melody_scores(&rt, &rf, &et, &ef).unwrap();
        check(&c, "Voicing Recall", s.voicing_recall, &want, &mut worst);
        check(
            &c,
            "Voicing False Alarm",
            s.voicing_false_alarm,
            &want,
            &mut worst,
        );
        check(
            &c,
            "Raw Pitch Accuracy",
            s.raw_pitch_accuracy,
            &want,
            &mut worst,
        );
        check(
            &c,
            "Raw Chroma Accuracy",
            s.raw_chroma_accuracy,
            &want,
            &mut worst,
        );
        check(
            &c,
            "Overall Accuracy",
            s.overall_accuracy,
            &want,
            &mut worst,
        );
    }
}

fn annotation_err(r: Result<impl std::fmt::Debug, ProbeError>) -> String {
    match r {
        Err(e @ ProbeError::Annotation { .. }) => e.to_string(),
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn parse_err(r: Result<impl std::fmt::Debug, ProbeError>) -> (usize, String) {
    match r {
        Err(ProbeError::Parse { line, reason, .. }) => (line, reason),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn reads_like_mir_eval_io() {
    // any whitespace delimiter, comment lines, tab-separated key files
    assert_eq!(io::load_key("C\tmajor\n", "k").unwrap(), "C major");
    assert_eq!(
        io::load_key("# key\nF#   minor\n", "k").unwrap(),
        "F# minor"
    );
    assert_eq!(
        io::load_events("# beats\n0.5\n1.0\r\n1_5.25\n", "b").unwrap(),
        [0.5, 1.0, 15.25]
    );
    let (iv, labels) = io::load_labeled_intervals("0 1.5\tC:maj\n1.5 2 N\n", "c").unwrap();
    assert_eq!(iv, [(0.0, 1.5), (1.5, 2.0)]);
    assert_eq!(labels, ["C:maj", "N"]);
    // the column count each loader expects; the line number counts comment lines
    assert_eq!(parse_err(io::load_events("# c\n1.0 2.0\n", "b")).0, 2);
    let (line, reason) = parse_err(io::load_notes("0 1 440\n1 2\n", "n"));
    assert_eq!(line, 2);
    assert!(reason.contains("expected 3 columns, got 2"), "{reason}");
    let (_, reason) = parse_err(io::load_key("C\n", "k"));
    assert!(reason.contains("expected 2 columns, got 1"), "{reason}");
    let (_, reason) = parse_err(io::load_events("1.0\nabc\n", "b"));
    assert!(
        reason.contains("could not convert value \"abc\""),
        "{reason}"
    );
    // a blank line in the middle is an error, as in mir_eval
    assert_eq!(parse_err(io::load_events("1.0\n\n2.0\n", "b")).0, 2);
    // a comment must start the line
    assert!(io::load_events(" # not a comment\n", "b").is_err());
}

#[test]
fn validates_like_mir_eval() {
    assert!(annotation_err(io::load_events("2.0\n1.0\n", "b")).contains("increasing order"));
    assert!(annotation_err(io::load_events("1e308\n", "b")).contains("max_time"));
    assert!(annotation_err(io::load_events("nan\n", "b")).contains("non-finite"));
    assert!(annotation_err(io::load_events("-1\n", "b")).contains("negative"));
    assert!(annotation_err(io::load_notes("-0.5 1 440\n", "n")).contains("negative interval"));
    assert!(annotation_err(io::load_notes("nan 1 440\n", "n")).contains("non-finite"));
    assert!(annotation_err(io::load_notes("2 1 440\n", "n")).contains("strictly positive"));
    assert!(annotation_err(io::load_notes("1 1 440\n", "n")).contains("strictly positive"));
    assert!(annotation_err(io::load_notes("0 1 0\n", "n")).contains("non-positive pitch"));
    assert!(annotation_err(io::load_notes("0 1 -440\n", "n")).contains("non-positive pitch"));
    assert!(annotation_err(io::load_key("C major\nG major\n", "k")).contains("only one line"));
    assert!(annotation_err(io::load_key("H major\n", "k")).contains("tonic"));
    assert!(
        annotation_err(io::load_labeled_intervals("1 0.5 C\n", "c")).contains("strictly positive")
    );
    assert!(annotation_err(io::load_time_series("1 440\n0.5 440\n", "m")).contains("increasing"));
    assert!(annotation_err(io::load_time_series("0 inf\n", "m")).contains("non-finite"));
    // sorted events with repeats are fine, as in mir_eval (np.diff < 0 only)
    assert_eq!(io::load_events("1\n1\n2\n", "b").unwrap(), [1.0, 1.0, 2.0]);
}

#[test]
fn python_float_syntax() {
    for (s, v) in [
        ("1", 1.0),
        ("+1.5", 1.5),
        (".5", 0.5),
        ("5.", 5.0),
        ("1e3", 1000.0),
        ("1E-3", 0.001),
        ("1_000.5", 1000.5),
        ("-Infinity", f64::NEG_INFINITY),
        ("iNf", f64::INFINITY),
    ] {
        assert_eq!(io::py_float(s), Some(v), "{s}");
    }
    assert!(io::py_float("NaN").unwrap().is_nan());
    for s in [
        "", "_1", "1_", "1__0", "1e", "--1", "0x10", "1,5", "1.0.0", "e5", "in f",
    ] {
        assert_eq!(io::py_float(s), None, "{s:?}");
    }
}

/// SplitMix64 for the bounded property test.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn property_hostile_annotation_files_never_panic_and_accepted_ones_are_valid() {
    const TOKENS: &[&str] = &[
        "0", "1.5", "-1", "nan", "inf", "1e308", "30000", "30001", "440", "0.0", "C", "major",
        "minor", "X", "N", "C:maj", "#", " ", "\t", "\n", "\r", "\r\n", "\u{feff}", "é", ",",
        "1_0", "_", "", "\0",
    ];
    let mut r = Rng(2024);
    for _ in 0..4000 {
        let n = r.below(14);
        let text: String = (0..n).map(|_| TOKENS[r.below(TOKENS.len())]).collect();
        if let Ok(v) = io::load_events(&text, "p") {
            assert!(
                v.iter()
                    .all(|t| t.is_finite() && (0.0..=io::MAX_TIME).contains(t))
            );
            assert!(v.windows(2).all(|w| w[0] <= w[1]));
            let _ = mir::beat_f_measure_trimmed(&v, &v);
        }
        if let Ok(notes) = io::load_notes(&text, "p") {
            assert!(notes.iter().all(|n| n.onset >= 0.0
                && n.offset > n.onset
                && n.pitch_hz > 0.0
                && n.offset.is_finite()));
            let s = mir::transcription_prf(&notes, &notes, &NoteMatching::default());
            assert!(notes.is_empty() || s.f_measure == 1.0);
        }
        if let Ok(k) = io::load_key(&text, "p") {
            assert_eq!(mir::key_weighted_score(&k, &k).unwrap(), 1.0);
        }
        let _ = io::load_labeled_intervals(&text, "p");
        if let Ok((t, f)) = io::load_time_series(&text, "p") {
            assert_eq!(t.len(), f.len());
        }
    }
}

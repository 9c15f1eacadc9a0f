//! MIR metrics following mir_eval 0.8.2: key, beat, onset, note transcription, melody; plus the annotation-file
//! readers used by `mirlens score`.

use crate::error::{ProbeError, Result};
use serde::Serialize;

/// F-measure `(1+β²)PR / (β²P + R)`, 0 when `P + R = 0` (mir_eval `util.f_measure`).
pub fn f_measure(p: f64, r: f64, beta: f64) -> f64 {
    if p == 0.0 && r == 0.0 {
        return 0.0;
    }
    (1.0 + beta * beta) * p * r / (beta * beta * p + r)
}

/// Size of the maximum one-to-one matching of events within `window` (`|ref − est| <= window`).
///
/// For points on a line with a symmetric window the greedy sweep (each reference, in time order, takes the earliest
/// unmatched estimate in its window) is a maximum matching, so it equals mir_eval's Hopcroft–Karp count.
pub fn match_events(reference: &[f64], estimated: &[f64], window: f64) -> usize {
    let mut r = reference.to_vec();
    let mut e = estimated.to_vec();
    r.sort_by(f64::total_cmp);
    e.sort_by(f64::total_cmp);
    let mut j = 0;
    let mut m = 0;
    for &t in &r {
        while j < e.len() && e[j] < t && (t - e[j]) > window {
            j += 1;
        }
        if j < e.len() && (e[j] - t).abs() <= window {
            m += 1;
            j += 1;
        }
    }
    m
}

// ---------------------------------------------------------------------------------------------------------------
// Key

/// A parsed key: tonic pitch class (None for `X`) and mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    /// Semitones above C, or `None` for the uncategorised key `X`.
    pub tonic: Option<u8>,
    /// `major`, `minor` or `other` (`None` for `X`).
    pub mode: Option<String>,
}

/// Parse `"<tonic> <mode>"` or `"X"` as mir_eval does (tonic case-insensitive; mode exactly `major|minor|other`).
pub fn parse_key(s: &str) -> Result<Key> {
    let bad = |reason: &str| ProbeError::Label {
        kind: "key",
        label: s.to_string(),
        reason: reason.to_string(),
    };
    let parts: Vec<&str> = s.split_whitespace().collect();
    if parts.len() == 1 && parts[0].eq_ignore_ascii_case("x") {
        return Ok(Key {
            tonic: None,
            mode: None,
        });
    }
    if parts.len() != 2 {
        return Err(bad("expected '<tonic> <mode>' or 'X'"));
    }
    let t = match parts[0].to_ascii_lowercase().as_str() {
        "c" => 0,
        "c#" | "db" => 1,
        "d" => 2,
        "d#" | "eb" => 3,
        "e" => 4,
        "f" => 5,
        "f#" | "gb" => 6,
        "g" => 7,
        "g#" | "ab" => 8,
        "a" => 9,
        "a#" | "bb" => 10,
        "b" => 11,
        "x" => return Err(bad("'X' has no mode")),
        _ => {
            return Err(bad(
                "tonic must be one of C C# Db D D# Eb E F F# Gb G G# Ab A A# Bb B",
            ));
        }
    };
    if !["major", "minor", "other"].contains(&parts[1]) {
        return Err(bad("mode must be 'major', 'minor' or 'other'"));
    }
    Ok(Key {
        tonic: Some(t),
        mode: Some(parts[1].to_string()),
    })
}

/// mir_eval `key.weighted_score`: 1 same, 0.5 estimate a perfect fifth above (same mode; not below), 0.3 relative,
/// 0.2 parallel, else 0.
pub fn key_weighted_score(reference: &str, estimated: &str) -> Result<f64> {
    let (r, e) = (parse_key(reference)?, parse_key(estimated)?);
    if r == e {
        return Ok(1.0);
    }
    let (Some(rt), Some(et)) = (r.tonic, e.tonic) else {
        return Ok(0.0);
    };
    let (rm, em) = (r.mode.unwrap_or_default(), e.mode.unwrap_or_default());
    let diff = (et as i32 - rt as i32).rem_euclid(12);
    Ok(if em == rm && diff == 7 {
        0.5
    } else if em != rm && ((rm == "major" && diff == 9) || (rm == "minor" && diff == 3)) {
        0.3
    } else if em != rm && rt == et {
        0.2
    } else {
        0.0
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Beat and onset

/// Drop beats before `min_time` (mir_eval `beat.trim_beats`, 5 s in `beat.evaluate`).
pub fn trim_beats(beats: &[f64], min_time: f64) -> Vec<f64> {
    beats.iter().copied().filter(|&b| b >= min_time).collect()
}

/// mir_eval `beat.f_measure` (±70 ms by default, no trimming; 0 if either list is empty).
pub fn beat_f_measure(reference: &[f64], estimated: &[f64], threshold: f64) -> f64 {
    if reference.is_empty() || estimated.is_empty() {
        return 0.0;
    }
    let m = match_events(reference, estimated, threshold) as f64;
    f_measure(m / estimated.len() as f64, m / reference.len() as f64, 1.0)
}

/// Beat F-measure as `beat.evaluate` reports it: both lists trimmed to beats at or after 5 s first.
pub fn beat_f_measure_trimmed(reference: &[f64], estimated: &[f64]) -> f64 {
    beat_f_measure(
        &trim_beats(reference, 5.0),
        &trim_beats(estimated, 5.0),
        0.07,
    )
}

/// Precision, recall and F-measure.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prf {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F-measure.
    pub f_measure: f64,
}

/// mir_eval `onset.f_measure` (±50 ms by default; zeros if either list is empty).
pub fn onset_f_measure(reference: &[f64], estimated: &[f64], window: f64) -> Prf {
    if reference.is_empty() || estimated.is_empty() {
        return Prf {
            precision: 0.0,
            recall: 0.0,
            f_measure: 0.0,
        };
    }
    let m = match_events(reference, estimated, window) as f64;
    let (p, r) = (m / estimated.len() as f64, m / reference.len() as f64);
    Prf {
        precision: p,
        recall: r,
        f_measure: f_measure(p, r, 1.0),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Note transcription

/// A note: onset, offset (seconds) and pitch in Hz.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Note {
    /// Onset time (s).
    pub onset: f64,
    /// Offset time (s).
    pub offset: f64,
    /// Pitch (Hz).
    pub pitch_hz: f64,
}

/// Options of [`transcription_prf`] (mir_eval defaults via `Default`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteMatching {
    /// Onset tolerance (s), default 0.05.
    pub onset_tolerance: f64,
    /// Pitch tolerance (cents), default 50.
    pub pitch_tolerance: f64,
    /// Offset ratio of the reference duration; `None` ignores offsets. Default `Some(0.2)`.
    pub offset_ratio: Option<f64>,
    /// Minimum offset tolerance (s), default 0.05.
    pub offset_min_tolerance: f64,
}

impl Default for NoteMatching {
    fn default() -> Self {
        NoteMatching {
            onset_tolerance: 0.05,
            pitch_tolerance: 50.0,
            offset_ratio: Some(0.2),
            offset_min_tolerance: 0.05,
        }
    }
}

/// Note transcription scores.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NoteScores {
    /// Precision.
    pub precision: f64,
    /// Recall.
    pub recall: f64,
    /// F-measure.
    pub f_measure: f64,
    /// Average overlap ratio of the matched pairs.
    pub average_overlap_ratio: f64,
}

fn round4(x: f64) -> f64 {
    // numpy.around(x, 4): round half to even on the scaled value.
    let s = x * 1e4;
    let r = s.round();
    let r = if (s - s.trunc()).abs() == 0.5 && (r as i64) % 2 != 0 {
        r - s.signum()
    } else {
        r
    };
    r / 1e4
}

/// mir_eval `transcription.precision_recall_f1_overlap` (non-strict comparisons, β = 1).
pub fn transcription_prf(
    reference: &[Note],
    estimated: &[Note],
    opts: &NoteMatching,
) -> NoteScores {
    let zero = NoteScores {
        precision: 0.0,
        recall: 0.0,
        f_measure: 0.0,
        average_overlap_ratio: 0.0,
    };
    if reference.is_empty() || estimated.is_empty() {
        return zero;
    }
    let adj: Vec<Vec<usize>> = reference
        .iter()
        .map(|r| {
            estimated
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    round4((r.onset - e.onset).abs()) <= opts.onset_tolerance
                        && (1200.0 * (r.pitch_hz.log2() - e.pitch_hz.log2())).abs()
                            <= opts.pitch_tolerance
                        && opts.offset_ratio.is_none_or(|ratio| {
                            round4((r.offset - e.offset).abs())
                                <= (ratio * (r.offset - r.onset)).max(opts.offset_min_tolerance)
                        })
                })
                .map(|(j, _)| j)
                .collect()
        })
        .collect();
    let matching = max_bipartite(&adj, estimated.len());
    let m = matching.len() as f64;
    let (p, r) = (m / estimated.len() as f64, m / reference.len() as f64);
    let ratios: Vec<f64> = matching
        .iter()
        .map(|&(i, j)| {
            let (a, b) = (reference[i], estimated[j]);
            (a.offset.min(b.offset) - a.onset.max(b.onset))
                / (a.offset.max(b.offset) - a.onset.min(b.onset))
        })
        .collect();
    let aor = if ratios.is_empty() {
        0.0
    } else {
        ratios.iter().sum::<f64>() / ratios.len() as f64
    };
    NoteScores {
        precision: p,
        recall: r,
        f_measure: f_measure(p, r, 1.0),
        average_overlap_ratio: aor,
    }
}

/// Maximum bipartite matching, a faithful port of mir_eval's `util._bipartite_match` (Hopcroft–Karp with Python
/// dict ordering), so that the same pairs are matched and the average overlap ratio agrees. `adj[r]` lists the
/// estimates compatible with reference `r`; returns `(reference, estimate)` pairs sorted by reference.
fn max_bipartite(adj: &[Vec<usize>], _n_right: usize) -> Vec<(usize, usize)> {
    use std::collections::{HashMap, HashSet};
    // mir_eval builds G = {est: [ref, ...]} scanning hits in row-major (ref, est) order.
    let mut graph: Vec<(usize, Vec<usize>)> = Vec::new();
    let mut gpos: HashMap<usize, usize> = HashMap::new();
    for (r, ests) in adj.iter().enumerate() {
        for &e in ests {
            let p = *gpos.entry(e).or_insert_with(|| {
                graph.push((e, Vec::new()));
                graph.len() - 1
            });
            graph[p].1.push(r);
        }
    }
    // matching: ref (v) -> est (u)
    let mut matching: HashMap<usize, usize> = HashMap::new();
    let mut morder: Vec<usize> = Vec::new();
    for (u, vs) in &graph {
        for &v in vs {
            if let std::collections::hash_map::Entry::Vacant(e) = matching.entry(v) {
                e.insert(*u);
                morder.push(v);
                break;
            }
        }
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Pred {
        Unmatched,
        V(usize),
    }
    loop {
        let mut preds: HashMap<usize, Vec<usize>> = HashMap::new();
        let mut unmatched: Vec<usize> = Vec::new();
        let matched_u: HashSet<usize> = matching.values().copied().collect();
        let mut pred: HashMap<usize, Pred> = HashMap::new();
        let mut layer: Vec<usize> = Vec::new();
        for (u, _) in &graph {
            if !matched_u.contains(u) {
                pred.insert(*u, Pred::Unmatched);
                layer.push(*u);
            }
        }
        while !layer.is_empty() && unmatched.is_empty() {
            let mut new_layer: Vec<(usize, Vec<usize>)> = Vec::new();
            let mut nl_pos: HashMap<usize, usize> = HashMap::new();
            for &u in &layer {
                for &v in &graph[gpos[&u]].1 {
                    if !preds.contains_key(&v) {
                        let p = *nl_pos.entry(v).or_insert_with(|| {
                            new_layer.push((v, Vec::new()));
                            new_layer.len() - 1
                        });
                        new_layer[p].1.push(u);
                    }
                }
            }
            layer.clear();
            for (v, us) in new_layer {
                preds.insert(v, us);
                if let Some(&mu) = matching.get(&v) {
                    layer.push(mu);
                    pred.insert(mu, Pred::V(v));
                } else {
                    unmatched.push(v);
                }
            }
        }
        if unmatched.is_empty() {
            break;
        }
        fn recurse(
            v: usize,
            preds: &mut HashMap<usize, Vec<usize>>,
            pred: &mut HashMap<usize, Pred>,
            matching: &mut HashMap<usize, usize>,
            morder: &mut Vec<usize>,
        ) -> bool {
            if let Some(l) = preds.remove(&v) {
                for u in l {
                    if let Some(pu) = pred.remove(&u) {
                        let ok = match pu {
                            Pred::Unmatched => true,
                            Pred::V(pv) => recurse(pv, preds, pred, matching, morder),
                        };
                        if ok {
                            if matching.insert(v, u).is_none() {
                                morder.push(v);
                            }
                            return true;
                        }
                    }
                }
            }
            false
        }
        for v in unmatched {
            recurse(v, &mut preds, &mut pred, &mut matching, &mut morder);
        }
    }
    let mut out: Vec<(usize, usize)> = matching.into_iter().collect();
    out.sort_unstable();
    out
}

// ---------------------------------------------------------------------------------------------------------------
// Melody

/// mir_eval `melody.evaluate` scores (binary voicing, default 50-cent tolerance).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MelodyScores {
    /// Voicing recall.
    pub voicing_recall: f64,
    /// Voicing false alarm.
    pub voicing_false_alarm: f64,
    /// Raw pitch accuracy.
    pub raw_pitch_accuracy: f64,
    /// Raw chroma accuracy.
    pub raw_chroma_accuracy: f64,
    /// Overall accuracy.
    pub overall_accuracy: f64,
}

fn to_cents(f: &[f64]) -> Vec<f64> {
    f.iter()
        .map(|&v| {
            if v == 0.0 {
                0.0
            } else {
                1200.0 * (v.abs() / 10.0).log2()
            }
        })
        .collect()
}

/// Linear interpolation with `times` sorted ascending, `x` inside `[times[0], times[last]]`.
fn interp(times: &[f64], y: &[f64], x: f64, zero_order: bool) -> f64 {
    let i = times.partition_point(|&t| t <= x);
    if i == 0 {
        return y[0];
    }
    if i >= times.len() {
        return y[times.len() - 1];
    }
    let (t0, t1) = (times[i - 1], times[i]);
    if zero_order {
        return y[i - 1];
    }
    let u = (x - t0) / (t1 - t0);
    y[i - 1] + u * (y[i] - y[i - 1])
}

/// mir_eval `melody.evaluate(ref_time, ref_freq, est_time, est_freq)` with binary voicing (f ≤ 0 unvoiced) and the
/// estimate resampled linearly onto the reference time base.
pub fn melody_scores(
    ref_time: &[f64],
    ref_freq: &[f64],
    est_time: &[f64],
    est_freq: &[f64],
) -> Result<MelodyScores> {
    if ref_time.len() != ref_freq.len() || est_time.len() != est_freq.len() {
        return Err(ProbeError::Shape {
            what: "melody times vs frequencies".into(),
            expected: ref_time.len(),
            got: ref_freq.len(),
        });
    }
    if ref_time.is_empty() || est_time.is_empty() {
        return Ok(MelodyScores {
            voicing_recall: 0.0,
            voicing_false_alarm: 0.0,
            raw_pitch_accuracy: 0.0,
            raw_chroma_accuracy: 0.0,
            overall_accuracy: 0.0,
        });
    }
    let ins = |t: &[f64], f: &[f64]| -> (Vec<f64>, Vec<f64>) {
        if t[0] > 0.0 {
            ([&[0.0], t].concat(), [&[f[0]], f].concat())
        } else {
            (t.to_vec(), f.to_vec())
        }
    };
    let (rt, rf) = ins(ref_time, ref_freq);
    let (et, ef) = ins(est_time, est_freq);
    let rv: Vec<f64> = rf.iter().map(|&f| (f > 0.0) as u8 as f64).collect();
    let ev0: Vec<f64> = ef.iter().map(|&f| (f > 0.0) as u8 as f64).collect();
    let rc = to_cents(&rf);
    let ec0 = to_cents(&ef);
    let same = et.len() == rt.len()
        && et
            .iter()
            .zip(&rt)
            .all(|(a, b)| (a - b).abs() <= 1e-8 + 1e-5 * b.abs());
    let (mut ec, mut ev) = if same {
        (ec0, ev0)
    } else {
        let r10 = |v: f64| (v * 1e10).round() / 1e10;
        let mut t: Vec<f64> = et.iter().map(|&v| r10(v)).collect();
        let tn: Vec<f64> = rt.iter().map(|&v| r10(v)).collect();
        let (mut c, mut v) = (ec0, ev0);
        let tmax = tn.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        if tmax > *t.last().expect("non-empty") {
            t.push(tmax);
            c.push(0.0);
            v.push(0.0);
        }
        let mut held = c.clone();
        for n in 1..c.len() {
            if c[n] == 0.0 {
                held[n] = held[n - 1];
            }
        }
        let cn: Vec<f64> = tn
            .iter()
            .map(|&x| {
                if interp(&t, &c, x, true) != 0.0 {
                    interp(&t, &held, x, false)
                } else {
                    0.0
                }
            })
            .collect();
        let vn: Vec<f64> = tn.iter().map(|&x| interp(&t, &v, x, true)).collect();
        (cn, vn)
    };
    ec.resize(rc.len(), 0.0);
    ev.resize(rv.len(), 0.0);
    let n = rv.len() as f64;
    let voiced: f64 = rv.iter().sum();
    let unvoiced = n - voiced;
    let vr = if voiced == 0.0 {
        1.0
    } else {
        rv.iter().zip(&ev).map(|(r, e)| r * e).sum::<f64>() / voiced
    };
    let vfa = if unvoiced == 0.0 {
        0.0
    } else {
        rv.iter().zip(&ev).map(|(r, e)| (1.0 - r) * e).sum::<f64>() / unvoiced
    };
    let nz: Vec<usize> = (0..rc.len())
        .filter(|&i| rc[i] != 0.0 && ec[i] != 0.0)
        .collect();
    let (rpa, rca) = if voiced == 0.0 || nz.is_empty() {
        (0.0, 0.0)
    } else {
        let rpa = nz
            .iter()
            .filter(|&&i| (rc[i] - ec[i]).abs() < 50.0)
            .map(|&i| rv[i])
            .sum::<f64>()
            / voiced;
        let rca = nz
            .iter()
            .filter(|&&i| {
                let d = (rc[i] - ec[i]).abs();
                (d - 1200.0 * (d / 1200.0 + 0.5).floor()).abs() < 50.0
            })
            .map(|&i| rv[i])
            .sum::<f64>()
            / voiced;
        (rpa, rca)
    };
    let correct: f64 = nz
        .iter()
        .filter(|&&i| (rc[i] - ec[i]).abs() < 50.0)
        .map(|&i| rv[i] * ev[i])
        .sum();
    let ratio = if voiced == 0.0 { 0.0 } else { 1.0 };
    let oa = (ratio * correct
        + rv.iter()
            .zip(&ev)
            .map(|(r, e)| (1.0 - r) * (1.0 - e))
            .sum::<f64>())
        / n;
    Ok(MelodyScores {
        voicing_recall: vr,
        voicing_false_alarm: vfa,
        raw_pitch_accuracy: rpa,
        raw_chroma_accuracy: rca,
        overall_accuracy: oa,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Annotation files

/// Parse whitespace/comma-separated numeric columns (lines starting with `#` and blank lines are skipped);
/// every line must have at least `min_cols` numbers; extra columns are kept.
pub fn read_columns(text: &str, path: &str, min_cols: usize) -> Result<Vec<Vec<f64>>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let vals: std::result::Result<Vec<f64>, _> = l
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|s| !s.is_empty())
            .map(str::parse::<f64>)
            .collect();
        let vals = vals.map_err(|e| ProbeError::Parse {
            path: path.into(),
            line: i + 1,
            reason: format!("not a number ({e})"),
        })?;
        if vals.len() < min_cols {
            return Err(ProbeError::Parse {
                path: path.into(),
                line: i + 1,
                reason: format!("expected at least {min_cols} columns, got {}", vals.len()),
            });
        }
        rows.push(vals);
    }
    Ok(rows)
}

/// Intervals `(start, end)` and their labels.
pub type LabeledIntervals = (Vec<(f64, f64)>, Vec<String>);

/// Parse a `.lab` file: `start end label` per line (whitespace separated; the label may contain no spaces).
pub fn read_labeled_intervals(text: &str, path: &str) -> Result<LabeledIntervals> {
    let mut iv = Vec::new();
    let mut labels = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let parts: Vec<&str> = l.split_whitespace().collect();
        let err = |reason: String| ProbeError::Parse {
            path: path.into(),
            line: i + 1,
            reason,
        };
        if parts.len() < 3 {
            return Err(err(format!(
                "expected 'start end label', got {} fields",
                parts.len()
            )));
        }
        let s: f64 = parts[0]
            .parse()
            .map_err(|_| err(format!("start {:?} is not a number", parts[0])))?;
        let e: f64 = parts[1]
            .parse()
            .map_err(|_| err(format!("end {:?} is not a number", parts[1])))?;
        if e < s {
            return Err(err("end before start".into()));
        }
        iv.push((s, e));
        labels.push(parts[2..].join(" "));
    }
    Ok((iv, labels))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_examples() {
        assert_eq!(key_weighted_score("C major", "G major").unwrap(), 0.5);
        assert_eq!(key_weighted_score("G major", "C major").unwrap(), 0.0);
        assert_eq!(key_weighted_score("C major", "A minor").unwrap(), 0.3);
        assert_eq!(key_weighted_score("A minor", "C major").unwrap(), 0.3);
        assert_eq!(key_weighted_score("C major", "c minor").unwrap(), 0.2);
        assert_eq!(key_weighted_score("Db major", "C# major").unwrap(), 1.0);
        assert_eq!(key_weighted_score("X", "x").unwrap(), 1.0);
        assert!(key_weighted_score("C Major", "C major").is_err());
        let o = onset_f_measure(&[0.1, 0.5, 1.0, 1.5], &[0.14, 0.56, 1.0, 1.05, 2.0], 0.05);
        assert!(
            (o.precision - 0.4).abs() < 1e-12
                && (o.recall - 0.5).abs() < 1e-12
                && (o.f_measure - 4.0 / 9.0).abs() < 1e-12
        );
        assert_eq!(beat_f_measure(&[], &[1.0], 0.07), 0.0);
    }
}

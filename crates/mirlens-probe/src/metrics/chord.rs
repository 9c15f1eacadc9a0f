//! Chord recognition scores following mir_eval 0.8.2 `chord.evaluate` (Harte syntax).

use crate::error::{ProbeError, Result};
use std::collections::BTreeMap;

const QUALITIES: [(&str, [i8; 12]); 25] = [
    ("maj", [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0]),
    ("min", [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0]),
    ("aug", [1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0]),
    ("dim", [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0]),
    ("sus4", [1, 0, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0]),
    ("sus2", [1, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
    ("7", [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]),
    ("maj7", [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1]),
    ("min7", [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0]),
    ("minmaj7", [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1]),
    ("maj6", [1, 0, 0, 0, 1, 0, 0, 1, 0, 1, 0, 0]),
    ("min6", [1, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0]),
    ("dim7", [1, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]),
    ("hdim7", [1, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 0]),
    ("maj9", [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1]),
    ("min9", [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0]),
    ("9", [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]),
    ("min11", [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0]),
    ("11", [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]),
    ("maj13", [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0, 1]),
    ("min13", [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0]),
    ("13", [1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0]),
    ("1", [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    ("5", [1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0]),
    ("", [0; 12]),
];

/// An encoded chord: root (−1 for `N`/`X`), 12-semitone bitmap relative to the root (all −1 for `X`), bass.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EncodedChord {
    /// Root pitch class, −1 for no chord / unknown.
    pub root: i32,
    /// Semitones present, relative to the root (−1 everywhere for `X`).
    pub bitmap: [i8; 12],
    /// Bass semitone relative to the root (−1 for `N`/`X`).
    pub bass: i32,
}

fn scale_degree_semitone(sd: &str, label: &str) -> Result<i32> {
    let bad = || ProbeError::Label {
        kind: "chord",
        label: label.into(),
        reason: format!("scale degree {sd:?} is not valid"),
    };
    let (offset, rest) = if sd.starts_with('#') {
        (sd.matches('#').count() as i32, sd.trim_matches('#'))
    } else if sd.starts_with('b') {
        (-(sd.matches('b').count() as i32), sd.trim_matches('b'))
    } else {
        (0, sd)
    };
    let base = match rest {
        "1" => 0,
        "2" => 2,
        "3" => 4,
        "4" => 5,
        "5" => 7,
        "6" => 9,
        "7" => 11,
        "8" => 12,
        "9" => 14,
        "10" => 16,
        "11" => 17,
        "12" => 19,
        "13" => 21,
        _ => return Err(bad()),
    };
    Ok(base + offset)
}

/// Encode a Harte chord label as mir_eval `chord.encode` does (no extended-chord reduction).
pub fn encode(label: &str) -> Result<EncodedChord> {
    if label == "N" {
        return Ok(EncodedChord {
            root: -1,
            bitmap: [0; 12],
            bass: -1,
        });
    }
    if label == "X" {
        return Ok(EncodedChord {
            root: -1,
            bitmap: [-1; 12],
            bass: -1,
        });
    }
    let bad = |reason: &str| ProbeError::Label {
        kind: "chord",
        label: label.into(),
        reason: reason.into(),
    };
    let (mut body, bass) = match label.split_once('/') {
        Some((a, b)) => (a, b),
        None => (label, "1"),
    };
    let mut degrees: Vec<&str> = Vec::new();
    let mut omission = false;
    if let Some((a, b)) = body.split_once('(') {
        body = a;
        let inner = b.strip_suffix(')').ok_or_else(|| bad("unclosed '('"))?;
        omission = inner.contains('*');
        degrees = inner.split(',').map(str::trim).collect();
    }
    if omission && !body.contains(':') {
        return Err(bad("intervals specifying omissions must have a quality"));
    }
    let mut quality = if degrees.is_empty() {
        "maj".to_string()
    } else {
        String::new()
    };
    let root_str = match body.split_once(':') {
        Some((r, q)) => {
            if !q.is_empty() {
                quality = q.to_lowercase();
            }
            r
        }
        None => body,
    };
    let mut chars = root_str.chars();
    let mut root: i32 = match chars.next() {
        Some('C') => 0,
        Some('D') => 2,
        Some('E') => 4,
        Some('F') => 5,
        Some('G') => 7,
        Some('A') => 9,
        Some('B') => 11,
        _ => return Err(bad("root must start with A–G")),
    };
    for c in chars {
        match c {
            '#' => root += 1,
            'b' => root -= 1,
            _ => return Err(bad("root modifiers must be '#' or 'b'")),
        }
    }
    let q = QUALITIES
        .iter()
        .find(|(n, _)| *n == quality)
        .ok_or_else(|| bad("unknown quality"))?;
    let mut acc: [i32; 12] = q.1.map(i32::from);
    acc[0] = 1;
    for d in degrees.iter().filter(|d| !d.is_empty()) {
        let (sign, sd) = match d.strip_prefix('*') {
            Some(s) => (-1, s.trim_matches('*')),
            None => (1, *d),
        };
        let st = scale_degree_semitone(sd, label)?;
        if (0..12).contains(&st) {
            acc[st as usize] += sign;
        }
    }
    let mut bitmap = [0i8; 12];
    for i in 0..12 {
        bitmap[i] = (acc[i] > 0) as i8;
    }
    let b = scale_degree_semitone(bass, label)?.rem_euclid(12);
    bitmap[b as usize] = 1;
    Ok(EncodedChord {
        root: root.rem_euclid(12),
        bitmap,
        bass: b,
    })
}

/// Crop/pad labelled intervals to `[t_min, t_max]`, padding with `N` (mir_eval `util.adjust_intervals`).
fn adjust(
    iv: &[(f64, f64)],
    labels: &[String],
    t_min: f64,
    t_max: f64,
) -> (Vec<(f64, f64)>, Vec<String>) {
    let mut out_iv = Vec::new();
    let mut out_l = Vec::new();
    for (&(s, e), l) in iv.iter().zip(labels) {
        if e <= t_min || s >= t_max {
            continue;
        }
        out_iv.push((s.max(t_min), e.min(t_max)));
        out_l.push(l.clone());
    }
    let first = out_iv.iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
    if first > t_min {
        out_iv.insert(0, (t_min, first.min(t_max)));
        out_l.insert(0, "N".into());
    }
    let last = out_iv.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    if last < t_max {
        out_iv.push((last, t_max));
        out_l.push("N".into());
    }
    (out_iv, out_l)
}

fn label_at(iv: &[(f64, f64)], labels: &[String], a: f64, b: f64) -> String {
    let mid = 0.5 * (a + b);
    iv.iter()
        .zip(labels)
        .find(|((s, e), _)| *s <= mid && mid < *e)
        .map(|(_, l)| l.clone())
        .unwrap_or_else(|| "N".into())
}

fn weighted(cmp: &[f64], w: &[f64]) -> f64 {
    if w.iter().sum::<f64>() == 0.0 {
        return 0.0;
    }
    let tot: f64 = cmp
        .iter()
        .zip(w)
        .filter(|(c, _)| **c >= 0.0)
        .map(|(_, w)| w)
        .sum();
    if tot == 0.0 || !cmp.iter().any(|c| *c >= 0.0) {
        return 0.0;
    }
    cmp.iter()
        .zip(w)
        .filter(|(c, _)| **c >= 0.0)
        .map(|(c, w)| c * w / tot)
        .sum()
}

fn q(name: &str) -> [i8; 12] {
    QUALITIES
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, b)| *b)
        .unwrap_or([0; 12])
}

/// One chord comparison as a per-segment score (1, 0 or −1 = excluded).
fn compare(metric: &str, r: &EncodedChord, e: &EncodedChord) -> f64 {
    let ref_x = r.bitmap.iter().any(|&b| b < 0);
    let eq_root = r.root == e.root;
    let s = match metric {
        "root" => eq_root as u8 as f64,
        "thirds" => (eq_root && r.bitmap[3] == e.bitmap[3]) as u8 as f64,
        "thirds_inv" => (eq_root && r.bitmap[3] == e.bitmap[3] && r.bass == e.bass) as u8 as f64,
        "triads" => (eq_root && r.bitmap[..8] == e.bitmap[..8]) as u8 as f64,
        "triads_inv" => {
            (eq_root && r.bitmap[..8] == e.bitmap[..8] && r.bass == e.bass) as u8 as f64
        }
        "tetrads" => (eq_root && r.bitmap == e.bitmap) as u8 as f64,
        "tetrads_inv" => (eq_root && r.bitmap == e.bitmap && r.bass == e.bass) as u8 as f64,
        "majmin" | "majmin_inv" => {
            let eq = eq_root && r.bitmap[..8] == e.bitmap[..8];
            let is_maj = r.bitmap[..8] == q("maj")[..8];
            let is_min = r.bitmap[..8] == q("min")[..8];
            let is_none = r.root < 0 && r.bitmap.iter().all(|&b| b == 0);
            if !(is_maj || is_min || is_none) {
                return -1.0;
            }
            if metric == "majmin_inv" {
                // The reference bass must be a chord tone (always true after encoding, kept for parity).
                let bass_ok = r.bass < 0 || r.bitmap[r.bass as usize] > 0;
                if !bass_ok {
                    return -1.0;
                }
                return (eq && r.bass == e.bass) as u8 as f64;
            }
            eq as u8 as f64
        }
        "sevenths" | "sevenths_inv" => {
            let valid = ["maj", "min", "maj7", "7", "min7", ""]
                .iter()
                .any(|n| r.bitmap == q(n));
            if !valid {
                return -1.0;
            }
            if metric == "sevenths_inv" {
                let bass_ok = r.bass < 0 || r.bitmap[r.bass as usize] > 0;
                if !bass_ok {
                    return -1.0;
                }
                return (eq_root && r.bitmap == e.bitmap && r.bass == e.bass) as u8 as f64;
            }
            (eq_root && r.bitmap == e.bitmap) as u8 as f64
        }
        "mirex" => {
            let rot = |c: &EncodedChord| -> [i32; 12] {
                let mut out = [0; 12];
                // mir_eval `rotate_bitmap_to_root`: every non-zero entry (also X's −1s) becomes 1 at (i + root) mod 12.
                for i in 0..12 {
                    if c.bitmap[i] != 0 {
                        out[(i as i32 + c.root).rem_euclid(12) as usize] = 1;
                    }
                }
                out
            };
            let (rc, ec) = (rot(r), rot(e));
            let inter: i32 = rc.iter().zip(&ec).map(|(a, b)| a * b).sum();
            let count = r.bitmap.iter().filter(|&&b| b > 0).count();
            if ref_x || (count > 0 && count < 3) {
                return -1.0;
            }
            if r.root == -1 && e.root == -1 {
                return 1.0;
            }
            (inter >= 3) as u8 as f64
        }
        _ => 0.0,
    };
    if ref_x { -1.0 } else { s }
}

/// Names of the chord metrics computed by [`chord_scores`], in output order.
pub const CHORD_METRICS: [&str; 12] = [
    "thirds",
    "thirds_inv",
    "triads",
    "triads_inv",
    "tetrads",
    "tetrads_inv",
    "root",
    "mirex",
    "majmin",
    "majmin_inv",
    "sevenths",
    "sevenths_inv",
];

/// mir_eval `chord.evaluate` comparison scores (duration-weighted over the merged segmentation; the estimate is
/// padded/cropped to the reference span with `N`). Segmentation scores are not included.
pub fn chord_scores(
    ref_iv: &[(f64, f64)],
    ref_labels: &[String],
    est_iv: &[(f64, f64)],
    est_labels: &[String],
) -> Result<BTreeMap<String, f64>> {
    if ref_iv.len() != ref_labels.len() || est_iv.len() != est_labels.len() {
        return Err(ProbeError::Shape {
            what: "chord intervals vs labels".into(),
            expected: ref_iv.len(),
            got: ref_labels.len(),
        });
    }
    if ref_iv.is_empty() {
        return Err(ProbeError::Data {
            what: "chord scores".into(),
            reason: "empty reference".into(),
        });
    }
    let t_min = ref_iv.iter().map(|x| x.0).fold(f64::INFINITY, f64::min);
    let t_max = ref_iv.iter().map(|x| x.1).fold(f64::NEG_INFINITY, f64::max);
    let (eiv, el) = adjust(est_iv, est_labels, t_min, t_max);
    let mut bounds: Vec<f64> = ref_iv
        .iter()
        .chain(&eiv)
        .flat_map(|&(a, b)| [a, b])
        .collect();
    bounds.sort_by(f64::total_cmp);
    bounds.dedup();
    let mut segs = Vec::new();
    for w in bounds.windows(2) {
        if w[1] > w[0] {
            let r = encode(&label_at(ref_iv, ref_labels, w[0], w[1]))?;
            let e = encode(&label_at(&eiv, &el, w[0], w[1]))?;
            segs.push((w[1] - w[0], r, e));
        }
    }
    let durations: Vec<f64> = segs.iter().map(|s| s.0).collect();
    let mut out = BTreeMap::new();
    for m in CHORD_METRICS {
        let cmp: Vec<f64> = segs.iter().map(|(_, r, e)| compare(m, r, e)).collect();
        out.insert(m.to_string(), weighted(&cmp, &durations));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_and_reference_example() {
        let e = encode("A:min7/b3").unwrap();
        assert_eq!((e.root, e.bass), (9, 3));
        assert_eq!(e.bitmap, [1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 1, 0]);
        assert_eq!(encode("C").unwrap().bitmap, q("maj"));
        assert_eq!(encode("C:(1,b3,5)").unwrap().bitmap, q("min"));
        assert_eq!(
            encode("C:maj(*5)").unwrap().bitmap,
            [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]
        );
        assert!(encode("H:maj").is_err());
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let r = chord_scores(
            &[(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 8.0)],
            &s(&["C:maj", "A:min", "F:maj7", "N"]),
            &[(0.0, 1.0), (1.0, 3.0), (3.0, 5.0), (5.0, 9.0)],
            &s(&["C:maj", "C:maj", "F:maj", "N"]),
        )
        .unwrap();
        assert_eq!(r["majmin"], 0.625);
        assert_eq!(r["root"], 0.625);
        assert_eq!(r["sevenths"], 0.5);
        assert_eq!(r["tetrads"], 0.5);
        assert_eq!(r["mirex"], 0.625);
    }
}

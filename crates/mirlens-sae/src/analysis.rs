//! Feature analysis: for every latent its density, activation histogram and top-activating rows (clip id, time),
//! its association with row labels (precision, recall, mutual information), and its source tendency.
//!
//! # Definitions
//! * A latent **fires** on a row when its activation is > 0. Density = fires / N.
//! * **Label association** for a label key with classes c (rows without the key are left out): precision
//!   `P(c | fires) = #(fires ∧ c)/#fires`, recall `P(fires | c) = #(fires ∧ c)/#c`, and the mutual information in
//!   bits between the binary firing indicator and the label, `I = Σ_{f∈{0,1}} Σ_c p(f,c) log2 p(f,c)/(p(f)p(c))`.
//!   The reported class per key is the one with the best F1 of precision and recall.
//! * **Tendency** (generalising the language tendency of the checkpoint-crossing study) over sources s (a row tag
//!   such as audio/MIDI or two datasets): activation mass `M_i(s) = Σ_{t∈s} z_ti`, balanced by the tokens per
//!   source `m_i(s) = M_i(s)/N_s` (so an unbalanced store behaves like a balanced corpus), share
//!   `s_i(s) = m_i(s)/Σ_s' m_i(s')`; class = s if `max_s s_i(s) ≥ τ` (τ = 0.9 default), `mixed` otherwise, `dead`
//!   if the latent never fires.

use crate::error::{Result, SaeError};
use crate::sae::Sae;
use crate::source::ActivationSource;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Default tendency threshold τ.
pub const DEFAULT_TENDENCY_THRESHOLD: f64 = 0.9;

/// Settings of a feature analysis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    /// Top-activating examples kept per feature.
    pub top_n: usize,
    /// Bins of the activation histogram (linear from 0 to the feature's maximum).
    pub hist_bins: usize,
    /// Label keys to associate; empty = every key found in the rows' labels.
    pub label_keys: Vec<String>,
    /// τ of the tendency classification.
    pub tendency_threshold: f64,
}

impl Default for FeatureParams {
    fn default() -> Self {
        FeatureParams {
            top_n: 10,
            hist_bins: 20,
            label_keys: Vec::new(),
            tendency_threshold: DEFAULT_TENDENCY_THRESHOLD,
        }
    }
}

impl FeatureParams {
    /// Validate.
    pub fn check(&self) -> Result<()> {
        if self.hist_bins == 0 {
            return Err(SaeError::invalid("hist_bins", 0, "> 0"));
        }
        if !(self.tendency_threshold > 0.5 && self.tendency_threshold <= 1.0) {
            return Err(SaeError::invalid(
                "tendency_threshold",
                self.tendency_threshold,
                "in (0.5, 1]",
            ));
        }
        Ok(())
    }
}

/// One top-activating example.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TopExample {
    /// Row index in the source.
    pub row: usize,
    /// Clip id (empty when the source has no metadata).
    pub clip_id: String,
    /// Time in the clip (seconds or token position).
    pub time: f64,
    /// Activation.
    pub activation: f32,
}

/// Association of a feature with one label key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelAssociation {
    /// Label key.
    pub key: String,
    /// Best class (by F1).
    pub class: String,
    /// P(class | fires).
    pub precision: f64,
    /// P(fires | class).
    pub recall: f64,
    /// Mutual information (bits) between firing and the label.
    pub mutual_information: f64,
}

/// Everything computed for one feature.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureStats {
    /// Latent index.
    pub index: usize,
    /// Rows on which it fires.
    pub fires: u64,
    /// fires / N.
    pub density: f64,
    /// Mean activation over firing rows.
    pub mean_activation: f64,
    /// Maximum activation.
    pub max_activation: f32,
    /// Top examples, largest first.
    pub top: Vec<TopExample>,
    /// Histogram counts of the non-zero activations over [0, max] in `hist_bins` bins.
    pub histogram: Vec<u64>,
    /// Per label key.
    pub labels: Vec<LabelAssociation>,
    /// Tendency class (`dead`, `mixed`, or a source name).
    pub tendency: String,
    /// Balanced activation-mass share per source.
    pub source_share: BTreeMap<String, f64>,
}

/// The analysis of all features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureReport {
    /// Rows analysed.
    pub n_tokens: usize,
    /// Tokens per source.
    pub source_tokens: BTreeMap<String, u64>,
    /// τ used.
    pub tendency_threshold: f64,
    /// Count of features per tendency class.
    pub tendency_counts: BTreeMap<String, usize>,
    /// Per feature.
    pub features: Vec<FeatureStats>,
}

impl FeatureReport {
    /// Fraction of features per tendency class among the features that fire (dead excluded).
    pub fn tendency_fractions(&self) -> BTreeMap<String, f64> {
        let alive: usize = self
            .tendency_counts
            .iter()
            .filter(|(k, _)| k.as_str() != "dead")
            .map(|(_, v)| v)
            .sum();
        self.tendency_counts
            .iter()
            .filter(|(k, _)| k.as_str() != "dead")
            .map(|(k, &v)| (k.clone(), v as f64 / alive.max(1) as f64))
            .collect()
    }

    /// For label `key`: mean over alive features of the best precision and of the mutual information, and the
    /// fraction of alive features whose best precision is ≥ `precision_at`.
    pub fn label_summary(&self, key: &str, precision_at: f64) -> (f64, f64, f64) {
        let xs: Vec<&LabelAssociation> = self
            .features
            .iter()
            .filter(|f| f.fires > 0)
            .filter_map(|f| f.labels.iter().find(|l| l.key == key))
            .collect();
        let n = xs.len().max(1) as f64;
        (
            xs.iter().map(|l| l.precision).sum::<f64>() / n,
            xs.iter().map(|l| l.mutual_information).sum::<f64>() / n,
            xs.iter().filter(|l| l.precision >= precision_at).count() as f64 / n,
        )
    }
}

fn plogp(pxy: f64, px: f64, py: f64) -> f64 {
    if pxy > 0.0 && px > 0.0 && py > 0.0 {
        pxy * (pxy / (px * py)).log2()
    } else {
        0.0
    }
}

/// Analyse every feature of `sae` on rows `rows` of `src` (all rows when `None`).
pub fn analyze_features(
    sae: &Sae,
    src: &dyn ActivationSource,
    rows: Option<&[usize]>,
    p: &FeatureParams,
) -> Result<FeatureReport> {
    p.check()?;
    let all: Vec<usize>;
    let rows = match rows {
        Some(r) => r,
        None => {
            all = (0..src.num_rows()).collect();
            &all
        }
    };
    let d = sae.d_in;
    let n = sae.n;
    let big_n = rows.len();
    // metadata
    let metas: Vec<Option<crate::source::RowMeta>> = rows.iter().map(|&r| src.meta(r)).collect();
    let keys: Vec<String> = if p.label_keys.is_empty() {
        let mut k: Vec<String> = metas
            .iter()
            .flatten()
            .flat_map(|m| m.labels.keys().cloned())
            .collect();
        k.sort();
        k.dedup();
        k
    } else {
        p.label_keys.clone()
    };
    // label class ids per key
    let mut class_names: Vec<Vec<String>> = vec![Vec::new(); keys.len()];
    let mut row_class: Vec<Vec<Option<u32>>> = vec![vec![None; big_n]; keys.len()];
    for (ki, key) in keys.iter().enumerate() {
        let mut ids: BTreeMap<String, u32> = BTreeMap::new();
        for (t, m) in metas.iter().enumerate() {
            if let Some(v) = m.as_ref().and_then(|m| m.labels.get(key)) {
                let c = v.class_key();
                let next = ids.len() as u32;
                let id = *ids.entry(c).or_insert(next);
                row_class[ki][t] = Some(id);
            }
        }
        let mut names = vec![String::new(); ids.len()];
        for (c, id) in ids {
            names[id as usize] = c;
        }
        class_names[ki] = names;
    }
    let mut source_names: Vec<String> = metas
        .iter()
        .flatten()
        .filter_map(|m| m.source.clone())
        .collect();
    source_names.sort();
    source_names.dedup();
    let row_source: Vec<Option<usize>> = metas
        .iter()
        .map(|m| {
            m.as_ref()
                .and_then(|m| m.source.as_ref())
                .and_then(|s| source_names.iter().position(|x| x == s))
        })
        .collect();
    let mut source_tokens = vec![0u64; source_names.len()];
    for s in row_source.iter().flatten() {
        source_tokens[*s] += 1;
    }
    // encode everything, transposed to per-feature lists of (row position, activation)
    let mut per_feat: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    let mut buf = Vec::new();
    for (ci, chunk) in rows.chunks(2048).enumerate() {
        buf.resize(chunk.len() * d, 0.0);
        src.fill_rows(chunk, &mut buf)?;
        let codes = sae.encode(&buf)?;
        for b in 0..chunk.len() {
            let (ii, vv) = codes.row(b);
            for (&i, &v) in ii.iter().zip(vv) {
                per_feat[i as usize].push(((ci * 2048 + b) as u32, v));
            }
        }
    }
    let class_totals: Vec<Vec<u64>> = row_class
        .iter()
        .zip(&class_names)
        .map(|(rc, names)| {
            let mut t = vec![0u64; names.len()];
            for c in rc.iter().flatten() {
                t[*c as usize] += 1;
            }
            t
        })
        .collect();
    let features: Vec<FeatureStats> = {
        use rayon::prelude::*;
        per_feat
            .par_iter()
            .enumerate()
            .map(|(i, list)| {
                let fires = list.len() as u64;
                let max = list.iter().map(|e| e.1).fold(0.0f32, f32::max);
                let mean = if fires > 0 {
                    list.iter().map(|e| e.1 as f64).sum::<f64>() / fires as f64
                } else {
                    0.0
                };
                let mut hist = vec![0u64; p.hist_bins];
                if max > 0.0 {
                    for e in list {
                        let b = ((e.1 / max) * p.hist_bins as f32) as usize;
                        hist[b.min(p.hist_bins - 1)] += 1;
                    }
                }
                let mut sorted: Vec<(u32, f32)> = list.clone();
                sorted.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
                let top = sorted
                    .iter()
                    .take(p.top_n)
                    .map(|&(t, v)| {
                        let m = metas[t as usize].as_ref();
                        TopExample {
                            row: rows[t as usize],
                            clip_id: m.map(|m| m.clip_id.clone()).unwrap_or_default(),
                            time: m.map(|m| m.time).unwrap_or(0.0),
                            activation: v,
                        }
                    })
                    .collect();
                let labels = keys
                    .iter()
                    .enumerate()
                    .filter(|(ki, _)| !class_names[*ki].is_empty())
                    .map(|(ki, key)| {
                        let nc = class_names[ki].len();
                        let mut joint = vec![0u64; nc];
                        let mut fires_lab = 0u64;
                        for e in list {
                            if let Some(c) = row_class[ki][e.0 as usize] {
                                joint[c as usize] += 1;
                                fires_lab += 1;
                            }
                        }
                        let tot: u64 = class_totals[ki].iter().sum();
                        let (nf, nt) = (fires_lab as f64, tot.max(1) as f64);
                        let mut mi = 0.0;
                        let mut best = (0usize, -1.0f64, 0.0, 0.0);
                        for c in 0..nc {
                            let ncl = class_totals[ki][c] as f64;
                            let j1 = joint[c] as f64;
                            let j0 = ncl - j1;
                            mi += plogp(j1 / nt, nf / nt, ncl / nt)
                                + plogp(j0 / nt, (nt - nf) / nt, ncl / nt);
                            let prec = if nf > 0.0 { j1 / nf } else { 0.0 };
                            let rec = if ncl > 0.0 { j1 / ncl } else { 0.0 };
                            let f1 = if prec + rec > 0.0 {
                                2.0 * prec * rec / (prec + rec)
                            } else {
                                0.0
                            };
                            if f1 > best.1 {
                                best = (c, f1, prec, rec);
                            }
                        }
                        LabelAssociation {
                            key: key.clone(),
                            class: class_names[ki][best.0].clone(),
                            precision: best.2,
                            recall: best.3,
                            mutual_information: mi.max(0.0),
                        }
                    })
                    .collect();
                // tendency
                let mut mass = vec![0.0f64; source_names.len()];
                for e in list {
                    if let Some(s) = row_source[e.0 as usize] {
                        mass[s] += e.1 as f64;
                    }
                }
                let bal: Vec<f64> = mass
                    .iter()
                    .zip(&source_tokens)
                    .map(|(m, &t)| if t > 0 { m / t as f64 } else { 0.0 })
                    .collect();
                let total: f64 = bal.iter().sum();
                let share: BTreeMap<String, f64> = source_names
                    .iter()
                    .zip(&bal)
                    .map(|(s, b)| (s.clone(), if total > 0.0 { b / total } else { 0.0 }))
                    .collect();
                let tendency = if fires == 0 {
                    "dead".to_string()
                } else if source_names.is_empty() || total <= 0.0 {
                    "mixed".to_string()
                } else {
                    let (best_s, best_v) = share.iter().fold(("", -1.0), |acc, (s, &v)| {
                        if v > acc.1 { (s.as_str(), v) } else { acc }
                    });
                    if best_v >= p.tendency_threshold {
                        best_s.to_string()
                    } else {
                        "mixed".to_string()
                    }
                };
                FeatureStats {
                    index: i,
                    fires,
                    density: fires as f64 / big_n.max(1) as f64,
                    mean_activation: mean,
                    max_activation: max,
                    top,
                    histogram: hist,
                    labels,
                    tendency,
                    source_share: share,
                }
            })
            .collect()
    };
    let mut tendency_counts = BTreeMap::new();
    for f in &features {
        *tendency_counts.entry(f.tendency.clone()).or_insert(0usize) += 1;
    }
    Ok(FeatureReport {
        n_tokens: big_n,
        source_tokens: source_names.into_iter().zip(source_tokens).collect(),
        tendency_threshold: p.tendency_threshold,
        tendency_counts,
        features,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sae::Architecture;
    use crate::source::{Matrix, RowMeta};
    use mirlens_core::{LabelSet, LabelValue};

    /// Identity-like SAE with 3 latents on 3-d one-hot rows: latent j fires exactly on rows of class j.
    #[test]
    fn association_and_tendency_on_a_hand_built_case() {
        let mut sae = Sae::zeros(Architecture::Relu, 3, 3);
        for j in 0..3 {
            sae.w_enc[j * 3 + j] = 1.0;
            sae.w_dec[j * 3 + j] = 1.0;
        }
        let classes = [0usize, 0, 1, 1, 2, 2, 0, 1];
        let sources = ["A", "A", "A", "B", "B", "B", "A", "A"];
        let mut data = Vec::new();
        let mut meta = Vec::new();
        for (t, (&c, s)) in classes.iter().zip(sources).enumerate() {
            let mut r = [0.0f32; 3];
            r[c] = 1.0;
            data.extend_from_slice(&r);
            let mut labels = LabelSet::new();
            labels.insert("note".into(), LabelValue::Str(["C", "D", "E"][c].into()));
            meta.push(RowMeta {
                clip_id: format!("c{t}"),
                time: t as f64,
                labels,
                source: Some(s.into()),
            });
        }
        let x = Matrix::new(8, 3, data).unwrap().with_meta(meta).unwrap();
        let rep = analyze_features(&sae, &x, None, &FeatureParams::default()).unwrap();
        let f0 = &rep.features[0];
        assert_eq!(f0.fires, 3);
        assert_eq!(f0.labels[0].class, "C");
        assert_eq!((f0.labels[0].precision, f0.labels[0].recall), (1.0, 1.0));
        // MI of a perfect indicator of a class with p = 3/8: H(3/8) bits
        let h = -(0.375f64 * 0.375f64.log2() + 0.625 * 0.625f64.log2());
        assert!((f0.labels[0].mutual_information - h).abs() < 1e-12);
        assert_eq!(f0.tendency, "A"); // fires only on A rows
        assert_eq!(rep.features[2].tendency, "B");
        // latent 1 fires on rows 2 (A), 3 (B), 7 (A): balanced mass A: 2/5, B: 1/3 → share A = 0.545 → mixed
        assert_eq!(rep.features[1].tendency, "mixed");
        assert!((rep.features[1].source_share["A"] - (0.4 / (0.4 + 1.0 / 3.0))).abs() < 1e-12);
        assert_eq!(f0.top[0].clip_id, "c0");
    }
}

//! Studies built from many trainings: the expansion × K sweep and the checkpoint-crossing study.

use crate::analysis::{FeatureParams, FeatureReport, analyze_features};
use crate::error::{Result, SaeError};
use crate::metrics::EvalMetrics;
use crate::sae::Architecture;
use crate::source::ActivationSource;
use crate::train::{Progress, RunOptions, TrainParams, train};
use mirlens_report::{Cell, Heatmap, LineChart, Series, Table};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One cell of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRow {
    /// n / d.
    pub expansion: usize,
    /// Dictionary width.
    pub n_latents: usize,
    /// k.
    pub k: usize,
    /// Peak learning rate used.
    pub lr: f32,
    /// Held-out metrics.
    pub metrics: EvalMetrics,
}

/// Result of a sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepResult {
    /// Expansions (rows of the grid).
    pub expansions: Vec<usize>,
    /// Ks (columns of the grid).
    pub ks: Vec<usize>,
    /// One row per (expansion, k), expansion-major.
    pub rows: Vec<SweepRow>,
}

/// Train one SAE per (expansion, k) with otherwise identical settings (`base.arch` decides TopK vs BatchTopK;
/// `base.n_latents` is replaced by expansion·d, the learning rate follows the width law unless `base.lr` is set).
/// `on_cell` is called after each training with the cell's index and count.
pub fn sweep(
    src: &dyn ActivationSource,
    base: &TrainParams,
    expansions: &[usize],
    ks: &[usize],
    mut on_cell: impl FnMut(usize, usize, &SweepRow),
) -> Result<SweepResult> {
    if expansions.is_empty() || ks.is_empty() {
        return Err(SaeError::invalid(
            "grid",
            "empty",
            "at least one expansion and one k",
        ));
    }
    let d = src.d_in();
    let mut rows = Vec::new();
    let total = expansions.len() * ks.len();
    for &e in expansions {
        for &k in ks {
            let mut p = base.clone();
            p.n_latents = e * d;
            p.arch = match base.arch {
                Architecture::BatchTopK { .. } => Architecture::BatchTopK { k },
                _ => Architecture::TopK { k },
            };
            let out = train(src, &p, RunOptions::default())?;
            let metrics =
                out.eval
                    .ok_or(SaeError::invalid("eval_fraction", 0, "> 0 for a sweep"))?;
            let row = SweepRow {
                expansion: e,
                n_latents: p.n_latents,
                k,
                lr: out.plan.lr,
                metrics,
            };
            on_cell(rows.len() + 1, total, &row);
            rows.push(row);
        }
    }
    Ok(SweepResult {
        expansions: expansions.to_vec(),
        ks: ks.to_vec(),
        rows,
    })
}

impl SweepResult {
    /// The grid as a table (one row per cell).
    pub fn table(&self) -> Result<Table> {
        let mut t = Table::new([
            "expansion",
            "n_latents",
            "k",
            "lr",
            "fvu",
            "fvu_raw",
            "l0",
            "dead_fraction",
            "dense_fraction",
            "cosine",
            "l2_ratio",
            "relative_reconstruction_bias",
        ]);
        for r in &self.rows {
            let m = &r.metrics;
            t.push(vec![
                Cell::from(r.expansion),
                r.n_latents.into(),
                r.k.into(),
                (r.lr as f64).into(),
                m.fvu.into(),
                m.fvu_raw.into(),
                m.l0.into(),
                m.dead_fraction.into(),
                m.dense_fraction.into(),
                m.cosine.into(),
                m.l2_ratio.into(),
                m.relative_reconstruction_bias.into(),
            ])?;
        }
        Ok(t)
    }

    fn grid(&self, f: impl Fn(&EvalMetrics) -> f64) -> Vec<f64> {
        self.rows.iter().map(|r| f(&r.metrics)).collect()
    }

    /// Heatmap of FVU over the grid (rows: n/d, columns: K).
    pub fn fvu_heatmap(&self) -> Result<String> {
        self.heatmap("FVU (held out)", self.grid(|m| m.fvu))
    }

    /// Heatmap of the dead fraction over the grid.
    pub fn dead_heatmap(&self) -> Result<String> {
        self.heatmap("Dead fraction (held out)", self.grid(|m| m.dead_fraction))
    }

    fn heatmap(&self, title: &str, values: Vec<f64>) -> Result<String> {
        Ok(Heatmap {
            title: title.into(),
            row_labels: self.expansions.iter().map(|e| format!("n/d={e}")).collect(),
            col_labels: self.ks.iter().map(|k| format!("K={k}")).collect(),
            values,
            value_range: None,
            annotate: true,
            row_title: "expansion".into(),
            col_title: "K".into(),
        }
        .to_svg()?)
    }

    /// Line chart: FVU against K (log axis), one line per expansion.
    pub fn fvu_lines(&self) -> Result<String> {
        let series = self
            .expansions
            .iter()
            .map(|&e| {
                let pts = self
                    .rows
                    .iter()
                    .filter(|r| r.expansion == e)
                    .map(|r| (r.k as f64, r.metrics.fvu))
                    .collect();
                Series::new(format!("n/d = {e}"), pts)
            })
            .collect();
        Ok(LineChart {
            title: "FVU by K and expansion".into(),
            x_label: "K".into(),
            y_label: "FVU".into(),
            series,
            x_scale: mirlens_report::Scale::Log10,
            y_range: None,
        }
        .to_svg()?)
    }
}

/// One checkpoint of a crossing study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossingPoint {
    /// Checkpoint name (e.g. `step-1000`).
    pub checkpoint: String,
    /// Held-out metrics of its SAE.
    pub metrics: EvalMetrics,
    /// Tendency class fractions among alive features.
    pub tendency: BTreeMap<String, f64>,
    /// Per label key: (mean best precision, mean mutual information in bits, fraction with precision ≥ 0.9).
    pub labels: BTreeMap<String, (f64, f64, f64)>,
    /// Training progress of its SAE.
    pub history: Vec<Progress>,
}

/// Result of a checkpoint-crossing study.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CrossingResult {
    /// Per checkpoint, in the given order.
    pub points: Vec<CrossingPoint>,
}

/// Precision at which a feature counts as label-specific in the crossing summary.
pub const LABEL_SPECIFIC_PRECISION: f64 = 0.9;

/// Train SAEs with identical settings on the stores of several checkpoints of one model and analyse each; the
/// feature analysis runs on each SAE's held-out rows. Returns per checkpoint metrics, tendency fractions and label
/// association summaries, plus the full reports (for dashboards).
pub fn crossing(
    checkpoints: &[(String, &dyn ActivationSource)],
    params: &TrainParams,
    features: &FeatureParams,
    mut on_checkpoint: impl FnMut(usize, usize, &str),
) -> Result<(CrossingResult, Vec<FeatureReport>)> {
    let mut points = Vec::new();
    let mut reports = Vec::new();
    for (i, (name, src)) in checkpoints.iter().enumerate() {
        on_checkpoint(i, checkpoints.len(), name);
        let out = train(*src, params, RunOptions::default())?;
        let metrics = out.eval.clone().ok_or(SaeError::invalid(
            "eval_fraction",
            0,
            "> 0 for a crossing study",
        ))?;
        let rep = analyze_features(&out.sae, *src, Some(&out.eval_rows), features)?;
        let mut keys: Vec<String> = rep
            .features
            .iter()
            .flat_map(|f| f.labels.iter().map(|l| l.key.clone()))
            .collect();
        keys.sort();
        keys.dedup();
        let labels = keys
            .iter()
            .map(|k| (k.clone(), rep.label_summary(k, LABEL_SPECIFIC_PRECISION)))
            .collect();
        points.push(CrossingPoint {
            checkpoint: name.clone(),
            metrics,
            tendency: rep.tendency_fractions(),
            labels,
            history: out.history,
        });
        reports.push(rep);
    }
    Ok((CrossingResult { points }, reports))
}

impl CrossingResult {
    /// Table: one row per checkpoint with FVU, L0, dead fraction, each tendency class fraction and each label
    /// summary.
    pub fn table(&self) -> Result<Table> {
        let classes = self.classes();
        let keys = self.label_keys();
        let mut cols: Vec<String> = ["checkpoint", "fvu", "l0", "dead_fraction"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        cols.extend(classes.iter().map(|c| format!("tendency_{c}")));
        for k in &keys {
            cols.extend([
                format!("{k}_mean_precision"),
                format!("{k}_mean_mi_bits"),
                format!("{k}_frac_precision_ge_0.9"),
            ]);
        }
        let mut t = Table::new(cols);
        for p in &self.points {
            let mut row: Vec<Cell> = vec![
                p.checkpoint.clone().into(),
                p.metrics.fvu.into(),
                p.metrics.l0.into(),
                p.metrics.dead_fraction.into(),
            ];
            row.extend(
                classes
                    .iter()
                    .map(|c| Cell::from(p.tendency.get(c).copied().unwrap_or(0.0))),
            );
            for k in &keys {
                let (a, b, c) = p
                    .labels
                    .get(k)
                    .copied()
                    .unwrap_or((f64::NAN, f64::NAN, f64::NAN));
                row.extend([Cell::from(a), b.into(), c.into()]);
            }
            t.push(row)?;
        }
        Ok(t)
    }

    fn classes(&self) -> Vec<String> {
        let mut c: Vec<String> = self
            .points
            .iter()
            .flat_map(|p| p.tendency.keys().cloned())
            .collect();
        c.sort();
        c.dedup();
        c
    }

    fn label_keys(&self) -> Vec<String> {
        let mut c: Vec<String> = self
            .points
            .iter()
            .flat_map(|p| p.labels.keys().cloned())
            .collect();
        c.sort();
        c.dedup();
        c
    }

    /// Line chart of tendency class fractions across checkpoints (x = checkpoint order).
    pub fn tendency_plot(&self) -> Result<String> {
        let series = self
            .classes()
            .iter()
            .map(|c| {
                Series::new(
                    c.clone(),
                    self.points
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (i as f64, p.tendency.get(c).copied().unwrap_or(0.0)))
                        .collect(),
                )
            })
            .collect();
        Ok(LineChart {
            title: format!("Feature tendency across checkpoints ({})", self.names()),
            x_label: "checkpoint (order)".into(),
            y_label: "fraction of alive features".into(),
            series,
            x_scale: mirlens_report::Scale::Linear,
            y_range: Some((0.0, 1.0)),
        }
        .to_svg()?)
    }

    /// Line chart of the fraction of label-specific features (precision ≥ 0.9) per label key across checkpoints.
    pub fn label_plot(&self) -> Result<String> {
        let series = self
            .label_keys()
            .iter()
            .map(|k| {
                Series::new(
                    k.clone(),
                    self.points
                        .iter()
                        .enumerate()
                        .map(|(i, p)| (i as f64, p.labels.get(k).map_or(0.0, |v| v.2)))
                        .collect(),
                )
            })
            .collect();
        Ok(LineChart {
            title: format!(
                "Label-specific features across checkpoints ({})",
                self.names()
            ),
            x_label: "checkpoint (order)".into(),
            y_label: "fraction with precision ≥ 0.9".into(),
            series,
            x_scale: mirlens_report::Scale::Linear,
            y_range: Some((0.0, 1.0)),
        }
        .to_svg()?)
    }

    fn names(&self) -> String {
        self.points
            .iter()
            .map(|p| p.checkpoint.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

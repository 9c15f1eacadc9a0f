//! Writing results as JSON + CSV + SVG (atomically): layer sweeps, neuron reports, cross-task matrices.

use crate::error::{ProbeError, Result};
use crate::neurons::{CrossTaskMatrix, NeuronReport};
use crate::sweep::LayerResult;
use mirlens_report::{ErrorDisplay, Heatmap, LineChart, Scale, Series, Table, write_atomic};
use serde::Serialize;
use std::path::{Path, PathBuf};

fn json<T: Serialize>(path: &Path, v: &T) -> Result<()> {
    let s = serde_json::to_string_pretty(v).map_err(|e| ProbeError::Data {
        what: format!("serialising {}", path.display()),
        reason: e.to_string(),
    })?;
    Ok(write_atomic(path, s.as_bytes())?)
}

/// Write `layer_sweep.{json,csv,svg}` into `dir`; returns the written paths.
pub fn write_layer_sweep(dir: &Path, title: &str, results: &[LayerResult]) -> Result<Vec<PathBuf>> {
    let mut t = Table::new(["layer", "accuracy", "std", "ci_low", "ci_high", "folds"]);
    for r in results {
        t.push(vec![
            r.layer.clone().into(),
            r.accuracy.into(),
            r.std.into(),
            r.ci_low.into(),
            r.ci_high.into(),
            r.folds.len().into(),
        ])?;
    }
    let paths = [
        dir.join("layer_sweep.json"),
        dir.join("layer_sweep.csv"),
        dir.join("layer_sweep.svg"),
    ];
    json(&paths[0], &results)?;
    t.write_csv(&paths[1])?;
    // Numeric layers on x; a non-numeric entry (e.g. the weighted sum) is drawn as a flat dashed line.
    let numeric: Vec<(f64, &LayerResult)> = results
        .iter()
        .filter_map(|r| r.layer.parse::<f64>().ok().map(|x| (x, r)))
        .collect();
    let mut series = vec![
        Series::new(
            "probe accuracy (95 % CI)",
            numeric.iter().map(|(x, r)| (*x, r.accuracy)).collect(),
        )
        .with_interval(
            numeric.iter().map(|(_, r)| (r.ci_low, r.ci_high)).collect(),
            ErrorDisplay::Bars,
        ),
    ];
    if let (Some(first), Some(last)) = (numeric.first(), numeric.last()) {
        for r in results.iter().filter(|r| r.layer.parse::<f64>().is_err()) {
            series.push(
                Series::new(
                    format!("{} ({:.3})", r.layer, r.accuracy),
                    vec![(first.0, r.accuracy), (last.0, r.accuracy)],
                )
                .dashed(),
            );
        }
    }
    if !numeric.is_empty() {
        let chart = LineChart {
            title: title.into(),
            x_label: "layer".into(),
            y_label: "test accuracy".into(),
            series,
            ..Default::default()
        };
        write_atomic(&paths[2], chart.to_svg()?.as_bytes())?;
    }
    Ok(paths.to_vec())
}

/// Write the neuron report: `neurons.json`, `ranking.csv`, `k_sweep.csv`, `k_sweep.svg` (top-k accuracy with CI
/// band and the random-complement curve), `random_complement.csv`, `l0_sweep.csv` and `l0_spearman.svg` when an L0
/// sweep was run. `names` maps neuron indices to names (e.g. `n123`); `None` uses the index.
pub fn write_neuron_report(dir: &Path, title: &str, r: &NeuronReport) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let p = dir.join("neurons.json");
    json(&p, r)?;
    out.push(p);
    let mut t = Table::new(["rank", "neuron", "score"]);
    for n in &r.ranking {
        t.push(vec![n.rank.into(), n.neuron.into(), n.score.into()])?;
    }
    let p = dir.join("ranking.csv");
    t.write_csv(&p)?;
    out.push(p);
    let mut t = Table::new(["k", "fraction", "accuracy", "ci_low", "ci_high"]);
    for k in &r.k_sweep {
        t.push(vec![
            k.k.into(),
            k.fraction.into(),
            k.accuracy.value.into(),
            k.accuracy.ci_low.into(),
            k.accuracy.ci_high.into(),
        ])?;
    }
    let p = dir.join("k_sweep.csv");
    t.write_csv(&p)?;
    out.push(p);
    let rc = &r.random_complement;
    let mut t = Table::new(["multiple", "k", "mean", "std", "draws"]);
    for pt in &rc.points {
        t.push(vec![
            pt.multiple.into(),
            pt.k.into(),
            pt.mean.into(),
            pt.std.into(),
            pt.draws.len().into(),
        ])?;
    }
    let p = dir.join("random_complement.csv");
    t.write_csv(&p)?;
    out.push(p);
    let m = match rc.equivalent_multiple {
        Some(m) => format!("top-{} ≈ {m:.1}× random", rc.k0),
        None => format!("top-{} ≥ {}× random", rc.k0, rc.max_multiple),
    };
    let series = vec![
        Series::new(
            "top-k by ranking (95 % CI)",
            r.k_sweep
                .iter()
                .map(|k| (k.k as f64, k.accuracy.value))
                .collect(),
        )
        .with_interval(
            r.k_sweep
                .iter()
                .map(|k| (k.accuracy.ci_low, k.accuracy.ci_high))
                .collect(),
            ErrorDisplay::Band,
        ),
        Series::new(
            "random from complement (±1 sd)",
            rc.points.iter().map(|pt| (pt.k as f64, pt.mean)).collect(),
        )
        .with_interval(
            rc.points
                .iter()
                .map(|pt| (pt.mean - pt.std, pt.mean + pt.std))
                .collect(),
            ErrorDisplay::Bars,
        )
        .dashed(),
        Series::new(
            format!("dense ({:.3})", r.dense_accuracy.value),
            vec![
                (1.0, r.dense_accuracy.value),
                (r.n_neurons as f64, r.dense_accuracy.value),
            ],
        )
        .dashed(),
    ];
    let chart = LineChart {
        title: format!("{title}: {m}"),
        x_label: "neurons used (k)".into(),
        y_label: "test accuracy".into(),
        series,
        x_scale: Scale::Log10,
        y_range: None,
    };
    let p = dir.join("k_sweep.svg");
    write_atomic(&p, chart.to_svg()?.as_bytes())?;
    out.push(p);
    if !r.l0_sweep.is_empty() {
        let mut t = Table::new([
            "lambda",
            "neurons_used",
            "accuracy",
            "spearman",
            "spearman_max",
        ]);
        for l in &r.l0_sweep {
            t.push(vec![
                l.lambda.into(),
                l.neurons_used.into(),
                l.accuracy.into(),
                l.spearman.into(),
                l.spearman_max.into(),
            ])?;
        }
        let p = dir.join("l0_sweep.csv");
        t.write_csv(&p)?;
        out.push(p);
        let pts = |f: fn(&crate::neurons::L0Point) -> f64| {
            r.l0_sweep
                .iter()
                .map(|l| (l.lambda, f(l)))
                .collect::<Vec<_>>()
        };
        let chart = LineChart {
            title: format!("{title}: agreement of L0 mask and ranking"),
            x_label: "λ".into(),
            y_label: "value".into(),
            series: vec![
                Series::new("Spearman ρ(score, mask)", pts(|l| l.spearman)),
                Series::new("attainable ρ max", pts(|l| l.spearman_max)).dashed(),
                Series::new("accuracy", pts(|l| l.accuracy)),
                Series::new(
                    "fraction of neurons used",
                    r.l0_sweep
                        .iter()
                        .map(|l| (l.lambda, l.neurons_used as f64 / r.n_neurons as f64))
                        .collect(),
                ),
            ],
            ..Default::default()
        };
        let p = dir.join("l0_spearman.svg");
        write_atomic(&p, chart.to_svg()?.as_bytes())?;
        out.push(p);
    }
    Ok(out)
}

/// Write `cross_task.{json,csv,svg}` (heatmap: rows trained on, columns evaluated on; colour range 0..1).
pub fn write_cross_task(dir: &Path, title: &str, m: &CrossTaskMatrix) -> Result<Vec<PathBuf>> {
    write_task_matrix(dir, "cross_task", title, m, (0.0, 1.0))
}

/// Write `<stem>.{json,csv,svg}` for a task × task matrix (e.g. `cross_task_delta` = sparse − dense) with a fixed
/// colour range.
pub fn write_task_matrix(
    dir: &Path,
    stem: &str,
    title: &str,
    m: &CrossTaskMatrix,
    range: (f64, f64),
) -> Result<Vec<PathBuf>> {
    let n = m.tasks.len();
    let mut cols = vec!["trained_on".to_string()];
    cols.extend(m.tasks.iter().cloned());
    let mut t = Table::new(cols);
    for i in 0..n {
        let mut row = vec![m.tasks[i].clone().into()];
        row.extend(m.accuracy[i * n..(i + 1) * n].iter().map(|&v| v.into()));
        t.push(row)?;
    }
    let paths = [
        dir.join(format!("{stem}.json")),
        dir.join(format!("{stem}.csv")),
        dir.join(format!("{stem}.svg")),
    ];
    json(&paths[0], m)?;
    t.write_csv(&paths[1])?;
    let h = Heatmap {
        title: title.into(),
        row_labels: m.tasks.clone(),
        col_labels: m.tasks.clone(),
        values: m.accuracy.clone(),
        value_range: Some(range),
        annotate: n <= 20,
        row_title: "trained on".into(),
        col_title: "evaluated on".into(),
    };
    write_atomic(&paths[2], h.to_svg()?.as_bytes())?;
    Ok(paths.to_vec())
}

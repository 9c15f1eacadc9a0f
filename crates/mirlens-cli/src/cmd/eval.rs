//! `mirlens eval`: a downstream task = store + label + split + metric, with a probe trained on the training split.

use anyhow::Context;
use mirlens_core::{LayerId, Pooling};
use mirlens_probe::data::{Matrix, Split, Standardizer, grouped_split, take};
use mirlens_probe::metrics::{self, average_precision, macro_over_labels, roc_auc};
use mirlens_probe::store::load_labeled;
use mirlens_probe::sweep::aggregate_by_file;
use mirlens_probe::{LogisticParams, LogisticRegression, MlpParams, MlpProbe, Ridge, RidgeParams};
use mirlens_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Evaluation metric.
#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum MetricArg {
    /// Accuracy.
    Accuracy,
    /// Macro-averaged F1.
    MacroF1,
    /// ROC-AUC (binary, or macro over one-vs-rest classes).
    RocAuc,
    /// Average precision / PR-AUC (binary, or macro over one-vs-rest classes).
    PrAuc,
    /// Coefficient of determination of a ridge probe on a numeric label.
    R2,
}

/// Probe trained for the task.
#[derive(Debug, Clone, Copy, PartialEq, clap::ValueEnum)]
pub enum ProbeArg {
    /// L2 logistic regression (L-BFGS).
    Logistic,
    /// MARBLE MLP probe (512 hidden, dropout 0.2, Adam, early stopping, lr grid).
    Mlp,
}

/// Arguments of `mirlens eval`.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Activation store directory.
    #[arg(long)]
    pub store: PathBuf,
    /// Label (target).
    #[arg(long)]
    pub label: String,
    /// Layer index.
    #[arg(long)]
    pub layer: usize,
    /// Metric.
    #[arg(long, value_enum, default_value = "accuracy")]
    pub metric: MetricArg,
    /// Time pooling per clip: none (frame/chunk rows), mean, max.
    #[arg(long, default_value = "mean")]
    pub pooling: String,
    /// With `--pooling none`: average chunk probabilities per clip before the metric (MARBLE's file aggregation).
    #[arg(long)]
    pub aggregate_by_clip: bool,
    /// Held-out fraction of clips when the store rows carry no `train`/`test` split.
    #[arg(long, default_value_t = 0.2)]
    pub test_fraction: f64,
    /// Classification probe (R² always uses ridge).
    #[arg(long, value_enum, default_value = "logistic")]
    pub probe: ProbeArg,
    /// Inverse L2 strength (logistic) — or 1/alpha for ridge.
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Seed of the split.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Write the result JSON here too.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Run `mirlens eval`.
pub fn run(a: EvalArgs) -> anyhow::Result<ExitCode> {
    let store =
        Store::open(&a.store).with_context(|| format!("opening store {}", a.store.display()))?;
    let pooling: Pooling = a.pooling.parse()?;
    let layer = LayerId(a.layer);
    let rows = load_labeled(&store, layer, &a.label, pooling)
        .with_context(|| format!("loading {layer}, label {:?}", a.label))?;
    super::neurons::warn_constant(&rows.x, &format!("{layer}"));
    // The dataset's own split when every clip has one, otherwise a grouped split by clip.
    let splits: Vec<Option<String>> = {
        let by_clip: std::collections::HashMap<usize, Option<String>> = store
            .rows()
            .iter()
            .map(|r| (r.clip_index, r.split.clone()))
            .collect();
        rows.groups
            .iter()
            .map(|g| by_clip.get(g).cloned().flatten())
            .collect()
    };
    let (split, split_kind) = if splits.iter().all(|s| s.is_some())
        && splits.iter().any(|s| s.as_deref() == Some("test"))
    {
        let test: Vec<usize> = (0..splits.len())
            .filter(|&i| splits[i].as_deref() == Some("test"))
            .collect();
        let train: Vec<usize> = (0..splits.len())
            .filter(|&i| splits[i].as_deref() != Some("test"))
            .collect();
        (Split { train, test }, "dataset split (train+valid → train)")
    } else {
        (
            grouped_split(&rows.groups, a.test_fraction, a.seed)?,
            "grouped random split by clip",
        )
    };
    let xtr = rows.x.select_rows(&split.train);
    let st = Standardizer::fit(&xtr, 1e-6);
    let (xtr, xte) = (
        st.transform(&xtr)?,
        st.transform(&rows.x.select_rows(&split.test))?,
    );
    let value = if a.metric == MetricArg::R2 {
        let numeric: Vec<f64> = rows
            .classes
            .iter()
            .map(|c| {
                c.parse::<f64>().with_context(|| {
                    format!("label value {c:?} is not numeric; R² needs a numeric label")
                })
            })
            .collect::<anyhow::Result<_>>()?;
        let yv: Vec<f64> = rows.y.iter().map(|&c| numeric[c]).collect();
        let m = Ridge::fit(
            &xtr,
            &take(&yv, &split.train),
            1,
            &RidgeParams {
                alpha: 1.0 / a.c,
                ..Default::default()
            },
        )?;
        metrics::r2_score(&take(&yv, &split.test), &m.predict(&xte)?, 1)?
    } else {
        let ytr = take(&rows.y, &split.train);
        let mut proba = match a.probe {
            ProbeArg::Logistic => LogisticRegression::fit(
                &xtr,
                &ytr,
                &LogisticParams {
                    c: a.c,
                    ..Default::default()
                },
            )?
            .predict_proba(&xte)?,
            ProbeArg::Mlp => {
                let m = MlpProbe::fit(
                    &[&xtr],
                    &ytr,
                    &take(&rows.groups, &split.train),
                    &MlpParams {
                        seed: a.seed,
                        ..Default::default()
                    },
                )?;
                let z = m.decision(&[&xte])?;
                let k = z.ncols();
                let mut p = Vec::with_capacity(z.len());
                for r in z.rows() {
                    let mx = r.iter().fold(f32::NEG_INFINITY, |x, &y| x.max(y));
                    let e: Vec<f32> = r.iter().map(|v| (v - mx).exp()).collect();
                    let sum: f32 = e.iter().sum();
                    p.extend(e.iter().map(|v| v / sum));
                }
                Matrix::new(xte.rows, k, p)?
            }
        };
        let mut yte = take(&rows.y, &split.test);
        if a.aggregate_by_clip {
            let groups = take(&rows.groups, &split.test);
            let (p, files) = aggregate_by_file(&proba, &groups)?;
            let first: std::collections::HashMap<usize, usize> = groups
                .iter()
                .enumerate()
                .rev()
                .map(|(i, &g)| (g, i))
                .collect();
            yte = files.iter().map(|f| yte[first[f]]).collect();
            proba = p;
        }
        let k = proba.cols;
        let pred: Vec<usize> = (0..proba.rows)
            .map(|i| mirlens_probe::linear::argmax(proba.row(i)))
            .collect();
        let scores = |m: &Matrix| m.data.iter().map(|&v| v as f64).collect::<Vec<f64>>();
        match a.metric {
            MetricArg::Accuracy => metrics::accuracy(&yte, &pred),
            MetricArg::MacroF1 => metrics::macro_f1(&yte, &pred),
            MetricArg::RocAuc | MetricArg::PrAuc => {
                let f = if a.metric == MetricArg::RocAuc {
                    roc_auc
                } else {
                    average_precision
                };
                if k == 2 {
                    let pos: Vec<f64> = (0..proba.rows).map(|i| proba.row(i)[1] as f64).collect();
                    f(&yte.iter().map(|&c| c == 1).collect::<Vec<_>>(), &pos)?
                } else {
                    let onehot: Vec<bool> = yte
                        .iter()
                        .flat_map(|&c| (0..k).map(move |j| j == c))
                        .collect();
                    macro_over_labels(&onehot, &scores(&proba), k, f)?
                }
            }
            MetricArg::R2 => unreachable!("handled above"),
        }
    };
    let out = serde_json::json!({
        "task": {"store": a.store, "label": a.label, "layer": a.layer, "pooling": pooling.to_string(), "split": split_kind,
                 "metric": format!("{:?}", a.metric).to_lowercase(), "aggregate_by_clip": a.aggregate_by_clip,
                 "probe": if a.metric == MetricArg::R2 { "ridge".to_string() } else { format!("{:?}", a.probe).to_lowercase() }},
        "n_train": split.train.len(), "n_test": split.test.len(), "classes": rows.classes.len(),
        "value": value,
    });
    let s = serde_json::to_string_pretty(&out)?;
    if let Some(p) = &a.out {
        mirlens_report::write_atomic(p, s.as_bytes())?;
    }
    println!("{s}");
    Ok(ExitCode::SUCCESS)
}

//! `mirlens neurons`: neuron ranking, top-k and L0 sparse probes, random-complement baseline, Spearman agreement,
//! control-task selectivity and the cross-task generalisation matrix for one layer and label.

use anyhow::Context;
use mirlens_core::{LayerId, Pooling};
use mirlens_probe::neurons::{
    CrossTaskProbe, NeuronReportParams, cross_task_matrix, neuron_report,
};
use mirlens_probe::outputs::{write_cross_task, write_neuron_report, write_task_matrix};
use mirlens_probe::store::{load_labeled, one_vs_rest};
use mirlens_probe::{ClassWeight, L0Params, LogisticParams, RankMethod};
use mirlens_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Ranking statistic.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum MethodArg {
    /// |Welch t| (binary labels; use --positive for one-vs-rest).
    WelchT,
    /// ANOVA F (any number of classes).
    AnovaF,
    /// Mean difference (sum over class pairs).
    MeanDiff,
    /// |coefficients| of an L1 logistic regression (C = 0.1).
    L1,
}

/// Probe used for the cross-task matrix.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum CrossArg {
    /// Skip the matrix.
    None,
    /// All neurons.
    Dense,
    /// Top-k₀ neurons by |Welch t| of the training task.
    Topk,
    /// L0 masked probe (λ = 0.2).
    L0,
}

/// Arguments of `mirlens neurons`.
#[derive(Debug, clap::Args)]
pub struct NeuronsArgs {
    /// Activation store directory.
    #[arg(long)]
    pub store: PathBuf,
    /// Label to explain.
    #[arg(long)]
    pub label: String,
    /// Layer index.
    #[arg(long)]
    pub layer: usize,
    /// One-vs-rest: this class is 1, every other 0 (enables Welch t and the L0 sweep on multiclass labels).
    #[arg(long)]
    pub positive: Option<String>,
    /// Ranking statistic (default: welch-t for binary tasks, anova-f otherwise).
    #[arg(long, value_enum)]
    pub method: Option<MethodArg>,
    /// Time pooling per clip: none, mean, max.
    #[arg(long, default_value = "mean")]
    pub pooling: String,
    /// Top set size as a fraction of the neurons (k₀ of the random-complement baseline).
    #[arg(long, default_value_t = 0.01)]
    pub top_fraction: f64,
    /// Random draws per multiple of k₀.
    #[arg(long, default_value_t = 10)]
    pub random_draws: usize,
    /// λ values of the L0 sweep (binary tasks), comma-separated; empty to skip.
    #[arg(long, default_value = "0.05,0.1,0.2,0.5,1.0")]
    pub l0_lambdas: String,
    /// Optimiser steps of each L0 probe.
    #[arg(long, default_value_t = 1000)]
    pub l0_steps: usize,
    /// Label whose values define the control-task types (default: the clip).
    #[arg(long)]
    pub control_by: Option<String>,
    /// Cross-task matrix over the one-vs-rest tasks of every class of --label.
    #[arg(long, value_enum, default_value = "topk")]
    pub cross_task: CrossArg,
    /// Fraction of clips held out.
    #[arg(long, default_value_t = 0.25)]
    pub test_fraction: f64,
    /// Inverse L2 strength of the logistic probes.
    #[arg(long, default_value_t = 1.0)]
    pub c: f64,
    /// Seed (split, random draws, bootstrap, L0).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Output directory.
    #[arg(long)]
    pub out: PathBuf,
}

fn list(s: &str) -> anyhow::Result<Vec<f64>> {
    s.split(',')
        .filter(|t| !t.trim().is_empty())
        .map(|t| {
            t.trim()
                .parse::<f64>()
                .with_context(|| format!("{t:?} is not a number"))
        })
        .collect()
}

/// Run `mirlens neurons`.
pub fn run(a: NeuronsArgs) -> anyhow::Result<ExitCode> {
    let summary = report(&a)?;
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(ExitCode::SUCCESS)
}

/// Print a warning when some (or all) neurons are constant over the analysed rows: they carry no information, and
/// a ranking or probe over only such neurons measures nothing.
pub(crate) fn warn_constant(x: &mirlens_probe::Matrix, what: &str) {
    warn_constant_columns(&x.constant_columns(), x.cols, x.rows, what, "neurons");
}

/// The warning of [`warn_constant`] for `constant` columns (indices) of a `rows × cols` input, naming the columns
/// `noun` ("neurons", "features").
pub(crate) fn warn_constant_columns(
    constant: &[usize],
    cols: usize,
    rows: usize,
    what: &str,
    noun: &str,
) {
    if constant.is_empty() {
        return;
    }
    if constant.len() == cols {
        eprintln!(
            "warning: {what}: all {cols} {noun} are constant over the {rows} rows; results carry no information"
        );
    } else {
        eprintln!(
            "warning: {what}: {} of {cols} {noun} are constant over the {rows} rows (first: {:?})",
            constant.len(),
            &constant[..constant.len().min(8)]
        );
    }
}

/// Compute the neuron report of `a.label` at `a.layer`, write its JSON/CSV/SVG outputs into `a.out`, and return
/// the summary.
pub fn report(a: &NeuronsArgs) -> anyhow::Result<serde_json::Value> {
    let store =
        Store::open(&a.store).with_context(|| format!("opening store {}", a.store.display()))?;
    let pooling: Pooling = a.pooling.parse()?;
    let layer = LayerId(a.layer);
    let rows = load_labeled(&store, layer, &a.label, pooling)
        .with_context(|| format!("loading {layer}, label {:?}", a.label))?;
    warn_constant(&rows.x, &format!("{layer}"));
    let (y, task) = match &a.positive {
        Some(p) => (one_vs_rest(&rows, p)?, format!("{} = {p}", a.label)),
        None => (rows.y.clone(), a.label.clone()),
    };
    let binary = y.iter().copied().max().unwrap_or(0) <= 1;
    let method = match a.method {
        Some(MethodArg::WelchT) => RankMethod::WelchT,
        Some(MethodArg::AnovaF) => RankMethod::AnovaF,
        Some(MethodArg::MeanDiff) => RankMethod::MeanDiff,
        Some(MethodArg::L1) => RankMethod::L1 { c: 0.1 },
        None if binary => RankMethod::WelchT,
        None => RankMethod::AnovaF,
    };
    let types: Vec<usize> = match &a.control_by {
        None => rows.groups.clone(),
        Some(name) => {
            let other = load_labeled(&store, layer, name, pooling)
                .with_context(|| format!("control label {name:?}"))?;
            if other.y.len() != rows.y.len() {
                anyhow::bail!(
                    "control label {name:?} is not present on the same rows as {:?}",
                    a.label
                );
            }
            other.y
        }
    };
    let probe = LogisticParams {
        c: a.c,
        class_weight: ClassWeight::Balanced,
        ..Default::default()
    };
    let params = NeuronReportParams {
        method,
        probe,
        test_fraction: a.test_fraction,
        seed: a.seed,
        top_fraction: a.top_fraction,
        random_draws: a.random_draws,
        l0_lambdas: if binary {
            list(&a.l0_lambdas)?
        } else {
            Vec::new()
        },
        l0: L0Params {
            steps: a.l0_steps,
            seed: a.seed,
            ..Default::default()
        },
        ..Default::default()
    };
    eprintln!(
        "neurons: {task} at {layer}: {} rows × {} neurons, {} classes, ranking {}",
        rows.x.rows,
        rows.x.cols,
        rows.classes.len(),
        method.name()
    );
    let report = neuron_report(&rows.x, &y, &rows.groups, &types, &params)
        .with_context(|| format!("neuron report for {task}"))?;
    let title = format!("{task} ({layer})");
    let mut paths = write_neuron_report(&a.out, &title, &report)?;
    let mut cross = serde_json::Value::Null;
    let probe_kind = match a.cross_task {
        CrossArg::None => None,
        CrossArg::Dense => Some(CrossTaskProbe::Dense),
        CrossArg::Topk => Some(CrossTaskProbe::TopK {
            k: report.random_complement.k0,
        }),
        CrossArg::L0 => Some(CrossTaskProbe::L0 { lambda: 0.2 }),
    };
    if let Some(pk) = probe_kind
        && rows.classes.len() >= 2
    {
        let tasks: Vec<(String, Vec<usize>)> = rows
            .classes
            .iter()
            .enumerate()
            .map(|(c, name)| {
                (
                    format!("{}={name}", a.label),
                    rows.y.iter().map(|&v| (v == c) as usize).collect(),
                )
            })
            .collect();
        // One-vs-rest tasks of a binary label are complements: keep one.
        let tasks = if tasks.len() == 2 {
            tasks[..1].to_vec()
        } else {
            tasks
        };
        if tasks.len() >= 2 {
            let m = cross_task_matrix(
                &rows.x,
                &tasks,
                &rows.groups,
                pk,
                &probe,
                a.test_fraction,
                a.seed,
            )
            .context("cross-task matrix")?;
            paths.extend(write_cross_task(
                &a.out,
                &format!("cross-task generalisation ({layer})"),
                &m,
            )?);
            if !matches!(pk, CrossTaskProbe::Dense) {
                let dense = cross_task_matrix(
                    &rows.x,
                    &tasks,
                    &rows.groups,
                    CrossTaskProbe::Dense,
                    &probe,
                    a.test_fraction,
                    a.seed,
                )
                .context("dense cross-task matrix")?;
                let delta = m.minus(&dense)?;
                paths.extend(write_task_matrix(
                    &a.out,
                    "cross_task_delta",
                    &format!("sparse − dense accuracy ({layer})"),
                    &delta,
                    (-0.5, 0.5),
                )?);
            }
            cross = serde_json::json!({"tasks": m.tasks, "row_mean": m.row_mean, "col_mean": m.col_mean});
        }
    }
    let rc = &report.random_complement;
    let summary = serde_json::json!({
        "task": task, "layer": a.layer, "method": report.method, "neurons": report.n_neurons, "classes": rows.classes,
        "dense_accuracy": report.dense_accuracy,
        "top_neurons": report.ranking.iter().take(10).map(|n| n.neuron).collect::<Vec<_>>(),
        "k0": rc.k0, "top_k0_accuracy": rc.top_accuracy,
        "equivalent_random_multiple": rc.equivalent_multiple,
        "equivalent_random_multiple_at_least": if rc.equivalent_multiple.is_none() { Some(rc.max_multiple) } else { None },
        "l0": report.l0_sweep.iter().map(|l| serde_json::json!({"lambda": l.lambda, "neurons_used": l.neurons_used, "accuracy": l.accuracy, "spearman": l.spearman, "spearman_max": l.spearman_max})).collect::<Vec<_>>(),
        "selectivity": report.control,
        "cross_task": cross,
        "outputs": paths,
    });
    Ok(summary)
}
